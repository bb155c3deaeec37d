"""Storing a case's photos."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from grid.errors import InvalidInput

from ..models import Incident, IncidentEvent, IncidentPhoto, PhotoStage
from ..photos import photos_clean


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
