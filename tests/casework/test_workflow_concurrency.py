"""Two people move the same case at the same moment, each in their own thread and database
connection: the row lock lets one win, the other gets 409 with the state the winner left,
and the history holds exactly one event for the move."""

from __future__ import annotations

import pytest

from casework.models import Incident, IncidentEvent, Status
from casework.services import workflow
from grid.errors import Conflict
from grid.models import Notification
from tests.concurrency import at_once
from tests.fixtures.casework import build_workflow_world, workflow_case

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5


def one_wins(results: list[object]) -> tuple[Incident, Conflict]:
    winners = [r for r in results if isinstance(r, Incident)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    return winners[0], losers[0]


def moves_of(case: Incident) -> list[tuple[str, str, str]]:
    return list(
        IncidentEvent.objects.filter(incident=case)
        .exclude(action="reported")
        .order_by("at", "id")
        .values_list("action", "from_status", "to_status")
    )


@pytest.fixture
def world(work_calendar, workflow_media):
    return build_workflow_world()


def test_accept_against_void_one_wins(world):
    """Both saw the report as reported (an accepted case may still be voided, so the page's
    state is what makes the second move stale)."""
    holder, root = world.user("holder"), world.user("superuser")
    for _ in range(ROUNDS):
        case = workflow_case(world, Status.REPORTED)
        winner, loser = one_wins(
            at_once(
                lambda pk=case.pk: workflow.incident_accept(
                    actor=holder, incident_id=pk, expected_status=Status.REPORTED
                ),
                lambda pk=case.pk: workflow.incident_void(
                    actor=root, incident_id=pk, expected_status=Status.REPORTED, reason="虚假上报"
                ),
            )
        )
        final = Incident.objects.get(pk=case.pk)
        assert final.status == winner.status
        assert loser.details["status"] == final.status
        assert moves_of(case) == [
            ("accept" if final.status == Status.ACCEPTED else "void", "reported", final.status)
        ]


def test_the_same_dispatch_twice_at_once(world):
    holder, root = world.user("holder"), world.user("superuser")
    handler = world.user("handler")
    for _ in range(ROUNDS):
        case = workflow_case(world, Status.REGISTERED)
        _winner, loser = one_wins(
            at_once(
                lambda pk=case.pk: workflow.incident_dispatch(actor=holder, incident_id=pk),
                lambda pk=case.pk: workflow.incident_dispatch(actor=root, incident_id=pk),
            )
        )
        assert loser.details == {"status": Status.DISPATCHED}
        assert moves_of(case) == [("dispatch", "registered", "dispatched")]
        final = Incident.objects.get(pk=case.pk)
        assert (final.status, final.step_round) == (Status.DISPATCHED, 2)
        assert Notification.objects.filter(user=handler, link__contains=case.number).count() == 1


def test_the_department_returns_while_the_dispatcher_parks(world):
    holder, handler = world.user("holder"), world.user("handler")
    for _ in range(ROUNDS):
        case = workflow_case(world, Status.IN_PROGRESS)
        winner, loser = one_wins(
            at_once(
                lambda pk=case.pk: workflow.incident_return(
                    actor=handler, incident_id=pk, reason="非本部门职责"
                ),
                lambda pk=case.pk: workflow.incident_park(
                    actor=holder, incident_id=pk, reason="等待第三方"
                ),
            )
        )
        final = Incident.objects.get(pk=case.pk)
        assert final.status == winner.status == loser.details["status"]
        assert len(moves_of(case)) == 1
        assert final.return_count == (1 if final.status == Status.REGISTERED else 0)


def test_one_extension_granted_once_when_approved_twice_at_once(world):
    holder, root = world.user("holder"), world.user("superuser")
    for _ in range(ROUNDS):
        case = workflow_case(world, Status.IN_PROGRESS, extension_pending=True)
        winner, loser = one_wins(
            at_once(
                lambda pk=case.pk: workflow.incident_approve_extension(
                    actor=holder, incident_id=pk
                ),
                lambda pk=case.pk: workflow.incident_approve_extension(actor=root, incident_id=pk),
            )
        )
        assert loser.details["extension_requested"] is False
        final = Incident.objects.get(pk=case.pk)
        assert (final.extension_count, final.extension_requested) == (1, False)
        assert final.step_deadline == winner.step_deadline > case.step_deadline
        assert [action for action, *_ in moves_of(case)] == [
            "request_extension",
            "approve_extension",
        ]


def test_two_cases_merged_into_each_other_at_once(world):
    """The two rows are locked in id order, so opposite merges queue instead of deadlocking:
    the second finds its target closed."""
    holder, root = world.user("holder"), world.user("superuser")
    for _ in range(ROUNDS):
        first = workflow_case(world, Status.REGISTERED)
        second = workflow_case(world, Status.REGISTERED)
        winner, loser = one_wins(
            at_once(
                lambda a=first.pk, b=second.pk: workflow.incident_merge(
                    actor=holder, incident_id=a, into_id=b
                ),
                lambda a=first.pk, b=second.pk: workflow.incident_merge(
                    actor=root, incident_id=b, into_id=a
                ),
            )
        )
        assert loser.details == {"status": Status.REGISTERED, "into_status": Status.CLOSED}
        closed = Incident.objects.get(pk=winner.pk)
        kept = Incident.objects.get(pk=closed.duplicate_of_id)
        assert (closed.status, kept.status) == (Status.CLOSED, Status.REGISTERED)
        assert [action for action, *_ in moves_of(closed)] == ["merge"]
        assert [action for action, *_ in moves_of(kept)] == ["merged_from"]
