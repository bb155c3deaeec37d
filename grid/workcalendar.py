"""The working calendar (工作日历) and the deadline arithmetic built on it.

A `WorkCalendar` is a value object: the covered dates, which of them are working days
(public holidays and make-up working weekends, 调休, included), and the office hours of a
working day (e.g. 09:00–12:00 and 13:30–17:30). `WorkCalendar.load` reads it from the
CalendarDay and WorkingPeriod tables; tests and batch jobs may build one directly.

The functions below are pure: they read nothing but the calendar and their arguments.
Moments are aware datetimes; they are interpreted, and results are returned, in the
calendar's time zone (settings.TIME_ZONE, Asia/Shanghai). A naive datetime is refused.

Asking about a date the calendar does not cover raises `DateOutsideCalendar`: the
calendar never guesses that an unknown date follows the Monday–Friday rule, because the
official schedule moves holidays and makes some weekends working days.

Vocabulary used in the docstrings:
- *office hours* of a working day: the union of its working periods; a rest day has none.
- *close* of a working day: the end of its last working period (17:30 by default).
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

from grid.models import CalendarDay, WorkingPeriod

ONE_DAY = timedelta(days=1)
NO_TIME = timedelta(0)


class CalendarError(Exception):
    """The working calendar cannot answer: it is empty, incomplete or misconfigured."""


class DateOutsideCalendar(CalendarError, LookupError):
    """A date the calendar does not cover was needed. Seed the calendar further
    (`manage.py calendar_seed`) or load a wider range."""

    def __init__(self, day: date, *, first_day: date | None, last_day: date | None) -> None:
        self.day = day
        self.first_day = first_day
        self.last_day = last_day
        if first_day is None or last_day is None:
            message = f"{day.isoformat()} is not in the working calendar"
        else:
            message = (
                f"{day.isoformat()} is outside the working calendar, which covers "
                f"{first_day.isoformat()} to {last_day.isoformat()}"
            )
        super().__init__(message)


def _default_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class WorkCalendar:
    """Working days over the dates first_day..last_day (both included) and the office hours
    of a working day. Any covered date not in `workdays` is a rest day."""

    first_day: date
    last_day: date
    workdays: frozenset[date]
    periods: tuple[tuple[time, time], ...]
    zone: ZoneInfo = field(default_factory=_default_zone)
    _sorted_workdays: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.first_day > self.last_day:
            raise CalendarError(
                f"the calendar's first day {self.first_day} is after its last day {self.last_day}"
            )
        workdays = frozenset(self.workdays)
        stray = sorted(day for day in workdays if not self.first_day <= day <= self.last_day)
        if stray:
            raise CalendarError(
                f"working day {stray[0]} lies outside the covered dates "
                f"{self.first_day} to {self.last_day}"
            )
        periods = tuple(sorted((start, end) for start, end in self.periods))
        if not periods:
            raise CalendarError("the calendar has no working periods (office hours)")
        for start, end in periods:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise CalendarError("working periods are wall-clock times without a time zone")
            if end <= start:
                raise CalendarError(f"working period {start}–{end} ends before it starts")
        for (_, earlier_end), (later_start, _) in itertools.pairwise(periods):
            if later_start < earlier_end:
                raise CalendarError(
                    f"working periods overlap: one ends at {earlier_end}, "
                    f"the next starts at {later_start}"
                )
        object.__setattr__(self, "workdays", workdays)
        object.__setattr__(self, "periods", periods)
        object.__setattr__(self, "_sorted_workdays", tuple(sorted(workdays)))

    @classmethod
    def load(cls, start_date: date | None = None, end_date: date | None = None) -> WorkCalendar:
        """The calendar stored in CalendarDay and WorkingPeriod (two queries), covering
        start_date..end_date (both included; by default every stored day). Every date of the
        range must have its row: a missing one raises DateOutsideCalendar naming it."""
        if start_date is not None and end_date is not None and start_date > end_date:
            raise CalendarError(f"start_date {start_date} is after end_date {end_date}")
        days = CalendarDay.objects.order_by("date").values_list("date", "is_workday")
        if start_date is not None:
            days = days.filter(date__gte=start_date)
        if end_date is not None:
            days = days.filter(date__lte=end_date)
        rows = list(days)
        periods = tuple(WorkingPeriod.objects.order_by("start").values_list("start", "end"))
        if not rows:
            wanted = start_date or end_date
            if wanted is None:
                raise CalendarError("the working calendar is empty; run manage.py calendar_seed")
            raise DateOutsideCalendar(wanted, first_day=None, last_day=None)
        first_day = start_date or rows[0][0]
        last_day = end_date or rows[-1][0]
        if len(rows) != (last_day - first_day).days + 1:
            stored = {day for day, _ in rows}
            missing = next(
                first_day + timedelta(days=offset)
                for offset in range((last_day - first_day).days + 1)
                if first_day + timedelta(days=offset) not in stored
            )
            raise DateOutsideCalendar(missing, first_day=None, last_day=None)
        return cls(
            first_day=first_day,
            last_day=last_day,
            workdays=frozenset(day for day, is_workday in rows if is_workday),
            periods=periods,
        )

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    def check(self, day: date) -> None:
        """Raise DateOutsideCalendar unless the calendar covers `day`."""
        if not self.covers(day):
            raise DateOutsideCalendar(day, first_day=self.first_day, last_day=self.last_day)

    def is_workday(self, day: date) -> bool:
        self.check(day)
        return day in self.workdays

    def next_workday(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self.nth_workday_after(day, 1)

    def nth_workday_after(self, day: date, n: int) -> date:
        """The n-th (n ≥ 1) working day strictly after `day`."""
        self.check(day)
        index = bisect.bisect_right(self._sorted_workdays, day) + n - 1
        if index >= len(self._sorted_workdays):
            raise DateOutsideCalendar(
                self.last_day + ONE_DAY, first_day=self.first_day, last_day=self.last_day
            )
        return self._sorted_workdays[index]

    def workdays_in(self, first: date, last: date) -> tuple[date, ...]:
        """The working days of first..last, both included, in order."""
        self.check(first)
        self.check(last)
        low = bisect.bisect_left(self._sorted_workdays, first)
        high = bisect.bisect_right(self._sorted_workdays, last)
        return self._sorted_workdays[low:high]

    def office_hours(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working periods of `day` as (start, end) moments in UTC; none on a rest day.
        UTC keeps subtraction exact in zones with daylight saving time."""
        if not self.is_workday(day):
            return []
        return [
            (
                datetime.combine(day, start, tzinfo=self.zone).astimezone(UTC),
                datetime.combine(day, end, tzinfo=self.zone).astimezone(UTC),
            )
            for start, end in self.periods
        ]

    def close(self, day: date) -> datetime:
        """The end of the last working period of the working day `day`, in the calendar's
        zone."""
        if not self.is_workday(day):
            raise CalendarError(f"{day} is a rest day: it has no office hours")
        return datetime.combine(day, self.periods[-1][1], tzinfo=self.zone)

    def local(self, moment: datetime) -> datetime:
        """`moment` in the calendar's zone; a naive datetime is refused."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{moment!r} is naive: pass an aware datetime")
        return moment.astimezone(self.zone)


def is_workday(calendar: WorkCalendar, day: date) -> bool:
    """Whether `day` is a working day (a make-up working Saturday or Sunday is one; a
    public holiday on a weekday is not). Raises DateOutsideCalendar for an uncovered date."""
    return calendar.is_workday(day)


def add_working_days(calendar: WorkCalendar, start: datetime, days: int) -> datetime:
    """The deadline `days` working days after `start`: the close of the N-th working day
    after the start's date.

    The start's own date is never counted (期间开始的当日不计入), whatever the time of day:
    a start before, during or after office hours on a working day, or on a rest day, counts
    its first working day from the next working day after the start's date. From Friday (or
    Saturday) before a normal weekend, 1 day is the close of Monday.

    0 days means "by the close of the same working day": the close of the start's date if
    it is a working day and the start is not after its close; otherwise the close of the
    next working day (a start on a rest day or after closing time). So 0 and 1 days give
    the same deadline for a start after closing time or on a rest day.

    The result is an aware datetime in the calendar's zone.
    """
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError(f"days must be an integer, not {days!r}")
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    local_start = calendar.local(start)
    start_day = local_start.date()
    if days == 0:
        if calendar.is_workday(start_day) and local_start <= calendar.close(start_day):
            return calendar.close(start_day)
        return calendar.close(calendar.next_workday(start_day))
    return calendar.close(calendar.nth_workday_after(start_day, days))


def _duration(hours: float | int | Decimal) -> timedelta:
    if isinstance(hours, bool) or not isinstance(hours, int | float | Decimal):
        raise TypeError(f"hours must be a number, not {hours!r}")
    if not math.isfinite(hours):
        raise ValueError(f"hours must be finite, got {hours}")
    if hours < 0:
        raise ValueError(f"hours must not be negative, got {hours}")
    return timedelta(hours=float(hours))


def add_working_hours(
    calendar: WorkCalendar, start: datetime, hours: float | int | Decimal
) -> datetime:
    """The earliest moment by which `hours` of office hours have passed since `start`.

    The clock runs only inside working periods of working days: lunch breaks, nights, rest
    days and holidays are skipped. A start outside office hours (before opening, during the
    lunch break, after closing, on a rest day) begins at the start of the next working
    period. Hours may be fractional (1.5 = 1 h 30 min; rounded to the microsecond).

    A result that exhausts the hours exactly at the end of a period is that end (3 hours
    from 09:00 is 12:00, not 13:30). 0 hours gives `start` itself when it lies in office
    hours (ends included), else the start of the next working period.

    The result is an aware datetime in the calendar's zone.
    """
    remaining = _duration(hours)
    local_start = calendar.local(start)
    position = local_start.astimezone(UTC)
    day = local_start.date()
    while True:
        for period_start, period_end in calendar.office_hours(day):
            if period_end < position:
                continue
            position = max(position, period_start)
            available = period_end - position
            if remaining <= available:
                return (position + remaining).astimezone(calendar.zone)
            remaining -= available
            position = period_end
        day += ONE_DAY


def working_time_between(calendar: WorkCalendar, start: datetime, end: datetime) -> timedelta:
    """The office hours that lie between `start` and `end` (zero when end ≤ start).

    It is the inverse of add_working_hours: for a start in office hours,
    working_time_between(c, s, add_working_hours(c, s, h)) == h. Both dates must be
    covered by the calendar.
    """
    local_start = calendar.local(start)
    local_end = calendar.local(end)
    if local_end <= local_start:
        return NO_TIME
    start_utc = local_start.astimezone(UTC)
    end_utc = local_end.astimezone(UTC)
    total = NO_TIME
    for day in calendar.workdays_in(local_start.date(), local_end.date()):
        for period_start, period_end in calendar.office_hours(day):
            overlap = min(period_end, end_utc) - max(period_start, start_utc)
            if overlap > NO_TIME:
                total += overlap
    return total


def working_days_between(calendar: WorkCalendar, start: datetime, end: datetime) -> int:
    """How many working days it took from `start` to `end`: the smallest n ≥ 0 such that
    `end` is not later than add_working_days(calendar, start, n).

    So work finished by the close of the start's working day took 0 days, by the close of
    the next working day 1 day, and a deadline of n working days was met exactly when
    working_days_between(calendar, start, end) ≤ n. Zero when end ≤ start.
    """
    if end <= add_working_days(calendar, start, 0):
        return 0
    local_start = calendar.local(start)
    local_end = calendar.local(end)
    end_day = local_end.date()
    if calendar.is_workday(end_day) and local_end <= calendar.close(end_day):
        finishing_day = end_day
    else:
        finishing_day = calendar.next_workday(end_day)
    return len(calendar.workdays_in(local_start.date(), finishing_day)) - (
        1 if calendar.is_workday(local_start.date()) else 0
    )
