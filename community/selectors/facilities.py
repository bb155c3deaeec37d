"""Reading facilities (部件) for people and for casework: who may do what with a facility,
scoped lists with filters, one facility with its state history, facilities near a point,
facilities due for a patrol, and the rows of the map layer.

Who may do what is decided here (`ROLE_ACTIONS`, `FacilityAccess`); the table is in the
docstring of community.services.facilities. Outside the user's areas a facility is answered
as not found (404); inside them, without the role, as forbidden (403).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.gis.geos import Point, Polygon
from django.db.models import BooleanField, F, FloatField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from grid.errors import DomainError, Forbidden, InvalidInput, NotFound
from grid.models import Assignment, Role
from grid.scope import Scope, user_scope

from ..models import Facility, FacilityCategory, FacilityStateChange

# The largest radius `facilities_near` accepts, and the most facilities it returns.
NEAR_RADIUS_MAX_M = 5000.0
NEAR_LIMIT_MAX = 500


class FacilityAction(StrEnum):
    VIEW = "view"
    EDIT = "edit"  # register, update, import
    MAINTAIN = "maintain"  # change the state, record an inspection


ROLE_ACTIONS: dict[str, frozenset[FacilityAction]] = {
    Role.CITY_MANAGER: frozenset(FacilityAction),
    Role.DISTRICT_OFFICER: frozenset(FacilityAction),
    Role.STREET_OFFICER: frozenset(FacilityAction),
    # editing and maintaining only facilities of the department the handler is assigned to
    Role.DEPARTMENT_HANDLER: frozenset(FacilityAction),
    Role.GRID_INSPECTOR: frozenset({FacilityAction.VIEW, FacilityAction.MAINTAIN}),
    Role.COMMUNITY_STAFF: frozenset({FacilityAction.VIEW}),
}


@dataclass(frozen=True, slots=True)
class _Grant:
    prefix: str
    role: str
    department_id: int | None


def _action_label(action: FacilityAction) -> str:
    return {
        FacilityAction.VIEW: _("see"),
        FacilityAction.EDIT: _("register or edit"),
        FacilityAction.MAINTAIN: _("change the state of or record inspections of"),
    }[action]


@dataclass(frozen=True)
class FacilityAccess:
    """What one user may do with facilities, loaded once (one query) and then decided in
    memory, so an import of many rows asks the database once."""

    everything: bool
    grants: tuple[_Grant, ...]

    @property
    def scope(self) -> Scope:
        if self.everything:
            return Scope(prefixes=(), everything=True)
        prefixes = sorted({grant.prefix for grant in self.grants})
        kept: list[str] = []
        for prefix in sorted(prefixes, key=len):
            if not any(prefix.startswith(other) for other in kept):
                kept.append(prefix)
        return Scope(prefixes=tuple(sorted(kept)))

    def may_at_all(self, action: FacilityAction) -> bool:
        """Whether any of the user's assignments allows `action` somewhere."""
        return self.everything or any(action in ROLE_ACTIONS[g.role] for g in self.grants)

    def refusal(
        self, action: FacilityAction, *, area_code: str, owner_department_id: int | None
    ) -> DomainError | None:
        """Why the user may not take `action` on a facility in `area_code` owned by the
        department `owner_department_id`: NotFound outside their areas, forbidden for the
        role; None when allowed."""
        if self.everything:
            return None
        covering = [grant for grant in self.grants if area_code.startswith(grant.prefix)]
        if not covering:
            return NotFound(_("there is no such facility in your areas"))
        for grant in covering:
            if action not in ROLE_ACTIONS[grant.role]:
                continue
            if (
                grant.role != Role.DEPARTMENT_HANDLER
                or action == FacilityAction.VIEW
                or grant.department_id == owner_department_id
            ):
                return None
        if any(grant.role == Role.DEPARTMENT_HANDLER for grant in covering):
            return Forbidden(
                _("only the owner department's handlers may %(action)s this facility")
                % {"action": _action_label(action)}
            )
        return Forbidden(
            _("your role may not %(action)s facilities") % {"action": _action_label(action)}
        )

    def check(
        self, action: FacilityAction, *, area_code: str, owner_department_id: int | None
    ) -> None:
        refusal = self.refusal(action, area_code=area_code, owner_department_id=owner_department_id)
        if refusal is not None:
            raise refusal


