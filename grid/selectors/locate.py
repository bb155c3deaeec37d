"""Locate: the unit grid cell (单元网格) that covers a point, with its whole tier chain.

The rule for points on a shared edge or vertex: among the current grid cells whose closed
boundary covers the point (ST_Covers, so the boundary line itself counts), the cell with the
smallest code wins. A point on the boundary between two cells, two communities or two
districts therefore always gets the same single answer, and a point on the city's outer
boundary is located in the cell it touches.

Only current areas are considered (valid_to IS NULL); the chain community → street →
district → city is the cell's parent chain.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.contrib.gis.geos import Point
from django.db import connection
from django.db.models.functions import Collate
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from grid.errors import InvalidInput
from grid.models import Area, AreaLevel


@dataclass(frozen=True, slots=True)
class AreaRef:
    id: int
    code: str
    name: str

    def as_dict(self) -> dict:
        return {"id": self.id, "code": self.code, "name": self.name}


@dataclass(frozen=True, slots=True)
class Location:
    """A grid cell and the areas above it. An ancestor is None only when the stored
    hierarchy lacks that level."""

    cell: AreaRef
    community: AreaRef | None
    street: AreaRef | None
    district: AreaRef | None
    city: AreaRef | None

    def as_dict(self) -> dict:
        return {
            "cell": self.cell.as_dict(),
            "community": self.community.as_dict() if self.community else None,
            "street": self.street.as_dict() if self.street else None,
            "district": self.district.as_dict() if self.district else None,
            "city": self.city.as_dict() if self.city else None,
        }


def coordinate_errors(*, lon: object, lat: object) -> dict[str, str]:
    """The reasons, per parameter name, that (lon, lat) is not a WGS84 position."""
    errors = {}
    for name, value, limit in (("lon", lon, 180), ("lat", lat, 90)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors[name] = _("%(name)s must be a number") % {"name": name}
        elif not math.isfinite(value):
            errors[name] = _("%(name)s must be a finite number") % {"name": name}
        elif not -limit <= value <= limit:
            errors[name] = _("%(name)s must be between -%(limit)d and %(limit)d; got %(value)s") % {
                "name": name,
                "limit": limit,
                "value": value,
            }
    return errors


def _point_array(points: Sequence[Sequence[float]]) -> np.ndarray:
    """The points as an (n, 2) float64 array, refused as a whole if any point is invalid."""
    try:
        array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(_("points must be pairs of numbers (lon, lat)")) from exc
    if len(array) != len(points):
        raise InvalidInput(_("points must be pairs of numbers (lon, lat)"))
    bad = ~(
        np.isfinite(array).all(axis=1) & (np.abs(array[:, 0]) <= 180) & (np.abs(array[:, 1]) <= 90)
    )
    if bad.any():
        indexes = np.flatnonzero(bad).tolist()
        errors = {
            index: "; ".join(coordinate_errors(lon=lon, lat=lat).values())
            for index in indexes
            for lon, lat in [array[index].tolist()]
        }
        raise InvalidInput(
            ngettext(
                "%(count)d point is not a valid position",
                "%(count)d points are not valid positions",
                len(indexes),
            )
            % {"count": len(indexes)},
            details=errors,
        )
    return array


# Raw SQL: the ORM has no way to join a set of points to the cells in one statement.
# Level and validity are literals, not parameters, so that the planner can match them to the
# partial GiST index area_current_cell_boundary.
#
# One GiST probe per occupied tile of a grid over the points' extent, instead of one per
# point, then a hash join of each point with its tile's candidates: a GiST probe costs about
# as much as testing a few dozen candidates, so sharing it between the points of a tile
# wins (2.5-3x the throughput of one LATERAL probe per point on the medium city; see
# bench/README.md). The bounding box comparison is a cheap first filter; box2d is rounded
# outward, so it never rejects a cell that covers the point. Ties go to the smallest code
# in C collation, the order of digit strings everywhere. The answer comes as one row per
# located point and one row per area above those cells, each area once, and the chains are
# put together in Python: no join of two large sets is left to the planner's row estimates,
# which for these set-returning functions and CTEs are defaults, not counts.
_POINTS_SQL = """
    WITH RECURSIVE probe AS MATERIALIZED (
        SELECT ordinal, point, lon, lat,
               floor((lon - %(west)s) / %(tile_width)s)::int8 * 65536
               + floor((lat - %(south)s) / %(tile_height)s)::int8 AS tile
        FROM (
            SELECT (dumped).path[1] AS ordinal, (dumped).geom AS point,
                   ST_X((dumped).geom) AS lon, ST_Y((dumped).geom) AS lat
            FROM ST_DumpPoints(ST_GeomFromEWKB(%(points)s)) AS dumped
        ) AS dumped_points
    ),
    tile AS MATERIALIZED (
        SELECT tile, ST_MakeEnvelope(min(lon), min(lat), max(lon), max(lat), 4326) AS box
        FROM probe
        GROUP BY tile
    ),
    candidate AS MATERIALIZED (
        SELECT tile.tile, cell.id, cell.code, cell.name, cell.parent_id, cell.boundary,
               ST_XMin(extent) AS west, ST_XMax(extent) AS east,
               ST_YMin(extent) AS south, ST_YMax(extent) AS north
        FROM tile
        JOIN {table} AS cell ON cell.boundary && tile.box
        CROSS JOIN LATERAL box2d(cell.boundary) AS extent
        WHERE cell.level = {grid_level} AND cell.valid_to IS NULL
    ),
    cell AS MATERIALIZED (
        SELECT DISTINCT ON (probe.ordinal)
               probe.ordinal, candidate.id, candidate.code, candidate.name, candidate.parent_id
        FROM probe
        JOIN candidate ON candidate.tile = probe.tile
        WHERE probe.lon BETWEEN candidate.west AND candidate.east
          AND probe.lat BETWEEN candidate.south AND candidate.north
          AND ST_Covers(candidate.boundary, probe.point)
        ORDER BY probe.ordinal, candidate.code COLLATE "C"
    ),
    ancestor AS (
        SELECT area.id, area.code, area.name, area.parent_id
        FROM {table} AS area
        WHERE area.id IN (SELECT parent_id FROM cell)
        UNION
        SELECT area.id, area.code, area.name, area.parent_id
        FROM {table} AS area
        JOIN ancestor ON area.id = ancestor.parent_id
    )
    SELECT ordinal, id, code, name, parent_id FROM cell
    UNION ALL
    SELECT NULL, id, code, name, parent_id FROM ancestor
