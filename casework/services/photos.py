"""Storing a case's photos."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grid.errors import Conflict, Forbidden, InvalidInput, NotFound

from ..access import case_access
from ..models import Incident, IncidentEvent, IncidentPhoto, PhotoStage, Status
from ..photos import photos_clean

# Until dispatch, the report is still being settled: its reporter may add photos to it.
REPORT_PHOTO_STATES = frozenset({Status.REPORTED, Status.ACCEPTED, Status.REGISTERED})


def incident_photos_add(
    *,
    actor,
    incident: Incident,
    files: Sequence,
    stage: str,
    event: IncidentEvent | None = None,
) -> list[IncidentPhoto]:
    """Check and re-encode `files` (uploads, or casework.photos.CleanPhoto already cleaned),
    then store each under a random name below MEDIA_ROOT/incident-photos/ with a row
    recording its size, pixels and content type. All or none: one refused file refuses the
    whole call (422 naming each file and why).

    Access is the caller's to decide: the report and the moves that take photos (handle,
    check) call this after their own checks.

    Files are written before their rows; if the rows cannot be written, the files are
    removed again. A transaction of the caller that rolls back after this returns leaves the
    files behind, unreferenced by any row and so never served.
    """
    if stage not in PhotoStage.values:
        raise InvalidInput(
            _("unknown photo stage “%(stage)s”") % {"stage": stage}, details={"stage": stage}
        )
    cleaned = photos_clean(files)
    if not cleaned:
        return []
    photos: list[IncidentPhoto] = []
    written: list[IncidentPhoto] = []
    try:
        for clean in cleaned:
            photo = IncidentPhoto(
                incident=incident,
                event=event,
                stage=stage,
                content_type=clean.content_type,
                width=clean.width,
                height=clean.height,
                size=clean.size,
                uploaded_by=actor if actor is not None and actor.is_authenticated else None,
            )
            photo.image.save(
                f"{uuid.uuid4().hex}{clean.extension}", ContentFile(clean.content), save=False
            )
            written.append(photo)
            photos.append(photo)
        with transaction.atomic():
            IncidentPhoto.objects.bulk_create(photos)
    except BaseException:
        for photo in written:
            photo.image.delete(save=False)
        raise
    return photos


@transaction.atomic
def incident_report_photos_add(*, actor, incident_id: int, files: Sequence) -> list[IncidentPhoto]:
    """Photos added to a report after it was filed: what an inspector's phone sends once
    batch intake has taken the reports it queued offline (a batch carries no photos), or a
    reporter who took another picture. The reporter (or a superuser) may, while the case is
    reported, accepted or registered; the photos are of the report stage, and the history
    records them with the role the report was filed in. The case is locked while they are
    added, so a move made at the same moment waits for them.

    404 for a case the actor may not see, 403 for someone else's report, 409 once the case
    is dispatched (with its status), 422 for no photos or a refused file (nothing stored)."""
    incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
    if incident is None or not case_access(actor).may_see(incident):
        raise NotFound(_("there is no such case in your areas"), details={"id": incident_id})
    if not (actor.is_superuser or incident.reporter_id == actor.pk):
        raise Forbidden(_("only the reporter may add photos to a report"))
    if incident.status not in REPORT_PHOTO_STATES:
        raise Conflict(
            _("photos may be added to a report until it is dispatched; the case is %(status)s")
            % {"status": incident.get_status_display()},
            details={"status": incident.status},
        )
    if not files:
        raise InvalidInput(
            _("send at least one photo"), details={"photos": _("send at least one photo")}
        )
    reported_role = (
        IncidentEvent.objects.filter(incident=incident, action="reported")
        .values_list("role", flat=True)
        .first()
    )
    event = IncidentEvent.objects.create(
        incident=incident,
        action="photos_added",
        from_status=incident.status,
        to_status=incident.status,
        actor=actor,
        role=reported_role or "",
        at=timezone.now(),
        data={"photos": len(files)},
    )
    return incident_photos_add(
        actor=actor, incident=incident, files=files, stage=PhotoStage.REPORT, event=event
    )
