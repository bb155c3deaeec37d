"""Reading cases for people: lists with filters, "my queue" per role, one case with its
history, photos, allowed moves and duplicates, a photo, the category catalogue for the report
form, facilities near a point, and the areas drawn under the report map.

Every read goes through casework.access.case_access(user): a case the reader may not see is
answered as not found (NotFound, 404), exactly as if it did not exist.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON, GeoFunc
from django.contrib.gis.geos import Point
from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from community.models import Facility
from community.selectors.facilities import facilities_near
from grid.errors import InvalidInput, NotFound
from grid.models import Area, AreaLevel, Assignment, Department, Role
from grid.scope import user_scope

from ..access import CaseAccess, case_access
from ..models import (
    Category,
    CategoryKind,
    Incident,
    IncidentEvent,
    IncidentPhoto,
    Light,
    Source,
    Status,
)
from ..transitions import (
    MOVES,
    OPEN_STATES,
    TIER_DISPATCHER_ROLE,
    Move,
    allowed_moves,
)
from .duplicates import incident_duplicates

# Open states whose step runs on a clock; a parked case is off the clock and has no light.
CLOCKED_STATES = frozenset(OPEN_STATES - {Status.PARKED})
# What a dispatcher of the holding tier acts on: accept, register, dispatch, close, resume.
DISPATCHER_WAITING = frozenset(
    {Status.REPORTED, Status.ACCEPTED, Status.REGISTERED, Status.CHECKED, Status.PARKED}
)
HANDLER_WAITING = frozenset({Status.DISPATCHED, Status.IN_PROGRESS})
ORDERINGS = ("deadline", "reported_at", "-reported_at", "number")
# What each move asks for besides the status seen and a note (the keyword arguments of
# casework.services.workflow.incident_<move>).
MOVE_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "accept": (),
    "void": ("reason",),
    "locate": ("lon", "lat"),
    "register": ("category_id",),
    "dispatch": ("department_id",),
    "escalate": ("reason",),
    "start": (),
    "return": ("reason",),
    "request_extension": ("amount", "unit", "reason"),
    "approve_extension": (),
    "reject_extension": ("reason",),
    "park": ("reason",),
    "unpark": (),
    "handle": ("photos",),
    "check_pass": ("photos",),
    "check_fail": ("reason", "photos"),
    "close": (),
    "merge": ("into_id",),
}
# The largest number of areas drawn under the report map; beyond it a coarser level is drawn.
MAP_AREAS_MAX = 400
# Douglas–Peucker tolerance (degrees) for the drawn areas: about a pixel at street zoom.
MAP_SIMPLIFY = 0.00002
_AREA_CODE = re.compile(r"^[0-9]{4,15}$")


# History rows that are not moves of the transition table.
EVENT_LABELS = {
    "reported": gettext_lazy("reported"),
    "escalated": gettext_lazy("escalated by the routing rules"),
    "merged_from": gettext_lazy("another case merged into this one"),
    "photos_added": gettext_lazy("photos added to the report"),
}


def event_label(action: str) -> str:
    move = MOVES.get(action)
    if move is not None:
        return str(move.label)
    return str(EVENT_LABELS.get(action, action))


# ---------------------------------------------------------------- visibility


def visible_q(access: CaseAccess) -> Q:
    """The cases a person may see (casework.access decides)."""
    return access.q()


def may_see(access: CaseAccess, incident: Incident) -> bool:
    return access.may_see(incident)


def visible_cases(access: CaseAccess) -> QuerySet[Incident]:
    if access.user is None or not getattr(access.user, "is_authenticated", False):
        return Incident.objects.none()
    return Incident.objects.filter(visible_q(access))


# ---------------------------------------------------------------- lights


def light_expression(now: datetime.datetime) -> Case:
    """The light of each case as of `now`, from its step clock (casework.deadlines.light_at in
    SQL); empty for a case that is closed, voided or parked."""
    return Case(
        When(~Q(status__in=CLOCKED_STATES), then=Value("")),
        When(step_deadline__isnull=True, then=Value(Light.GREEN)),
        When(step_deadline__lt=now, then=Value(Light.RED)),
        When(step_warn_at__lte=now, then=Value(Light.YELLOW)),
        default=Value(Light.GREEN),
        output_field=CharField(),
    )


def light_q(light: str, now: datetime.datetime) -> Q:
    """The filter of the cases whose light is `light` at `now` (index-friendly, unlike a
    filter on the CASE expression)."""
    clocked = Q(status__in=CLOCKED_STATES)
    if light == Light.RED:
        return clocked & Q(step_deadline__lt=now)
    if light == Light.YELLOW:
        return clocked & Q(step_deadline__gte=now, step_warn_at__lte=now)
    if light == Light.GREEN:
        return clocked & (
            Q(step_deadline__isnull=True)
            | Q(step_deadline__gte=now) & (Q(step_warn_at__isnull=True) | Q(step_warn_at__gt=now))
        )
    raise InvalidInput(
        _("light must be green, yellow or red; got “%(light)s”") % {"light": light},
        details={"light": light},
    )


def _for_display(cases: QuerySet[Incident], now: datetime.datetime) -> QuerySet[Incident]:
    return (
        cases.select_related("category", "department", "holder_area", "assignee")
        .defer("holder_area__boundary", "chain", "reporter_phone_ciphertext")
        .annotate(live_light=light_expression(now))
    )


def _ordered(cases: QuerySet[Incident], ordering: str) -> QuerySet[Incident]:
    if ordering == "deadline":
        return cases.order_by(F("step_deadline").asc(nulls_last=True), "reported_at", "id")
    if ordering == "number":
        return cases.order_by("number")
    if ordering == "reported_at":
        return cases.order_by("reported_at", "id")
    if ordering == "-reported_at":
        return cases.order_by("-reported_at", "-id")
    raise InvalidInput(
        _("ordering must be one of %(choices)s; got “%(ordering)s”")
        % {"choices": ", ".join(ORDERINGS), "ordering": ordering},
        details={"ordering": ordering},
    )


# ---------------------------------------------------------------- lists and queues


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def case_list(
    *,
    user,
    status: str | None = None,
    light: str | None = None,
    category: str | None = None,
    kind: str | None = None,
    area: str | None = None,
    source: str | None = None,
    reported_from: datetime.date | None = None,
    reported_to: datetime.date | None = None,
    tier: int | None = None,
    department_id: int | None = None,
    assignee_id: int | None = None,
    unlocated: bool | None = None,
    ordering: str = "deadline",
    at: datetime.datetime | None = None,
) -> QuerySet[Incident]:
    """The cases `user` may see, filtered, with their light as of `at` (`live_light`).

    `category` is a category code (of either kind unless `kind` says which); `area` an area
    code whose subtree the cases lie in; `reported_from`/`reported_to` are local dates, both
    included; `unlocated` true keeps the reports that lie in no grid cell."""
    now = at or timezone.now()
    cases = visible_cases(case_access(user))
    if status:
        if status not in Status.values:
            raise InvalidInput(
                _("there is no status “%(status)s”") % {"status": status},
                details={"status": status},
            )
        cases = cases.filter(status=status)
    if light:
        cases = cases.filter(light_q(light, now))
    if category:
        cases = cases.filter(category__code=category)
    if kind:
        cases = cases.filter(category__kind=kind)
    if area:
        if not _AREA_CODE.match(area):
            raise InvalidInput(
                _("an area code is 4 to 15 digits; got “%(area)s”") % {"area": area},
                details={"area": area},
            )
        cases = cases.filter(area_code__startswith=area)
    if source:
        cases = cases.filter(source=source)
    if reported_from and reported_to and reported_to < reported_from:
        raise InvalidInput(
            _("the period ends before it starts"),
            details={"reported_from": str(reported_from), "reported_to": str(reported_to)},
        )
    if reported_from:
        cases = cases.filter(reported_at__gte=_day_start(reported_from))
    if reported_to:
        cases = cases.filter(reported_at__lt=_day_start(reported_to + datetime.timedelta(days=1)))
    if tier is not None:
        cases = cases.filter(tier=tier)
    if department_id is not None:
        cases = cases.filter(department_id=department_id)
    if assignee_id is not None:
        cases = cases.filter(assignee_id=assignee_id)
    if unlocated is not None:
        cases = cases.filter(grid_cell__isnull=unlocated)
    return _ordered(_for_display(cases, now), ordering)


def queue_q(access: CaseAccess) -> Q:
    """What waits for this person, from their assignments: as the dispatcher of a tier, the
    cases that tier holds in their areas awaiting accept / register / dispatch / close /
    resume or an extension decision (for a city manager, the unlocated queue too: it is held
    by the city); as a handler, the cases dispatched to their departments; as an inspector,
    the handled cases on their cells awaiting the on-site check, and their own open reports."""
    roles_tier = {role: tier for tier, role in TIER_DISPATCHER_ROLE.items()}
    condition = Q(pk__in=[])
    for role, code, department_id in access.assignments:
        if role in roles_tier:
            held = Q(tier=roles_tier[role], holder_area__code__startswith=code)
            condition |= held & (
                Q(status__in=DISPATCHER_WAITING)
                | Q(status=Status.IN_PROGRESS, extension_requested=True)
            )
        elif role == Role.DEPARTMENT_HANDLER and department_id is not None:
            condition |= Q(department_id=department_id, status__in=HANDLER_WAITING)
        elif role == Role.GRID_INSPECTOR:
            condition |= Q(
                grid_cell__isnull=False, area_code__startswith=code, status=Status.HANDLED
            )
    user = access.user
    if user is not None and getattr(user, "is_authenticated", False):
        condition |= Q(reporter_id=user.pk, status__in=OPEN_STATES)
    return condition


def case_queue(
    *, user, light: str | None = None, at: datetime.datetime | None = None
) -> QuerySet[Incident]:
    """ "My queue": the cases waiting for `user` (see queue_q), most urgent deadline first."""
    now = at or timezone.now()
    access = case_access(user)
    cases = visible_cases(access).filter(queue_q(access))
    if light:
        cases = cases.filter(light_q(light, now))
    return _ordered(_for_display(cases, now), "deadline")


# ---------------------------------------------------------------- one case


def case_get(*, user, number: str, access: CaseAccess | None = None) -> Incident:
    """The case with this number, if `user` may see it (NotFound otherwise)."""
    access = access or case_access(user)
    incident = (
        _for_display(visible_cases(access), timezone.now())
        .select_related("facility", "reporter", "duplicate_of")
        .defer("facility__location")
        .filter(number=number)
        .first()
    )
    if incident is None:
        raise NotFound(
            _("there is no case %(number)s in your areas") % {"number": number},
            details={"number": number},
        )
    return incident


def offered_moves(incident: Incident, parts: set[str], *, superuser: bool) -> list[Move]:
    """The moves of the table this person may make now and the case's place allows (a case in
    no grid cell is placed on the map, not registered or dispatched), less those the case's
    own flags rule out (an extension decision with no extension asked, escalation above the
    city)."""
    moves = []
    for move in allowed_moves(
        incident.status, parts, superuser=superuser, located=incident.grid_cell_id is not None
    ):
        if move.name in {"approve_extension", "reject_extension"} and not (
            incident.extension_requested
        ):
            continue
        if move.name == "request_extension" and incident.extension_requested:
            continue
        if move.name == "escalate" and incident.tier == AreaLevel.CITY:
            continue
        moves.append(move)
    return moves


@dataclass
class CaseDetail:
    incident: Incident
    parts: set[str]
    moves: list[Move]
    events: list[IncidentEvent]
    photos: list[IncidentPhoto]
    merged_into: Incident | None
    merged: list[Incident]
    likely_duplicates: list[Incident]
    departments: list[Department] = field(default_factory=list)

    @property
    def light(self) -> str:
        return self.incident.live_light


def _likely_duplicates(access: CaseAccess, incident: Incident) -> list[Incident]:
    if incident.status not in OPEN_STATES:
        return []
    found = incident_duplicates(
        category=incident.category,
        point=incident.location,
        at=incident.reported_at,
        exclude_id=incident.pk,
    )
    return _rows(access, [other.pk for other in found])


def dispatch_departments(incident: Incident) -> list[Department]:
    """Departments a dispatcher may pick: active ones on the holding area or below it on the
    case's chain (the holding tier's own first)."""
    holder_code = incident.holder_area.code
    codes = [
        incident.area_code[:length]
        for length in (4, 6, 9, 12, 15)
        if length >= len(holder_code) and len(incident.area_code) >= length
    ]
    if holder_code not in codes:
        codes.insert(0, holder_code)
    departments = (
        Department.objects.filter(active=True, area__code__in=codes, area__valid_to__isnull=True)
        .select_related("area", "kind")
        .defer("area__boundary")
    )
    return sorted(departments, key=lambda d: (len(d.area.code), d.area.code, d.name))


def case_detail(*, user, number: str) -> CaseDetail:
    """One case with its history, photos, the moves `user` may make now and its duplicates."""
    access = case_access(user)
    incident = case_get(user=user, number=number, access=access)
    parts = access.parts(incident)
    moves = offered_moves(incident, parts, superuser=access.superuser)
    events = list(incident.events.select_related("actor").order_by("at", "id"))
    photos = list(incident.photos.order_by("uploaded_at", "id"))
    merged_into = incident.duplicate_of
    if merged_into is not None and not may_see(access, merged_into):
        merged_into = None
    merged = list(
        visible_cases(access)
        .filter(duplicate_of=incident)
        .select_related("category")
        .order_by("reported_at")
    )
    return CaseDetail(
        incident=incident,
        parts=parts,
        moves=moves,
        events=events,
        photos=photos,
        merged_into=merged_into,
        merged=merged,
        likely_duplicates=_likely_duplicates(access, incident),
        departments=dispatch_departments(incident)
        if any(move.name == "dispatch" for move in moves)
        else [],
    )


def _rows(access: CaseAccess, ids: list[int]) -> list[Incident]:
    if not ids:
        return []
    found = {
        incident.pk: incident
        for incident in _for_display(visible_cases(access).filter(pk__in=ids), timezone.now())
    }
    return [found[pk] for pk in ids if pk in found]


def case_rows(*, user, ids: list[int]) -> list[Incident]:
    """The cases with these ids that `user` may see, for display, in the order given."""
    return _rows(case_access(user), ids)


def default_source(*, user) -> str:
    """The source of a report made by `user` in the system: a grid inspector's own, else
    staff (a hotline or citizen report names its source)."""
    inspects = (
        Assignment.objects.active()
        .filter(user=user, role=Role.GRID_INSPECTOR, area__valid_to__isnull=True)
        .exists()
    )
    return Source.INSPECTOR if inspects else Source.STAFF


def case_moves_for_rows(*, user, cases) -> dict[int, list[Move]]:
    """The moves `user` may make on each of `cases` (one read of their assignments)."""
    access = case_access(user)
    return {
        incident.pk: offered_moves(incident, access.parts(incident), superuser=access.superuser)
        for incident in cases
    }


def photo_get(*, user, photo_id: int) -> IncidentPhoto:
    """A photo of a case `user` may see (NotFound otherwise, whether or not it exists)."""
    access = case_access(user)
    photo = (
        IncidentPhoto.objects.filter(pk=photo_id, incident__in=visible_cases(access).values("pk"))
        .only("id", "image", "content_type", "size", "incident_id", "stage")
        .first()
    )
    if photo is None:
        raise NotFound(_("there is no such photo"), details={"photo": photo_id})
    return photo


# ---------------------------------------------------------------- the report form


def category_list(*, kind: str | None = None, q: str | None = None) -> QuerySet[Category]:
    """Active categories, components then events, by code scheme, major class and code; `q`
    searches the code, the name and the major class's name."""
    categories = Category.objects.filter(active=True).select_related("facility_category")
    if kind:
        if kind not in CategoryKind.values:
            raise InvalidInput(
                _("kind must be component or event; got “%(kind)s”") % {"kind": kind},
                details={"kind": kind},
            )
        categories = categories.filter(kind=kind)
    if q:
        categories = categories.filter(
            Q(code__startswith=q) | Q(name__icontains=q) | Q(major_name__icontains=q)
        )
    return categories.order_by("kind", "scheme", "major_code", "code")


