"""Supervision with two scans at once, with a case locked by someone else, and through a real
Celery worker on the test Redis, started by the beat schedule's task name.

Each scan runs on its own thread and database connection, so these tests use
transactional_db: a scan sees only committed rows.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection, transaction
from django.utils import timezone

from casework.models import Incident, IncidentEvent, Light, Status, SupervisionRecord
from casework.services.supervision import case_path, supervision_scan
from casework.tasks import supervision_scan as supervision_scan_task
from config.celery import app
from grid.models import AreaLevel, Notification
from tests.fixtures.casework import make_case

NOW = timezone.make_aware(datetime(2026, 3, 10, 15, 0))
MINUTE = timedelta(minutes=1)
TASK_TIMEOUT = 60


def due_cases(world, *, now, count: int) -> list[Incident]:
    """`count` cases whose light is due to change at `now`, a third each: yellow on the street
    tier, red on the street tier (two people notified), red on the community tier (two)."""
    cases = []
    for index in range(count):
        kind = index % 3
        cases.append(
            make_case(
                world,
                status=Status.REPORTED if kind == 2 else Status.REGISTERED,
                tier=AreaLevel.COMMUNITY if kind == 2 else AreaLevel.STREET,
                reported_at=now - timedelta(hours=3),
                step_warn_at=now - 2 * MINUTE,
                step_deadline=now + MINUTE if kind == 0 else now - MINUTE,
            )
        )
    return cases


def expected_notifications(cases: list[Incident]) -> int:
    return sum(1 if index % 3 == 0 else 2 for index in range(len(cases)))


def assert_each_change_once(cases: list[Incident]) -> None:
    numbers = {case.number for case in cases}
    per_case_and_user = Counter(
        Notification.objects.filter(link__in=[case_path(n) for n in numbers]).values_list(
            "link", "user_id"
        )
    )
    assert set(per_case_and_user.values()) == {1}
    assert sum(per_case_and_user.values()) == expected_notifications(cases)
    assert SupervisionRecord.objects.filter(incident__in=cases).count() == len(cases)
    events = Counter(
        IncidentEvent.objects.filter(incident__in=cases, action="light").values_list(
            "incident_id", flat=True
        )
    )
    assert events == Counter({case.pk: 1 for case in cases})
    lights = Counter(
        Incident.objects.filter(pk__in=[case.pk for case in cases]).values_list("light", flat=True)
    )
    assert lights == Counter(
        {Light.YELLOW: len(cases) // 3, Light.RED: len(cases) - len(cases) // 3}
    )


def test_two_scans_at_once_record_and_notify_each_change_once(transactional_db, case_world):
    cases = due_cases(case_world, now=NOW, count=60)
    start = threading.Barrier(2)
    results, errors = [], []

    def scan():
        try:
            start.wait(timeout=10)
            results.append(supervision_scan(now=NOW, batch_size=4))
        except Exception as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(results) == 2
    assert sum(result.changed for result in results) == len(cases)
    assert sum(result.yellow + result.red for result in results) == len(cases)
    assert sum(result.notified for result in results) == expected_notifications(cases)
    assert_each_change_once(cases)


def test_a_scan_skips_a_case_locked_elsewhere_and_takes_it_next_time(transactional_db, case_world):
    cases = due_cases(case_world, now=NOW, count=6)
    locked = cases[1]
    holding, release = threading.Event(), threading.Event()

    def hold_lock():
        try:
            with transaction.atomic():
                Incident.objects.select_for_update().get(pk=locked.pk)
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert holding.wait(timeout=10)
        first = supervision_scan(now=NOW)
        assert first.changed == len(cases) - 1
        assert Incident.objects.get(pk=locked.pk).light == Light.GREEN
        assert not SupervisionRecord.objects.filter(incident=locked).exists()
    finally:
        release.set()
        holder.join(timeout=30)

    second = supervision_scan(now=NOW)

    assert (second.changed, second.red, second.notified) == (1, 1, 2)
    assert_each_change_once(cases)


# ---------------------------------------------------------------- Celery and beat


@pytest.fixture(scope="module")
def celery_worker():
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30) as worker:
        yield worker


def test_beat_runs_the_scan_every_minute():
    entry = app.conf.beat_schedule["casework.supervision_scan"]
    assert entry["task"] == supervision_scan_task.name == "casework.tasks.supervision_scan"
    assert supervision_scan_task.name in app.tasks
    schedule = entry["schedule"]
    assert schedule.minute == set(range(60))
    assert schedule.hour == set(range(24))
    assert schedule.day_of_week == set(range(7))
    # a scan that waited longer than the next one's start is dropped, not run late
    assert 0 < entry["options"]["expires"] <= 60


def test_a_celery_worker_runs_the_scan_twice(transactional_db, case_world, celery_worker):
    now = timezone.now()
    cases = due_cases(case_world, now=now, count=9)

    first = supervision_scan_task.delay().get(timeout=TASK_TIMEOUT)
    second = supervision_scan_task.delay().get(timeout=TASK_TIMEOUT)

    assert (first["changed"], first["yellow"], first["red"]) == (9, 3, 6)
    assert first["notified"] == expected_notifications(cases) == 15
    assert (second["changed"], second["yellow"], second["red"], second["notified"]) == (0, 0, 0, 0)
    assert datetime.fromisoformat(first["at"]) >= now
    assert_each_change_once(cases)
