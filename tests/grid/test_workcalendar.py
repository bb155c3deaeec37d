"""Deadline arithmetic on the working calendar, over real holiday periods.

The calendar under test is built by hand from the official schedules stated in SCHEDULE
(国务院办公厅 holiday notices for 2024, 2025 and 2026), with office hours 09:00–12:00 and
13:30–17:30 (7 working hours a day). test_stated_schedule_is_the_packages checks every
stated date against chinesecalendar, and test_seeded_calendar_matches_the_stated_schedule
checks the calendar the migration seeded against it. Every expected result in the tables
was worked out by hand from the schedule; none is computed by the code under test.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from django.utils import timezone

from grid.models import CalendarDay, CalendarSource, WorkingPeriod
from grid.workcalendar import (
    CalendarError,
    DateOutsideCalendar,
    WorkCalendar,
    add_working_days,
    add_working_hours,
    is_workday,
    working_days_between,
    working_time_between,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST_DAY, LAST_DAY = dt.date(2024, 1, 1), dt.date(2026, 3, 31)
OFFICE_HOURS = ((dt.time(9, 0), dt.time(12, 0)), (dt.time(13, 30), dt.time(17, 30)))

# Every departure from Monday–Friday between FIRST_DAY and LAST_DAY:
# (holiday, first and last rest day, make-up working days 调休上班).
SCHEDULE = [
    ("元旦 2024", ("2024-01-01", "2024-01-01"), []),
    # Sat 02-10 .. Sat 02-17 rest; Sun 02-04 and Sun 02-18 work
    ("春节 2024", ("2024-02-10", "2024-02-17"), ["2024-02-04", "2024-02-18"]),
    ("清明节 2024", ("2024-04-04", "2024-04-06"), ["2024-04-07"]),
    ("劳动节 2024", ("2024-05-01", "2024-05-05"), ["2024-04-28", "2024-05-11"]),
    ("端午节 2024", ("2024-06-08", "2024-06-10"), []),
    ("中秋节 2024", ("2024-09-15", "2024-09-17"), ["2024-09-14"]),
    # Tue 10-01 .. Mon 10-07 rest; Sun 09-29 and Sat 10-12 work
    ("国庆节 2024", ("2024-10-01", "2024-10-07"), ["2024-09-29", "2024-10-12"]),
    ("元旦 2025", ("2025-01-01", "2025-01-01"), []),
    # Tue 01-28 .. Tue 02-04 rest; Sun 01-26 and Sat 02-08 work
    ("春节 2025", ("2025-01-28", "2025-02-04"), ["2025-01-26", "2025-02-08"]),
    ("清明节 2025", ("2025-04-04", "2025-04-06"), []),
    ("劳动节 2025", ("2025-05-01", "2025-05-05"), ["2025-04-27"]),
    ("端午节 2025", ("2025-05-31", "2025-06-02"), []),
    # Wed 10-01 .. Wed 10-08 rest (10-06 is 中秋节); Sun 09-28 and Sat 10-11 work
    ("国庆节 2025", ("2025-10-01", "2025-10-08"), ["2025-09-28", "2025-10-11"]),
    ("元旦 2026", ("2026-01-01", "2026-01-03"), ["2026-01-04"]),
    # Sun 02-15 .. Mon 02-23 rest; Sat 02-14 and Sat 02-28 work
    ("春节 2026", ("2026-02-15", "2026-02-23"), ["2026-02-14", "2026-02-28"]),
]


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def at(text: str) -> dt.datetime:
    """'2024-02-09 16:00' in Beijing time."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def stated_rest_days() -> set[dt.date]:
    return {day for _, (first, last), _ in SCHEDULE for day in days_between(d(first), d(last))}


def stated_make_up_days() -> set[dt.date]:
    return {d(day) for _, _, make_up in SCHEDULE for day in make_up}


def stated_workdays() -> frozenset[dt.date]:
    rest, make_up = stated_rest_days(), stated_make_up_days()
    return frozenset(
        day
        for day in days_between(FIRST_DAY, LAST_DAY)
        if day in make_up or (day.weekday() < 5 and day not in rest)
    )


