"""Reading one's own notifications: unread first, newest first, and the unread count."""

from __future__ import annotations

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from ..models import Notification


def notification_list(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications: unread ones first, each group newest first."""
    notifications = Notification.objects.filter(user_id=getattr(user, "pk", None))
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by(
        ExpressionWrapper(Q(read_at__isnull=False), output_field=BooleanField()),
        "-created_at",
        "-id",
    )


def notification_unread_count(*, user) -> int:
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()
