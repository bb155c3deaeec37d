"""My notifications page: unread first, each with a link to what it is about; mark one or all
read. Only one's own notifications are ever shown or changed."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from .errors import NotFound
from .selectors.notifications import notification_list, notification_unread_count
from .services.notifications import notification_mark_read, notifications_mark_all_read

PAGE_SIZE = 25


def _back(request):
    """Back to the page the form was sent from (a path of the notifications page only)."""
    target = request.POST.get("next", "")
    if target.startswith("/notifications/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return redirect(target)
    return redirect("grid:notifications")


def _mark(request, notification_id: int):
    try:
        return notification_mark_read(user=request.user, notification_id=notification_id)
    except NotFound as error:
        raise Http404(error.message) from error


@login_required
@require_GET
def notifications_page(request):
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(
        notification_list(user=request.user, unread_only=unread_only), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "grid/notifications.html",
        {
            "page": page,
            "unread_only": unread_only,
            "unread_count": notification_unread_count(user=request.user),
        },
    )


@login_required
@require_POST
def notification_read(request, notification_id: int):
    _mark(request, notification_id)
    return _back(request)


@login_required
@require_POST
def notification_open(request, notification_id: int):
    """Mark it read and go where it points (a path inside the system)."""
    notification = _mark(request, notification_id)
    if notification.link.startswith("/") and url_has_allowed_host_and_scheme(
        notification.link, allowed_hosts={request.get_host()}
    ):
        return redirect(notification.link)
    return _back(request)


@login_required
@require_POST
def notifications_read_all(request):
    notifications_mark_all_read(user=request.user)
    return _back(request)