CALENDAR = WorkCalendar(
    first_day=FIRST_DAY, last_day=LAST_DAY, workdays=stated_workdays(), periods=OFFICE_HOURS
)


def test_stated_schedule_is_the_packages():
    for holiday, (first, last), make_up in SCHEDULE:
        for day in days_between(d(first), d(last)):
            assert not chinese_calendar.is_workday(day), (holiday, day)
        for day in map(d, make_up):
            assert day.weekday() >= 5, (holiday, day)
            assert chinese_calendar.is_workday(day), (holiday, day)
    # Nothing else departs from Monday–Friday in the covered months.
    package_workdays = {
        day for day in days_between(FIRST_DAY, LAST_DAY) if chinese_calendar.is_workday(day)
    }
    assert package_workdays == stated_workdays()


@pytest.mark.django_db
def test_seeded_calendar_matches_the_stated_schedule():
    seeded = WorkCalendar.load(FIRST_DAY, LAST_DAY)
    assert seeded.workdays == CALENDAR.workdays
    assert seeded.periods == OFFICE_HOURS
    assert (seeded.first_day, seeded.last_day) == (FIRST_DAY, LAST_DAY)


# fmt: off
IS_WORKDAY = [
    ("2024-02-04", True, "Sun, make-up for 春节 2024"),
    ("2024-02-12", False, "Mon, 春节 2024"),
    ("2024-02-17", False, "Sat, last day of 春节 2024"),
    ("2024-02-18", True, "Sun, make-up for 春节 2024"),
    ("2024-09-29", True, "Sun, make-up for 国庆节 2024"),
    ("2024-10-07", False, "Mon, 国庆节 2024"),
    ("2024-10-12", True, "Sat, make-up for 国庆节 2024"),
    ("2025-01-26", True, "Sun, make-up for 春节 2025"),
    ("2025-02-04", False, "Tue, 春节 2025"),
    ("2025-02-08", True, "Sat, make-up for 春节 2025"),
    ("2025-09-28", True, "Sun, make-up for 国庆节 2025"),
    ("2025-10-06", False, "Mon, 中秋节 inside 国庆节 2025"),
    ("2025-10-08", False, "Wed, last day of 国庆节 2025"),
    ("2025-10-11", True, "Sat, make-up for 国庆节 2025"),
    ("2026-02-14", True, "Sat, make-up for 春节 2026"),
    ("2026-02-23", False, "Mon, last day of 春节 2026"),
    ("2026-02-28", True, "Sat, make-up for 春节 2026"),
    ("2024-03-13", True, "an ordinary Wednesday"),
    ("2024-03-16", False, "an ordinary Saturday"),
    ("2024-03-17", False, "an ordinary Sunday"),
]
# fmt: on


@pytest.mark.parametrize(("day", "expected", "why"), IS_WORKDAY, ids=[r[2] for r in IS_WORKDAY])
def test_is_workday(day, expected, why):
    assert is_workday(CALENDAR, d(day)) is expected


