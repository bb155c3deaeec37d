"""Placing a case of the unlocated queue on the map (定位, incident_locate and its endpoint): the
case takes the point's grid cell and chain and is routed as a report of that point would have
been, keeps its number and its clock, leaves the city's queue for the new holder's, and can go
the whole way to closing; the refusals write nothing."""

from __future__ import annotations

import pytest
from django.utils.translation import override
from rest_framework.test import APIClient

from casework.models import Incident, IncidentEvent, Source, Status
from casework.services import workflow
from grid.errors import Conflict, Forbidden, InvalidInput
from grid.models import AreaLevel, Notification, Role
from grid.selectors.locate import locate_point
from tests.factories import UserFactory, assign, box, make_area
from tests.fixtures.casework import REPORT_CELL, UNLOCATED_POINT, report_case, workflow_photo

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
# Community 360502001002 has no 环卫 team: a 暴露垃圾 (0102) case there goes up to the street.
ESCALATING_CELL = "360502001002003"


def queued(world) -> Incident:
    """A hotline report whose coordinates lie in no grid cell: the city's unlocated queue."""
    return report_case(
        world, lonlat=UNLOCATED_POINT, actor="city", source=Source.HOTLINE, reporter_name="王先生"
    ).incident


def as_user(world, name: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.user(name))
    return client


def numbers(client, **params) -> set[str]:
    answer = client.get("/api/casework/cases", {"page_size": 500, **params})
    assert answer.status_code == 200
    return {row["number"] for row in answer.json()["results"]}


def event_rows(incident: Incident, action: str) -> list[tuple]:
    return list(
        IncidentEvent.objects.filter(incident=incident, action=action)
        .order_by("at", "id")
        .values_list("from_status", "to_status", "actor_id", "role", "note", "data")
    )


def test_a_placed_case_is_routed_as_a_report_of_that_point(report_world):
    world = report_world
    case = queued(world)
    before = Incident.objects.get(pk=case.pk)
    lon, lat = world.point(ESCALATING_CELL, dx=0.001)
    # What a report of the same point gets, as the measure.
    reference = report_case(world, lonlat=(lon, lat), actor="city", source=Source.HOTLINE).incident
    assert reference.escalation_count == 1  # community → street: the routing's own step
    city = as_user(world, "city")
    assert case.number in numbers(city, unlocated="true")

    placed = workflow.incident_locate(
        actor=world.user("city"),
        incident_id=case.pk,
        expected_status=Status.REPORTED,
        note="来电人补充：在城南第2社区",
        lon=lon,
        lat=lat,
    )

    case = Incident.objects.select_related("grid_cell", "holder_area").get(pk=placed.pk)
    assert case.grid_cell.code == case.area_code == ESCALATING_CELL
    assert case.district_code == "360502"
    assert case.chain == locate_point(lon=lon, lat=lat).as_dict() == reference.chain
    assert (case.location.x, case.location.y) == (lon, lat)
    assert (case.tier, case.holder_area, case.department, case.escalation_count) == (
        reference.tier,
        reference.holder_area,
        reference.department,
        reference.escalation_count,
    )
    assert (case.tier, case.holder_area.code, case.department) == (
        AreaLevel.STREET,
        "360502001",
        world.departments["street-a-huanwei"],
    )
    # Numbers never change; the register step's clock runs on.
    assert case.number == before.number and case.number[4:10] == "360500"
    assert case.status == Status.REPORTED
    assert (case.step, case.step_round, case.step_started_at, case.step_deadline) == (
        before.step,
        before.step_round,
        before.step_started_at,
        before.step_deadline,
    )

    [located] = IncidentEvent.objects.filter(incident=case, action="locate")
    assert (located.from_status, located.to_status, located.actor, located.role) == (
        Status.REPORTED,
        Status.REPORTED,
        world.user("city"),
        Role.CITY_MANAGER,
    )
    assert located.note == "来电人补充：在城南第2社区"
    assert located.data["from"] is None
    assert (located.data["cell"], located.data["tier"], located.data["department"]) == (
        ESCALATING_CELL,
        AreaLevel.STREET,
        world.departments["street-a-huanwei"].pk,
    )
    assert located.data["part"] == "dispatcher"
    assert located.data["holder"] == {
        "from": {"tier": AreaLevel.CITY, "area": "3605", "department": None},
        "to": {
            "tier": AreaLevel.STREET,
            "area": "360502001",
            "department": world.departments["street-a-huanwei"].pk,
        },
    }
    assert located.data["point"] == {"from": list(UNLOCATED_POINT), "to": [lon, lat]}
    # The routing's step up, written as report intake writes it, after the placing.
    escalated = event_rows(case, "escalated")
    assert [row[2:] for row in escalated] == [row[2:] for row in event_rows(reference, "escalated")]
    assert escalated[0][:4] == (Status.REPORTED, Status.REPORTED, None, "system")
    assert list(case.events.order_by("at", "id").values_list("action", flat=True)) == [
        "reported",
        "locate",
        "escalated",
    ]

    # The new holder's dispatchers are told; the city manager who placed it is not.
    link = f"/casework/cases/{case.number}/"
    assert list(Notification.objects.filter(link=link).values_list("user__username", "kind")) == [
        ("report-street-a", "case_located")
    ]
    assert ESCALATING_CELL in Notification.objects.get(link=link).title

    # Out of the city's queue, into the street's and the district's lists.
    assert case.number not in numbers(city, unlocated="true")
    assert case.number in numbers(city)
    assert case.number in numbers(as_user(world, "district-a"))
    assert case.number not in numbers(as_user(world, "district-b"))
    queue = as_user(world, "street-a").get("/api/casework/queue", {"page_size": 500}).json()
    assert case.number in {row["number"] for row in queue["results"]}


