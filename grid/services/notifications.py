"""In-app notifications: create them (one or many at once) and mark them read.

A notification belongs to one user; only that user may mark it read. Another user's
notification is answered exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import InvalidInput, NotFound
from ..models import Notification

TITLE_MAX = Notification._meta.get_field("title").max_length


@dataclass(frozen=True)
class NotificationDraft:
    """One notification to write with notifications_create_many."""

    user_id: int
    kind: str
    title: str
    body: str = ""
    link: str = ""


def _checked(draft: NotificationDraft) -> NotificationDraft:
    """The draft, its title cut to the column's length; InvalidInput when it cannot be sent."""
    if not draft.title.strip():
        raise InvalidInput(_("a notification needs a title"), details={"title": draft.title})
    if draft.link and not draft.link.startswith("/"):
        raise InvalidInput(
            _("a notification's link must be a path inside the system, starting with “/”"),
            details={"link": draft.link},
        )
    if len(draft.title) > TITLE_MAX:
        return replace(draft, title=draft.title[:TITLE_MAX])
    return draft


def notification_create(
    *, user, kind: str, title: str, body: str = "", link: str = ""
) -> Notification:
    """One notification to `user`."""
    draft = _checked(
        NotificationDraft(user_id=user.pk, kind=kind, title=title, body=body, link=link)
    )
    return Notification.objects.create(
        user_id=draft.user_id, kind=draft.kind, title=draft.title, body=draft.body, link=draft.link
    )


@transaction.atomic
def notifications_create_many(
    *, drafts: Iterable[NotificationDraft], at: datetime | None = None
) -> int:
    """Write many notifications at once, created `at` (default: now); how many. With COPY:
    a supervision scan may notify tens of thousands of people, and one INSERT per row, or
    building a model instance per row, would cost more than everything else it does."""
    rows = [_checked(draft) for draft in drafts]
    if not rows:
        return 0
    at = at or timezone.now()
    with (
        connection.cursor() as cursor,
        cursor.copy(
            f"COPY {Notification._meta.db_table} (user_id, kind, title, body, link, created_at) "
            "FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row((row.user_id, row.kind, row.title, row.body, row.link, at))
    return len(rows)


@transaction.atomic
def notification_mark_read(
    *, user, notification_id: int, at: datetime | None = None
) -> Notification:
    """Mark one of the user's own notifications read (reading it again keeps the first time
    it was read). Someone else's notification: NotFound."""
    notification = (
        Notification.objects.select_for_update()
        .filter(pk=notification_id, user_id=getattr(user, "pk", None))
        .first()
    )
    if notification is None:
        raise NotFound(_("there is no notification %(id)s") % {"id": notification_id})
    if notification.read_at is None:
        notification.read_at = at or timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user, at: datetime | None = None) -> int:
    """Mark every unread notification of the user read; how many were unread."""
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(
        read_at=at or timezone.now()
    )