# (why, start, working days, deadline). 2024-03-11 is an ordinary Monday.
# fmt: off
ADD_DAYS = [
    # 春节 2024: Fri 02-09 is the last working day before, Sun 02-18 the first after.
    ("春节2024: 1 day from Fri 02-09 is make-up Sun 02-18", "2024-02-09 10:00", 1, "2024-02-18 17:30"),
    ("春节2024: 2 days from Thu 02-08", "2024-02-08 15:00", 2, "2024-02-18 17:30"),
    ("春节2024: 3 days from Thu 02-08", "2024-02-08 15:00", 3, "2024-02-19 17:30"),
    ("春节2024: 1 day from a holiday", "2024-02-12 10:00", 1, "2024-02-18 17:30"),
    ("春节2024: 1 day from Sat 02-03 is make-up Sun 02-04", "2024-02-03 10:00", 1, "2024-02-04 17:30"),
    ("春节2024: 1 day from Fri 02-02 is make-up Sun 02-04", "2024-02-02 10:00", 1, "2024-02-04 17:30"),
    ("春节2024: 0 days on make-up Sun 02-04", "2024-02-04 10:00", 0, "2024-02-04 17:30"),
    ("春节2024: 5 days from Fri 02-02", "2024-02-02 10:00", 5, "2024-02-08 17:30"),
    ("春节2024: 10 days from Fri 02-02", "2024-02-02 10:00", 10, "2024-02-21 17:30"),
    # 国庆节 2024: Sun 09-29 and Mon 09-30 work, 10-01..10-07 rest, Sat 10-12 works.
    ("国庆2024: 1 day from Fri 09-27 is make-up Sun 09-29", "2024-09-27 10:00", 1, "2024-09-29 17:30"),
    ("国庆2024: 2 days from Fri 09-27", "2024-09-27 10:00", 2, "2024-09-30 17:30"),
    ("国庆2024: 3 days from Fri 09-27", "2024-09-27 10:00", 3, "2024-10-08 17:30"),
    ("国庆2024: 1 day from Mon 09-30 evening", "2024-09-30 19:00", 1, "2024-10-08 17:30"),
    ("国庆2024: 4 days from Tue 10-08 is make-up Sat 10-12", "2024-10-08 10:00", 4, "2024-10-12 17:30"),
    ("国庆2024: 5 days from Tue 10-08", "2024-10-08 10:00", 5, "2024-10-14 17:30"),
    ("国庆2024: 0 days on a holiday", "2024-10-03 10:00", 0, "2024-10-08 17:30"),
    # 春节 2025: Sun 01-26 and Mon 01-27 work, 01-28..02-04 rest, Sat 02-08 works.
    ("春节2025: 1 day from Fri 01-24 is make-up Sun 01-26", "2025-01-24 10:00", 1, "2025-01-26 17:30"),
    ("春节2025: 2 days from Fri 01-24", "2025-01-24 10:00", 2, "2025-01-27 17:30"),
    ("春节2025: 3 days from Fri 01-24", "2025-01-24 10:00", 3, "2025-02-05 17:30"),
    ("春节2025: 1 day from Mon 01-27", "2025-01-27 16:00", 1, "2025-02-05 17:30"),
    ("春节2025: 3 days from Wed 02-05 is make-up Sat 02-08", "2025-02-05 10:00", 3, "2025-02-08 17:30"),
    ("春节2025: 4 days from Wed 02-05", "2025-02-05 10:00", 4, "2025-02-10 17:30"),
    # 国庆节 2025: Sun 09-28 .. Tue 09-30 work, 10-01..10-08 rest, Sat 10-11 works.
    ("国庆2025: 1 day from Fri 09-26 is make-up Sun 09-28", "2025-09-26 10:00", 1, "2025-09-28 17:30"),
    ("国庆2025: 3 days from Fri 09-26", "2025-09-26 10:00", 3, "2025-09-30 17:30"),
    ("国庆2025: 4 days from Fri 09-26", "2025-09-26 10:00", 4, "2025-10-09 17:30"),
    ("国庆2025: 2 days from Thu 10-09 is make-up Sat 10-11", "2025-10-09 10:00", 2, "2025-10-11 17:30"),
    ("国庆2025: 3 days from Thu 10-09", "2025-10-09 10:00", 3, "2025-10-13 17:30"),
    ("国庆2025: 1 day from 中秋节 10-06", "2025-10-06 10:00", 1, "2025-10-09 17:30"),
    # 春节 2026: Sat 02-14 works, 02-15..02-23 rest, Sat 02-28 works.
    ("春节2026: 1 day from Fri 02-13 is make-up Sat 02-14", "2026-02-13 10:00", 1, "2026-02-14 17:30"),
    ("春节2026: 2 days from Fri 02-13", "2026-02-13 10:00", 2, "2026-02-24 17:30"),
    ("春节2026: 4 days from Tue 02-24 is make-up Sat 02-28", "2026-02-24 10:00", 4, "2026-02-28 17:30"),
    ("春节2026: 5 days from Tue 02-24", "2026-02-24 10:00", 5, "2026-03-02 17:30"),
    # The start's own day never counts, whatever the time of day.
    ("1 day from before opening", "2024-03-11 08:00", 1, "2024-03-12 17:30"),
    ("1 day from office hours", "2024-03-11 10:00", 1, "2024-03-12 17:30"),
    ("1 day from after closing", "2024-03-11 20:00", 1, "2024-03-12 17:30"),
    ("1 day from Fri evening", "2024-03-15 19:00", 1, "2024-03-18 17:30"),
    ("1 day from Saturday", "2024-03-16 10:00", 1, "2024-03-18 17:30"),
    ("5 days from Monday", "2024-03-11 10:00", 5, "2024-03-18 17:30"),
    ("0 days before opening", "2024-03-11 08:00", 0, "2024-03-11 17:30"),
    ("0 days during lunch", "2024-03-11 12:30", 0, "2024-03-11 17:30"),
    ("0 days at closing time", "2024-03-11 17:30", 0, "2024-03-11 17:30"),
    ("0 days after closing", "2024-03-11 18:00", 0, "2024-03-12 17:30"),
    ("0 days on Saturday", "2024-03-16 10:00", 0, "2024-03-18 17:30"),
]
# fmt: on


