"""Every move of the transition table, from every state, by every person around a case, made
through the move services.

The expectations are generated from casework.transitions.MOVES × the states × the people of
the workflow world, from what each person is for a case of cell 360502001001001 held by its
street and routed to the street's 城管 squad: a case the person may not see → 404; a move the
state does not allow → 409 naming the current state; a move the case's place does not allow
(placing a case that lies in a grid cell on the map) → 409 too; a move both allow but the
person's part does not → 403; otherwise the move is made and the case is in the move's target
state. The same again for a case of the city's unlocated queue (in no grid cell, held by the
city): only the city's managers (and superusers) see it, it may be placed on the map but not
registered or dispatched. Each attempt runs in a savepoint that is rolled back, so every
attempt starts from the same case in the same state.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils.translation import override

from casework.models import Incident, IncidentEvent
from casework.models import Status as S
from casework.services import workflow
from casework.transitions import (
    DISPATCHER,
    HANDLER,
    INSPECTOR,
    LOCATED,
    MOVES,
    UNLOCATED,
    allowed_moves,
)
from grid.errors import Conflict, DomainError, Forbidden, NotFound
from tests.fixtures.casework import (
    cell_centre,
    workflow_case,
    workflow_photo,
    workflow_unlocated_case,
)

pytestmark = pytest.mark.django_db

# What each person is for the case: (sees it, the parts they play).
PEOPLE = {
    "holder": (True, {DISPATCHER}),  # street officer of the holding street
    "district": (True, set()),  # district officer above it: in scope, not the holding tier
    "other-district": (False, set()),  # street officer of the other district
    "handler": (True, {HANDLER}),  # handler of the routed (and dispatched) department
    "other-handler": (True, set()),  # handler of another department on the same street
    "inspector": (True, {INSPECTOR}),  # grid inspector of the case's cell
    "other-inspector": (False, set()),  # grid inspector of the next cell
    "community": (True, set()),  # community staff: the tier is the street, not theirs
    "superuser": (True, {"superuser"}),
}
# What each person is for a case of the unlocated queue.
UNLOCATED_PEOPLE = {
    "city": (True, {DISPATCHER}),  # city manager: the city holds the case
    "holder": (False, set()),  # the street officer of the next example: not the city's queue
    "district": (False, set()),
    "handler": (False, set()),
    "inspector": (False, set()),
    "superuser": (True, {"superuser"}),
}
# The moves the table leaves to the service (target None): each keeps the case's state.
SAME_STATE = {"locate", "escalate", "request_extension", "approve_extension", "reject_extension"}
# Where the unlocated cases of these tests are placed: a cell of the city's.
PLACE_CELL = "360502001002004"


def expected(person: str, status: str, move_name: str, *, located: bool = True) -> int | str:
    """404, 409, 403, or the state the case is in after the move."""
    visible, parts = (PEOPLE if located else UNLOCATED_PEOPLE)[person]
    move = MOVES[move_name]
    if not visible:
        return 404
    if status not in move.sources:
        return 409
    if move.place == (UNLOCATED if located else LOCATED):
        return 409
    if "superuser" not in parts and not parts & move.parts:
        return 403
    if move_name == "escalate" and not located:
        return 409  # held by the city already: there is no tier above
    return status if move_name in SAME_STATE else move.target


def arguments(move: str, case: Incident, kept: Incident) -> dict:
    if move == "locate":
        lon, lat = cell_centre(PLACE_CELL)
        return {"lon": lon, "lat": lat}
    if move in {"void", "escalate", "return", "reject_extension", "park", "check_fail"}:
        return {"reason": "理由"}
    if move == "request_extension":
        return {"amount": 1, "unit": "days", "reason": "材料未到"}
    if move == "handle":
        return {"photos": [workflow_photo()]}
    if move == "merge":
        return {"into_id": kept.pk}
    return {}


def attempt(actor, case: Incident, kept: Incident, move: str) -> tuple[int | str, object]:
    """The outcome of the move (status code, or the new state) and the error or the events it
    wrote, rolled back."""
    savepoint = transaction.savepoint()
    try:
        with override("en"):
            moved = workflow.incident_move(
                actor=actor, incident_id=case.pk, move=move, **arguments(move, case, kept)
            )
        events = list(
            IncidentEvent.objects.filter(incident=case, action=move).values_list(
                "from_status", "to_status", "actor_id"
            )
        )
        return moved.status, events
    except DomainError as error:
        return error.status, error
    finally:
        transaction.savepoint_rollback(savepoint)


def build_cases(world) -> dict[str, Incident]:
    cases = {status: workflow_case(world, status) for status in S.values}
    # The extension decisions need a request waiting; asking for one needs none.
    cases["in_progress_pending"] = workflow_case(world, S.IN_PROGRESS, extension_pending=True)
    return cases


def case_for(cases: dict, status: str, move: str) -> Incident:
    if status == S.IN_PROGRESS and move in {"approve_extension", "reject_extension"}:
        return cases["in_progress_pending"]
    return cases[status]


@pytest.mark.parametrize("person", PEOPLE)
def test_every_move_from_every_state(person, workflow_world, workflow_media, work_calendar):
    world = workflow_world
    actor = world.user(person)
    cases = build_cases(world)
    kept = workflow_case(world, S.REGISTERED)
    outcomes: dict[int | str, int] = {}
    mismatches = []
    for status in S.values:
        for move in MOVES:
            case = case_for(cases, status, move)
            got, detail = attempt(actor, case, kept, move)
            want = expected(person, status, move)
            key = got if isinstance(got, int) else "moved"
            outcomes[key] = outcomes.get(key, 0) + 1
            if got != want:
                mismatches.append((status, move, want, got, str(detail)))
            elif got in (409, 403):
                assert isinstance(detail, Conflict if got == 409 else Forbidden)
                assert detail.details["status"] == status, (status, move, detail.details)
            elif got == 404:
                assert isinstance(detail, NotFound)
            else:
                # Exactly one history row for the move, by this person, from → to.
                assert detail == [(status, got, actor.pk)], (status, move, detail)
            assert Incident.objects.get(pk=case.pk).status == status  # rolled back
    assert not mismatches, "\n".join(map(str, mismatches))
    assert sum(outcomes.values()) == len(S.values) * len(MOVES)
    visible, parts = PEOPLE[person]
    if not visible:
        assert outcomes == {404: len(S.values) * len(MOVES)}
    else:
        assert outcomes.get(409, 0) > 0
        assert (outcomes.get("moved", 0) > 0) == bool(parts)
        assert (outcomes.get(403, 0) > 0) == ("superuser" not in parts)


@pytest.mark.parametrize("person", UNLOCATED_PEOPLE)
def test_every_move_of_an_unlocated_case(person, workflow_world, workflow_media, work_calendar):
    world = workflow_world
    actor = world.user(person)
    cases = {status: workflow_unlocated_case(world, status) for status in S.values}
    cases["in_progress_pending"] = workflow_unlocated_case(
        world, S.IN_PROGRESS, extension_pending=True
    )
    kept = workflow_case(world, S.REGISTERED)
    mismatches, moved = [], set()
    for status in S.values:
        for move in MOVES:
            case = case_for(cases, status, move)
            got, detail = attempt(actor, case, kept, move)
            want = expected(person, status, move, located=False)
            if got != want:
                mismatches.append((status, move, want, got, str(detail)))
            elif got in (409, 403):
                assert detail.details["status"] == status, (status, move, detail.details)
            elif got != 404:
                moved.add(move)
                assert detail == [(status, got, actor.pk)], (status, move, detail)
            case.refresh_from_db()
            assert (case.status, case.grid_cell_id) == (status, None)  # rolled back
    assert not mismatches, "\n".join(map(str, mismatches))
    if UNLOCATED_PEOPLE[person][0]:
        assert {"locate", "accept", "void"} <= moved
        assert not moved & {"register", "dispatch", "escalate"}
    else:
        assert not moved


def test_placing_a_located_case_names_its_cell(workflow_world, work_calendar):
    case = workflow_case(workflow_world, S.ACCEPTED)
    with override("en"), pytest.raises(Conflict) as refused:
        workflow.incident_locate(
            actor=workflow_world.user("holder"), incident_id=case.pk, lon=114.01, lat=27.81
        )
    assert refused.value.message == "the case already lies in grid cell 360502001001001"
    assert refused.value.details == {"status": S.ACCEPTED, "grid_cell": "360502001001001"}
    assert not case.events.filter(action="locate").exists()


@pytest.mark.parametrize(("move", "status"), [("register", S.ACCEPTED), ("dispatch", S.REGISTERED)])
def test_an_unlocated_case_is_placed_before_it_is_registered_or_dispatched(
    workflow_world, work_calendar, move, status
):
    case = workflow_unlocated_case(workflow_world, status)
    with override("en"), pytest.raises(Conflict) as refused:
        workflow.incident_move(
            actor=workflow_world.user("city"),
            incident_id=case.pk,
            move=move,
            **(
                {"department_id": workflow_world.departments["city"].pk}
                if move == "dispatch"
                else {}
            ),
        )
    assert "place the case on the map first" in refused.value.message
    assert refused.value.details == {"status": status, "grid_cell": None}
    case.refresh_from_db()
    assert case.status == status and not case.events.exclude(action="reported").exists()


def test_refusals_name_the_current_state(workflow_world, work_calendar):
    case = workflow_case(workflow_world, S.DISPATCHED)
    with override("en"), pytest.raises(Conflict) as refused:
        workflow.incident_close(actor=workflow_world.user("holder"), incident_id=case.pk)
    assert "dispatched" in refused.value.message
    assert refused.value.details == {"status": S.DISPATCHED}
    with override("en"), pytest.raises(Forbidden) as forbidden:
        workflow.incident_start(actor=workflow_world.user("holder"), incident_id=case.pk)
    assert forbidden.value.details == {"status": S.DISPATCHED}
    with override("en"), pytest.raises(NotFound) as hidden:
        workflow.incident_start(actor=workflow_world.user("other-district"), incident_id=case.pk)
    assert str(case.pk) in hidden.value.message
    with pytest.raises(NotFound):
        workflow.incident_start(actor=workflow_world.user("handler"), incident_id=case.pk + 999)


def test_the_generated_table_agrees_with_hand_picked_cases():
    cases = {
        ("holder", S.REPORTED, "accept"): S.ACCEPTED,
        ("holder", S.ACCEPTED, "register"): S.REGISTERED,
        ("holder", S.REGISTERED, "dispatch"): S.DISPATCHED,
        ("holder", S.REGISTERED, "escalate"): S.REGISTERED,
        ("holder", S.DISPATCHED, "start"): 403,
        ("holder", S.CHECKED, "close"): S.CLOSED,
        ("holder", S.CLOSED, "close"): 409,
        ("district", S.REPORTED, "accept"): 403,
        ("other-district", S.REPORTED, "accept"): 404,
        ("handler", S.DISPATCHED, "start"): S.IN_PROGRESS,
        ("handler", S.IN_PROGRESS, "return"): S.REGISTERED,
        ("handler", S.IN_PROGRESS, "handle"): S.HANDLED,
        ("handler", S.IN_PROGRESS, "approve_extension"): 403,
        ("handler", S.REGISTERED, "dispatch"): 403,
        ("handler", S.PARKED, "handle"): 409,
        ("other-handler", S.DISPATCHED, "start"): 403,
        ("inspector", S.HANDLED, "check_pass"): S.CHECKED,
        ("inspector", S.HANDLED, "check_fail"): S.IN_PROGRESS,
        ("inspector", S.REPORTED, "accept"): 403,
        ("other-inspector", S.HANDLED, "check_pass"): 404,
        ("community", S.REPORTED, "accept"): 403,
        ("superuser", S.IN_PROGRESS, "park"): S.PARKED,
        ("superuser", S.PARKED, "unpark"): S.IN_PROGRESS,
        ("superuser", S.VOIDED, "accept"): 409,
        ("superuser", S.IN_PROGRESS, "merge"): S.CLOSED,
        ("holder", S.REPORTED, "locate"): 409,
        ("superuser", S.ACCEPTED, "locate"): 409,
        ("district", S.ACCEPTED, "locate"): 409,
    }
    for (person, status, move), want in cases.items():
        assert expected(person, status, move) == want, (person, status, move)
    unlocated = {
        ("city", S.REPORTED, "locate"): S.REPORTED,
        ("city", S.ACCEPTED, "locate"): S.ACCEPTED,
        ("city", S.REGISTERED, "locate"): S.REGISTERED,
        ("city", S.DISPATCHED, "locate"): 409,
        ("city", S.REPORTED, "accept"): S.ACCEPTED,
        ("city", S.ACCEPTED, "register"): 409,
        ("city", S.REGISTERED, "dispatch"): 409,
        ("city", S.REPORTED, "escalate"): 409,
        ("city", S.DISPATCHED, "start"): 403,
        ("superuser", S.ACCEPTED, "register"): 409,
        ("superuser", S.REPORTED, "locate"): S.REPORTED,
        ("holder", S.REPORTED, "locate"): 404,
        ("handler", S.REGISTERED, "locate"): 404,
    }
    for (person, status, move), want in unlocated.items():
        assert expected(person, status, move, located=False) == want, (person, status, move)


def test_every_move_has_its_service():
    assert set(workflow.SERVICES) == set(MOVES)
    assert {name for name, move in MOVES.items() if move.target is None} == SAME_STATE
    for name, service in workflow.SERVICES.items():
        assert service.__name__ == f"incident_{name}"
    assert [move.name for move in allowed_moves(S.IN_PROGRESS, {HANDLER})] == [
        "return",
        "request_extension",
        "handle",
    ]