"""


def _tiles_per_side(count: int) -> int:
    """Tiles per side of the grid over the extent of `count` points. Measured on the medium
    city: 10,000 points ran alike from 24 to 48 (16 slower); 100,000 ran best at 64 (32 and
    96 slower). With few points a tile seldom holds more than one, and the probe of a lone
    point is as narrow as the point."""
    return max(32, min(64, round(math.sqrt(count) / 5)))


_EWKB_MULTIPOINT_WITH_SRID = 0x20000004


def _points_sql() -> str:
    return _POINTS_SQL.format(table=Area._meta.db_table, grid_level=int(AreaLevel.GRID))


# The cell and its four ancestors, for the ORM's values_list: id, code, name of each.
_CHAIN_FIELDS = [
    f"{'parent__' * depth}{field}" for depth in range(5) for field in ("id", "code", "name")
]


def _ref(id_, code, name) -> AreaRef | None:
    return None if id_ is None else AreaRef(id=id_, code=code, name=name)


def _ancestor_chains(area_rows: Sequence[Sequence]) -> dict[int, tuple[AreaRef | None, ...]]:
    """Per area id of the ancestor rows (id, code, name, parent_id): that area and the three
    above it, so a community's id gives (community, street, district, city)."""
    rows = {row[0]: row for row in area_rows}
    refs = {row[0]: AreaRef(id=row[0], code=row[1], name=row[2]) for row in area_rows}
    chains: dict[int, tuple[AreaRef | None, ...]] = {}
    for area_id in rows:
        chain: list[AreaRef | None] = []
        current = area_id
        for _level in range(4):
            chain.append(refs.get(current))
            current = rows[current][3] if current in rows else None
        chains[area_id] = tuple(chain)
    return chains