@dataclass(frozen=True)
class CategoryMajor:
    kind: str
    kind_label: str
    scheme: str
    code: str
    name: str
    categories: list[Category]


def category_tree() -> list[CategoryMajor]:
    """The active categories grouped major → minor (each code scheme apart: the same major
    code means different classes in different schemes), for the report form's picker."""
    kind_labels = dict(CategoryKind.choices)
    groups: dict[tuple[str, str, str], CategoryMajor] = {}
    for category in category_list():
        key = (category.kind, category.scheme, category.major_code)
        if key not in groups:
            groups[key] = CategoryMajor(
                kind=category.kind,
                kind_label=str(kind_labels[category.kind]),
                scheme=category.scheme,
                code=category.major_code,
                name=category.major_name,
                categories=[],
            )
        groups[key].categories.append(category)
    return list(groups.values())


def category_get(*, category_id: int) -> Category:
    category = (
        Category.objects.filter(pk=category_id, active=True)
        .select_related("facility_category")
        .first()
    )
    if category is None:
        raise InvalidInput(
            _("there is no active category %(id)s") % {"id": category_id},
            details={"category": category_id},
        )
    return category


NEAR_RADIUS_DEFAULT_M = 100.0


def case_facilities_near(
    *,
    user,
    lon: float,
    lat: float,
    category: Category,
    radius_m: float = NEAR_RADIUS_DEFAULT_M,
    limit: int = 20,
) -> QuerySet[Facility]:
    """Facilities of the component category's class near a point, in `user`'s areas,
    nearest first (each with `distance_m`)."""
    if category.facility_category_id is None:
        raise InvalidInput(
            _("category %(code)s %(name)s names no facility")
            % {
                "code": category.code,
                "name": category.name,
            },
            details={"category": category.pk},
        )
    return facilities_near(
        point=Point(lon, lat, srid=4326),
        radius_m=radius_m,
        category=category.facility_category,
        user=user,
        limit=limit,
    )