def test_a_placed_case_goes_the_whole_way_to_closing(report_world, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    world = report_world
    squad = world.departments["community-a-huanwei"]
    handler = UserFactory(username="report-handler-squad")
    assign(handler, world.area("360502001001"), Role.DEPARTMENT_HANDLER, squad)
    case = queued(world)
    lon, lat = world.point(REPORT_CELL)
    with override("en"), pytest.raises(Conflict):
        workflow.incident_register(actor=world.user("city"), incident_id=case.pk)

    workflow.incident_accept(actor=world.user("city"), incident_id=case.pk)
    workflow.incident_locate(actor=world.user("city"), incident_id=case.pk, lon=lon, lat=lat)
    community = world.user("community-a")
    workflow.incident_register(actor=community, incident_id=case.pk)
    workflow.incident_dispatch(actor=community, incident_id=case.pk)
    workflow.incident_start(actor=handler, incident_id=case.pk)
    workflow.incident_handle(actor=handler, incident_id=case.pk, photos=[workflow_photo()])
    workflow.incident_check_pass(actor=world.user("inspector-a"), incident_id=case.pk)
    closed = workflow.incident_close(actor=community, incident_id=case.pk)

    assert closed.status == Status.CLOSED
    assert (closed.area_code, closed.department) == (REPORT_CELL, squad)
    assert list(closed.events.order_by("at", "id").values_list("action", flat=True)) == [
        "reported",
        "accept",
        "locate",
        "register",
        "dispatch",
        "start",
        "handle",
        "check_pass",
        "close",
    ]


def assert_untouched(case: Incident) -> None:
    now = Incident.objects.get(pk=case.pk)
    assert (now.grid_cell_id, now.area_code, now.tier, now.department_id) == (
        None,
        "3605",
        AreaLevel.CITY,
        None,
    )
    assert (now.location.x, now.location.y) == UNLOCATED_POINT
    assert list(now.events.values_list("action", flat=True)) == ["reported"]
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("lon", "lat", "fields", "message"),
    [
        (113.9, 27.7, {"lon", "lat"}, "the point lies in no grid cell"),
        (200.0, 27.81, {"lon"}, "lon must be between -180 and 180; got 200.0"),
        (114.01, "北纬27度", {"lat"}, "lat must be a number"),
        (None, None, {"lon", "lat"}, "lon must be a number; lat must be a number"),
        (float("nan"), 27.81, {"lon"}, "lon must be a finite number"),
    ],
)
def test_a_point_that_is_no_place_in_a_cell_is_422(report_world, lon, lat, fields, message):
    case = queued(report_world)
    with override("en"), pytest.raises(InvalidInput) as refused:
        workflow.incident_locate(
            actor=report_world.user("city"), incident_id=case.pk, lon=lon, lat=lat
        )
    assert refused.value.message == message
    assert set(refused.value.details) == fields
    assert_untouched(case)


