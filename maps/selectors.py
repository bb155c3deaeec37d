"""Reads for the map pages: the areas of one map level, seen through the user's scope."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON, GeoFunc
from django.db.models import Case, Count, FloatField, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from grid.codes import parent_code_of
from grid.errors import InvalidInput, NotFound
from grid.models import Area, AreaLevel
from grid.scope import Scope, user_scope

# Douglas–Peucker tolerance in degrees for each level, about one screen pixel at the zoom a
# level is usually looked at (districts over a whole city ≈ zoom 10, cells over a community
# ≈ zoom 16, at latitude 20–45°). Anything finer is invisible and only makes the answer heavy.
SIMPLIFY_TOLERANCE: dict[int, float] = {
    AreaLevel.CITY: 0.002,
    AreaLevel.DISTRICT: 0.001,
    AreaLevel.STREET: 0.0003,
    AreaLevel.COMMUNITY: 0.0001,
    AreaLevel.GRID: 0.00002,
}
# Six decimals of a degree are about 0.1 m: finer than any boundary survey used here.
GEOJSON_DECIMALS = 6

_AREA_CODE = re.compile(r"^[0-9]{4,15}$")


class SimplifiedMultiPolygon(GeoFunc):
    """ST_SimplifyPreserveTopology (fewer vertices, never an invalid or collapsed polygon),
    kept a MultiPolygon: PostGIS returns a Polygon when a single part is left."""

    function = "ST_SimplifyPreserveTopology"
    template = "ST_Multi(%(function)s(%(expressions)s))"
    output_field = GeometryField(srid=4326)


@dataclass(frozen=True)
class MapAreaRow:
    code: str
    name: str
    level: int
    child_count: int
    geometry: str | None  # GeoJSON text made by PostGIS

    @property
    def level_label(self) -> str:
        return str(AreaLevel(self.level).label)


@dataclass(frozen=True)
class MapLevel:
    """What one screen of the map shows: the areas of a level under `parent` (None on the
    opening screen of a user with several separate areas) and the way back up."""

    parent: MapAreaRow | None
    breadcrumb: list[MapAreaRow] = field(default_factory=list)
    areas: list[MapAreaRow] = field(default_factory=list)


def _tolerance_by_level() -> Case:
    return Case(
        *(When(level=level, then=Value(tol)) for level, tol in SIMPLIFY_TOLERANCE.items()),
        default=Value(SIMPLIFY_TOLERANCE[AreaLevel.GRID]),
        output_field=FloatField(),
    )


def _rows(queryset) -> list[MapAreaRow]:
    """Current areas of `queryset` with their simplified boundary and number of current
    children, in one query."""
    children = (
        Area.objects.current()
        .filter(parent__code=OuterRef("code"))
        .order_by()
        .values("parent__code")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        queryset.current()
        .annotate(
            child_count=Coalesce(Subquery(children, output_field=IntegerField()), 0),
            geometry=AsGeoJSON(
                SimplifiedMultiPolygon("boundary", _tolerance_by_level()),
                precision=GEOJSON_DECIMALS,
            ),
        )
        .order_by("code")
        .values_list("code", "name", "level", "child_count", "geometry")
    )
    return [MapAreaRow(*row) for row in rows]


def _roots(scope: Scope):
    """The areas at the top of the scope: those assigned (superusers: the cities)."""
    if scope.everything:
        return Area.objects.current().filter(parent__isnull=True)
    return Area.objects.current().filter(code__in=scope.prefixes)


def _opening_parent(scope: Scope) -> MapAreaRow | None:
    """The area whose children open the map: the user's one area when they have exactly one
    and it has children (a city manager sees the districts, a street officer the
    communities); None when the opening screen shows the assigned areas themselves."""
    roots = _rows(_roots(scope))
    if len(roots) == 1 and roots[0].child_count:
        return roots[0]
    return None


def map_level(*, user, parent_code: str | None = None) -> MapLevel:
    """The areas `user` sees on one map screen: under `parent_code`, or on the opening screen
    when it is None. Raises NotFound for a parent that is not a current area in the scope."""
    scope = user_scope(user)
    if scope.is_empty:
        if parent_code is not None:
            raise NotFound(_("You have no assigned areas."))
        return MapLevel(parent=None)
    top = _opening_parent(scope)
    if parent_code is None:
        if top is None:
            return MapLevel(parent=None, areas=_rows(_roots(scope)))
        return MapLevel(parent=top, areas=_rows(Area.objects.filter(parent__code=top.code)))

    if not _AREA_CODE.match(parent_code):
        raise InvalidInput(
            _("parent must be an area code of 4 to 15 digits, not “%(code)s”")
            % {"code": parent_code},
            details={"parent": parent_code},
        )
    if not scope.covers(parent_code):
        raise NotFound(
            _("No area with code %(code)s among your areas.") % {"code": parent_code},
            details={"parent": parent_code},
        )
    parent_rows = _rows(Area.objects.filter(code=parent_code))
    if not parent_rows:
        raise NotFound(
            _("No area with code %(code)s among your areas.") % {"code": parent_code},
            details={"parent": parent_code},
        )
    parent = parent_rows[0]
    return MapLevel(
        parent=parent,
        breadcrumb=_breadcrumb(scope=scope, code=parent.code, top=top),
        areas=_rows(Area.objects.filter(parent__code=parent.code)),
    )


def _breadcrumb(*, scope: Scope, code: str, top: MapAreaRow | None) -> list[MapAreaRow]:
    """The in-scope ancestors of `code` (itself included) below the opening screen, from
    the top down. Codes nest, so the ancestors' codes are prefixes of `code`."""
    codes: list[str] = []
    current: str | None = code
    while current:
        if not scope.covers(current) or (top is not None and top.code.startswith(current)):
            break
        codes.append(current)
        current = parent_code_of(current)
    if not codes:
        return []
    rows = Area.objects.current().filter(code__in=codes).values_list("code", "name", "level")
    by_code = {row[0]: MapAreaRow(*row, child_count=0, geometry=None) for row in rows}
    return [by_code[c] for c in reversed(codes) if c in by_code]
