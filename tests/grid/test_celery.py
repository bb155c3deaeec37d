"""The Celery app on the real Redis broker, with a worker running in this process.

The worker runs tasks in its own thread, on its own database connection, so these tests
use transactional_db: the worker sees only committed rows. The work_calendar fixture puts
back the calendar the migration seeded when an earlier transactional test flushed it.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.utils import timezone

from config.celery import app
from grid.models import CalendarDay, CalendarSource
from grid.tasks import calendar_extend

TASK_TIMEOUT = 60


def package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def days_in(year: int) -> int:
    return (dt.date(year, 12, 31) - dt.date(year, 1, 1)).days + 1


@pytest.fixture(scope="module")
def celery_worker():
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30) as worker:
        yield worker


def snapshot(years: list[int]) -> list[tuple]:
    return list(
        CalendarDay.objects.filter(date__year__in=years)
        .order_by("date")
        .values_list("date", "is_workday", "name", "source")
    )


def test_the_app_uses_the_test_redis():
    assert app.main == "wangge"
    assert app.conf.broker_url == settings.CELERY_BROKER_URL == settings.TEST_REDIS_URL
    assert app.conf.result_backend == settings.CELERY_RESULT_BACKEND == settings.TEST_REDIS_URL


def test_beat_runs_calendar_extend_monthly():
    entry = app.conf.beat_schedule["grid.calendar_extend"]
    assert entry["task"] == calendar_extend.name
    assert calendar_extend.name in app.tasks
    schedule = entry["schedule"]
    assert schedule.day_of_month == {1}
    assert schedule.month_of_year == set(range(1, 13))
    assert len(schedule.hour) == 1
    assert len(schedule.minute) == 1


def test_calendar_extend_seeds_this_year_and_next(transactional_db, work_calendar, celery_worker):
    this_year = timezone.localdate().year
    next_year = this_year + 1
    CalendarDay.objects.filter(date__year=next_year).delete()
    CalendarDay.objects.filter(date__year=this_year, date__month=12).delete()

    summary = calendar_extend.delay().get(timeout=TASK_TIMEOUT)

    assert [year["year"] for year in summary] == [this_year, next_year]
    assert summary[0]["created"] == 31
    assert summary[1]["created"] == days_in(next_year)
    for year in (this_year, next_year):
        rows = list(
            CalendarDay.objects.filter(date__year=year).values_list("date", "is_workday", "source")
        )
        assert len(rows) == days_in(year)
        if package_knows(year):
            expected = [
                (day, chinese_calendar.is_workday(day), CalendarSource.PACKAGE)
                for day, _, _ in rows
            ]
        else:
            expected = [(day, day.weekday() < 5, CalendarSource.WEEKDAY) for day, _, _ in rows]
        assert rows == expected


def test_calendar_extend_twice_changes_nothing_and_keeps_admin_corrections(
    transactional_db, work_calendar, celery_worker
):
    this_year = timezone.localdate().year
    years = [this_year, this_year + 1]
    corrected_day = dt.date(this_year + 1, 3, 2)
    corrected_is_workday = not CalendarDay.objects.get(date=corrected_day).is_workday
    CalendarDay.objects.filter(date=corrected_day).update(
        is_workday=corrected_is_workday,
        name="管理员更正",
        source=CalendarSource.ADMIN,
    )
    CalendarDay.objects.filter(date__year=this_year + 1, date__month=6).delete()

    first = calendar_extend.delay().get(timeout=TASK_TIMEOUT)
    after_first = snapshot(years)
    second = calendar_extend.delay().get(timeout=TASK_TIMEOUT)

    assert sum(year["created"] for year in first) == 30
    assert [(year["created"], year["updated"]) for year in second] == [(0, 0), (0, 0)]
    assert [year["kept_admin"] for year in second] == [0, 1]
    assert snapshot(years) == after_first
    corrected = CalendarDay.objects.get(date=corrected_day)
    assert (corrected.is_workday, corrected.name, corrected.source) == (
        corrected_is_workday,
        "管理员更正",
        CalendarSource.ADMIN,
    )
