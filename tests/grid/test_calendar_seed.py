"""Seeding the working calendar: the migration's seed, the calendar_seed service and command.

Expected holiday dates are those of the official schedules (see SCHEDULE in
test_workcalendar.py); a year the installed chinesecalendar does not know yet is expected
to follow the weekday rule.
"""

from __future__ import annotations

import datetime as dt
from io import StringIO

import chinese_calendar
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django.utils.translation import override

from grid.errors import InvalidInput
from grid.models import CalendarDay, CalendarSource, WorkingPeriod
from grid.services.calendar import calendar_seed

pytestmark = pytest.mark.django_db

PACKAGE = CalendarSource.PACKAGE
WEEKDAY = CalendarSource.WEEKDAY
ADMIN = CalendarSource.ADMIN


def package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def snapshot(first_year: int, last_year: int) -> list[tuple]:
    return list(
        CalendarDay.objects.filter(
            date__range=(dt.date(first_year, 1, 1), dt.date(last_year, 12, 31))
        ).values_list("date", "is_workday", "name", "source")
    )


def test_the_migration_seeds_every_day_from_2020_through_next_year():
    next_year = timezone.localdate().year + 1
    days = CalendarDay.objects.filter(date__gte=dt.date(2020, 1, 1))
    assert days.count() == (dt.date(next_year, 12, 31) - dt.date(2020, 1, 1)).days + 1
    assert not CalendarDay.objects.filter(date__lt=dt.date(2020, 1, 1)).exists()
    assert not CalendarDay.objects.filter(date__gt=dt.date(next_year, 12, 31)).exists()
    for year in range(2020, next_year + 1):
        sources = set(days.filter(date__year=year).values_list("source", flat=True))
        assert sources == ({PACKAGE} if package_knows(year) else {WEEKDAY}), year


def test_the_migration_seeds_the_default_office_hours():
    assert list(WorkingPeriod.objects.order_by("start").values_list("start", "end")) == [
        (dt.time(9, 0), dt.time(12, 0)),
        (dt.time(13, 30), dt.time(17, 30)),
    ]


# (date, is_workday, name)
SEEDED_DAYS = [
    ("2024-01-01", False, "元旦"),
    ("2024-02-04", True, "调休上班"),
    ("2024-02-10", False, "春节"),
    ("2024-02-17", False, "春节"),
    ("2024-02-18", True, "调休上班"),
    ("2024-04-04", False, "清明节"),
    ("2024-05-01", False, "劳动节"),
    ("2024-06-10", False, "端午节"),
    ("2024-09-16", False, "中秋节"),
    ("2024-10-01", False, "国庆节"),
    ("2024-10-12", True, "调休上班"),
    ("2025-10-06", False, "中秋节"),
    ("2025-10-08", False, "国庆节"),
    ("2025-10-11", True, "调休上班"),
    ("2026-02-14", True, "调休上班"),
    ("2026-02-23", False, "春节"),
    ("2024-03-16", False, ""),
    ("2024-03-13", True, ""),
]


@pytest.mark.parametrize(("day", "is_workday", "name"), SEEDED_DAYS)
def test_seeded_days_carry_the_official_schedule_and_chinese_names(day, is_workday, name):
    row = CalendarDay.objects.get(date=dt.date.fromisoformat(day))
    assert (row.is_workday, row.name, row.source) == (is_workday, name, PACKAGE)


def test_a_year_of_the_package_is_counted_as_such():
    result = calendar_seed(first_year=2024, last_year=2024)
    (year,) = result.years
    assert (year.year, year.published) == (2024, True)
    assert (year.from_package, year.from_weekday_rule, year.kept_admin) == (366, 0, 0)
    assert (year.created, year.updated) == (0, 0)


def test_a_year_not_yet_published_follows_the_weekday_rule():
    assert not package_knows(2030)
    result = calendar_seed(first_year=2030, last_year=2030)
    (year,) = result.years
    assert (year.published, year.from_package, year.from_weekday_rule) == (False, 0, 365)
    assert (year.created, year.updated) == (365, 0)
    days = CalendarDay.objects.filter(date__year=2030)
    # 2030-01-01 is a Tuesday: 52 whole weeks and one extra Tuesday.
    assert days.filter(is_workday=True).count() == 261
    assert set(days.values_list("source", "name")) == {(WEEKDAY, "")}
    assert CalendarDay.objects.get(date=dt.date(2030, 10, 1)).is_workday is True
    assert CalendarDay.objects.get(date=dt.date(2030, 10, 5)).is_workday is False


def test_the_official_schedule_replaces_the_weekday_rule_once_known():
    # As if 2025 had been seeded before the package carried it.
    for row in CalendarDay.objects.filter(date__year=2025):
        row.is_workday = row.date.weekday() < 5
        row.name = ""
        row.source = WEEKDAY
        row.save()
    result = calendar_seed(first_year=2025, last_year=2025)
    assert (result.years[0].created, result.years[0].updated) == (0, 365)
    assert CalendarDay.objects.filter(date__year=2025, source=PACKAGE).count() == 365
    assert CalendarDay.objects.get(date=dt.date(2025, 1, 28)).is_workday is False
    make_up = CalendarDay.objects.get(date=dt.date(2025, 1, 26))
    assert (make_up.is_workday, make_up.name) == (True, "调休上班")


