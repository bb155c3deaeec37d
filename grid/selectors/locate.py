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

import gc
import math
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
from django.contrib.gis.geos import Point
from django.db import connection
from django.db.models.functions import Collate
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from grid.errors import InvalidInput
from grid.models import Area, AreaLevel, LocateTileBlock, LocateTileGrid


# Named tuples rather than frozen dataclasses: a bulk locate builds one of each per cell
# found (about 9,000 for 10,000 points on the medium city), and a named tuple is built in a
# third of the time.
class AreaRef(NamedTuple):
    id: int
    code: str
    name: str

    def as_dict(self) -> dict:
        return {"id": self.id, "code": self.code, "name": self.name}


class Location(NamedTuple):
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
# Most points are settled by the locate tiles (grid.services.locate_tiles explains them):
# the point's tile is computed from its lon/lat, the tile's block row found by its integer
# key, and the tile's byte names either the cell the tile lies strictly inside (no GiST
# probe, no geometry) or the few cells that touch the tile, each reached by primary key and
# decided between by ST_Covers: a block numbers its cells in code order, so the smallest
# number among the covering cells is the smallest code (a tile naming a cell that is no
# longer current gives -1, see locate_points). The rest — no tiles built, a region without tiles, an untabulated
# tile — takes the exact path: one GiST probe per occupied square of a grid over the
# points' extent (parameters from Python), then a hash join of each point with its square's
# candidates; the float bounding box comparison is a cheap first filter (box2d is rounded
# outward, so it never rejects a cell that covers the point). Both paths apply one rule:
# among the current cells that cover the point, the smallest code in C collation (the
# order of digit strings everywhere).
#
# The answer: a first row with the located points packed as (ordinal, cell id) pairs, then
# one row per area of those cells' chains (id, code, name, parent, is it a cell), each area
# once; the chains are put together in Python. Each large intermediate set is materialized
# once and every table is reached by key (the block key, a primary key, = ANY of an array),
# so that no join of two large sets is left to the planner's row estimates, which for these
# set-returning functions and CTEs are defaults, not counts.
_POINTS_SQL = """
    WITH RECURSIVE probe AS MATERIALIZED (
        SELECT dumped.ordinal, dumped.point, dumped.lon, dumped.lat,
               ((tile.i >> 4) << 32) + (tile.j >> 4) AS block,
               ((tile.j & 15) * 16 + (tile.i & 15))::int AS position
        FROM (
            SELECT (dumped).path[1] AS ordinal, (dumped).geom AS point,
                   ST_X((dumped).geom) AS lon, ST_Y((dumped).geom) AS lat
            FROM ST_DumpPoints(ST_GeomFromEWKB(%(points)s)) AS dumped
        ) AS dumped
        LEFT JOIN {grid} AS grid ON grid.id = 1 AND %(use_tiles)s
        CROSS JOIN LATERAL (
            SELECT floor((dumped.lon - grid.west) / grid.tile_size)::int8 AS i,
                   floor((dumped.lat - grid.south) / grid.tile_size)::int8 AS j
        ) AS tile
    ),
    hit AS MATERIALIZED (
        SELECT probe.ordinal, probe.point, probe.lon, probe.lat, tabulated.value,
               CASE WHEN tabulated.value BETWEEN 1 AND 127
                    THEN block.cells[tabulated.value] END AS cell_id,
               CASE WHEN tabulated.value BETWEEN 128 AND 254 THEN block.cells END AS cells,
               CASE WHEN tabulated.value BETWEEN 128 AND 254
                    THEN block.sets[(tabulated.value - 128) * block.set_width + 1
                                    : (tabulated.value - 127) * block.set_width] END AS members
        FROM probe
        LEFT JOIN {block} AS block ON block.key = probe.block
        CROSS JOIN LATERAL (SELECT get_byte(block.map, probe.position) AS value) AS tabulated
    ),
    on_edge AS MATERIALIZED (
        SELECT hit.ordinal,
               CASE WHEN judged.current < judged.members THEN -1
                    ELSE hit.cells[judged.first] END AS cell_id
        FROM hit
        CROSS JOIN LATERAL (
            SELECT count(*) AS members, count(cell.id) AS current,
                   min(member) FILTER (WHERE ST_Covers(cell.boundary, hit.point)) AS first
            FROM unnest(hit.members) AS member
            LEFT JOIN {table} AS cell
              ON cell.id = hit.cells[member]
             AND cell.level = {grid_level} AND cell.valid_to IS NULL
            WHERE member > 0
        ) AS judged
        WHERE hit.members IS NOT NULL
    ),
    untabulated AS MATERIALIZED (
        SELECT ordinal, point, lon, lat,
               floor((lon - %(west)s) / %(square_width)s)::int8 * 65536
               + floor((lat - %(south)s) / %(square_height)s)::int8 AS square
        FROM hit
        WHERE value IS NULL OR value = 255
    ),
    square AS MATERIALIZED (
        SELECT square, ST_MakeEnvelope(min(lon), min(lat), max(lon), max(lat), 4326) AS box
        FROM untabulated
        GROUP BY square
    ),
    exact_candidate AS MATERIALIZED (
        SELECT square.square, cell.id, cell.code, cell.name, cell.parent_id, cell.boundary,
               ST_XMin(extent) AS west, ST_XMax(extent) AS east,
               ST_YMin(extent) AS south, ST_YMax(extent) AS north
        FROM square
        JOIN {table} AS cell ON cell.boundary && square.box
        CROSS JOIN LATERAL box2d(cell.boundary) AS extent
        WHERE cell.level = {grid_level} AND cell.valid_to IS NULL
    ),
    exact AS MATERIALIZED (
        SELECT DISTINCT ON (untabulated.ordinal)
               untabulated.ordinal, exact_candidate.id, exact_candidate.code,
               exact_candidate.name, exact_candidate.parent_id
        FROM untabulated
        JOIN exact_candidate ON exact_candidate.square = untabulated.square
        WHERE untabulated.lon BETWEEN exact_candidate.west AND exact_candidate.east
          AND untabulated.lat BETWEEN exact_candidate.south AND exact_candidate.north
          AND ST_Covers(exact_candidate.boundary, untabulated.point)
        ORDER BY untabulated.ordinal, exact_candidate.code COLLATE "C"
    ),
    located AS MATERIALIZED (
        SELECT ordinal, cell_id FROM hit WHERE cell_id IS NOT NULL
        UNION ALL
        SELECT ordinal, cell_id FROM on_edge WHERE cell_id IS NOT NULL
        UNION ALL
        SELECT ordinal, id FROM exact
    ),
    tabulated_cell AS MATERIALIZED (
        SELECT cell.id, cell.code, cell.name, cell.parent_id
        FROM {table} AS cell
        WHERE cell.id = ANY(ARRAY(
                SELECT cell_id FROM hit WHERE cell_id IS NOT NULL
                UNION
                SELECT cell_id FROM on_edge WHERE cell_id > 0))
          AND cell.level = {grid_level} AND cell.valid_to IS NULL
    ),
    cell AS MATERIALIZED (
        SELECT id, code, name, parent_id FROM tabulated_cell
        UNION ALL
        SELECT DISTINCT ON (id) id, code, name, parent_id FROM exact
        WHERE NOT EXISTS (SELECT FROM tabulated_cell WHERE tabulated_cell.id = exact.id)
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
    SELECT (SELECT string_agg(int4send(ordinal) || int8send(cell_id), ''::bytea) FROM located),
           NULL::int8, NULL, NULL, NULL::int8, NULL::bool
    UNION ALL
    SELECT NULL, id, code, name, parent_id, true FROM cell
    UNION ALL
    SELECT NULL, id, code, name, parent_id, false FROM ancestor
"""


