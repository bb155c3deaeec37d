"""Case pages (/casework/…): "my queue" and the list of all visible cases with their lights,
and the case page — details, chain, history, photos through the protected endpoint, a small
map, and the allowed moves as buttons with the fields each needs (placing a case of the
unlocated queue: a click on the map fills the coordinates, the user's areas drawn under it).

Thin views: reads through casework.selectors.cases (a case the reader may not see is 404),
every move through casework.services.workflow.incident_move. A refused move comes back to
the case page as a message; a stale one says what the case is now.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from grid.errors import Conflict, DomainError, InvalidInput, NotFound
from grid.models import AreaLevel, Role

from ..models import CategoryKind, Light, Source, Status, TimeUnit
from ..selectors import cases as selectors
from ..services.workflow import incident_move

PAGE_SIZE = 50
# Moves a page shows as dangerous (red) buttons, and those it shows first.
DANGER_MOVES = frozenset({"void", "check_fail", "return", "reject_extension"})
PRIMARY_MOVES = frozenset(
    {"accept", "locate", "register", "dispatch", "start", "handle", "check_pass", "close", "unpark"}
)
CHAIN_ORDER = ("city", "district", "street", "community", "cell", "grid")
CHAIN_LABELS = {
    "city": AreaLevel.CITY.label,
    "district": AreaLevel.DISTRICT.label,
    "street": AreaLevel.STREET.label,
    "community": AreaLevel.COMMUNITY.label,
    "cell": AreaLevel.GRID.label,
    "grid": AreaLevel.GRID.label,
}


def _not_found(exc: DomainError) -> Http404:
    return Http404(exc.message)


def map_settings() -> dict:
    """What a page's Leaflet map needs: the basemap tiles when WANGGE_TILE_URL names one
    (django-leaflet reads its settings once at import, so they are passed per page)."""
    tiles = settings.LEAFLET_CONFIG.get("TILES", [])
    return {"has_basemap": bool(tiles), "leaflet_overrides": {"TILES": tiles}}


# ---------------------------------------------------------------- queue and list


def _list_filters(params) -> tuple[dict, dict]:
    """The list filters from the query string: (selector arguments, values to show)."""
    shown = {
        key: params.get(key, "").strip()
        for key in (
            "status",
            "light",
            "category",
            "kind",
            "area",
            "source",
            "reported_from",
            "reported_to",
            "unlocated",
        )
    }
    arguments: dict = {}
    for key in ("status", "light", "category", "kind", "area", "source"):
        if shown[key]:
            arguments[key] = shown[key]
    for key in ("reported_from", "reported_to"):
        if shown[key]:
            day = parse_date(shown[key])
            if day is None:
                raise InvalidInput(
                    _("%(field)s is not a date (YYYY-MM-DD): “%(value)s”")
                    % {"field": key, "value": shown[key]}
                )
            arguments[key] = day
    if shown["unlocated"] == "on":
        arguments["unlocated"] = True
    return arguments, shown


def _filter_query(shown: dict, show: str) -> str:
    return urlencode({"show": show, **{key: value for key, value in shown.items() if value}})


@login_required
def case_queue_page(request):
    show = "all" if request.GET.get("show") == "all" else "mine"
    error = ""
    try:
        arguments, shown = _list_filters(request.GET)
        if show == "all":
            cases = selectors.case_list(user=request.user, **arguments)
        else:
            shown = {"light": shown["light"]}
            cases = selectors.case_queue(user=request.user, light=arguments.get("light"))
    except DomainError as exc:
        error = exc.message
        shown = {}
        cases = selectors.case_queue(user=request.user)
        show = "mine"
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    moves = selectors.case_moves_for_rows(user=request.user, cases=page.object_list)
    for incident in page.object_list:
        incident.offered = moves.get(incident.pk, [])
    return render(
        request,
        "casework/queue.html",
        {
            "page": page,
            "show": show,
            "shown": shown,
            "query": _filter_query(shown, show),
            "error": error,
            "statuses": Status.choices,
            "lights": Light.choices,
            "sources": Source.choices,
            "kinds": CategoryKind.choices,
        },
        status=422 if error else 200,
    )


# ---------------------------------------------------------------- one case


def chain_rows(chain) -> list[dict]:
    """The tiers of the case's chain, city first, as label / code / name rows."""
    if isinstance(chain, dict):
        keys = [key for key in CHAIN_ORDER if key in chain] + [
            key for key in chain if key not in CHAIN_ORDER
        ]
        entries = [(key, chain[key]) for key in keys]
    elif isinstance(chain, list):
        entries = [(entry.get("level", ""), entry) for entry in chain if isinstance(entry, dict)]
    else:
        entries = []
    rows = []
    for key, value in entries:
        if not value:
            continue
        if isinstance(value, dict):
            code, name = value.get("code", ""), value.get("name", "")
        else:
            code, name = "", str(value)
        rows.append({"label": CHAIN_LABELS.get(key, key), "code": code, "name": name})
    return rows


def _move_forms(detail: selectors.CaseDetail) -> list[dict]:
    incident = detail.incident
    forms = []
    for move in detail.moves:
        arguments = selectors.MOVE_ARGUMENTS[move.name]
        forms.append(
            {
                "name": move.name,
                "label": move.label,
                "url": reverse(
                    "casework:case-move", kwargs={"number": incident.number, "move": move.name}
                ),
                "reason": "reason" in arguments,
                "photos": "photos" in arguments,
                "photos_required": move.name == "handle",
                "department": "department_id" in arguments,
                "category": "category_id" in arguments,
                "extension": "amount" in arguments,
                "into": "into_id" in arguments,
                "place": "lon" in arguments,
                "primary": move.name in PRIMARY_MOVES,
                "danger": move.name in DANGER_MOVES,
            }
        )
    return sorted(forms, key=lambda form: (not form["primary"], form["danger"]))


