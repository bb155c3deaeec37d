"""Counter pages (/community/counter/…): receive an application (applicant, item, materials),
the application with its allowed moves as buttons, printable notices, the counter's queue
with lights, and a department's review queue.

Thin views: every read goes through community.selectors.applications (the reader's
visibility; anything outside it is 404), every write through one service. A domain error of
a move comes back to the page it was made from as a message.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from grid.errors import DomainError, NotFound
from grid.models import Role
from grid.scope import user_scope

from .. import pii
from ..idnumber import id_number_check
from ..models import (
    ApplicationStatus,
    Channel,
    DelegationPower,
    Delivery,
    MaterialStatus,
    NoticeKind,
    Resident,
    ServiceItem,
)
from ..selectors import applications as selectors
from ..selectors.catalogue import counter_get_visible, item_list
from ..services import applications as services
from ..transitions import MOVES, OPEN_STATES

PAGE_SIZE = 50
# The five levels of GB/T 39735, best first.
RATING_LABELS = (
    (5, gettext_lazy("very satisfied")),
    (4, gettext_lazy("satisfied")),
    (3, gettext_lazy("neutral")),
    (2, gettext_lazy("dissatisfied")),
    (1, gettext_lazy("very dissatisfied")),
)
# Keys pressed with the browser's access-key modifier (Alt / Alt+Shift) on counter pages.
ACCESS_KEYS = {"accept": "a", "request_correction": "c", "forward": "f", "approve": "p"}


def _maybe_url(name: str, **kwargs) -> str | None:
    """A link to another part of the community pages, when that page exists."""
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


def _not_found(exc: DomainError) -> Http404:
    return Http404(exc.message)


def _counter_or_404(user, code: str):
    try:
        return counter_get_visible(user=user, code=code)
    except DomainError as exc:
        raise _not_found(exc) from exc


# ---------------------------------------------------------------- counter and queue


@login_required
def counter_home(request):
    """Straight to the user's counter when they have one; a choice when several."""
    counters = list(selectors.counters_of(request.user))
    if len(counters) == 1:
        return redirect("community:counter-queue", code=counters[0].code)
    code = request.GET.get("code", "").strip()
    if code:
        return redirect("community:counter-queue", code=code)
    return render(
        request,
        "community/counter/home.html",
        {
            "counters": counters,
            "handles": selectors.departments_handled_by(request.user).exists(),
        },
    )


@login_required
def counter_queue(request, code: str):
    counter = _counter_or_404(request.user, code)
    light = request.GET.get("light", "")
    show = request.GET.get("show", "open")
    try:
        if show == "all":
            applications = selectors.application_list(
                user=request.user, light=light or None
            ).filter(counter_code=counter.code)
        else:
            applications = selectors.application_counter_queue(
                user=request.user, counter_code=counter.code, light=light or None
            )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("community:counter-queue", code=counter.code)
    page = Paginator(applications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "community/counter/queue.html",
        {
            "counter": counter,
            "page": page,
            "light": light,
            "show": show,
            "may_receive": bool(selectors.counter_roles_at(user=request.user, counter=counter))
            or request.user.is_superuser,
        },
    )


# ---------------------------------------------------------------- receipt


def _applicant_search(request, name: str, id_number: str) -> tuple[list[Resident], str]:
    """Residents in the user's areas by part of the name or by the full ID number (sent in a
    POST body, never in a URL), and an error to show."""
    visible = Resident.objects.filter(user_scope(request.user).q("area_code")).only(
        "id", "name", "id_number_masked", "area_code", "address"
    )
    if id_number:
        checked = id_number_check(id_number)
        if isinstance(checked, str):
            return [], checked
        found = list(visible.filter(id_number_digest=pii.lookup_digest(checked.value)))
        if not found:
            return [], _("there is no resident with ID number %(masked)s in your areas") % {
                "masked": pii.mask_id_number(checked.value)
            }
        return found, ""
    if name:
        found = list(visible.filter(name__icontains=name).order_by("name", "id")[:30])
        return found, "" if found else _("no resident named like “%(name)s” in your areas") % {
            "name": name
        }
    return [], _("type a name or the full ID number")


