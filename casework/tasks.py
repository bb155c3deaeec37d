"""Celery tasks of casework. Thin: each calls one service. No deadline is a Celery
countdown or ETA: beat runs the supervision scan every minute and the scan compares the
clocks stored on the cases with the time."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from casework.services.supervision import supervision_scan as scan


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def supervision_scan() -> dict:
    """Turn the lights of open cases whose step clocks moved on, recording and notifying
    each change once (casework.services.supervision). Safe to run twice and on two workers
    at once."""
    return scan().as_dict()