@pytest.mark.parametrize(
    ("why", "start", "days", "deadline"), ADD_DAYS, ids=[r[0] for r in ADD_DAYS]
)
def test_add_working_days(why, start, days, deadline):
    result = add_working_days(CALENDAR, at(start), days)
    assert result == at(deadline)
    assert result.utcoffset() == timedelta(hours=8)


def test_add_working_days_reads_the_start_in_beijing_time():
    # 20:00 UTC on Monday is 04:00 on Tuesday in Beijing: Tuesday is the start's day.
    start = dt.datetime(2024, 3, 11, 20, 0, tzinfo=dt.UTC)
    assert add_working_days(CALENDAR, start, 1) == at("2024-03-13 17:30")
    assert add_working_days(CALENDAR, start, 1).tzinfo == SHANGHAI


# (why, start, hours, result)
# fmt: off
ADD_HOURS = [
    ("within the morning", "2024-03-11 09:00", 2, "2024-03-11 11:00"),
    ("across the lunch break", "2024-03-11 11:00", 2, "2024-03-11 14:30"),
    ("exactly to the end of the morning", "2024-03-11 09:00", 3, "2024-03-11 12:00"),
    ("fractional, across lunch", "2024-03-11 11:15", 1.5, "2024-03-11 14:15"),
    ("a quarter of an hour", "2024-03-11 10:00", 0.25, "2024-03-11 10:15"),
    ("a decimal amount", "2024-03-11 10:00", Decimal("0.1"), "2024-03-11 10:06"),
    ("overnight", "2024-03-11 16:30", 2, "2024-03-12 10:00"),
    ("one full working day", "2024-03-11 09:00", 7, "2024-03-11 17:30"),
    ("seven hours from mid-morning", "2024-03-11 10:00", 7, "2024-03-12 10:00"),
    ("24 hours are three days and three hours", "2024-03-11 09:00", 24, "2024-03-14 12:00"),
    ("over a weekend", "2024-03-15 15:00", 4, "2024-03-18 10:30"),
    ("start during lunch", "2024-03-11 12:30", 1, "2024-03-11 14:30"),
    ("start before opening", "2024-03-11 07:00", 1, "2024-03-11 10:00"),
    ("start after closing", "2024-03-11 19:00", 1, "2024-03-12 10:00"),
    ("start on a Saturday", "2024-03-16 10:00", 1, "2024-03-18 10:00"),
    ("0 hours in office hours", "2024-03-11 10:00", 0, "2024-03-11 10:00"),
    ("0 hours at the end of the morning", "2024-03-11 12:00", 0, "2024-03-11 12:00"),
    ("0 hours during lunch", "2024-03-11 12:30", 0, "2024-03-11 13:30"),
    ("0 hours after closing", "2024-03-11 18:00", 0, "2024-03-12 09:00"),
    ("春节2024: across the holiday to make-up Sun 02-18", "2024-02-09 16:00", 3, "2024-02-18 10:30"),
    ("春节2024: start on a holiday", "2024-02-14 10:00", 2, "2024-02-18 11:00"),
    ("春节2024: Sat 02-03 into make-up Sun 02-04", "2024-02-03 10:00", 4, "2024-02-04 14:30"),
    ("国庆2024: Mon 09-30 late afternoon", "2024-09-30 17:00", 1, "2024-10-08 09:30"),
    ("春节2025: Mon 01-27 across the holiday", "2025-01-27 15:30", 2.5, "2025-02-05 09:30"),
    ("国庆2025: across lunch and the holiday", "2025-09-30 11:00", 8, "2025-10-09 12:00"),
    ("春节2026: Fri 02-13 into make-up Sat 02-14", "2026-02-13 17:00", 1, "2026-02-14 09:30"),
    ("春节2026: make-up Sat 02-14 across the holiday", "2026-02-14 16:30", 2, "2026-02-24 10:00"),
]
# fmt: on


