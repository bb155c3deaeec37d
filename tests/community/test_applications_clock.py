"""The application clock: deadlines in working days from receipt, the yellow light at 80 %
of the promised working time, the pause in correction and suspension (deadlines moved on by
exactly the paused working time), immediate items due by the close of the day.

Office hours are 09:00–12:00 and 13:30–17:30 (7 h a day). Expectations are computed by hand
in the comments, on the official 2025 calendar: Friday 4 April is 清明 (a holiday), 1–5 May
is the Labour Day holiday and Sunday 27 April a make-up working day.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from community.selectors import applications as selectors
from community.selectors.applications import light_of
from community.services import applications as services
from tests.fixtures.applications import build_counter_world, immediate_item
from tests.fixtures.community import make_delegation

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


@pytest.fixture
def world(work_calendar):
    return build_counter_world()


def lights(world, application, moments: list[str]) -> list[str]:
    """The light in SQL (the list selector) and in Python, which must agree."""
    result = []
    for moment in moments:
        now = at(moment)
        row = selectors.application_list(user=world.user("staff_a"), now=now).get(pk=application.pk)
        application.refresh_from_db()
        assert row.light == light_of(application, now=now), moment
        result.append(row.light)
    return result


def test_deadlines_over_a_holiday_weekend(world):
    # Promised 5, legal 20 working days from Thursday 3 April 10:00.
    application = world.receive(world.decide_item, at=at("2025-04-03T10:00"))
    # 4 April (清明) and the weekend do not count: 7, 8, 9, 10, 11 April.
    assert application.deadline == at("2025-04-11T17:30")
    # 7–11, 14–18, 21–25 April (15), 27 (Sunday, make-up day), 28, 29, 30 April (19); 1–5 May
    # holiday; 6 May is the 20th.
    assert application.legal_deadline == at("2025-05-06T17:30")
    # 3 April 10:00–17:30 is 6 h, 7–11 April 35 h: 41 h; 80 % = 32 h 48 min, used up on
    # 10 April (6 + 7 + 7 + 7 = 27 h by 9 April) at 13:30 + 2 h 48 min after 3 h of morning.
    assert application.warn_at == at("2025-04-10T16:18")


def test_light_turns_yellow_at_80_percent_and_red_after_the_deadline(world):
    application = world.receive(world.decide_item, at=at("2025-04-03T10:00"))
    assert lights(
        world,
        application,
        [
            "2025-04-10T16:17:59",
            "2025-04-10T16:18:00",
            "2025-04-11T17:30:00",  # the deadline itself is still yellow
            "2025-04-11T17:30:01",
        ],
    ) == ["green", "yellow", "yellow", "red"]


def test_correction_pause_moves_every_deadline_by_the_paused_working_time(world):
    application = world.receive(world.decide_item, complete=False, at=at("2025-04-03T10:00"))
    services.application_request_correction(
        actor=world.user("staff_a"), application_id=application.pk, at=at("2025-04-03T15:00")
    )
    # Paused: the light stays what it was when the clock stopped, however late it gets.
    assert lights(world, application, ["2025-04-03T15:00", "2025-06-30T10:00"]) == [
        "green",
        "green",
    ]
    resumed = services.application_supply_materials(
        actor=world.user("staff_a"),
        application_id=application.pk,
        supplied=world.requirement_ids(world.decide_item),
        at=at("2025-04-07T10:30"),
    )
    # Paused working time: 3 April 15:00–17:30 (2 h 30) + 7 April 09:00–10:30 (1 h 30) = 4 h;
    # 4 April and the weekend are not working time.
    assert resumed.paused_seconds == 4 * 3600
    assert resumed.paused_since is None
    # 11 April 17:30 + 4 h: Monday 14 April 09:00–12:00 (3 h) and 13:30–14:30 (1 h).
    assert resumed.deadline == at("2025-04-14T14:30")
    # 10 April 16:18 + 4 h: 16:18–17:30 (1 h 12) and 11 April 09:00–11:48 (2 h 48).
    assert resumed.warn_at == at("2025-04-11T11:48")
    # 6 May 17:30 + 4 h: 7 May 09:00–12:00 and 13:30–14:30.
    assert resumed.legal_deadline == at("2025-05-07T14:30")
    assert lights(world, application, ["2025-04-11T11:47", "2025-04-11T11:48"]) == [
        "green",
        "yellow",
    ]


def test_suspension_over_a_weekend_pauses_the_clock_and_freezes_the_light(world):
    application = world.receive(world.forward_item, at=at("2025-04-03T10:00"))
    # Promised 10 working days: 7–11 and 14–18 April.
    assert application.deadline == at("2025-04-18T17:30")
    services.application_accept(
        actor=world.user("staff_a"), application_id=application.pk, at=at("2025-04-03T10:30")
    )
    # 3 April 6 h + 7–18 April 10 × 7 h = 76 h; 80 % = 60 h 48 min. 6 h on 3 April and 7 h
    # on each of 7–11, 14 and 15 April make 55 h, so the yellow light starts on 16 April
    # after 5 h 48 min of that day: 09:00–12:00 and 13:30–16:18.
    assert application.warn_at == at("2025-04-16T16:18")
    services.application_suspend(
        actor=world.user("staff_a"),
        application_id=application.pk,
        reason="需现场核查",
        at=at("2025-04-17T16:30"),
    )
    assert lights(world, application, ["2025-04-22T10:00"]) == ["yellow"]
    resumed = services.application_resume(
        actor=world.user("staff_a"), application_id=application.pk, at=at("2025-04-22T09:30")
    )
    # Paused: 17 April 16:30–17:30 (1 h), 18 April (7 h), 21 April (7 h), 22 April
    # 09:00–09:30 (30 min) = 15 h 30 min.
    assert resumed.paused_seconds == 15 * 3600 + 1800
    # 18 April 17:30 + 15 h 30: 21 April (7 h), 22 April (7 h), 23 April 09:00–10:30.
    assert resumed.deadline == at("2025-04-23T10:30")
    # 16 April 16:18 + 15 h 30: 16:18–17:30 (1 h 12), 17 and 18 April (14 h), then 18 min on
    # 21 April.
    assert resumed.warn_at == at("2025-04-21T09:18")
    assert resumed.status == "accepted"


def test_two_pauses_add_up(world):
    application = world.receive(world.forward_item, complete=False, at=at("2025-03-03T09:00"))
    services.application_request_correction(
        actor=world.user("staff_a"), application_id=application.pk, at=at("2025-03-03T11:00")
    )
    services.application_supply_materials(
        actor=world.user("staff_a"),
        application_id=application.pk,
        supplied=world.requirement_ids(world.forward_item),
        at=at("2025-03-03T14:30"),  # 1 h before lunch + 1 h after
    )
    services.application_accept(actor=world.user("staff_a"), application_id=application.pk)
    services.application_suspend(
        actor=world.user("staff_a"),
        application_id=application.pk,
        reason="听证",
        at=at("2025-03-04T09:00"),
    )
    resumed = services.application_resume(
        actor=world.user("staff_a"), application_id=application.pk, at=at("2025-03-04T12:00")
    )
    assert resumed.paused_seconds == 5 * 3600
    # Promised 10 working days from 3 March: 17 March 17:30; + 5 h: 18 March 09:00–12:00 and
    # 13:30–15:30.
    assert resumed.deadline == at("2025-03-18T15:30")


def test_immediate_items_are_due_by_the_close_of_the_day(world):
    item = immediate_item(code="TEST-NOW", name="居住证明开具")
    make_delegation(item=item, counter=world.counter_a, power="decide")
    morning = world.receive(item, at=at("2025-04-03T10:00"))
    assert morning.deadline == at("2025-04-03T17:30")
    assert morning.legal_deadline == at("2025-04-03T17:30")
    # 10:00–17:30 holds 6 h of office hours; 80 % is 4 h 48 min: 10:00–12:00, 13:30–16:18.
    assert morning.warn_at == at("2025-04-03T16:18")
    # Received after closing time, before the 清明 holiday: due the next working day.
    evening = world.receive(item, at=at("2025-04-03T18:00"))
    assert evening.deadline == at("2025-04-07T17:30")
    # Received on a holiday.
    holiday = world.receive(item, at=at("2025-04-04T10:00"))
    assert holiday.deadline == at("2025-04-07T17:30")
    assert lights(world, morning, ["2025-04-03T16:17", "2025-04-03T17:31"]) == [
        "green",
        "red",
    ]


def test_decided_applications_keep_the_light_of_the_decision(world):
    application = world.receive(world.decide_item, at=at("2025-04-03T10:00"))
    services.application_accept(
        actor=world.user("staff_a"), application_id=application.pk, at=at("2025-04-03T10:05")
    )
    services.application_approve_on_spot(
        actor=world.user("staff_a"), application_id=application.pk, at=at("2025-04-03T10:10")
    )
    assert lights(world, application, ["2025-12-01T10:00"]) == ["green"]
    late = world.receive(world.decide_item, at=at("2025-04-03T10:00"))
    services.application_accept(
        actor=world.user("staff_a"), application_id=late.pk, at=at("2025-04-03T10:05")
    )
    services.application_approve_on_spot(
        actor=world.user("staff_a"), application_id=late.pk, at=at("2025-04-14T09:00")
    )
    assert lights(world, late, ["2025-12-01T10:00"]) == ["red"]
    refused = world.receive(world.decide_item, at=at("2025-04-03T10:00"))
    services.application_refuse(
        actor=world.user("staff_a"),
        application_id=refused.pk,
        reason="x",
        at=at("2025-04-03T10:05"),
    )
    assert lights(world, refused, ["2025-12-01T10:00"]) == [""]
