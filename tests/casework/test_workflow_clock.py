"""Step deadlines set by the moves, over real holiday periods, against deadlines computed by
hand from the official 2025 schedule and office hours 09:00–12:00 and 13:30–17:30 (7 working
hours a day):

- Spring Festival 2025: rest Tue 01-28 … Tue 02-04; make-up working days Sun 01-26, Sat 02-08.
- National Day 2025: rest Wed 10-01 … Wed 10-08; make-up working days Sun 09-28, Sat 10-11.

The yellow light comes on when 80 % of the step's working time is used.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from casework.models import CategoryDeadline, Incident, IncidentEvent, Light, Status, Step, TimeUnit
from casework.services import workflow
from tests.fixtures.casework import workflow_case, workflow_photo

pytestmark = pytest.mark.django_db

CST = ZoneInfo("Asia/Shanghai")
HOURS, DAYS = TimeUnit.WORKING_HOURS, TimeUnit.WORKING_DAYS


def moment(text: str) -> datetime:
    """'2025-01-27 15:00' in China Standard Time."""
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def clock(case: Incident) -> tuple[str, int, datetime | None, datetime | None]:
    stored = Incident.objects.get(pk=case.pk)
    return stored.step, stored.step_round, stored.step_warn_at, stored.step_deadline


@pytest.fixture
def world(workflow_world, work_calendar, workflow_media):
    return workflow_world


def test_hour_limit_across_the_spring_festival(world):
    """Dispatch within 4 working hours of registration on Mon 01-27 15:00: 2.5 h that day,
    then the holiday, then 1.5 h on Wed 02-05. Yellow after 3.2 h: 42 min into 02-05."""
    world.set_limit(Step.DISPATCH, 4, HOURS)
    case = workflow_case(world, Status.ACCEPTED, at=moment("2025-01-27 09:00"))
    workflow.incident_register(
        actor=world.user("holder"), incident_id=case.pk, at=moment("2025-01-27 15:00")
    )
    assert clock(case) == (
        Step.DISPATCH,
        2,
        moment("2025-02-05 09:42"),
        moment("2025-02-05 10:30"),
    )


def test_day_limit_across_the_spring_festival(world):
    """Handle within 3 working days of a dispatch on Fri 01-24 10:00: the working days after
    it are Sun 01-26 (make-up), Mon 01-27 and, after the holiday, Wed 02-05, closing 17:30.
    Working time available: 6 + 7 + 7 + 7 = 27 h; yellow after 21.6 h, 1 h 36 min into
    02-05."""
    world.set_limit(Step.HANDLE, 3, DAYS)
    case = workflow_case(world, Status.REGISTERED, at=moment("2025-01-24 09:00"))
    workflow.incident_dispatch(
        actor=world.user("holder"), incident_id=case.pk, at=moment("2025-01-24 10:00")
    )
    assert clock(case) == (
        Step.HANDLE,
        2,
        moment("2025-02-05 10:36"),
        moment("2025-02-05 17:30"),
    )


@pytest.mark.parametrize(
    ("dispatched_at", "days", "warn_at", "deadline"),
    [
        # Fri 09-26 16:00 + 2 days: Sat 09-27 rests, Sun 09-28 works (1), Mon 09-29 (2).
        # 1.5 + 7 + 7 = 15.5 h; 80 % = 12.4 h → Mon 13:30 + 54 min.
        ("2025-09-26 16:00", 2, "2025-09-29 14:24", "2025-09-29 17:30"),
        # Tue 09-30 10:00 + 3 days: Thu 10-09 (1), Fri 10-10 (2), Sat 10-11 make-up (3).
        # 6 + 7 + 7 + 7 = 27 h; 80 % = 21.6 h → Sat 09:00 + 1 h 36 min.
        ("2025-09-30 10:00", 3, "2025-10-11 10:36", "2025-10-11 17:30"),
    ],
)
def test_day_limit_around_national_day(world, dispatched_at, days, warn_at, deadline):
    world.set_limit(Step.HANDLE, days, DAYS)
    case = workflow_case(world, Status.REGISTERED, at=moment("2025-09-26 09:00"))
    workflow.incident_dispatch(
        actor=world.user("holder"), incident_id=case.pk, at=moment(dispatched_at)
    )
    assert clock(case)[2:] == (moment(warn_at), moment(deadline))


def test_verify_hours_across_national_day(world):
    """Handled Tue 09-30 16:00, verify within 4 working hours: 1.5 h that day, 2.5 h on Thu
    10-09 after the holiday; yellow after 3.2 h."""
    world.set_limit(Step.VERIFY, 4, HOURS)
    case = workflow_case(world, Status.IN_PROGRESS, at=moment("2025-09-29 09:00"))
    workflow.incident_handle(
        actor=world.user("handler"),
        incident_id=case.pk,
        photos=[workflow_photo()],
        at=moment("2025-09-30 16:00"),
    )
    assert clock(case) == (
        Step.VERIFY,
        2,
        moment("2025-10-09 10:42"),
        moment("2025-10-09 11:30"),
    )


def test_parking_over_a_weekend_moves_the_deadline_by_the_working_time_parked(world):
    """Dispatched Thu 03-13 10:00 with 2 working days: deadline Mon 03-17 17:30, yellow after
    16 of the 20 h, at Mon 12:00. Parked Fri 16:00 to Mon 10:00: 1.5 h + 1 h of working time,
    so the deadline moves to Tue 03-18 11:30 and the yellow light to Mon 16:00."""
    world.set_limit(Step.HANDLE, 2, DAYS)
    case = workflow_case(world, Status.REGISTERED, at=moment("2025-03-13 09:00"))
    holder, handler = world.user("holder"), world.user("handler")
    workflow.incident_dispatch(actor=holder, incident_id=case.pk, at=moment("2025-03-13 10:00"))
    workflow.incident_start(actor=handler, incident_id=case.pk, at=moment("2025-03-13 10:30"))
    assert clock(case) == (
        Step.HANDLE,
        2,
        moment("2025-03-17 12:00"),
        moment("2025-03-17 17:30"),
    )
    workflow.incident_park(
        actor=holder, incident_id=case.pk, reason="等待燃气公司", at=moment("2025-03-14 16:00")
    )
    # Off the clock while parked.
    assert clock(case) == (Step.HANDLE, 2, None, None)
    workflow.incident_unpark(actor=holder, incident_id=case.pk, at=moment("2025-03-17 10:00"))
    assert clock(case) == (
        Step.HANDLE,
        2,
        moment("2025-03-17 16:00"),
        moment("2025-03-18 11:30"),
    )
    resumed = IncidentEvent.objects.filter(incident=case, action="unpark").get()
    assert resumed.data["paused_hours"] == 2.5
    assert Incident.objects.get(pk=case.pk).light == Light.GREEN


def test_an_approved_extension_runs_across_national_day(world):
    """Dispatched Thu 09-25 10:00 with 2 working days: Fri 09-26 (1), Sun 09-28 make-up (2),
    deadline Sun 17:30, yellow at Sun 12:00. Three more days (21 h) approved on Mon 09-29,
    after the deadline: Mon, Tue 09-30 and, after the holiday, Thu 10-09 — deadline 10-09
    17:30, yellow 10-09 12:00, and the red light is gone. Then 4 more hours: Fri 10-10 14:30,
    yellow at 10-09 17:30."""
    world.set_limit(Step.HANDLE, 2, DAYS)
    case = workflow_case(world, Status.REGISTERED, at=moment("2025-09-25 09:00"))
    holder, handler = world.user("holder"), world.user("handler")
    workflow.incident_dispatch(actor=holder, incident_id=case.pk, at=moment("2025-09-25 10:00"))
    workflow.incident_start(actor=handler, incident_id=case.pk, at=moment("2025-09-25 11:00"))
    assert clock(case)[2:] == (moment("2025-09-28 12:00"), moment("2025-09-28 17:30"))
    workflow.incident_request_extension(
        actor=handler,
        incident_id=case.pk,
        amount=3,
        unit=DAYS,
        reason="管道材料节后到货",
        at=moment("2025-09-26 09:30"),
    )
    # The deadline passes before the decision; supervision lights the case red.
    Incident.objects.filter(pk=case.pk).update(light=Light.RED)
    workflow.incident_approve_extension(
        actor=holder, incident_id=case.pk, at=moment("2025-09-29 10:00")
    )
    stored = Incident.objects.get(pk=case.pk)
    assert (stored.step_warn_at, stored.step_deadline) == (
        moment("2025-10-09 12:00"),
        moment("2025-10-09 17:30"),
    )
    assert (stored.light, stored.extension_count, stored.step_round) == (Light.GREEN, 1, 2)
    approval = IncidentEvent.objects.get(incident=case, action="approve_extension")
    assert approval.data["deadline"] == {
        "from": moment("2025-09-28 17:30").isoformat(),
        "to": moment("2025-10-09 17:30").isoformat(),
    }
    workflow.incident_request_extension(
        actor=handler,
        incident_id=case.pk,
        amount=4,
        unit=HOURS,
        reason="收尾",
        at=moment("2025-10-09 09:30"),
    )
    workflow.incident_approve_extension(
        actor=holder, incident_id=case.pk, at=moment("2025-10-09 10:00")
    )
    assert clock(case)[2:] == (moment("2025-10-09 17:30"), moment("2025-10-10 14:30"))
    assert Incident.objects.get(pk=case.pk).extension_count == 2


def test_rework_restarts_the_handle_clock(world):
    """A failed check on Fri 01-24 16:00 restarts 2 working days of handling: Sun 01-26
    (make-up) and Mon 01-27; 1.5 + 7 + 7 = 15.5 h, yellow after 12.4 h, Mon 14:24. Handled
    again Mon 16:00 (verify 4 h: 1.5 h, then 2.5 h on Wed 02-05 after the holiday) and failed
    again Mon 17:00: 2 days are Wed 02-05 and Thu 02-06; 0.5 + 7 + 7 = 14.5 h, yellow after
    11.6 h, Thu 14:36."""
    world.set_limit(Step.HANDLE, 2, DAYS)
    world.set_limit(Step.VERIFY, 4, HOURS)
    case = workflow_case(world, Status.HANDLED, at=moment("2025-01-23 09:00"))
    inspector, handler = world.user("inspector"), world.user("handler")
    workflow.incident_check_fail(
        actor=inspector, incident_id=case.pk, reason="路面未修复", at=moment("2025-01-24 16:00")
    )
    assert clock(case) == (
        Step.HANDLE,
        2,
        moment("2025-01-27 14:24"),
        moment("2025-01-27 17:30"),
    )
    workflow.incident_handle(
        actor=handler,
        incident_id=case.pk,
        photos=[workflow_photo()],
        at=moment("2025-01-27 16:00"),
    )
    assert clock(case) == (
        Step.VERIFY,
        3,
        moment("2025-02-05 10:42"),
        moment("2025-02-05 11:30"),
    )
    workflow.incident_check_fail(
        actor=inspector, incident_id=case.pk, reason="仍有积水", at=moment("2025-01-27 17:00")
    )
    stored = Incident.objects.get(pk=case.pk)
    assert (stored.step, stored.step_round, stored.rework_count) == (Step.HANDLE, 4, 2)
    assert stored.step_started_at == moment("2025-01-27 17:00")
    assert (stored.step_warn_at, stored.step_deadline) == (
        moment("2025-02-06 14:36"),
        moment("2025-02-06 17:30"),
    )


def test_a_step_without_a_limit_is_not_on_the_clock(world):
    CategoryDeadline.objects.filter(category=world.event, step=Step.DISPATCH).delete()
    case = workflow_case(world, Status.ACCEPTED, at=moment("2025-03-03 09:00"))
    workflow.incident_register(
        actor=world.user("holder"), incident_id=case.pk, at=moment("2025-03-03 10:00")
    )
    assert clock(case) == (Step.DISPATCH, 2, None, None)
    assert Incident.objects.get(pk=case.pk).light == Light.GREEN