SYSTEM_ACCESS = FacilityAccess(everything=True, grants=())


def facility_access(*, user) -> FacilityAccess:
    """The facility rights of `user` (None: the system, which may do everything)."""
    if user is None:
        return SYSTEM_ACCESS
    if not user.is_authenticated or not user.is_active:
        return FacilityAccess(everything=False, grants=())
    if user.is_superuser:
        return SYSTEM_ACCESS
    rows = (
        Assignment.objects.active()
        .filter(user=user, area__valid_to__isnull=True)
        .values_list("area__code", "role", "department_id")
    )
    return FacilityAccess(
        everything=False,
        grants=tuple(
            _Grant(prefix=code, role=role, department_id=department_id)
            for code, role, department_id in rows
            if role in ROLE_ACTIONS
        ),
    )


# --- lists ----------------------------------------------------------------------------------


def _base() -> QuerySet[Facility]:
    return Facility.objects.select_related("category", "grid_cell", "owner_department")


def facility_list(
    *,
    user,
    category_code: str | None = None,
    scheme: str | None = None,
    major_code: str | None = None,
    state: str | None = None,
    area_code: str | None = None,
    owner_department_id: int | None = None,
    inspected_before: datetime.date | None = None,
    q: str | None = None,
) -> QuerySet[Facility]:
    """Facilities in the user's areas, by code. `area_code` narrows to a subtree;
    `inspected_before` keeps facilities last inspected before that date or never."""
    facilities = user_scope(user).filter(_base(), "area_code")
    if category_code:
        facilities = facilities.filter(category__code=category_code)
    if scheme:
        facilities = facilities.filter(category__scheme=scheme)
    if major_code:
        facilities = facilities.filter(category__major_code=major_code)
    if state:
        facilities = facilities.filter(state=state)
    if area_code:
        facilities = facilities.filter(area_code__startswith=area_code)
    if owner_department_id is not None:
        facilities = facilities.filter(owner_department_id=owner_department_id)
    if inspected_before is not None:
        facilities = facilities.filter(
            Q(last_inspected_on__lt=inspected_before) | Q(last_inspected_on__isnull=True)
        )
    if q:
        facilities = facilities.filter(Q(code__startswith=q) | Q(name__icontains=q))
    return facilities.order_by("code")


def facility_map(
    *, user, bbox: tuple[float, float, float, float] | None = None, **filters
) -> QuerySet[Facility]:
    """The facilities of `facility_list` whose location lies in the box (west, south, east,
    north) in WGS84 degrees — a bounding-box test answered by the GiST index."""
    facilities = facility_list(user=user, **filters)
    if bbox is not None:
        west, south, east, north = bbox
        if not (west < east and south < north):
            raise InvalidInput(
                _("bbox must be west,south,east,north with west < east and south < north"),
                details={"bbox": list(bbox)},
            )
        facilities = facilities.filter(
            location__bboverlaps=Polygon.from_bbox((west, south, east, north))
        )
    return facilities


def facilities_inspection_due(
    *, user, days: int, today: datetime.date | None = None
) -> QuerySet[Facility]:
    """Facilities in the user's areas not inspected in the last `days` days (or never),
    the longest-neglected first — the patrol list."""
    if days < 0:
        raise InvalidInput(_("days must not be negative"), details={"days": days})
    cutoff = (today or timezone.localdate()) - datetime.timedelta(days=days)
    return (
        user_scope(user)
        .filter(_base(), "area_code")
        .filter(Q(last_inspected_on__lt=cutoff) | Q(last_inspected_on__isnull=True))
        .order_by(F("last_inspected_on").asc(nulls_first=True), "code")
    )


