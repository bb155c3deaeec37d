"""Seeding the working calendar (工作日历) from the official holiday schedule.

The State Council announces each year's public holidays and make-up working weekends
(调休) in November or December; the `chinesecalendar` package carries them. A year the
installed package does not know yet is filled by the weekday rule (Monday–Friday) and
marked source=weekday, so deadlines keep working; a later run replaces those days with the
official schedule once the package has it. Days an administrator corrected (source=admin)
are never overwritten.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import chinese_calendar
from django.db import models, transaction
from django.utils.translation import gettext as _

from grid.errors import InvalidInput
from grid.models import CalendarDay, CalendarSource

# The package names holidays in English; the calendar shows the names people use.
HOLIDAY_NAMES = {
    chinese_calendar.Holiday.new_years_day.value: "元旦",
    chinese_calendar.Holiday.spring_festival.value: "春节",
    chinese_calendar.Holiday.tomb_sweeping_day.value: "清明节",
    chinese_calendar.Holiday.labour_day.value: "劳动节",
    chinese_calendar.Holiday.dragon_boat_festival.value: "端午节",
    chinese_calendar.Holiday.mid_autumn_festival.value: "中秋节",
    chinese_calendar.Holiday.national_day.value: "国庆节",
    chinese_calendar.Holiday.anti_fascist_70th_day.value: "抗战胜利70周年纪念日",
}
MAKE_UP_WORKDAY_NAME = "调休上班"

# A common government office schedule; administrators change it in the admin.
DEFAULT_WORKING_PERIODS = (
    (dt.time(9, 0), dt.time(12, 0)),
    (dt.time(13, 30), dt.time(17, 30)),
)

# The first year the initial migration seeds; records older than this need no deadlines.
CALENDAR_FIRST_YEAR = 2020

# The first year of the official schedule the package carries. Earlier years are refused:
# the weekday rule stands in only for schedules not yet published, never for past ones.
FIRST_PUBLISHED_YEAR = min(chinese_calendar.holidays).year
LAST_SEEDABLE_YEAR = dt.date.max.year

_BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class YearSeedResult:
    """What one year of the calendar holds after seeding, and what seeding changed."""

    year: int
    published: bool
    from_package: int
    from_weekday_rule: int
    kept_admin: int
    created: int
    updated: int

    def as_dict(self) -> dict[str, int | bool]:
        return {
            "year": self.year,
            "published": self.published,
            "from_package": self.from_package,
            "from_weekday_rule": self.from_weekday_rule,
            "kept_admin": self.kept_admin,
            "created": self.created,
            "updated": self.updated,
        }


@dataclass(frozen=True, slots=True)
class CalendarSeedResult:
    years: tuple[YearSeedResult, ...]

    @property
    def created(self) -> int:
        return sum(year.created for year in self.years)

    @property
    def updated(self) -> int:
        return sum(year.updated for year in self.years)

    @property
    def changed(self) -> int:
        return self.created + self.updated


def is_published(year: int) -> bool:
    """Whether the installed package carries the official schedule of `year`."""
    try:
        chinese_calendar.get_holiday_detail(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def official_day(day: dt.date) -> tuple[bool, str]:
    """(is_workday, name) of a date of a published year: holidays carry their Chinese
    name, make-up working days 调休上班, ordinary days no name."""
    is_rest_day, holiday = chinese_calendar.get_holiday_detail(day)
    if holiday is None:
        return not is_rest_day, ""
    if not is_rest_day:
        return True, MAKE_UP_WORKDAY_NAME
    return False, HOLIDAY_NAMES.get(holiday, holiday)


def weekday_rule_day(day: dt.date) -> tuple[bool, str]:
    return day.weekday() < 5, ""


def _dates_of(year: int) -> list[dt.date]:
    first = dt.date(year, 1, 1)
    return [
        first + dt.timedelta(days=offset)
        for offset in range((dt.date(year, 12, 31) - first).days + 1)
    ]


def fill_calendar_days(
    calendar_day_model: type[models.Model], *, first_year: int, last_year: int
) -> CalendarSeedResult:
    """Write every date of first_year..last_year into `calendar_day_model`, which may be
    the historical model of a migration. The caller holds the transaction. Rows with
    source=admin are left as they are; rows that already say what the schedule says are
    not rewritten, so a second run changes nothing."""
    first_day, last_day = dt.date(first_year, 1, 1), dt.date(last_year, 12, 31)
    # The lock makes a concurrent run wait, then see what this one wrote; an administrator
    # saving a day meanwhile waits too, and their correction is applied after this run.
    stored = {
        row.date: row
        for row in calendar_day_model.objects.select_for_update().filter(
            date__range=(first_day, last_day)
        )
    }
    to_create: list[models.Model] = []
    to_update: list[models.Model] = []
    years = []
    for year in range(first_year, last_year + 1):
        published = is_published(year)
        if published:
            source, rule = CalendarSource.PACKAGE.value, official_day
        else:
            source, rule = CalendarSource.WEEKDAY.value, weekday_rule_day
        kept_admin = created = updated = 0
        for day in _dates_of(year):
            row = stored.get(day)
            if row is not None and row.source == CalendarSource.ADMIN:
                kept_admin += 1
                continue
            is_workday, name = rule(day)
            if row is None:
                to_create.append(
                    calendar_day_model(date=day, is_workday=is_workday, name=name, source=source)
                )
                created += 1
            elif (row.is_workday, row.name, row.source) != (is_workday, name, source):
                row.is_workday, row.name, row.source = is_workday, name, source
                to_update.append(row)
                updated += 1
        seeded = len(_dates_of(year)) - kept_admin
        years.append(
            YearSeedResult(
                year=year,
                published=published,
                from_package=seeded if published else 0,
                from_weekday_rule=0 if published else seeded,
                kept_admin=kept_admin,
                created=created,
                updated=updated,
            )
        )
    # A date missing when the lock was taken may have been inserted since, by a concurrent
    # run (the same schedule) or by an administrator (who wins): either row is kept.
    calendar_day_model.objects.bulk_create(to_create, batch_size=_BATCH_SIZE, ignore_conflicts=True)
    calendar_day_model.objects.bulk_update(
        to_update, ["is_workday", "name", "source"], batch_size=_BATCH_SIZE
    )
    return CalendarSeedResult(years=tuple(years))


def fill_default_working_periods(working_period_model: type[models.Model]) -> int:
    """Create the default office hours when none are defined; returns how many were made.
    Existing periods are the administrators' choice and stay untouched."""
    if working_period_model.objects.exists():
        return 0
    working_period_model.objects.bulk_create(
        [working_period_model(start=start, end=end) for start, end in DEFAULT_WORKING_PERIODS]
    )
    return len(DEFAULT_WORKING_PERIODS)


def calendar_seed(*, first_year: int, last_year: int) -> CalendarSeedResult:
    """Fill the working calendar for every date of first_year..last_year (both included)
    from the official schedule, or from the weekday rule for years not yet published.
    Administrator corrections are kept. Idempotent; one transaction."""
    if first_year > last_year:
        raise InvalidInput(
            _("The first year %(first)d is after the last year %(last)d.")
            % {"first": first_year, "last": last_year}
        )
    if first_year < FIRST_PUBLISHED_YEAR:
        raise InvalidInput(
            _(
                "The official holiday schedule starts in %(published)d; "
                "the calendar cannot be seeded for %(year)d."
            )
            % {"published": FIRST_PUBLISHED_YEAR, "year": first_year}
        )
    if last_year > LAST_SEEDABLE_YEAR:
        raise InvalidInput(
            _("The last year must be at most %(max)d, not %(year)d.")
            % {"max": LAST_SEEDABLE_YEAR, "year": last_year}
        )
    with transaction.atomic():
        return fill_calendar_days(CalendarDay, first_year=first_year, last_year=last_year)
