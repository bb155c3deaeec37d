"""The map page in a real headless Chromium: login, areas per role, drill-down, breadcrumb."""

import pytest

from grid.models import Role
from tests.factories import SquareCity, UserFactory, assign
from tests.fixtures.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-123"


def make_user(username: str, area, role: str):
    user = UserFactory(username=username)
    assign(user, area, role)
    return user


def wait_for_level(page, parent: str = "") -> None:
    page.wait_for_selector(f'#map-root[data-state="ready"][data-parent="{parent}"]')


def map_codes(page) -> list[str]:
    return sorted(
        page.eval_on_selector_all(
            "#area-map path[data-code]", "paths => paths.map(p => p.getAttribute('data-code'))"
        )
    )


def list_codes(page) -> list[str]:
    return sorted(
        page.eval_on_selector_all(
            "#area-rows tr", "rows => rows.map(r => r.getAttribute('data-code'))"
        )
    )


def breadcrumb(page) -> list[str]:
    return page.eval_on_selector_all(
        "#area-breadcrumb li", "items => items.map(i => i.textContent.trim())"
    )


def test_city_manager_logs_in_and_drills_down_and_back(page, live_server, browser_log):
    city = SquareCity().build()
    make_user("city-manager", city.city, Role.CITY_MANAGER)

    login(page, live_server, "city-manager", "not-the-password")
    assert page.url.startswith(live_server.url + "/accounts/login/")
    assert page.is_visible(".login .alert.error[role=alert]")
    assert page.get_attribute("#id_username", "value") == "city-manager"

    login(page, live_server, "city-manager", PASSWORD)
    assert page.url == live_server.url + "/maps/"
    wait_for_level(page)
    assert map_codes(page) == ["360502", "360521"]
    assert list_codes(page) == ["360502", "360521"]
    assert page.inner_text('#area-rows tr[data-code="360502"] td.num') == "1"
    assert page.inner_text('#area-rows tr[data-code="360521"] td.name') == "分宜县"
    assert len(breadcrumb(page)) == 1
    assert "2" in page.inner_text('.map-legend li[data-level="2"]')
    assert "2" in page.inner_text("#area-summary")
    assert page.locator(".leaflet-tooltip.area-label").count() == 2
    assert page.locator(".map-legend li.outline").count() == 1

    page.click('#area-map path[data-code="360502"]')
    wait_for_level(page, "360502")
    assert map_codes(page) == ["360502001"] == list_codes(page)
    assert breadcrumb(page)[1:] == ["渝水区"]
    assert page.url.endswith("/maps/?area=360502")

    page.click('#area-map path[data-code="360502001"]')
    wait_for_level(page, "360502001")
    assert map_codes(page) == ["360502001001", "360502001002"] == list_codes(page)
    assert breadcrumb(page)[1:] == ["渝水区", "城南街道"]

    # A click on a row selects and zooms to that area, on the map and in the list.
    page.click('#area-rows tr[data-code="360502001002"] td.code')
    page.wait_for_selector('#map-root[data-selected="360502001002"]')
    assert "selected" in page.get_attribute('#area-rows tr[data-code="360502001002"]', "class")
    assert page.get_attribute('#area-map path[data-code="360502001002"]', "stroke-width") == "4"
    assert page.get_attribute('#area-map path[data-code="360502001001"]', "stroke-width") == "2"

    page.click('#area-breadcrumb a[data-code=""]')
    wait_for_level(page)
    assert map_codes(page) == ["360502", "360521"]

    page.go_back()
    wait_for_level(page, "360502001")
    assert map_codes(page) == ["360502001001", "360502001002"]

    # The list works from the keyboard alone.
    page.focus('#area-rows tr[data-code="360502001001"] .area-drill')
    page.keyboard.press("Enter")
    wait_for_level(page, "360502001001")
    assert map_codes(page) == [f"360502001001{n:03d}" for n in range(1, 5)] == list_codes(page)
    assert len(breadcrumb(page)) == 4

    browser_log.assert_all_local()
    paths = browser_log.local_paths()
    assert "/static/leaflet/leaflet.js" in paths
    assert "/static/leaflet/leaflet.css" in paths
    assert "/maps/api/areas.geojson" in paths


def test_street_officer_sees_only_their_street(page, live_server, browser_log):
    city = SquareCity().build()
    make_user("street-officer", city.streets["360521001"], Role.STREET_OFFICER)

    login(page, live_server, "street-officer", PASSWORD)
    wait_for_level(page)
    assert map_codes(page) == ["360521001001", "360521001002"] == list_codes(page)
    assert page.inner_text(".map-legend").count("·") >= 1

    page.click('#area-map path[data-code="360521001002"]')
    wait_for_level(page, "360521001002")
    assert map_codes(page) == [f"360521001002{n:03d}" for n in range(1, 5)]
    assert breadcrumb(page)[1:] == ["钤东街道第2社区"]

    # A cell has no sub-areas: a click selects it instead of opening an empty level.
    page.click('#area-map path[data-code="360521001002003"]')
    page.wait_for_selector('#map-root[data-selected="360521001002003"]')
    assert page.get_attribute("#map-root", "data-parent") == "360521001002"

    # Another street, asked for by its address, is refused by the server and not drawn.
    page.goto(live_server.url + "/maps/?area=360502001")
    page.wait_for_selector('#map-root[data-state="error"]')
    assert map_codes(page) == []
    assert page.inner_text("#area-summary")
    assert any("404" in error for error in browser_log.console_errors)
    browser_log.clear_errors()

    browser_log.assert_all_local()


def test_login_page_fits_a_phone_and_switches_language(page, live_server):
    page.set_viewport_size({"width": 375, "height": 720})
    page.goto(live_server.url + "/accounts/login/")
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    button = page.locator("form.login-form button[type=submit]").bounding_box()
    assert button["x"] >= 0 and button["x"] + button["width"] <= 375

    with page.expect_navigation():
        page.select_option("#language-select", "en")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("#login-title") == "Staff login"

    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")
    assert page.get_attribute("html", "lang") == "zh-hans"
