"""Reading supervision records (督办 and yellow lights) for people: those of the cases the
reader may see (casework.selectors.cases.visible_cases), newest first."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from ..access import case_access
from ..models import SupervisionRecord
from ..transitions import OPEN_STATES
from .cases import visible_cases


def supervision_list(
    *,
    user,
    level: str | None = None,
    step: str | None = None,
    since: datetime | None = None,
    open_only: bool = False,
    supervising_code: str | None = None,
) -> QuerySet[SupervisionRecord]:
    """The records of the cases `user` may see, filtered: by level (yellow/red), step, a
    first moment recorded, cases still open, or the supervising area's subtree."""
    cases = visible_cases(case_access(user))
    if open_only:
        cases = cases.filter(status__in=OPEN_STATES)
    records = SupervisionRecord.objects.filter(incident__in=cases.values("id"))
    if level:
        records = records.filter(level=level)
    if step:
        records = records.filter(step=step)
    if since is not None:
        records = records.filter(recorded_at__gte=since)
    if supervising_code:
        records = records.filter(supervising_area__code__startswith=supervising_code)
    return records.select_related(
        "incident", "incident__holder_area", "incident__department", "supervising_area"
    ).order_by("-recorded_at", "-id")
