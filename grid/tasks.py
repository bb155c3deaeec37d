"""Celery tasks of grid. Thin: each calls one service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from grid.services.calendar import calendar_seed


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def calendar_extend() -> list[dict[str, int | bool]]:
    """Keep the working calendar seeded for this year and next (monthly, from beat): adds
    next year by the weekday rule once this year starts, and picks up the official schedule
    when an upgraded package brings it. Running it twice changes nothing the second time."""
    this_year = timezone.localdate().year
    result = calendar_seed(first_year=this_year, last_year=this_year + 1)
    return [year.as_dict() for year in result.years]
