"""A component case's facility follows the case: 破损 (damaged) when the case is registered,
完好 (intact) when it is closed, each change in the facility's own history under the case
number; no change when the facility is already in that state."""

from __future__ import annotations

import pytest

from casework.models import IncidentEvent, Status
from casework.services import workflow
from community.models import Facility, FacilityState, FacilityStateChange
from grid.errors import InvalidInput
from tests.fixtures.casework import workflow_case, workflow_photo
from tests.fixtures.community import make_facility

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(workflow_world, work_calendar, workflow_media):
    return workflow_world


def cover(world, state: str = FacilityState.INTACT) -> Facility:
    return make_facility(
        cell=world.area("360502001001001"),
        category=world.component.facility_category,
        state=state,
    )


def facility_history(facility: Facility) -> list[tuple[str, str, str, str]]:
    return list(
        FacilityStateChange.objects.filter(facility=facility)
        .order_by("changed_at", "id")
        .values_list("from_state", "to_state", "reference", "changed_by__username")
    )


def state_of(facility: Facility) -> str:
    return Facility.objects.get(pk=facility.pk).state


def test_damaged_when_registered_intact_when_closed(world):
    facility = cover(world)
    case = workflow_case(world, Status.ACCEPTED, category=world.component, facility=facility)
    holder, handler, inspector = (
        world.user("holder"),
        world.user("handler"),
        world.user("inspector"),
    )
    workflow.incident_register(actor=holder, incident_id=case.pk)
    assert state_of(facility) == FacilityState.DAMAGED
    register = IncidentEvent.objects.get(incident=case, action="register")
    assert register.data["facility"] == {
        "id": facility.pk,
        "code": facility.code,
        "from": FacilityState.INTACT,
        "to": FacilityState.DAMAGED,
    }
    workflow.incident_dispatch(actor=holder, incident_id=case.pk)
    workflow.incident_start(actor=handler, incident_id=case.pk)
    workflow.incident_handle(actor=handler, incident_id=case.pk, photos=[workflow_photo()])
    assert state_of(facility) == FacilityState.DAMAGED  # handled is not yet repaired
    workflow.incident_check_pass(actor=inspector, incident_id=case.pk)
    workflow.incident_close(actor=holder, incident_id=case.pk)
    assert state_of(facility) == FacilityState.INTACT
    assert facility_history(facility) == [
        (FacilityState.INTACT, FacilityState.DAMAGED, case.number, "wf-holder"),
        (FacilityState.DAMAGED, FacilityState.INTACT, case.number, "wf-holder"),
    ]
    reasons = FacilityStateChange.objects.filter(facility=facility).values_list("reason", flat=True)
    assert all(case.number in reason for reason in reasons)


@pytest.mark.parametrize("state", [FacilityState.DAMAGED, FacilityState.LOST])
def test_a_facility_already_damaged_or_lost_stays_so_when_registered(world, state):
    facility = cover(world, state)
    case = workflow_case(world, Status.ACCEPTED, category=world.component, facility=facility)
    workflow.incident_register(actor=world.user("holder"), incident_id=case.pk)
    assert state_of(facility) == state
    assert facility_history(facility) == []
    assert "facility" not in IncidentEvent.objects.get(incident=case, action="register").data


def test_closing_repairs_a_lost_facility_and_leaves_an_intact_one(world):
    lost = cover(world, FacilityState.LOST)
    case = workflow_case(world, Status.CHECKED, category=world.component, facility=lost)
    workflow.incident_close(actor=world.user("holder"), incident_id=case.pk)
    assert state_of(lost) == FacilityState.INTACT
    assert facility_history(lost) == [
        (FacilityState.LOST, FacilityState.INTACT, case.number, "wf-holder")
    ]
    intact = cover(world)
    other = workflow_case(world, Status.CHECKED, category=world.component, facility=intact)
    workflow.incident_close(actor=world.user("holder"), incident_id=other.pk)
    assert Facility.objects.get(pk=intact.pk).state == FacilityState.INTACT
    assert facility_history(intact) == []


def test_a_merged_duplicate_repairs_nothing(world):
    facility = cover(world, FacilityState.DAMAGED)
    duplicate = workflow_case(world, Status.REGISTERED, category=world.component, facility=facility)
    kept = workflow_case(world, Status.REGISTERED, category=world.component, facility=facility)
    workflow.incident_merge(actor=world.user("holder"), incident_id=duplicate.pk, into_id=kept.pk)
    assert state_of(facility) == FacilityState.DAMAGED
    assert facility_history(facility) == []


def test_a_corrected_category_lets_go_of_the_facility(world):
    facility = cover(world)
    case = workflow_case(world, Status.ACCEPTED, category=world.component, facility=facility)
    workflow.incident_register(
        actor=world.user("holder"), incident_id=case.pk, category_id=world.event.pk
    )
    stored = type(case).objects.get(pk=case.pk)
    assert (stored.category, stored.facility) == (world.event, None)
    assert state_of(facility) == FacilityState.INTACT
    assert facility_history(facility) == []
    event = IncidentEvent.objects.get(incident=case, action="register")
    assert event.data["facility_unlinked"] == facility.pk


def test_a_move_refused_after_the_facility_changed_leaves_both_as_they_were(world):
    facility = cover(world)
    case = workflow_case(world, Status.ACCEPTED, category=world.component, facility=facility)
    # The note is checked as the event is written, after the facility was set damaged.
    with pytest.raises(InvalidInput) as refused:
        workflow.incident_register(
            actor=world.user("holder"), incident_id=case.pk, note="长" * 2001
        )
    assert "note" in refused.value.details
    assert state_of(facility) == FacilityState.INTACT
    assert facility_history(facility) == []
    assert type(case).objects.get(pk=case.pk).status == Status.ACCEPTED
