"""A case's whole life in a real headless Chromium: an inspector on a phone-sized screen reports
it (the device's location, then a tap on the map, a category found by search, a photo), the
community's dispatcher sees it in the queue with its light and accepts, registers and
dispatches it, the department's handler reports it handled with a photo, the inspector
confirms it on site and the dispatcher closes it. And a city manager places a hotline case of
the unlocated queue on the map with a click. Every request stays on the live server."""

from __future__ import annotations

import pytest

from casework.models import Incident, Source, Status
from grid.models import Role
from tests.factories import UserFactory, assign
from tests.fixtures.browser import login
from tests.fixtures.casework import (
    REPORT_CELL,
    UNLOCATED_POINT,
    build_report_world,
    catalogue_category,
    jpeg_bytes,
    report_case,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-123"
PHONE = {"width": 390, "height": 844}


def open_case_from_queue(page, live_server, number: str) -> None:
    page.goto(live_server.url + "/casework/queue/")
    with page.expect_navigation():
        page.click(f'tr[data-number="{number}"] td.number a')
    assert page.inner_text("#case-number") == number


def move(page, name: str) -> None:
    with page.expect_navigation():
        page.click(f'[data-move="{name}"] button[type=submit]')


def status(page) -> str:
    return page.get_attribute("#case-status", "data-status")


def test_report_dispatch_handle_check_and_close_in_the_browser(
    page, live_server, browser_log, work_calendar, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    world = build_report_world()
    squad = world.departments["community-a-huanwei"]
    handler = UserFactory(username="report-handler-squad")
    assign(handler, world.area("360502001001"), Role.DEPARTMENT_HANDLER, squad)
    category = catalogue_category("0102")
    photo = tmp_path / "rubbish.jpg"
    photo.write_bytes(jpeg_bytes(320, 240))

    # 1 The inspector reports on a phone-sized screen.
    page.set_viewport_size(PHONE)
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"longitude": 114.0051, "latitude": 27.8149, "accuracy": 8})
    login(page, live_server, "report-inspector-a", PASSWORD, next_url="/casework/report/")
    page.wait_for_selector('#report-map[data-ready="true"]')
    # The inspector's four cells are drawn: the map is not blank without a basemap.
    assert page.locator("#report-map path.leaflet-interactive, #report-map path").count() >= 4

    page.click("#use-location")
    page.wait_for_function("document.getElementById('id_lon').value !== ''")
    assert page.input_value("#id_lon") == "114.005100"
    assert page.input_value("#id_lat") == "27.814900"

    # A tap on the map moves the place: up and left of the centre is the NW cell (001).
    box = page.locator("#report-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    page.wait_for_function("document.getElementById('id_lon').value !== '114.005100'")
    lon, lat = float(page.input_value("#id_lon")), float(page.input_value("#id_lat"))
    assert 114.0 < lon < 114.01 and 27.81 < lat < 27.82
    assert page.locator(".report-marker").count() == 1

    page.fill("#category-search", "暴露垃圾")
    choice = page.locator(f'label.choice:has(input[value="{category.pk}"])')
    choice.click()
    assert page.is_checked(f'input[name="category"][value="{category.pk}"]')
    # An event names no facility: the facility step stays out of the way.
    assert page.is_hidden("#facility-step")

    page.set_input_files("#photo-gallery", str(photo))
    assert page.inner_text("#photo-status") != ""
    page.fill("#id_description", "路边一堆暴露垃圾")
    submit = page.locator("#report-submit").bounding_box()
    assert submit["height"] >= 44 and submit["width"] >= PHONE["width"] * 0.8
    with page.expect_navigation():
        page.click("#report-submit")
    incident = Incident.objects.get()
    assert incident.area_code == REPORT_CELL
    assert page.inner_text("#case-number") == incident.number
    assert status(page) == "reported"
    assert page.locator("#case-photos img").count() == 1
    # The photo is loaded lazily: wait for it before reading its size.
    page.wait_for_function("document.querySelector('#case-photos img').complete")
    assert page.evaluate("document.querySelector('#case-photos img').naturalWidth") == 320
    page.wait_for_selector('#case-map[data-ready="true"]')

    # 2 The community's dispatcher: the queue with its light, then accept, register, dispatch.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.context.clear_cookies()
    login(page, live_server, "report-community-a", PASSWORD, next_url="/casework/queue/")
    row = page.locator(f'tr[data-number="{incident.number}"]')
    assert row.get_attribute("data-light") == "green"
    assert row.locator(".light-green").is_visible()
    assert row.locator(".light-green").inner_text() != ""
    with page.expect_navigation():
        row.locator("td.number a").click()
    move(page, "accept")
    assert status(page) == "accepted"
    move(page, "register")
    assert status(page) == "registered"
    assert page.input_value("#department-dispatch") == ""
    move(page, "dispatch")
    assert status(page) == "dispatched"
    assert page.inner_text("#case-department") == squad.name

    # 3 The squad's handler starts and reports it handled, with a photo of the result.
    page.context.clear_cookies()
    login(page, live_server, "report-handler-squad", PASSWORD, next_url="/casework/queue/")
    open_case_from_queue(page, live_server, incident.number)
    move(page, "start")
    assert status(page) == "in_progress"
    # Without a photo the form is not sent.
    page.click('[data-move="handle"] button[type=submit]')
    assert page.is_visible('[data-move="handle"] [data-photos-missing]')
    assert status(page) == "in_progress"
    page.set_input_files("#gallery-handle", str(photo))
    page.fill("#note-handle", "已清运")
    move(page, "handle")
    assert status(page) == "handled"
    assert page.locator('#case-photos figure[data-stage="handled"]').count() == 1

    # 4 The inspector confirms on site.
    page.context.clear_cookies()
    login(page, live_server, "report-inspector-a", PASSWORD, next_url="/casework/queue/")
    open_case_from_queue(page, live_server, incident.number)
    move(page, "check_pass")
    assert status(page) == "checked"

    # 5 The dispatcher closes it.
    page.context.clear_cookies()
    login(page, live_server, "report-community-a", PASSWORD, next_url="/casework/queue/")
    open_case_from_queue(page, live_server, incident.number)
    move(page, "close")
    assert status(page) == "closed"
    assert page.locator("#moves").count() == 0

    incident.refresh_from_db()
    assert incident.status == Status.CLOSED
    assert list(incident.events.values_list("action", flat=True)) == [
        "reported",
        "accept",
        "register",
        "dispatch",
        "start",
        "handle",
        "check_pass",
        "close",
    ]
    assert incident.photos.count() == 2
    browser_log.assert_all_local()


def test_a_city_manager_places_an_unlocated_case_with_a_click(
    page, live_server, browser_log, work_calendar
):
    world = build_report_world()
    case = report_case(world, lonlat=UNLOCATED_POINT, actor="city", source=Source.HOTLINE).incident
    login(page, live_server, "report-city", PASSWORD, next_url=f"/casework/cases/{case.number}/")
    page.wait_for_selector('#case-map[data-ready="true"]')
    assert page.is_visible("#case-unlocated")
    assert page.locator('[data-move="register"]').count() == 0

    # The manager's cells are drawn; a click in the SW cell of community 360502001002.
    cell = page.locator("#case-map path.area-360502001002003").bounding_box()
    page.mouse.click(cell["x"] + cell["width"] / 2, cell["y"] + cell["height"] / 2)
    page.wait_for_function("document.getElementById('lon-locate').value !== ''")
    lon, lat = float(page.input_value("#lon-locate")), float(page.input_value("#lat-locate"))
    assert 114.02 < lon < 114.03 and 27.80 < lat < 27.81
    assert page.locator(".place-marker").count() == 1
    page.fill("#note-locate", "按来电地址定位")
    move(page, "locate")

    assert status(page) == "reported"
    assert page.locator("#case-unlocated").count() == 0
    assert "360502001002003" in page.inner_text("#case-chain")
    assert page.locator('#case-history tr[data-action="locate"]').count() == 1
    case.refresh_from_db()
    assert (case.area_code, case.holder_area.code) == ("360502001002003", "360502001")
    browser_log.assert_all_local()