def _squares_per_side(count: int) -> int:
    """Squares per side of the exact path's grid over the extent of `count` points. Measured on the medium
    city: 10,000 points ran alike from 24 to 48 (16 slower); 100,000 ran best at 64 (32 and
    96 slower). With few points a square seldom holds more than one, and the probe of a lone
    point is as narrow as the point."""
    return max(32, min(64, round(math.sqrt(count) / 5)))


_EWKB_MULTIPOINT_WITH_SRID = 0x20000004


def _points_sql() -> str:
    return _POINTS_SQL.format(
        table=Area._meta.db_table,
        grid=LocateTileGrid._meta.db_table,
        block=LocateTileBlock._meta.db_table,
        grid_level=int(AreaLevel.GRID),
    )


# The cell and its four ancestors, for the ORM's values_list: id, code, name of each.
_CHAIN_FIELDS = [
    f"{'parent__' * depth}{field}" for depth in range(5) for field in ("id", "code", "name")
]


def _ref(id_, code, name) -> AreaRef | None:
    return None if id_ is None else AreaRef(id=id_, code=code, name=name)


# The statement's first row packs the located points as (ordinal int4, cell id int8) pairs,
# big-endian (int4send, int8send): numpy reads 10,000 of them at once, where 10,000 rows or
# an int[] in text would be parsed value by value.
_LOCATED_PAIR = np.dtype([("ordinal", ">i4"), ("cell", ">i8")])