def test_administrator_corrections_are_never_overwritten():
    CalendarDay.objects.filter(date=dt.date(2024, 3, 12)).update(
        is_workday=False, name="停电", source=ADMIN
    )
    CalendarDay.objects.filter(date=dt.date(2024, 2, 18)).update(
        is_workday=False, name="", source=ADMIN
    )
    result = calendar_seed(first_year=2024, last_year=2024)
    (year,) = result.years
    assert (year.from_package, year.kept_admin, year.updated) == (364, 2, 0)
    corrected = CalendarDay.objects.get(date=dt.date(2024, 3, 12))
    assert (corrected.is_workday, corrected.name, corrected.source) == (False, "停电", ADMIN)
    assert CalendarDay.objects.get(date=dt.date(2024, 2, 18)).is_workday is False


def test_a_correction_made_in_the_admin_survives_seeding(admin_client):
    response = admin_client.post(
        "/admin/grid/calendarday/2024-03-12/change/",
        {"date": "2024-03-12", "name": "区级停工", "source": PACKAGE},
    )
    assert response.status_code == 302
    assert CalendarDay.objects.get(date=dt.date(2024, 3, 12)).source == ADMIN
    calendar_seed(first_year=2024, last_year=2024)
    row = CalendarDay.objects.get(date=dt.date(2024, 3, 12))
    assert (row.is_workday, row.name, row.source) == (False, "区级停工", ADMIN)


def test_seeding_is_idempotent_and_repairs_what_is_wrong():
    CalendarDay.objects.filter(date__range=(dt.date(2025, 1, 1), dt.date(2025, 1, 31))).delete()
    CalendarDay.objects.filter(date=dt.date(2024, 10, 1)).update(is_workday=True)
    first = calendar_seed(first_year=2024, last_year=2025)
    assert (first.created, first.updated) == (31, 1)
    assert CalendarDay.objects.get(date=dt.date(2024, 10, 1)).is_workday is False
    before = snapshot(2024, 2025)
    second = calendar_seed(first_year=2024, last_year=2025)
    assert (second.created, second.updated, second.changed) == (0, 0, 0)
    assert snapshot(2024, 2025) == before


def test_seeding_writes_in_bulk(django_assert_max_num_queries):
    CalendarDay.objects.filter(date__year__in=[2024, 2025]).delete()
    with django_assert_max_num_queries(6):
        result = calendar_seed(first_year=2024, last_year=2025)
    assert result.created == 366 + 365
    assert CalendarDay.objects.filter(date__year__in=[2024, 2025]).count() == 366 + 365


@pytest.mark.parametrize(
    ("first_year", "last_year", "message"),
    [
        (2025, 2024, "The first year 2025 is after the last year 2024."),
        (2000, 2001, "The official holiday schedule starts in 2004"),
        (2024, 10000, "The last year must be at most 9999, not 10000."),
    ],
)
def test_bad_years_are_refused(first_year, last_year, message):
    before = CalendarDay.objects.count()
    with override("en"), pytest.raises(InvalidInput) as raised:
        calendar_seed(first_year=first_year, last_year=last_year)
    assert message in raised.value.message
    assert CalendarDay.objects.count() == before


def test_the_command_reports_each_year():
    CalendarDay.objects.filter(date=dt.date(2024, 5, 6)).update(source=ADMIN)
    CalendarDay.objects.filter(date__range=(dt.date(2025, 12, 1), dt.date(2025, 12, 31))).delete()
    out = StringIO()
    with override("en"):
        call_command("calendar_seed", "--from", "2024", "--to", "2025", stdout=out)
        call_command("calendar_seed", "--from", "2030", "--to", "2030", stdout=out)
    assert out.getvalue().splitlines() == [
        "2024: 365 days from the official schedule, 1 administrator corrections kept; "
        "0 created, 0 updated",
        "2025: 365 days from the official schedule, 0 administrator corrections kept; "
        "31 created, 0 updated",
        "31 calendar days written.",
        "2030: 365 days by the weekday rule (schedule not yet published), "
        "0 administrator corrections kept; 365 created, 0 updated",
        "365 calendar days written.",
    ]


def test_the_command_fills_this_year_and_next_by_default():
    this_year = timezone.localdate().year
    CalendarDay.objects.filter(date__year=this_year + 1).delete()
    out = StringIO()
    with override("en"):
        call_command("calendar_seed", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == [str(this_year), str(this_year + 1)]
    assert CalendarDay.objects.filter(date__year=this_year + 1).count() in (365, 366)


def test_the_command_turns_bad_years_into_a_command_error():
    with override("en"), pytest.raises(CommandError, match="starts in 2004"):
        call_command("calendar_seed", "--from", "1999", "--to", "2000", stdout=StringIO())