def test_a_point_outside_the_actors_areas_is_403(report_world):
    # A second city to the east, with one grid cell: the hotline's coordinates were right,
    # but the case is the other city's, not this manager's to place.
    other = make_area("3606", "鹰潭市", AreaLevel.CITY, None, box(117.0, 28.2, 117.1, 28.3))
    parent = other
    for code, level in (
        ("360602", AreaLevel.DISTRICT),
        ("360602001", AreaLevel.STREET),
        ("360602001001", AreaLevel.COMMUNITY),
        ("360602001001001", AreaLevel.GRID),
    ):
        parent = make_area(code, f"区域{code}", level, parent, box(117.0, 28.2, 117.01, 28.21))
    case = queued(report_world)
    with override("en"), pytest.raises(Forbidden) as refused:
        workflow.incident_locate(
            actor=report_world.user("city"), incident_id=case.pk, lon=117.005, lat=28.205
        )
    assert (
        refused.value.message == "the point lies in grid cell 360602001001001, outside your areas"
    )
    assert refused.value.details == {"status": Status.REPORTED, "grid_cell": "360602001001001"}
    assert_untouched(case)


def test_a_stale_page_is_409(report_world):
    case = queued(report_world)
    workflow.incident_accept(actor=report_world.user("city"), incident_id=case.pk)
    lon, lat = report_world.point()
    with override("en"), pytest.raises(Conflict) as refused:
        workflow.incident_locate(
            actor=report_world.user("city"),
            incident_id=case.pk,
            expected_status=Status.REPORTED,
            lon=lon,
            lat=lat,
        )
    assert refused.value.details == {"status": Status.ACCEPTED}
    assert "accepted" in refused.value.message
    assert Incident.objects.get(pk=case.pk).grid_cell_id is None


# --- the endpoint ---------------------------------------------------------------------------


def test_the_endpoint_places_the_case_and_answers_it(report_world):
    case = queued(report_world)
    city = as_user(report_world, "city")
    moves = city.get(f"/api/casework/cases/{case.number}").json()["moves"]
    offered = {move["name"]: move["arguments"] for move in moves}
    assert offered["locate"] == ["lon", "lat"]
    assert "register" not in offered
    lon, lat = report_world.point()
    answer = city.post(
        f"/api/casework/cases/{case.number}/locate",
        {"expected_status": "reported", "lon": lon, "lat": lat, "note": "按地址定位"},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["number"], body["status"], body["grid_cell"]) == (
        case.number,
        "reported",
        REPORT_CELL,
    )
    assert body["chain"]["cell"]["code"] == REPORT_CELL
    assert body["history"][-1]["action"] == "locate"
    assert body["history"][-1]["note"] == "按地址定位"
    # Held by the community now: the city manager's part for it is gone with it.
    assert body["moves"] == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lat": 27.81}, "lon"),
        ({"lon": "东经114度", "lat": 27.81}, "lon"),
        ({"lon": 113.9, "lat": 27.7}, "lon"),
        ({"lon": 114.01, "lat": 95}, "lat"),
    ],
)
def test_the_endpoint_refuses_a_wrong_point_with_422(report_world, data, field):
    case = queued(report_world)
    answer = as_user(report_world, "city").post(
        f"/api/casework/cases/{case.number}/locate", data, format="json", **EN
    )
    assert answer.status_code == 422, answer.content
    assert field in answer.json()["errors"]
    assert_untouched(case)


def test_register_and_dispatch_of_an_unlocated_case_are_409_through_the_api(report_world):
    case = queued(report_world)
    city = as_user(report_world, "city")
    assert city.post(f"/api/casework/cases/{case.number}/accept").status_code == 200
    answer = city.post(f"/api/casework/cases/{case.number}/register", {}, format="json", **EN)
    assert answer.status_code == 409
    assert "place the case on the map first" in answer.json()["detail"]
    assert answer.json()["errors"]["status"] == "accepted"
    assert Incident.objects.get(pk=case.pk).status == Status.ACCEPTED


def test_placing_a_located_case_is_409_through_the_api(report_world):
    case = report_case(report_world, actor="city", source=Source.HOTLINE).incident
    lon, lat = report_world.point(dx=0.002)
    answer = as_user(report_world, "city").post(
        f"/api/casework/cases/{case.number}/locate", {"lon": lon, "lat": lat}, format="json", **EN
    )
    # The city manager sees the community's case but does not hold it: the place decides first.
    assert answer.status_code == 409
    assert answer.json()["detail"] == f"the case already lies in grid cell {REPORT_CELL}"
    assert answer.json()["errors"]["grid_cell"] == REPORT_CELL
    assert not IncidentEvent.objects.filter(incident=case, action="locate").exists()