def _label_events(detail: selectors.CaseDetail) -> None:
    roles = dict(Role.choices)
    statuses = dict(Status.choices)
    photos_by_event: dict[int, list] = {}
    for photo in detail.photos:
        if photo.event_id:
            photos_by_event.setdefault(photo.event_id, []).append(photo)
    for event in detail.events:
        event.action_label = selectors.event_label(event.action)
        event.role_label = roles.get(event.role, event.role)
        event.from_label = statuses.get(event.from_status, "")
        event.to_label = statuses.get(event.to_status, "")
        event.shown_photos = photos_by_event.get(event.pk, [])


@login_required
def case_page(request, number: str):
    try:
        detail = selectors.case_detail(user=request.user, number=number)
    except NotFound as exc:
        raise _not_found(exc) from exc
    incident = detail.incident
    _label_events(detail)
    forms = _move_forms(detail)
    may_place = any(form["place"] for form in forms)
    return render(
        request,
        "casework/case.html",
        {
            "detail": detail,
            "incident": incident,
            "forms": forms,
            "may_merge": any(form["name"] == "merge" for form in forms),
            "may_place": may_place,
            "chain": chain_rows(incident.chain),
            "categories": selectors.category_tree()
            if any(form["category"] for form in forms)
            else [],
            "units": TimeUnit.choices,
            "case_map": {
                "lon": incident.location.x,
                "lat": incident.location.y,
                "cell": selectors.location_area(incident),
                # where an unlocated case may be placed: the areas the report map draws
                "areas": selectors.report_map_areas(user=request.user) if may_place else None,
            },
            **map_settings(),
        },
    )


def _number(value: str) -> float | str:
    """A typed number as a float; anything else as typed, for the move to name what is
    wrong."""
    try:
        return float(value.strip())
    except ValueError:
        return value


def _move_arguments(move: str, request) -> dict:
    """The move's own keyword arguments from the posted form (casework.services.workflow)."""
    post = request.POST
    arguments: dict = {}
    wanted = selectors.MOVE_ARGUMENTS.get(move, ())
    if "reason" in wanted:
        arguments["reason"] = post.get("reason", "").strip()
    if "photos" in wanted:
        arguments["photos"] = request.FILES.getlist("photos")
    for name in ("lon", "lat"):
        if name in wanted:
            arguments[name] = _number(post.get(name, ""))
    if "department_id" in wanted:
        value = post.get("department", "")
        arguments["department_id"] = int(value) if value.isdigit() else None
    if "category_id" in wanted:
        value = post.get("category", "")
        arguments["category_id"] = int(value) if value.isdigit() else None
    if "amount" in wanted:
        try:
            amount = Decimal(post.get("amount", "").strip())
        except InvalidOperation as exc:
            raise InvalidInput(
                _("the extension must be a number, e.g. 2 or 1.5"), details={"amount": ""}
            ) from exc
        arguments["amount"] = amount
        arguments["unit"] = post.get("unit", "")
    if "into_id" in wanted:
        into = post.get("into", "").strip()
        try:
            arguments["into_id"] = selectors.case_get(user=request.user, number=into).pk
        except NotFound as exc:
            raise InvalidInput(
                _("there is no case %(number)s in your areas to merge into") % {"number": into}
            ) from exc
    return arguments


@login_required
@require_POST
def case_move(request, number: str, move: str):
    if move not in selectors.MOVE_ARGUMENTS:
        raise Http404(_("there is no move “%(move)s”") % {"move": move})
    try:
        incident = selectors.case_get(user=request.user, number=number)
    except NotFound as exc:
        raise _not_found(exc) from exc
    back = reverse("casework:case", kwargs={"number": number})
    expected = request.POST.get("expected_status") or None
    try:
        moved = incident_move(
            actor=request.user,
            incident_id=incident.pk,
            move=move,
            expected_status=expected,
            note=request.POST.get("note", "").strip(),
            **_move_arguments(move, request),
        )
    except NotFound as exc:
        raise _not_found(exc) from exc
    except Conflict as exc:
        current = selectors.case_get(user=request.user, number=number)
        if expected and current.status != expected:
            messages.error(
                request,
                _("Someone else changed this case: it is now %(status)s.")
                % {"status": current.get_status_display()},
            )
        else:
            messages.error(request, exc.message)
        return redirect(back)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(
        request,
        _("%(number)s: %(move)s — now %(status)s.")
        % {
            "number": moved.number,
            "move": selectors.event_label(move),
            "status": moved.get_status_display(),
        },
    )
    try:
        selectors.case_get(user=request.user, number=number)
    except NotFound:
        # The move handed the case to people the mover does not work with (e.g. escalated
        # beyond their areas): back to the queue rather than to a page they may not see.
        return redirect("casework:queue")
    return redirect(back)


urlpatterns = [
    path("queue/", case_queue_page, name="queue"),
    path("cases/<str:number>/", case_page, name="case"),
    path("cases/<str:number>/<str:move>/", case_move, name="case-move"),
]
