"""Case pages through Django's test client: the report form without JavaScript (typed place,
category picker, facilities by a button, photos), the queue with lights in colour and words,
the case page with its chain, history, protected photos, map and the moves as forms, and a
move's errors shown on the page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from casework.models import Incident, Status
from tests.fixtures.casework import (
    REPORT_CELL,
    catalogue_category,
    jpeg_bytes,
    make_case,
    make_photo,
    report_case,
    workflow_case,
)
from tests.fixtures.community import cell_point, make_facility

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def logged_in(client, user):
    client.force_login(user)
    return client


def case_url(case) -> str:
    return f"/casework/cases/{case.number}/"


# --- the report form ------------------------------------------------------------------------


def test_the_report_form_works_without_javascript(report_world, client, media):
    logged_in(client, report_world.user("inspector-a"))
    page = client.get("/casework/report/", **EN)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'name="lon"' in html and 'name="lat"' in html
    assert 'capture="environment"' in html and "multiple" in html
    assert '<details class="major"' in html
    external_id = re.search(r'name="external_id" value="(web-[0-9a-f]{32})"', html).group(1)
    # Leaflet comes from the project's own static files; nothing from another host.
    assert "/static/leaflet/leaflet.js" in html
    assert not re.search(r'(src|href)="https?://', html)

    category = catalogue_category("0102")
    lon, lat = report_world.point()
    answer = client.post(
        "/casework/report/",
        {
            "action": "report",
            "external_id": external_id,
            "lon": f"{lon:.6f}",
            "lat": f"{lat:.6f}",
            "category": str(category.pk),
            "description": "路口垃圾堆放",
            "address": "人民路口",
            "photos": [SimpleUploadedFile("a.jpg", jpeg_bytes(), content_type="image/jpeg")],
        },
        **EN,
    )
    incident = Incident.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == f"/casework/cases/{incident.number}/"
    assert incident.external_id == external_id
    assert incident.category == category and incident.address == "人民路口"
    assert incident.photos.count() == 1
    shown = client.get(answer["Location"], **EN).content.decode()
    assert f"Case {incident.number} reported." in shown

    # The same form sent again (a double tap) is the same case.
    again = client.post(
        "/casework/report/",
        {
            "external_id": external_id,
            "lon": lon,
            "lat": lat,
            "category": category.pk,
            "description": "路口垃圾堆放",
        },
        follow=True,
        **EN,
    )
    assert Incident.objects.count() == 1
    assert "already sent" in again.content.decode()


def test_after_the_report_the_likely_duplicates_are_shown(report_world, client):
    first = report_case(report_world).incident
    logged_in(client, report_world.user("inspector-a"))
    lon, lat = report_world.point(dx=0.0001)
    answer = client.post(
        "/casework/report/",
        {
            "external_id": "web-dup",
            "lon": lon,
            "lat": lat,
            "category": first.category_id,
            "description": "又一堆垃圾",
        },
        follow=True,
        **EN,
    )
    html = answer.content.decode()
    second = Incident.objects.exclude(pk=first.pk).get()
    assert f'id="case-number">{second.number}<' in html
    assert "1 open case of this category nearby may be the same problem" in html
    duplicates = html[html.index('id="likely-duplicates"') :]
    assert f'data-number="{first.number}"' in duplicates[: duplicates.index("</ul>")]


def test_the_report_form_names_what_is_missing(report_world, client):
    logged_in(client, report_world.user("inspector-a"))
    answer = client.post("/casework/report/", {"action": "report", "external_id": "web-1"}, **EN)
    assert answer.status_code == 422
    html = answer.content.decode()
    assert "Pick the place" in html
    assert "Pick a category." in html
    assert "Say in a few words what is wrong." in html
    assert not Incident.objects.exists()

    lon, lat = report_world.point("360521001001001")
    outside = client.post(
        "/casework/report/",
        {
            "lon": lon,
            "lat": lat,
            "category": catalogue_category("0102").pk,
            "description": "垃圾",
            "external_id": "web-2",
        },
        **EN,
    )
    assert outside.status_code == 403
    assert "outside your grid cells" in outside.content.decode()
    # What was typed is kept.
    assert ">垃圾</textarea>" in outside.content.decode()


def test_nearby_facilities_without_javascript(report_world, client):
    cover = catalogue_category("0101", "component")
    cell = report_world.area(REPORT_CELL)
    facility = make_facility(cell=cell, category=cover.facility_category, name="人民路井盖")
    logged_in(client, report_world.user("inspector-a"))
    point = cell_point(cell)
    form = {
        "external_id": "web-3",
        "lon": point.x,
        "lat": point.y,
        "category": cover.pk,
        "description": "井盖缺失",
    }
    found = client.post("/casework/report/", {**form, "action": "facilities"}, **EN)
    assert found.status_code == 200
    html = found.content.decode()
    assert f'name="facility" value="{facility.pk}"' in html
    assert "人民路井盖" in html
    # The form comes back filled in, with the category still chosen.
    assert f'value="{cover.pk}" data-code="0101" data-facility="1" checked' in html
    assert "井盖缺失</textarea>" in html
    assert not Incident.objects.exists()

    client.post("/casework/report/", {**form, "facility": facility.pk}, **EN)
    assert Incident.objects.get().facility == facility

    event = catalogue_category("0102")
    wrong = client.post(
        "/casework/report/", {**form, "category": event.pk, "action": "facilities"}, **EN
    )
    assert wrong.status_code == 422
    assert "names no facility" in wrong.content.decode()


# --- the queue ------------------------------------------------------------------------------


def test_the_queue_shows_lights_in_colour_and_words_by_deadline(case_world, client):
    now = timezone.now()
    red = make_case(case_world, step_deadline=now - timedelta(minutes=5))
    green = make_case(case_world, step_deadline=now + timedelta(hours=3))
    yellow = make_case(
        case_world,
        step_warn_at=now - timedelta(minutes=1),
        step_deadline=now + timedelta(hours=1),
    )
    logged_in(client, case_world.user("street-a"))
    html = client.get("/casework/queue/", **EN).content.decode()
    rows = re.findall(r'<tr data-number="(\d+)" data-light="(\w*)"', html)
    assert rows == [(red.number, "red"), (yellow.number, "yellow"), (green.number, "green")]
    assert '<span class="light light-red" data-light="red">overdue</span>' in html
    assert '<span class="light light-yellow" data-light="yellow">due soon</span>' in html
    assert '<span class="light light-green" data-light="green">on time</span>' in html
    assert f'href="/casework/cases/{red.number}/"' in html
    assert ">accept</span>" in html

    only_red = client.get("/casework/queue/", {"light": "red"}).content.decode()
    assert re.findall(r'<tr data-number="(\d+)"', only_red) == [red.number]


def test_all_cases_with_filters(case_world, client):
    open_case = make_case(case_world)
    closed = make_case(case_world, status=Status.CLOSED)
    make_case(case_world, cell="360521001001001")
    logged_in(client, case_world.user("district-a"))
    html = client.get("/casework/queue/", {"show": "all"}).content.decode()
    assert set(re.findall(r'<tr data-number="(\d+)"', html)) == {open_case.number, closed.number}
    filtered = client.get("/casework/queue/", {"show": "all", "status": "closed"}).content
    assert re.findall(r'<tr data-number="(\d+)"', filtered.decode()) == [closed.number]
    wrong = client.get("/casework/queue/", {"show": "all", "reported_from": "soon"}, **EN)
    assert wrong.status_code == 422
    assert "is not a date" in wrong.content.decode()


# --- the case page --------------------------------------------------------------------------


def test_the_case_page_shows_chain_history_photos_map_and_moves(report_world, client, media):
    result = report_case(
        report_world,
        photos=[SimpleUploadedFile("a.jpg", jpeg_bytes(), content_type="image/jpeg")],
        address="人民路12号",
    )
    incident = result.incident
    dispatcher = {4: "community-a", 3: "street-a", 2: "district-a", 1: "city"}[incident.tier]
    logged_in(client, report_world.user(dispatcher))
    html = client.get(case_url(incident), **EN).content.decode()
    assert f'id="case-number">{incident.number}<' in html
    assert 'data-status="reported"' in html
    assert "渝水区" in html and "城南街道" in html and REPORT_CELL in html
    photo = incident.photos.get()
    assert f'src="/api/casework/photos/{photo.pk}"' in html
    assert "/media/" not in html
    assert 'id="case-map"' in html and 'id="case-map-data"' in html
    assert 'data-action="reported"' in html
    moves = re.findall(r'<div class="move[^"]*" data-move="(\w+)">', html)
    assert moves[:1] == ["accept"] and {"void", "escalate"} <= set(moves)
    assert f'action="/casework/cases/{incident.number}/void/"' in html
    assert re.search(r'id="reason-void" name="reason" required', html)
    assert html.count('name="expected_status" value="reported"') == len(moves)
    assert 'name="csrfmiddlewaretoken"' in html


def test_move_forms_carry_the_fields_each_move_needs(workflow_world, client):
    registered = workflow_case(workflow_world, Status.REGISTERED)
    logged_in(client, workflow_world.user("holder"))
    html = client.get(case_url(registered), **EN).content.decode()
    assert 'id="department-dispatch" name="department"' in html
    assert f'<option value="{workflow_world.departments["street"].pk}">' in html
    assert 'id="into-merge" name="into" required' in html

    in_progress = workflow_case(workflow_world, Status.IN_PROGRESS)
    logged_in(client, workflow_world.user("handler"))
    html = client.get(case_url(in_progress), **EN).content.decode()
    handle = html[html.index('data-move="handle"') :]
    handle = handle[: handle.index("</form>")]
    assert 'enctype="multipart/form-data"' in handle
    assert 'capture="environment"' in handle and 'name="photos"' in handle
    assert "data-photos-required" in handle
    extension = html[html.index('data-move="request_extension"') :]
    assert 'name="amount"' in extension and 'name="unit"' in extension

    accepted = workflow_case(workflow_world, Status.ACCEPTED)
    logged_in(client, workflow_world.user("holder"))
    html = client.get(case_url(accepted), **EN).content.decode()
    assert 'id="category-register" name="category"' in html


def test_a_move_from_the_page_and_its_errors(workflow_world, client):
    case = workflow_case(workflow_world)
    logged_in(client, workflow_world.user("holder"))
    accept = f"/casework/cases/{case.number}/accept/"

    done = client.post(accept, {"expected_status": "reported"}, **EN)
    assert done.status_code == 302 and done["Location"] == case_url(case)
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED
    assert "now accepted" in client.get(case_url(case), **EN).content.decode()

    stale = client.post(accept, {"expected_status": "reported"}, follow=True, **EN)
    assert "Someone else changed this case: it is now accepted." in stale.content.decode()

    void = f"/casework/cases/{case.number}/void/"
    empty = client.post(void, {"expected_status": "accepted", "reason": ""}, follow=True, **EN)
    assert "give the reason for this move" in empty.content.decode()
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED

    logged_in(client, workflow_world.user("handler"))
    refused = client.post(
        f"/casework/cases/{case.number}/register/",
        {"expected_status": "accepted"},
        follow=True,
        **EN,
    )
    assert "your role may not register this case" in refused.content.decode()
    assert client.get(f"/casework/cases/{case.number}/accept/").status_code == 405


def test_a_photo_is_shown_only_through_the_protected_endpoint(case_world, client, media):
    case = make_case(case_world)
    photo = make_photo(case)
    logged_in(client, case_world.user("street-a"))
    html = client.get(case_url(case)).content.decode()
    assert f'src="/api/casework/photos/{photo.pk}"' in html
    assert photo.image.name not in html
    assert client.get(f"/api/casework/photos/{photo.pk}").status_code == 200


def test_unlocated_case_page_says_the_city_triages_it(case_world, client):
    case = make_case(case_world, cell=None)
    logged_in(client, case_world.user("city"))
    html = client.get(case_url(case), **EN).content.decode()
    assert 'id="case-unlocated"' in html
    assert 'data-move="accept"' in html


def test_an_unlocated_case_is_placed_from_its_page(case_world, client):
    case = make_case(case_world, cell=None, status=Status.ACCEPTED, source="hotline")
    logged_in(client, case_world.user("city"))
    html = client.get(case_url(case), **EN).content.decode()
    place = html[html.index('data-move="locate"') :]
    place = place[: place.index("</form>")]
    assert re.search(r'id="lon-locate" name="lon" type="number" step="any"[^>]* required', place)
    assert re.search(r'id="lat-locate" name="lat" type="number" step="any"[^>]* required', place)
    assert "Click the map where the case lies" in place
    assert 'data-move="register"' not in html
    # The map draws the manager's cells to click in.
    map_data = html[html.index('id="case-map-data"') :]
    assert '"code": "360502001001001"' in map_data and '"code": "360521001001004"' in map_data
    assert "casework/place.js" in html

    url = f"/casework/cases/{case.number}/locate/"
    wrong = client.post(url, {"expected_status": "accepted", "lon": "东经", "lat": "27.81"}, **EN)
    assert "lon must be a number" in client.get(case_url(case), **EN).content.decode()
    assert wrong.status_code == 302
    nowhere = client.post(url, {"expected_status": "accepted", "lon": "113.9", "lat": "27.7"}, **EN)
    assert nowhere.status_code == 302
    assert "the point lies in no grid cell" in client.get(case_url(case), **EN).content.decode()
    case.refresh_from_db()
    assert case.grid_cell_id is None

    lon, lat = cell_point(case_world.area("360521001001004"))
    placed = client.post(
        url, {"expected_status": "accepted", "lon": f"{lon:.6f}", "lat": f"{lat:.6f}"}, **EN
    )
    assert placed.status_code == 302 and placed["Location"] == case_url(case)
    case.refresh_from_db()
    assert case.area_code == "360521001001004" and case.status == Status.ACCEPTED
    html = client.get(case_url(case), **EN).content.decode()
    assert 'id="case-chain"' in html and 'id="case-unlocated"' not in html
    assert 'data-action="locate"' in html and 'data-move="locate"' not in html


def test_pages_send_anonymous_visitors_to_the_login_page(case_world, client):
    case = make_case(case_world)
    for url in ("/casework/report/", "/casework/queue/", case_url(case)):
        answer = client.get(url)
        assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    answer = client.post(f"/casework/cases/{case.number}/accept/")
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")


def test_the_nav_links_to_the_cases(case_world, client):
    logged_in(client, case_world.user("street-a"))
    html = client.get("/casework/queue/", **EN).content.decode()
    assert re.search(r'<a href="/casework/queue/" aria-current="page">Cases</a>', html)