def _multipoint_ewkb(array: np.ndarray) -> bytes:
    """The points as one EWKB MultiPoint in SRID 4326. As one bytea parameter it costs a
    sixth to a tenth of two float8[] parameters, which psycopg adapts element by element."""
    parts = np.empty(len(array), dtype=[("order", "u1"), ("type", "<u4"), ("xy", "<f8", 2)])
    parts["order"] = 1
    parts["type"] = 1
    parts["xy"] = array
    header = struct.pack("<BIII", 1, _EWKB_MULTIPOINT_WITH_SRID, 4326, len(array))
    return header + parts.tobytes()


def _points_params(array: np.ndarray) -> dict:
    west, south = array.min(axis=0).tolist()
    east, north = array.max(axis=0).tolist()
    tiles = _tiles_per_side(len(array))
    return {
        "points": _multipoint_ewkb(array),
        "west": west,
        "south": south,
        "tile_width": max((east - west) / tiles, 1e-9),
        "tile_height": max((north - south) / tiles, 1e-9),
    }


def locate_points(*, points: Sequence[Sequence[float]]) -> list[Location | None]:
    """The covering grid cell and its chain for each (lon, lat) point, in input order; None
    where no current cell covers the point. One SQL statement for the whole set; on a shared
    edge or vertex the cell with the smallest code wins."""
    array = _point_array(points)
    if not len(array):
        return []
    params = _points_params(array)
    with connection.cursor() as cursor:
        # The planner's estimate for this statement is far above jit_above_cost, and JIT
        # compiling made it 2.5 times slower (10,000 points on the medium city: 0.97 s
        # with, 0.37 s without). Sent in the same round trip, SET LOCAL holds for the
        # statement's implicit transaction, or to the end of the caller's transaction.
        cursor.execute("SET LOCAL jit = off; " + _points_sql(), params)
        cursor.nextset()
        rows = cursor.fetchall()
    chains = _ancestor_chains([row[1:] for row in rows if row[0] is None])
    no_chain = (None, None, None, None)
    results: list[Location | None] = [None] * len(array)
    by_cell: dict[int, Location] = {}
    for ordinal, cell_id, code, name, parent_id in rows:
        if ordinal is None:
            continue
        location = by_cell.get(cell_id)
        if location is None:
            location = by_cell[cell_id] = Location(
                AreaRef(id=cell_id, code=code, name=name), *chains.get(parent_id, no_chain)
            )
        results[ordinal - 1] = location
    return results


def locate_point(*, lon: float, lat: float) -> Location | None:
    """The current grid cell covering (lon, lat) and its chain, or None outside every cell.
    On a shared edge or vertex the cell with the smallest code wins. One SQL statement: the
    chain comes by joins in the same query."""
    errors = coordinate_errors(lon=lon, lat=lat)
    if errors:
        raise InvalidInput("; ".join(errors.values()), details=errors)
    values = (
        Area.objects.cells()
        .current()
        .filter(boundary__covers=Point(float(lon), float(lat), srid=4326))
        .order_by(Collate("code", "C"))
        .values_list(*_CHAIN_FIELDS)
        .first()
    )
    if values is None:
        return None
    return Location(
        _ref(*values[0:3]),
        _ref(*values[3:6]),
        _ref(*values[6:9]),
        _ref(*values[9:12]),
        _ref(*values[12:15]),
    )