# --- one facility ---------------------------------------------------------------------------


def facility_get_visible(*, user, facility_id: int) -> Facility:
    """The facility if the user may see it; NotFound otherwise (also when it exists outside
    their areas)."""
    facility = user_scope(user).filter(_base().filter(pk=facility_id), "area_code").first()
    if facility is None:
        raise NotFound(_("there is no facility %(id)s") % {"id": facility_id})
    return facility


@dataclass
class FacilityDetail:
    facility: Facility
    history: list[FacilityStateChange]


def facility_detail(*, user, facility_id: int) -> FacilityDetail:
    """One facility with its state history, oldest change first."""
    facility = facility_get_visible(user=user, facility_id=facility_id)
    history = list(
        FacilityStateChange.objects.filter(facility=facility)
        .select_related("changed_by")
        .order_by("changed_at", "id")
    )
    return FacilityDetail(facility=facility, history=history)


# --- near a point ---------------------------------------------------------------------------

# Distances on the spheroid (geography), in metres. The expression `location::geography` is
# exactly the one the index facility_location_geography is built on, so ST_DWithin is
# answered from that GiST index; ST_Distance then measures only the rows it kept.
_PROBE = "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography"
_WITHIN = f'ST_DWithin("community_facility"."location"::geography, {_PROBE}, %s)'
_DISTANCE = f'ST_Distance("community_facility"."location"::geography, {_PROBE})'


def facilities_near(
    *,
    point: Point,
    radius_m: float,
    category: FacilityCategory | None = None,
    user=None,
    limit: int = 50,
) -> QuerySet[Facility]:
    """Facilities within `radius_m` metres of `point` (WGS84), nearest first, each with
    `distance_m`. With a user, only facilities in their areas; without, all (for services
    such as casework that have already checked access to the point)."""
    if not 0 < radius_m <= NEAR_RADIUS_MAX_M:
        raise InvalidInput(
            _("radius must be more than 0 and at most %(max)s metres; got %(radius)s")
            % {"max": f"{NEAR_RADIUS_MAX_M:g}", "radius": radius_m},
            details={"radius": radius_m},
        )
    if not 0 < limit <= NEAR_LIMIT_MAX:
        raise InvalidInput(
            _("limit must be between 1 and %(max)d") % {"max": NEAR_LIMIT_MAX},
            details={"limit": limit},
        )
    if point.srid not in (None, 4326):
        point = point.transform(4326, clone=True)
    lon, lat = float(point.x), float(point.y)
    facilities = _base().filter(
        RawSQL(_WITHIN, [lon, lat, float(radius_m)], output_field=BooleanField())
    )
    if user is not None:
        facilities = user_scope(user).filter(facilities, "area_code")
    if category is not None:
        facilities = facilities.filter(category=category)
    return facilities.annotate(
        distance_m=RawSQL(_DISTANCE, [lon, lat], output_field=FloatField())
    ).order_by("distance_m", "code")[:limit]


def facility_categories(*, scheme: str | None = None) -> QuerySet[FacilityCategory]:
    categories = FacilityCategory.objects.all()
    if scheme:
        categories = categories.filter(scheme=scheme)
    return categories.order_by("scheme", "code")


def facility_schemes() -> list[str]:
    return list(
        FacilityCategory.objects.order_by("scheme").values_list("scheme", flat=True).distinct()
    )


def facility_codes_taken(*, codes: Iterable[str]) -> set[str]:
    """Which of `codes` are already registered (in chunks: one bind parameter per code)."""
    wanted = list(dict.fromkeys(codes))
    taken: set[str] = set()
    for start in range(0, len(wanted), 10_000):
        taken.update(
            Facility.objects.filter(code__in=wanted[start : start + 10_000]).values_list(
                "code", flat=True
            )
        )
    return taken