@pytest.mark.parametrize(
    ("why", "start", "hours", "expected"), ADD_HOURS, ids=[r[0] for r in ADD_HOURS]
)
def test_add_working_hours(why, start, hours, expected):
    result = add_working_hours(CALENDAR, at(start), hours)
    assert result == at(expected)
    assert result.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("why", "start", "hours", "expected"), ADD_HOURS, ids=[r[0] for r in ADD_HOURS]
)
def test_working_time_between_measures_what_add_working_hours_added(why, start, hours, expected):
    assert working_time_between(CALENDAR, at(start), at(expected)) == timedelta(hours=float(hours))


H = timedelta(hours=1)
M = timedelta(minutes=1)

# (why, start, end, working time)
# fmt: off
BETWEEN = [
    ("inside the morning", "2024-03-11 09:30", "2024-03-11 11:00", 90 * M),
    ("across the lunch break", "2024-03-11 11:00", "2024-03-11 14:00", 90 * M),
    ("inside the lunch break", "2024-03-11 12:10", "2024-03-11 13:20", 0 * M),
    ("overnight", "2024-03-11 16:00", "2024-03-12 10:00", 150 * M),
    ("over a weekend", "2024-03-15 17:00", "2024-03-18 09:30", 1 * H),
    ("from before opening to after closing", "2024-03-11 06:00", "2024-03-11 22:00", 7 * H),
    ("春节2024: Fri 02-09 to make-up Sun 02-18", "2024-02-09 09:00", "2024-02-18 17:30", 14 * H),
    ("春节2024: Thu 02-08 afternoon to Mon 02-19 noon", "2024-02-08 13:30", "2024-02-19 12:00", 21 * H),
    ("国庆2024: Fri 09-27 to Tue 10-08 opening", "2024-09-27 09:00", "2024-10-08 09:00", 21 * H),
    ("国庆2025: Tue 09-30 to Thu 10-09", "2025-09-30 15:00", "2025-10-09 10:00", 210 * M),
    ("国庆2025: inside the holiday", "2025-10-02 09:00", "2025-10-05 18:00", 0 * H),
    ("春节2026: Fri 02-13 to Mon 03-02", "2026-02-13 09:00", "2026-03-02 09:00", 49 * H),
    ("end equals start", "2024-03-11 10:00", "2024-03-11 10:00", 0 * H),
    ("end before start", "2024-03-12 10:00", "2024-03-11 10:00", 0 * H),
]
# fmt: on


@pytest.mark.parametrize(("why", "start", "end", "expected"), BETWEEN, ids=[r[0] for r in BETWEEN])
def test_working_time_between(why, start, end, expected):
    assert working_time_between(CALENDAR, at(start), at(end)) == expected


# (why, start, end, working days taken)
# fmt: off
DAYS_TAKEN = [
    ("the same working day", "2024-03-11 10:00", "2024-03-11 16:00", 0),
    ("the same day, after closing", "2024-03-11 10:00", "2024-03-11 19:00", 1),
    ("the next working day", "2024-03-11 10:00", "2024-03-12 11:00", 1),
    ("the next working day at closing time", "2024-03-11 10:00", "2024-03-12 17:30", 1),
    ("a minute after the next day's close", "2024-03-11 10:00", "2024-03-12 17:31", 2),
    ("Saturday to Monday", "2024-03-16 10:00", "2024-03-18 15:00", 0),
    ("after closing to the next day", "2024-03-11 18:00", "2024-03-12 15:00", 0),
    ("春节2024: Fri 02-09 to make-up Sun 02-18", "2024-02-09 10:00", "2024-02-18 12:00", 1),
    ("春节2024: Fri 02-09 to Mon 02-19", "2024-02-09 10:00", "2024-02-19 09:00", 2),
    ("国庆2025: Fri 09-26 to Thu 10-09", "2025-09-26 10:00", "2025-10-09 10:00", 4),
    ("end before start", "2024-03-12 10:00", "2024-03-11 10:00", 0),
]
# fmt: on


