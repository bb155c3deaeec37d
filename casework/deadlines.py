"""Step deadlines of a case in working time (DOMAIN.md §5): a step of N working hours or days,
started at some moment, ends at a deadline; its yellow light comes on when WARN_SHARE of its
working time is used; red after the deadline."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from grid.errors import InvalidInput
from grid.workcalendar import (
    CalendarError,
    WorkCalendar,
    add_working_days,
    add_working_hours,
    working_time_between,
)

from .models import CategoryDeadline, Light, TimeUnit

WARN_SHARE = 0.8
# A process keeps the loaded calendar this long: an administrator's correction of a day
# reaches every deadline computed at most this many seconds later. Loading it costs two
# queries and ~1 ms, which a report every few milliseconds should not pay each time.
CALENDAR_TTL_SECONDS = 60
_cache = threading.local()


@dataclass(frozen=True)
class StepClock:
    started_at: datetime
    warn_at: datetime
    deadline: datetime


def calendar_for(moment: datetime) -> WorkCalendar:
    """The working calendar from a little before `moment` to the end of what is stored,
    reloaded after CALENDAR_TTL_SECONDS."""
    first_day = timezone.localtime(moment).date() - timedelta(days=400)
    cached = getattr(_cache, "calendar", None)
    if cached is not None:
        calendar, loaded_at = cached
        if time.monotonic() - loaded_at < CALENDAR_TTL_SECONDS and calendar.first_day <= first_day:
            return calendar
    try:
        calendar = WorkCalendar.load(start_date=max(first_day, _first_stored_day()))
    except CalendarError as exc:
        raise InvalidInput(
            _(
                "the working calendar cannot compute the deadline (%(problem)s); ask an "
                "administrator to extend it"
            )
            % {"problem": exc}
        ) from exc
    _cache.calendar = (calendar, time.monotonic())
    return calendar


def forget_calendar() -> None:
    """Drop the process's copy (tests that change the calendar call this)."""
    _cache.calendar = None


def _first_stored_day() -> date:
    from grid.models import CalendarDay

    first = CalendarDay.objects.order_by("date").values_list("date", flat=True).first()
    return first or date.min


def step_clock(
    *, limit: CategoryDeadline | None, started_at: datetime, calendar: WorkCalendar
) -> StepClock | None:
    """The clock of a step with this limit started at `started_at` (None: the category sets
    no limit for the step, so it is not on the clock)."""
    if limit is None:
        return None
    if limit.unit == TimeUnit.WORKING_DAYS:
        deadline = add_working_days(calendar, started_at, int(limit.amount))
        if limit.amount != int(limit.amount):
            deadline = add_working_hours(
                calendar, deadline, _day_hours(calendar) * float(limit.amount % 1)
            )
    else:
        deadline = add_working_hours(calendar, started_at, Decimal(limit.amount))
    available = working_time_between(calendar, started_at, deadline)
    if available > timedelta(0):
        warn_at = add_working_hours(
            calendar, started_at, available.total_seconds() * WARN_SHARE / 3600
        )
    else:
        warn_at = deadline
    return StepClock(started_at=started_at, warn_at=warn_at, deadline=deadline)


def _day_hours(calendar: WorkCalendar) -> float:
    return (
        sum(
            (datetime.combine(date.min, end) - datetime.combine(date.min, start)).total_seconds()
            for start, end in calendar.periods
        )
        / 3600
    )


def light_at(*, warn_at: datetime | None, deadline: datetime | None, now: datetime) -> str:
    if deadline is None:
        return Light.GREEN
    if now > deadline:
        return Light.RED
    if warn_at is not None and now >= warn_at:
        return Light.YELLOW
    return Light.GREEN