class _Simplified(GeoFunc):
    """ST_SimplifyPreserveTopology: fewer vertices, never an invalid or collapsed polygon."""

    function = "ST_SimplifyPreserveTopology"
    output_field = GeometryField(srid=4326)


def report_map_areas(*, user) -> dict:
    """A GeoJSON FeatureCollection of the areas drawn under the report map: the user's
    current grid cells, or — when there are more than MAP_AREAS_MAX — the coarsest level
    that still fits, so the map is never blank without a basemap."""
    scope = user_scope(user)
    if scope.is_empty:
        return {"type": "FeatureCollection", "features": []}
    areas = scope.areas().current()
    for level in (AreaLevel.GRID, AreaLevel.COMMUNITY, AreaLevel.STREET, AreaLevel.DISTRICT):
        at_level = areas.filter(level=level, boundary__isnull=False)
        if at_level.count() <= MAP_AREAS_MAX:
            break
    rows = at_level.annotate(
        geojson=AsGeoJSON(_Simplified("boundary", Value(MAP_SIMPLIFY)), precision=6)
    ).values_list("code", "name", "level", "geojson")[:MAP_AREAS_MAX]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": code, "name": name, "level": level},
                "geometry": json.loads(geojson),
            }
            for code, name, level, geojson in rows
            if geojson
        ],
    }


def location_area(incident: Incident) -> dict | None:
    """The boundary of the case's grid cell as GeoJSON (for the case page's small map)."""
    if incident.grid_cell_id is None:
        return None
    geojson = (
        Area.objects.filter(pk=incident.grid_cell_id)
        .annotate(geojson=AsGeoJSON(_Simplified("boundary", Value(MAP_SIMPLIFY)), precision=6))
        .values_list("geojson", flat=True)
        .first()
    )
    return json.loads(geojson) if geojson else None