@pytest.mark.parametrize(
    ("why", "start", "end", "expected"), DAYS_TAKEN, ids=[r[0] for r in DAYS_TAKEN]
)
def test_working_days_between(why, start, end, expected):
    assert working_days_between(CALENDAR, at(start), at(end)) == expected


@pytest.mark.parametrize(
    ("why", "call"),
    [
        ("is_workday before the first day", lambda: is_workday(CALENDAR, d("2023-12-31"))),
        ("is_workday after the last day", lambda: is_workday(CALENDAR, d("2026-04-01"))),
        (
            "a start before the first day",
            lambda: add_working_days(CALENDAR, at("2023-12-29 10:00"), 1),
        ),
        (
            "a deadline after the last day",
            lambda: add_working_days(CALENDAR, at("2026-03-31 10:00"), 1),
        ),
        (
            "hours running past the last day",
            lambda: add_working_hours(CALENDAR, at("2026-03-31 17:00"), 2),
        ),
        (
            "an end after the last day",
            lambda: working_time_between(CALENDAR, at("2026-03-30 10:00"), at("2026-04-01 10:00")),
        ),
        (
            "days taken until after the last day",
            lambda: working_days_between(CALENDAR, at("2026-03-30 10:00"), at("2026-04-01 10:00")),
        ),
    ],
)
def test_dates_outside_the_calendar_raise_a_named_error(why, call):
    with pytest.raises(DateOutsideCalendar) as raised:
        call()
    assert raised.value.first_day == FIRST_DAY
    assert raised.value.last_day == LAST_DAY
    assert not CALENDAR.covers(raised.value.day)
    assert "outside the working calendar" in str(raised.value)


def test_an_administrator_correction_changes_deadlines():
    # Make-up Sunday 2024-02-18 turned into a rest day (e.g. a local decision).
    corrected = WorkCalendar(
        first_day=FIRST_DAY,
        last_day=LAST_DAY,
        workdays=CALENDAR.workdays - {d("2024-02-18")},
        periods=OFFICE_HOURS,
    )
    start = at("2024-02-09 10:00")
    assert add_working_days(CALENDAR, start, 1) == at("2024-02-18 17:30")
    assert add_working_days(corrected, start, 1) == at("2024-02-19 17:30")
    assert add_working_hours(corrected, at("2024-02-09 16:00"), 3) == at("2024-02-19 10:30")
    assert working_time_between(corrected, start, at("2024-02-19 10:00")) == 7 * H


def test_other_office_hours_change_hour_deadlines():
    one_period = WorkCalendar(
        first_day=FIRST_DAY,
        last_day=LAST_DAY,
        workdays=CALENDAR.workdays,
        periods=((dt.time(8, 30), dt.time(12, 0)), (dt.time(14, 0), dt.time(18, 0))),
    )
    assert add_working_hours(one_period, at("2024-03-11 11:00"), 2) == at("2024-03-11 15:00")
    assert add_working_days(one_period, at("2024-03-11 11:00"), 1) == at("2024-03-12 18:00")


