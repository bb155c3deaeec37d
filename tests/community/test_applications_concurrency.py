"""Two people move the same application at the same moment: the row lock lets one win, the
other gets 409 with the state the winner left, and the history holds exactly one move."""

from __future__ import annotations

import pytest

from community.models import Application, ApplicationEvent, Notice
from community.services import applications as services
from grid.errors import Conflict
from tests.concurrency import at_once
from tests.fixtures.applications import build_counter_world

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5


def test_accept_against_refuse_one_wins(work_calendar):
    world = build_counter_world()
    clerk, officer = world.user("staff_a"), world.user("street_officer")
    for _ in range(ROUNDS):
        application = world.receive()
        results = at_once(
            lambda pk=application.pk: services.application_accept(actor=clerk, application_id=pk),
            lambda pk=application.pk: services.application_refuse(
                actor=officer, application_id=pk, reason="材料不实"
            ),
        )
        winners = [r for r in results if isinstance(r, Application)]
        losers = [r for r in results if isinstance(r, Conflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        final = Application.objects.get(pk=application.pk)
        assert final.status == winners[0].status
        assert losers[0].details["status"] == final.status
        actions = list(
            ApplicationEvent.objects.filter(application=application).values_list(
                "action", "from_status", "to_status"
            )
        )
        assert actions[0] == ("receive", "", "received")
        assert len(actions) == 2
        assert actions[1][1:] == ("received", final.status)
        assert Notice.objects.filter(application=application).count() == 1


def test_two_handlers_decide_at_once_one_wins(work_calendar):
    world = build_counter_world()
    clerk = world.user("staff_a")
    handler = world.user("handler")
    for _ in range(ROUNDS):
        application = world.receive(world.forward_item)
        services.application_accept(actor=clerk, application_id=application.pk)
        services.application_forward(actor=clerk, application_id=application.pk)
        results = at_once(
            lambda pk=application.pk: services.application_approve(
                actor=handler, application_id=pk
            ),
            lambda pk=application.pk: services.application_deny(
                actor=world.user("superuser"), application_id=pk, reason="不符合条件"
            ),
        )
        assert sorted(type(r).__name__ for r in results) == ["Application", "Conflict"], results
        final = Application.objects.get(pk=application.pk)
        decisions = ApplicationEvent.objects.filter(
            application=application, action__in=["approve", "deny"]
        )
        assert decisions.count() == 1
        assert decisions.get().to_status == final.status
        assert final.notices.filter(kind__in=["completion", "denial"]).count() == 1


def test_receipts_at_once_get_different_numbers(work_calendar):
    world = build_counter_world()
    results = at_once(lambda: world.receive(), lambda: world.receive())
    assert all(isinstance(r, Application) for r in results), results
    numbers = sorted(r.number for r in results)
    assert numbers[0][-4:] == "0001" and numbers[1][-4:] == "0002"
