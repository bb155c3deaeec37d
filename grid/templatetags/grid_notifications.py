"""{% unread_notification_count %}: the signed-in user's unread notifications, for the
header's badge."""

from django import template

from grid.selectors.notifications import notification_unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notification_count(context) -> int:
    request = context.get("request")
    return notification_unread_count(user=getattr(request, "user", None))