@pytest.mark.parametrize(
    ("why", "call", "error"),
    [
        (
            "negative days",
            lambda: add_working_days(CALENDAR, at("2024-03-11 10:00"), -1),
            ValueError,
        ),
        (
            "fractional days",
            lambda: add_working_days(CALENDAR, at("2024-03-11 10:00"), 1.5),
            TypeError,
        ),
        (
            "negative hours",
            lambda: add_working_hours(CALENDAR, at("2024-03-11 10:00"), -0.5),
            ValueError,
        ),
        (
            "infinite hours",
            lambda: add_working_hours(CALENDAR, at("2024-03-11 10:00"), float("inf")),
            ValueError,
        ),
        (
            "a naive start",
            lambda: add_working_days(CALENDAR, dt.datetime(2024, 3, 11, 10), 1),
            ValueError,
        ),
        (
            "a naive end",
            lambda: working_time_between(
                CALENDAR, at("2024-03-11 10:00"), dt.datetime(2024, 3, 12, 10)
            ),
            ValueError,
        ),
    ],
)
def test_bad_arguments_are_refused(why, call, error):
    with pytest.raises(error):
        call()


@pytest.mark.parametrize(
    ("why", "periods", "workdays"),
    [
        ("no office hours", (), frozenset()),
        ("a period ending before it starts", ((dt.time(12), dt.time(9)),), frozenset()),
        (
            "overlapping periods",
            ((dt.time(9), dt.time(12)), (dt.time(11), dt.time(14))),
            frozenset(),
        ),
        ("a working day outside the covered dates", OFFICE_HOURS, frozenset({d("2027-01-04")})),
    ],
)
def test_an_inconsistent_calendar_is_refused(why, periods, workdays):
    with pytest.raises(CalendarError):
        WorkCalendar(first_day=FIRST_DAY, last_day=LAST_DAY, workdays=workdays, periods=periods)


@pytest.mark.django_db
def test_load_reads_two_queries_and_an_admin_correction(django_assert_num_queries):
    CalendarDay.objects.filter(date=d("2024-03-12")).update(
        is_workday=False, name="停电", source=CalendarSource.ADMIN
    )
    with django_assert_num_queries(2):
        calendar = WorkCalendar.load(d("2024-03-01"), d("2024-03-31"))
    assert (calendar.first_day, calendar.last_day) == (d("2024-03-01"), d("2024-03-31"))
    assert add_working_days(calendar, at("2024-03-11 10:00"), 1) == at("2024-03-13 17:30")
    assert add_working_hours(calendar, at("2024-03-11 17:00"), 1) == at("2024-03-13 09:30")


@pytest.mark.django_db
def test_load_uses_the_stored_office_hours():
    WorkingPeriod.objects.all().delete()
    WorkingPeriod.objects.create(start=dt.time(8, 0), end=dt.time(16, 0))
    calendar = WorkCalendar.load(d("2024-03-01"), d("2024-03-31"))
    assert add_working_hours(calendar, at("2024-03-11 15:00"), 2) == at("2024-03-12 09:00")


@pytest.mark.django_db
def test_load_refuses_a_range_beyond_the_seeded_years():
    first_unseeded = dt.date(timezone.localdate().year + 2, 1, 1)
    with pytest.raises(DateOutsideCalendar) as raised:
        WorkCalendar.load(d("2024-01-01"), first_unseeded + timedelta(days=30))
    assert raised.value.day == first_unseeded


@pytest.mark.django_db
def test_load_refuses_a_gap_in_the_stored_days():
    CalendarDay.objects.filter(date=d("2024-03-12")).delete()
    with pytest.raises(DateOutsideCalendar) as raised:
        WorkCalendar.load(d("2024-03-01"), d("2024-03-31"))
    assert raised.value.day == d("2024-03-12")


@pytest.mark.django_db
def test_load_without_a_range_covers_every_stored_day():
    calendar = WorkCalendar.load()
    assert calendar.first_day == d("2020-01-01")
    assert calendar.last_day == dt.date(timezone.localdate().year + 1, 12, 31)


@pytest.mark.django_db
def test_load_of_an_empty_calendar_is_an_error():
    CalendarDay.objects.all().delete()
    with pytest.raises(CalendarError, match="empty"):
        WorkCalendar.load()


def test_the_shared_fixture_covers_the_seeded_years(work_calendar):
    assert work_calendar.first_day == d("2020-01-01")
    assert work_calendar.last_day == dt.date(timezone.localdate().year + 1, 12, 31)
    assert add_working_days(work_calendar, at("2025-09-26 10:00"), 4) == at("2025-10-09 17:30")
