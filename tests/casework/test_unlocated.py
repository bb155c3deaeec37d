"""The unlocated queue: a report whose point lies in no grid cell is kept for the city to
triage, visible to the city's managers only."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from casework.access import case_access
from casework.models import Incident, Source, Status, Step
from casework.services.routing import routing_rule_add
from grid.errors import Forbidden
from grid.models import AreaLevel, DepartmentKind, Role
from tests.factories import UserFactory, assign, box, make_area
from tests.fixtures.casework import report_case

# SquareCity spans 114.00–114.08 × 27.80–27.82; this is south-west of it, in no cell.
OUTSIDE = (113.95, 27.75)


def test_a_point_in_no_cell_is_kept_in_the_citys_queue(report_world):
    with translation.override("en"):
        result = report_case(report_world, lonlat=OUTSIDE, actor="city", source=Source.HOTLINE)
    incident = Incident.objects.get(pk=result.incident.pk)
    assert result.created
    assert incident.grid_cell is None
    assert (incident.area_code, incident.district_code) == ("3605", "")
    assert incident.chain == {
        "cell": None,
        "community": None,
        "street": None,
        "district": None,
        "city": {"id": report_world.area("3605").pk, "code": "3605", "name": "新余市"},
    }
    assert (incident.tier, incident.holder_area.code, incident.department) == (
        AreaLevel.CITY,
        "3605",
        None,
    )
    assert incident.status == Status.REPORTED
    assert incident.step == Step.REGISTER and incident.step_deadline is not None
    assert incident.number == f"{timezone.localtime(incident.reported_at).year}360500000001"
    event = incident.events.get()
    assert event.data["unlocated"] is True
    assert "unlocated queue" in event.note
    assert (incident.location.x, incident.location.y) == OUTSIDE


def test_routing_rules_do_not_apply_to_an_unlocated_report(report_world):
    routing_rule_add(
        handling_tier=AreaLevel.COMMUNITY,
        department_kind=DepartmentKind.objects.get(code="huanwei"),
    )
    incident = report_case(report_world, lonlat=OUTSIDE, actor="city", source=Source.STAFF).incident
    assert (incident.tier, incident.department) == (AreaLevel.CITY, None)
    assert incident.escalation_count == 0


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [
        ("city", True),
        ("district-a", False),
        ("district-b", False),
        ("street-a", False),
        ("community-a", False),
        ("inspector-a", False),
        ("handler-a", False),
    ],
)
def test_only_city_managers_see_the_queue(report_world, viewer, sees):
    incident = report_case(report_world, lonlat=OUTSIDE, actor="city", source=Source.STAFF).incident
    located = report_case(report_world).incident
    access = case_access(report_world.user(viewer))
    visible = set(Incident.objects.filter(access.q()).values_list("pk", flat=True))
    assert (incident.pk in visible) is sees
    assert access.may_see(incident) is sees
    # the located case is visible to the people of its chain, as a control
    assert located.pk in visible or viewer in ("district-b", "handler-a")


@pytest.mark.parametrize("reporter", ["inspector-a", "district-a", "street-a", "community-a"])
def test_only_city_managers_may_file_an_unlocated_report(report_world, reporter):
    with translation.override("en"), pytest.raises(Forbidden) as caught:
        report_case(report_world, lonlat=OUTSIDE, actor=reporter, source=Source.STAFF)
    assert "the point lies in no grid cell" in caught.value.message
    assert not Incident.objects.exists()


def test_the_system_may_file_an_unlocated_report(report_world):
    incident = report_case(report_world, lonlat=OUTSIDE, actor=None, source=Source.CITIZEN).incident
    assert incident.area_code == "3605"
    assert incident.reporter is None


def test_an_unlocated_report_goes_to_the_nearest_city(report_world):
    # A second city far to the east; a point just outside it belongs to its queue.
    other = make_area("3606", "鹰潭市", AreaLevel.CITY, None, box(117.0, 28.2, 117.1, 28.3))
    manager = UserFactory(username="report-city-3606")
    assign(manager, other, Role.CITY_MANAGER)
    near_other = report_case(
        report_world, lonlat=(117.12, 28.25), actor=manager, source=Source.HOTLINE
    ).incident
    assert (near_other.area_code, near_other.holder_area, near_other.number[4:10]) == (
        "3606",
        other,
        "360600",
    )
    assert not case_access(report_world.user("city")).may_see(near_other)
    assert case_access(manager).may_see(near_other)
    with pytest.raises(Forbidden):
        report_case(report_world, lonlat=(117.12, 28.25), actor="city", source=Source.HOTLINE)