@login_required
def counter_receive(request, code: str):
    """收件 in three steps on one page: the applicant, the item, the materials."""
    counter = _counter_or_404(request.user, code)
    context: dict = {
        "counter": counter,
        "register_url": _maybe_url("community:resident-new"),
        "channels": Channel.choices,
        "deliveries": Delivery.choices,
    }
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action == "find":
        name = request.POST.get("name", "").strip()
        id_number = request.POST.get("id_number", "").strip()
        context["found"], context["search_error"] = _applicant_search(request, name, id_number)
        context["searched_name"] = name
        return render(request, "community/counter/receive.html", context)

    params = request.POST if action == "receive" else request.GET
    applicant = None
    if params.get("resident", "").isdigit():
        applicant = (
            Resident.objects.filter(user_scope(request.user).q("area_code"))
            .filter(pk=int(params["resident"]))
            .only("id", "name", "id_number_masked", "area_code", "address")
            .first()
        )
        if applicant is None:
            raise Http404(_("there is no such resident in your areas"))
    context["applicant"] = applicant
    item = None
    if applicant is not None and params.get("item"):
        item = item_list(counter=counter).filter(implementation_code=params["item"]).first()
        if item is None:
            messages.error(request, _("this counter may not take that item"))
    context["item"] = item
    if applicant is not None and item is None:
        q = request.GET.get("q", "").strip()
        context["q"] = q
        context["items"] = list(item_list(counter=counter, q=q or None)[:60])
    if applicant is not None and item is not None:
        context["preview"] = selectors.materials_preview(applicant=applicant, item=item)
        context["guide_url"] = _maybe_url(
            "community:item-guide", implementation_code=item.implementation_code
        )
    if action == "receive" and applicant is not None and item is not None:
        ticked = [int(value) for value in request.POST.getlist("material") if value.isdigit()]
        try:
            application = services.application_receive(
                actor=request.user,
                applicant=applicant,
                item=ServiceItem.objects.get(pk=item.pk),
                counter=counter,
                received_materials=ticked,
                channel=request.POST.get("channel", Channel.COUNTER),
                delivery=request.POST.get("delivery", ""),
            )
        except NotFound as exc:
            raise _not_found(exc) from exc
        except DomainError as exc:
            context["receive_error"] = exc.message
            return render(request, "community/counter/receive.html", context, status=exc.status)
        messages.success(
            request,
            _("Application %(number)s received.") % {"number": application.number},
        )
        return redirect("community:counter-application", pk=application.pk)
    return render(request, "community/counter/receive.html", context)


# ---------------------------------------------------------------- one application


def _move_forms(detail: selectors.ApplicationDetail) -> list[dict]:
    """What each allowed move needs on the page, the most likely one first."""
    application = detail.application
    missing = [m for m in detail.materials if m.status == MaterialStatus.MISSING]
    missing_required = [m for m in missing if m.requirement.required]
    forms = []
    for move in detail.moves:
        form = {
            "name": move.name,
            "label": move.label,
            "url": reverse(
                "community:counter-move", kwargs={"pk": application.pk, "move": move.name}
            ),
            "reason": move.name in {"refuse", "deny_on_spot", "deny", "suspend"},
            "danger": move.name in {"refuse", "deny_on_spot", "deny"},
            "primary": False,
            "accesskey": ACCESS_KEYS.get(move.name, ""),
            "prints": move.name in NOTICE_MOVES,
        }
        if move.name == "accept":
            form["primary"] = not missing_required
            form["disabled"] = bool(missing_required)
        elif move.name == "request_correction":
            form["primary"] = bool(missing_required)
            form["disabled"] = not missing_required
        elif move.name == "supply_materials":
            form["materials"] = missing
            form["primary"] = True
        elif move.name in {"forward", "approve", "resume"}:
            form["primary"] = True
        elif move.name == "approve_on_spot":
            form["primary"] = application.power == DelegationPower.DECIDE
        elif move.name == "issue":
            form["deliveries"] = Delivery.choices
            form["delivery"] = application.delivery
            form["primary"] = True
        elif move.name == "rate":
            form["ratings"] = RATING_LABELS
        forms.append(form)
    return sorted(forms, key=lambda form: (not form["primary"], form["danger"]))


# History rows that are not moves of the transition table.
EVENT_LABELS = {
    "receive": gettext_lazy("receive"),
    "complaint": gettext_lazy("complaint registered"),
    "complaint_resolved": gettext_lazy("complaint decided"),
}


def _status_label(status: str) -> str:
    return str(ApplicationStatus(status).label) if status in ApplicationStatus.values else ""


def _label_events(events) -> None:
    roles = dict(Role.choices)
    for event in events:
        move = MOVES.get(event.action)
        event.action_label = move.label if move else EVENT_LABELS.get(event.action, event.action)
        event.role_label = roles.get(event.role, event.role)
        event.from_label = _status_label(event.from_status)
        event.to_label = _status_label(event.to_status)


@login_required
def counter_application(request, pk: int):
    try:
        detail = selectors.application_detail(user=request.user, application_id=pk)
    except NotFound as exc:
        raise _not_found(exc) from exc
    _label_events(detail.events)
    return render(
        request,
        "community/counter/application.html",
        {
            "detail": detail,
            "application": detail.application,
            "forms": _move_forms(detail),
            "open": detail.application.status in OPEN_STATES,
            "resident_url": _maybe_url(
                "community:resident", resident_id=detail.application.applicant_id
            ),
            "paused": detail.application.paused_since is not None,
        },
    )


