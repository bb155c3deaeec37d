"""The access matrix through every casework endpoint and page.

- A district officer of district A (360502) cannot list, read, move or see the photos of a
  case in district B (360521), nor the other way round: 404 everywhere, exactly as for a case
  that does not exist, and it appears in no list or queue.
- A grid inspector sees the cases on their own cells and their own reports, nothing else.
- A department handler sees the cases dispatched to their department, outside their areas too,
  from dispatch on (a case routed to the department but not yet dispatched is not theirs).
- The unlocated queue (reports in no grid cell) is the city managers' alone.
- Anonymous: 401 from the API, the login page from the pages.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from casework.models import Incident, Status
from casework.transitions import MOVES
from grid.models import Role
from tests.factories import UserFactory, assign, department
from tests.fixtures.casework import cell_centre, make_case, make_photo
from tests.fixtures.community import cell_point, make_facility

pytestmark = pytest.mark.django_db

CELL_A = "360502001001001"
CELL_A2 = "360502001001002"
CELL_A_COMMUNITY_2 = "360502001002001"
CELL_B = "360521001001001"


@dataclass
class Matrix:
    in_a: Incident
    in_b: Incident
    in_a2: Incident
    own_report: Incident
    dispatched_out: Incident
    not_dispatched: Incident
    routed_not_dispatched: Incident
    unlocated: Incident
    photos: dict


@pytest.fixture
def matrix(case_world, media) -> Matrix:
    community_1 = case_world.area("360502001001")
    squad = department(community_1, "城南第1社区保洁队", "huanwei")
    handler = UserFactory(username="handler-community")
    assign(handler, community_1, Role.DEPARTMENT_HANDLER, squad)
    case_world.users["handler-community"] = handler
    cases = Matrix(
        in_a=make_case(case_world, status=Status.REGISTERED),
        in_b=make_case(case_world, cell=CELL_B, status=Status.REGISTERED),
        in_a2=make_case(case_world, cell=CELL_A2, status=Status.HANDLED),
        own_report=make_case(case_world, cell=CELL_A2, reporter=case_world.user("inspector-a")),
        dispatched_out=make_case(
            case_world, cell=CELL_A_COMMUNITY_2, status=Status.DISPATCHED, department=squad
        ),
        not_dispatched=make_case(case_world, cell=CELL_A_COMMUNITY_2),
        routed_not_dispatched=make_case(
            case_world, cell=CELL_A_COMMUNITY_2, status=Status.REGISTERED, department=squad
        ),
        unlocated=make_case(case_world, cell=None),
        photos={},
    )
    for name in ("in_a", "in_b", "in_a2", "unlocated", "dispatched_out"):
        cases.photos[name] = make_photo(getattr(cases, name))
    return cases


def as_user(world, name: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.user(name))
    return client


def api_numbers(client, url: str, **params) -> set[str]:
    answer = client.get(url, {"page_size": 500, **params})
    assert answer.status_code == 200
    return {row["number"] for row in answer.json()["results"]}


def visible_through_api(client, case: Incident, photo=None) -> bool:
    """Whether the case shows in the list and the detail (and its photo, if given), checking
    that every way of looking agrees."""
    in_list = case.number in api_numbers(client, "/api/casework/cases")
    detail = client.get(f"/api/casework/cases/{case.number}").status_code
    assert detail in (200, 404)
    answers = {in_list, detail == 200}
    if photo is not None:
        status = client.get(f"/api/casework/photos/{photo.pk}").status_code
        assert status in (200, 404)
        answers.add(status == 200)
    assert len(answers) == 1, (case.number, in_list, detail)
    return answers.pop()


def visible_through_pages(client, case: Incident) -> bool:
    in_list = (
        f'data-number="{case.number}"'
        in client.get("/casework/queue/", {"show": "all"}).content.decode()
    )
    page = client.get(f"/casework/cases/{case.number}/").status_code
    assert page in (200, 404)
    assert in_list == (page == 200), (case.number, in_list, page)
    return in_list


# --- district A against district B ----------------------------------------------------------


@pytest.mark.parametrize(
    ("reader", "own", "other"), [("district-a", "in_a", "in_b"), ("district-b", "in_b", "in_a")]
)
def test_a_district_officer_sees_nothing_of_the_other_district(
    case_world, matrix, client, reader, own, other
):
    api = as_user(case_world, reader)
    mine, theirs = getattr(matrix, own), getattr(matrix, other)
    assert visible_through_api(api, mine, matrix.photos[own])
    assert not visible_through_api(api, theirs, matrix.photos[other])
    for params in ({}, {"area": theirs.area_code}, {"status": "registered"}, {"light": "green"}):
        assert theirs.number not in api_numbers(api, "/api/casework/cases", **params)
    assert theirs.number not in api_numbers(api, "/api/casework/queue")

    client.force_login(case_world.user(reader))
    assert visible_through_pages(client, mine)
    assert not visible_through_pages(client, theirs)
    assert f'data-number="{theirs.number}"' not in client.get("/casework/queue/").content.decode()


@pytest.mark.parametrize("move", list(MOVES))
def test_no_move_reaches_a_case_of_the_other_district(case_world, matrix, client, move):
    case = matrix.in_a
    api = as_user(case_world, "district-b")
    answer = api.post(
        f"/api/casework/cases/{case.number}/{move}",
        {"expected_status": case.status, "reason": "越权", "into": matrix.in_b.number},
        format="json",
    )
    assert answer.status_code == 404
    client.force_login(case_world.user("district-b"))
    page = client.post(
        f"/casework/cases/{case.number}/{move}/",
        {"expected_status": case.status, "reason": "越权", "into": matrix.in_b.number},
    )
    assert page.status_code == 404
    case.refresh_from_db()
    assert case.status == Status.REGISTERED
    assert not case.events.exists()


def test_a_case_of_the_other_district_cannot_be_a_merge_target(case_world, matrix):
    answer = as_user(case_world, "district-b").post(
        f"/api/casework/cases/{matrix.in_b.number}/merge", {"into": matrix.in_a.number}
    )
    assert answer.status_code == 422
    matrix.in_b.refresh_from_db()
    assert matrix.in_b.status == Status.REGISTERED


def test_the_other_districts_facilities_and_map_are_not_offered(case_world, matrix, client):
    cell = case_world.area(CELL_A)
    make_facility(cell=cell, category=case_world.facility_category)
    point = cell_point(cell)
    params = {"lon": point.x, "lat": point.y, "category": case_world.component.pk}
    assert as_user(case_world, "district-a").get("/api/casework/facilities-near", params).json()
    assert (
        as_user(case_world, "district-b").get("/api/casework/facilities-near", params).json() == []
    )
    client.force_login(case_world.user("district-b"))
    html = client.get("/casework/report/").content.decode()
    assert '"code": "360521' in html and '"code": "360502' not in html


def test_reporting_into_the_other_district_is_refused(case_world, matrix):
    lon, lat = cell_centre(CELL_A)
    answer = as_user(case_world, "district-b").post(
        "/api/casework/reports",
        {"category": case_world.event.pk, "lon": lon, "lat": lat, "description": "越界"},
        format="json",
    )
    assert answer.status_code == 403
    assert not Incident.objects.filter(description="越界").exists()


# --- inspectors, handlers, the unlocated queue ----------------------------------------------


def test_an_inspector_sees_their_cells_and_their_own_reports_only(case_world, matrix, client):
    api = as_user(case_world, "inspector-a")
    assert visible_through_api(api, matrix.in_a, matrix.photos["in_a"])
    assert visible_through_api(api, matrix.own_report)
    for other in ("in_a2", "in_b", "unlocated", "dispatched_out"):
        assert not visible_through_api(api, getattr(matrix, other), matrix.photos[other]), other
    assert not visible_through_api(api, matrix.not_dispatched)
    assert api_numbers(api, "/api/casework/cases") == {matrix.in_a.number, matrix.own_report.number}
    # The handled case on the next cell waits for that cell's inspector, not this one.
    assert api_numbers(api, "/api/casework/queue") == {matrix.own_report.number}

    client.force_login(case_world.user("inspector-a"))
    assert visible_through_pages(client, matrix.in_a)
    assert visible_through_pages(client, matrix.own_report)
    assert not visible_through_pages(client, matrix.in_a2)


def test_a_handler_sees_the_cases_dispatched_to_their_department(case_world, matrix, client):
    api = as_user(case_world, "handler-community")
    # Outside the handler's community, but dispatched to their squad.
    assert visible_through_api(api, matrix.dispatched_out, matrix.photos["dispatched_out"])
    assert not visible_through_api(api, matrix.not_dispatched)
    # Routed to the squad at report time, but not dispatched yet: not the squad's to see.
    assert not visible_through_api(api, matrix.routed_not_dispatched)
    assert not visible_through_api(api, matrix.in_b, matrix.photos["in_b"])
    assert matrix.dispatched_out.number in api_numbers(api, "/api/casework/queue")
    moves = api.get(f"/api/casework/cases/{matrix.dispatched_out.number}").json()["moves"]
    assert [move["name"] for move in moves] == ["start", "return"]

    client.force_login(case_world.user("handler-community"))
    assert visible_through_pages(client, matrix.dispatched_out)
    assert not visible_through_pages(client, matrix.not_dispatched)


@pytest.mark.parametrize(
    "reader",
    ["district-a", "street-a", "community-a", "inspector-a", "handler-a", "district-b", "nobody"],
)
def test_the_unlocated_queue_is_the_city_managers_alone(case_world, matrix, client, reader):
    api = as_user(case_world, reader)
    assert not visible_through_api(api, matrix.unlocated, matrix.photos["unlocated"])
    assert matrix.unlocated.number not in api_numbers(api, "/api/casework/queue")
    assert api_numbers(api, "/api/casework/cases", unlocated="true") == set()
    client.force_login(case_world.user(reader))
    assert not visible_through_pages(client, matrix.unlocated)


@pytest.mark.parametrize("actor", ["district-a", "street-a", "inspector-a", "handler-a"])
def test_only_the_city_places_an_unlocated_case_on_the_map(case_world, matrix, client, actor):
    case = matrix.unlocated
    lon, lat = cell_centre(CELL_A)
    data = {"expected_status": case.status, "lon": lon, "lat": lat}
    answer = as_user(case_world, actor).post(
        f"/api/casework/cases/{case.number}/locate", data, format="json"
    )
    assert answer.status_code == 404
    client.force_login(case_world.user(actor))
    assert client.post(f"/casework/cases/{case.number}/locate/", data).status_code == 404
    case.refresh_from_db()
    assert (case.grid_cell_id, case.area_code) == (None, "3605")
    assert not case.events.exists()

    placed = as_user(case_world, "city").post(
        f"/api/casework/cases/{case.number}/locate", data, format="json"
    )
    assert placed.status_code == 200, placed.content
    assert placed.json()["grid_cell"] == CELL_A
    # Placed in district A, the case is district A's to see, and still not district B's.
    assert visible_through_api(as_user(case_world, "district-a"), case)
    assert not visible_through_api(as_user(case_world, "district-b"), case)


def test_a_city_manager_sees_the_unlocated_queue(case_world, matrix, client):
    api = as_user(case_world, "city")
    assert visible_through_api(api, matrix.unlocated, matrix.photos["unlocated"])
    assert matrix.unlocated.number in api_numbers(api, "/api/casework/queue")
    assert api_numbers(api, "/api/casework/cases", unlocated="true") == {matrix.unlocated.number}
    client.force_login(case_world.user("city"))
    assert visible_through_pages(client, matrix.unlocated)


def test_someone_without_assignments_sees_nothing(case_world, matrix, client):
    api = as_user(case_world, "nobody")
    assert api_numbers(api, "/api/casework/cases") == set()
    assert api_numbers(api, "/api/casework/queue") == set()
    for name, photo in matrix.photos.items():
        assert api.get(f"/api/casework/photos/{photo.pk}").status_code == 404, name


# --- anonymous ------------------------------------------------------------------------------


def test_anonymous_requests_get_401_and_pages_the_login(case_world, matrix, client):
    api = APIClient()
    number = matrix.in_a.number
    photo = matrix.photos["in_a"]
    for url in (
        "/api/casework/cases",
        "/api/casework/queue",
        f"/api/casework/cases/{number}",
        f"/api/casework/photos/{photo.pk}",
        "/api/casework/categories",
        "/api/casework/facilities-near?lon=114&lat=27.8&category=1",
    ):
        answer = api.get(url)
        assert answer.status_code == 401, url
        assert answer["WWW-Authenticate"].startswith("Token"), url
    assert api.post("/api/casework/reports", {}).status_code == 401
    for move in MOVES:
        assert api.post(f"/api/casework/cases/{number}/{move}").status_code == 401, move
    for url in ("/casework/report/", "/casework/queue/", f"/casework/cases/{number}/"):
        answer = client.get(url)
        assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    answer = client.post(f"/casework/cases/{number}/accept/")
    assert answer["Location"].startswith("/accounts/login/")
    matrix.in_a.refresh_from_db()
    assert matrix.in_a.status == Status.REGISTERED