def _locations(area_rows: Sequence[Sequence]) -> dict[int, Location]:
    """The Location of each cell from the area rows (_, id, code, name, parent_id, is_cell)
    of the cells and of every area above them. The part of the chain above a cell is shared
    by the cells of a community and built once. Tuples are made with tuple.__new__, which
    skips the argument handling of a named tuple's constructor (a bulk locate makes two per
    cell found)."""
    new = tuple.__new__
    refs: dict[int, AreaRef] = {}
    parents: dict[int, int | None] = {}
    cells = []
    for row in area_rows:
        if row[5]:
            cells.append(row)
        else:
            refs[row[1]] = new(AreaRef, row[1:4])
            parents[row[1]] = row[4]
    above: dict[int | None, tuple[AreaRef | None, ...]] = {}
    locations = {}
    for _packed, cell_id, code, name, community_id, _is_cell in cells:
        chain = above.get(community_id)
        if chain is None:
            links: list[AreaRef | None] = []
            current = community_id
            for _level in range(4):
                links.append(refs.get(current))
                current = parents.get(current)
            chain = above[community_id] = tuple(links)
        locations[cell_id] = new(Location, (new(AreaRef, (cell_id, code, name)), *chain))
    return locations


def _multipoint_ewkb(array: np.ndarray) -> bytes:
    """The points as one EWKB MultiPoint in SRID 4326. As one bytea parameter it costs a
    sixth to a tenth of two float8[] parameters, which psycopg adapts element by element."""
    parts = np.empty(len(array), dtype=[("order", "u1"), ("type", "<u4"), ("xy", "<f8", 2)])
    parts["order"] = 1
    parts["type"] = 1
    parts["xy"] = array
    header = struct.pack("<BIII", 1, _EWKB_MULTIPOINT_WITH_SRID, 4326, len(array))
    return header + parts.tobytes()


def _points_params(array: np.ndarray, *, use_tiles: bool = True) -> dict:
    west, south = array.min(axis=0).tolist()
    east, north = array.max(axis=0).tolist()
    squares = _squares_per_side(len(array))
    return {
        "points": _multipoint_ewkb(array),
        "use_tiles": use_tiles,
        "west": west,
        "south": south,
        "square_width": max((east - west) / squares, 1e-9),
        "square_height": max((north - south) / squares, 1e-9),
    }


def _located(array: np.ndarray, *, use_tiles: bool) -> tuple[np.ndarray, dict[int, Location]]:
    """Run the statement: per point the id of its cell (0 none, -1 a tile that names a cell
    no longer current), and the Location of each cell."""
    with connection.cursor() as cursor:
        # The planner's estimate for this statement is far above jit_above_cost, and JIT
        # compiling made it 2.5 times slower (10,000 points on the medium city: 0.97 s
        # with, 0.37 s without). Sent in the same round trip, SET LOCAL holds for the
        # statement's implicit transaction, or to the end of the caller's transaction.
        cursor.execute(
            "SET LOCAL jit = off; " + _points_sql(), _points_params(array, use_tiles=use_tiles)
        )
        cursor.nextset()
        with _collection_paused():
            located, *areas = cursor.fetchall()
            locations = _locations(areas)
    cells = np.zeros(len(array), dtype=np.int64)
    if located[0]:
        pairs = np.frombuffer(located[0], dtype=_LOCATED_PAIR)
        cells[pairs["ordinal"] - 1] = pairs["cell"]
    return cells, locations


@contextmanager
def _collection_paused() -> Iterator[None]:
    """No garbage collection while the rows and Locations of thousands of cells are built:
    they make no cycles, and with the caller holding many objects (100,000 points as lists)
    the collections those allocations set off took a fifth of a bulk locate's time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def locate_points(*, points: Sequence[Sequence[float]]) -> list[Location | None]:
    """The covering grid cell and its chain for each (lon, lat) point, in input order; None
    where no current cell covers the point. One SQL statement for the whole set; on a shared
    edge or vertex the cell with the smallest code wins."""
    array = _point_array(points)
    if not len(array):
        return []
    cells, locations = _located(array, use_tiles=True)
    results = [locations.get(cell_id) for cell_id in cells.tolist()]
    # The services rebuild the tiles with every change of the cells, in the same
    # transaction. Should a tile still name a cell that is no longer current, its points get
    # a second statement, on the exact path only.
    stale = np.flatnonzero((cells < 0) | ((cells > 0) & ~np.isin(cells, list(locations))))
    if len(stale):
        cells, locations = _located(array[stale], use_tiles=False)
        for index, cell_id in zip(stale.tolist(), cells.tolist(), strict=True):
            results[index] = locations.get(cell_id)
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