def _move_arguments(move: str, post) -> dict:
    if move in {"refuse", "deny_on_spot", "deny", "suspend"}:
        return {"reason": post.get("reason", "")}
    if move == "supply_materials":
        return {
            "supplied": [int(v) for v in post.getlist("material") if v.isdigit()],
            "note": post.get("note", ""),
        }
    if move == "forward":
        return {"jointly": post.get("jointly") == "on", "note": post.get("note", "")}
    if move == "issue":
        return {"delivery": post.get("delivery", ""), "note": post.get("note", "")}
    if move == "rate":
        rating = post.get("rating", "")
        return {
            "rating": int(rating) if rating.isdigit() else 0,
            "comment": post.get("comment", ""),
        }
    return {"note": post.get("note", "")}


MOVE_SERVICES = {
    "accept": services.application_accept,
    "request_correction": services.application_request_correction,
    "supply_materials": services.application_supply_materials,
    "refuse": services.application_refuse,
    "approve_on_spot": services.application_approve_on_spot,
    "deny_on_spot": services.application_deny_on_spot,
    "forward": services.application_forward,
    "approve": services.application_approve,
    "deny": services.application_deny,
    "suspend": services.application_suspend,
    "resume": services.application_resume,
    "issue": services.application_issue,
    "rate": services.application_rate,
}
# Moves that hand the applicant a notice: the page opens it for printing.
NOTICE_MOVES = {
    "accept": NoticeKind.ACCEPTANCE,
    "request_correction": NoticeKind.CORRECTION,
    "refuse": NoticeKind.REFUSAL,
    "approve_on_spot": NoticeKind.COMPLETION,
    "deny_on_spot": NoticeKind.DENIAL,
    "approve": NoticeKind.COMPLETION,
    "deny": NoticeKind.DENIAL,
}


@login_required
@require_POST
def counter_move(request, pk: int, move: str):
    service = MOVE_SERVICES.get(move)
    if service is None:
        raise Http404(_("there is no move “%(move)s”") % {"move": move})
    back = request.POST.get("next", "")
    if not back.startswith("/community/"):
        back = reverse("community:counter-application", kwargs={"pk": pk})
    try:
        application = service(
            actor=request.user,
            application_id=pk,
            expected_status=request.POST.get("status") or None,
            **_move_arguments(move, request.POST),
        )
    except NotFound as exc:
        raise _not_found(exc) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(
        request,
        _("%(number)s: %(status)s")
        % {"number": application.number, "status": application.get_status_display()},
    )
    kind = NOTICE_MOVES.get(move)
    if kind and request.POST.get("print") == "on":
        notice = application.notices.filter(kind=kind).order_by("-issued_at", "-id").first()
        if notice is not None:
            return redirect("community:counter-notice-print", pk=notice.pk)
    return redirect(back)


# ---------------------------------------------------------------- notices


def _moment(value):
    if not value:
        return None
    moment = parse_datetime(value) if isinstance(value, str) else value
    return timezone.localtime(moment) if isinstance(moment, datetime) else None


@login_required
def counter_notice_print(request, pk: int):
    """The notice as printed for the applicant (A4), rendered from its snapshot only."""
    try:
        notice = selectors.notice_get(user=request.user, notice_id=pk)
    except NotFound as exc:
        raise _not_found(exc) from exc
    content = dict(notice.content)
    for key in (
        "issued_at",
        "received_at",
        "accepted_at",
        "decided_at",
        "deadline",
        "legal_deadline",
        "refused_at",
    ):
        content[key] = _moment(content.get(key))
    return render(
        request,
        "community/notices/notice.html",
        {"notice": notice, "c": content, "kind": notice.kind},
    )


# ---------------------------------------------------------------- review queue


@login_required
def counter_review(request):
    departments = list(
        selectors.departments_handled_by(request.user).order_by("area__code", "name")
    )
    department_id = request.GET.get("department", "")
    try:
        applications = selectors.application_review_queue(
            user=request.user,
            department_id=int(department_id) if department_id.isdigit() else None,
            light=request.GET.get("light") or None,
        )
    except DomainError as exc:
        raise _not_found(exc) from exc
    page = Paginator(applications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "community/counter/review.html",
        {
            "departments": departments,
            "department_id": department_id,
            "page": page,
            "light": request.GET.get("light", ""),
        },
    )


urlpatterns = [
    path("counter/", counter_home, name="counter-home"),
    path("counter/review/", counter_review, name="counter-review"),
    path("counter/applications/<int:pk>/", counter_application, name="counter-application"),
    path(
        "counter/applications/<int:pk>/<str:move>/",
        counter_move,
        name="counter-move",
    ),
    path("counter/notices/<int:pk>/", counter_notice_print, name="counter-notice-print"),
    path("counter/<str:code>/", counter_queue, name="counter-queue"),
    path("counter/<str:code>/receive/", counter_receive, name="counter-receive"),
]
