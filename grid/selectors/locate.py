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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.utils.translation import gettext as _

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
            _("%(count)d points are not valid positions") % {"count": len(indexes)},
            details=errors,
        )
    return array


# Raw SQL because the ORM cannot join a set of probe points LATERAL to the cells in one
# statement. The level and validity conditions are literals, not parameters, so that the
# planner always matches the partial GiST index area_current_cell_boundary. The parent chain
# is joined by primary key after the probe, once per located point.
_CHAIN_COLUMNS = """
    cell.id, cell.code, cell.name,
    community.id, community.code, community.name,
    street.id, street.code, street.name,
    district.id, district.code, district.name,
    city.id, city.code, city.name
"""
_CHAIN_JOINS = """
    LEFT JOIN {table} AS community ON community.id = cell.parent_id
    LEFT JOIN {table} AS street ON street.id = community.parent_id
    LEFT JOIN {table} AS district ON district.id = street.parent_id
    LEFT JOIN {table} AS city ON city.id = district.parent_id
"""
_COVERING_CELL = """
    SELECT candidate.id, candidate.code, candidate.name, candidate.parent_id
    FROM {table} AS candidate
    WHERE candidate.level = {grid_level}
      AND candidate.valid_to IS NULL
      AND ST_Covers(candidate.boundary, probe.point)
    ORDER BY candidate.code COLLATE "C"
    LIMIT 1
"""
_LOCATE_SQL = f"""
    SELECT probe.ordinal, {_CHAIN_COLUMNS}
    FROM (
        SELECT ordinal, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS point
        FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS given(lon, lat, ordinal)
    ) AS probe
    CROSS JOIN LATERAL ({_COVERING_CELL}) AS cell
    {_CHAIN_JOINS}
"""


def _sql() -> str:
    return _LOCATE_SQL.format(table=Area._meta.db_table, grid_level=int(AreaLevel.GRID))


def _ref(id_, code, name) -> AreaRef | None:
    return None if id_ is None else AreaRef(id=id_, code=code, name=name)


def _location(row: Sequence) -> Location:
    return Location(
        cell=AreaRef(id=row[1], code=row[2], name=row[3]),
        community=_ref(*row[4:7]),
        street=_ref(*row[7:10]),
        district=_ref(*row[10:13]),
        city=_ref(*row[13:16]),
    )


def _spatial_order(array: np.ndarray) -> np.ndarray:
    """A permutation of the points along a Z-order curve over their bounding box."""
    if len(array) < 2:
        return np.arange(len(array))
    low = array.min(axis=0)
    span = np.maximum(array.max(axis=0) - low, 1e-12)
    scaled = ((array - low) / span * 0xFFFF).astype(np.uint32)
    key = _spread_bits(scaled[:, 0]) | (_spread_bits(scaled[:, 1]) << 1)
    return np.argsort(key, kind="stable")


def _spread_bits(values: np.ndarray) -> np.ndarray:
    """Put the 16 low bits of each value on the even bit positions of a 32-bit word."""
    values = values & 0x0000FFFF
    values = (values | (values << 8)) & 0x00FF00FF
    values = (values | (values << 4)) & 0x0F0F0F0F
    values = (values | (values << 2)) & 0x33333333
    return (values | (values << 1)) & 0x55555555


def locate_points(*, points: Sequence[Sequence[float]]) -> list[Location | None]:
    """The covering grid cell and its chain for each (lon, lat) point, in input order; None
    where no current cell covers the point. One SQL statement for the whole set; ties on
    shared edges and vertices go to the smallest cell code."""
    array = _point_array(points)
    if not len(array):
        return []
    order = _spatial_order(array)
    ordered = array[order]
    with connection.cursor() as cursor:
        cursor.execute(_sql(), [ordered[:, 0].tolist(), ordered[:, 1].tolist()])
        rows = cursor.fetchall()
    results: list[Location | None] = [None] * len(array)
    by_cell: dict[int, Location] = {}
    for row in rows:
        location = by_cell.get(row[1])
        if location is None:
            location = by_cell[row[1]] = _location(row)
        results[int(order[row[0] - 1])] = location
    return results


def locate_point(*, lon: float, lat: float) -> Location | None:
    """The current grid cell covering (lon, lat) and its chain, or None outside every cell.
    On a shared edge or vertex the cell with the smallest code wins. One SQL statement."""
    errors = coordinate_errors(lon=lon, lat=lat)
    if errors:
        raise InvalidInput("; ".join(errors.values()), details=errors)
    with connection.cursor() as cursor:
        cursor.execute(_sql(), [[float(lon)], [float(lat)]])
        row = cursor.fetchone()
    return None if row is None else _location(row)
