"""Coverage of areas by their children (DOMAIN.md §1, grid rules): children inside their
parent, no overlap between siblings, no gap, and an inspector on every grid cell.

Everything is measured in PostGIS on geography (ST_Area(geom::geography)), so areas are square
metres on the ellipsoid, never square degrees. One set-based query unions the children of every
parent checked and measures gap, overhang and overlap per parent; the children of the few
parents it flags are then examined one by one (outside) and pairwise with a bounding-box (&&)
prefilter (overlaps). Raw SQL because the ORM cannot express the per-parent union and the
lateral measurements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from django.db import connection
from django.db.models import Exists, OuterRef

from ..models import Area, AreaLevel, Assignment, Role

Point = tuple[float, float] | None


@dataclass(frozen=True)
class ChildOutside:
    """A child lies partly outside its parent."""

    parent_code: str
    code: str
    outside_m2: float
    point: Point


@dataclass(frozen=True)
class SiblingOverlap:
    """Two children of one parent overlap."""

    parent_code: str
    code: str
    other_code: str
    overlap_m2: float
    point: Point


@dataclass(frozen=True)
class CoverageGap:
    """Part of a parent that none of its children covers."""

    parent_code: str
    gap_m2: float
    gap_percent: float
    point: Point


@dataclass(frozen=True)
class UnstaffedCell:
    """A grid cell without an active grid inspector."""

    code: str
    name: str


@dataclass
class GeometryFindings:
    outside: list[ChildOutside] = field(default_factory=list)
    overlaps: list[SiblingOverlap] = field(default_factory=list)
    gaps: list[CoverageGap] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.outside) + len(self.overlaps) + len(self.gaps)


@dataclass
class CoverageReport:
    area_code: str
    area_name: str
    recursive: bool
    tolerance_m2: float
    parents_checked: int
    outside: list[ChildOutside]
    overlaps: list[SiblingOverlap]
    gaps: list[CoverageGap]
    unstaffed_cells: list[UnstaffedCell]

    @property
    def has_problems(self) -> bool:
        return bool(self.outside or self.overlaps or self.gaps or self.unstaffed_cells)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["has_problems"] = self.has_problems
        return data


def _point(x: float | None, y: float | None) -> Point:
    return None if x is None or y is None else (round(x, 7), round(y, 7))


# One pass per parent: the union of its children gives the gap (parent minus union), whether
# any child sticks out (union minus parent) and whether any two overlap (the children's areas
# add up to more than their union). Only the parents flagged here are then searched child by
# child, so the pairwise sibling test runs where an overlap is known to exist.
_SUMMARY_SQL = """
WITH covered AS (
    SELECT child.parent_id, ST_Union(child.boundary) AS geom,
           sum(ST_Area(child.boundary::geography)) AS children_m2
    FROM {area} child
    WHERE child.parent_id = ANY(%(parent_ids)s) AND child.valid_to IS NULL
      AND child.boundary IS NOT NULL
    GROUP BY child.parent_id
), measured AS (
    SELECT parent.id, parent.code, parent.boundary,
           ST_Area(parent.boundary::geography) AS parent_m2,
           covered.children_m2 - ST_Area(covered.geom::geography) AS overlap_m2,
           CASE WHEN parent.boundary IS NULL OR covered.geom IS NULL
                     OR ST_CoveredBy(covered.geom, parent.boundary) THEN 0
                ELSE ST_Area(ST_Difference(covered.geom, parent.boundary)::geography)
           END AS outside_m2,
           CASE WHEN covered.geom IS NULL THEN parent.boundary
                ELSE ST_Difference(parent.boundary, covered.geom) END AS gap
    FROM {area} parent
    LEFT JOIN covered ON covered.parent_id = parent.id
    WHERE parent.id = ANY(%(parent_ids)s)
), gaps AS (
    SELECT id, code, parent_m2, overlap_m2, outside_m2, gap,
           coalesce(ST_Area(gap::geography), 0) AS gap_m2
    FROM measured
)
SELECT id, code, parent_m2, gap_m2, coalesce(overlap_m2, 0), outside_m2,
       ST_X(spot), ST_Y(spot)
FROM gaps
CROSS JOIN LATERAL (
    SELECT CASE WHEN gap_m2 > %(tolerance)s THEN ST_PointOnSurface(gap) END AS spot
) located
WHERE gap_m2 > %(tolerance)s OR overlap_m2 > %(tolerance)s OR outside_m2 > %(tolerance)s
ORDER BY code
"""

_OUTSIDE_SQL = """
WITH strays AS (
    SELECT parent.code AS parent_code, child.code,
           ST_Difference(child.boundary, parent.boundary) AS geom
    FROM {area} parent
    JOIN {area} child
      ON child.parent_id = parent.id AND child.valid_to IS NULL AND child.boundary IS NOT NULL
    WHERE parent.id = ANY(%(parent_ids)s) AND parent.boundary IS NOT NULL
      AND NOT ST_CoveredBy(child.boundary, parent.boundary)
), measured AS (
    SELECT parent_code, code, geom, ST_Area(geom::geography) AS m2 FROM strays
)
SELECT parent_code, code, m2, ST_X(spot), ST_Y(spot)
FROM measured CROSS JOIN LATERAL (SELECT ST_PointOnSurface(geom) AS spot) located
WHERE m2 > %(tolerance)s
ORDER BY parent_code, code
"""

# && is the bounding-box prefilter; ST_Relate '2********' (the interiors share an area) then
# drops siblings that only touch along an edge before anything is intersected.
_OVERLAP_SQL = """
WITH pairs AS (
    SELECT one.parent_id, one.code, other.code AS other_code,
           ST_CollectionExtract(ST_Intersection(one.boundary, other.boundary), 3) AS geom
    FROM {area} one
    JOIN {area} other
      ON other.parent_id = one.parent_id AND other.valid_to IS NULL
     AND other.code > one.code AND other.boundary && one.boundary
    WHERE one.parent_id = ANY(%(parent_ids)s) AND one.valid_to IS NULL
      AND one.boundary IS NOT NULL
      AND ST_Relate(one.boundary, other.boundary, '2********')
), measured AS (
    SELECT parent_id, code, other_code, geom, ST_Area(geom::geography) AS m2 FROM pairs
)
SELECT parent.code, measured.code, measured.other_code, measured.m2, ST_X(spot), ST_Y(spot)
FROM measured
JOIN {area} parent ON parent.id = measured.parent_id
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(measured.geom) AS spot) located
WHERE measured.m2 > %(tolerance)s
ORDER BY parent.code, measured.code, measured.other_code
"""


def coverage_findings(*, parent_ids: Sequence[int], tolerance_m2: float = 1.0) -> GeometryFindings:
    """Children outside, sibling overlaps and gaps under each of the (current) parents given.

    Findings smaller than `tolerance_m2` square metres are left out: shared edges digitised
    twice never match to the last decimal.
    """
    findings = GeometryFindings()
    ids = list(parent_ids)
    if not ids:
        return findings
    table = Area._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            _SUMMARY_SQL.format(area=table), {"parent_ids": ids, "tolerance": tolerance_m2}
        )
        stray_parents, overlapping_parents = [], []
        for parent_id, code, parent_m2, gap_m2, overlap_m2, outside_m2, x, y in cursor.fetchall():
            if gap_m2 > tolerance_m2:
                percent = gap_m2 / parent_m2 * 100 if parent_m2 else 100.0
                findings.gaps.append(CoverageGap(code, gap_m2, percent, _point(x, y)))
            if outside_m2 > tolerance_m2:
                stray_parents.append(parent_id)
            if overlap_m2 > tolerance_m2:
                overlapping_parents.append(parent_id)
        if stray_parents:
            cursor.execute(
                _OUTSIDE_SQL.format(area=table),
                {"parent_ids": stray_parents, "tolerance": tolerance_m2},
            )
            findings.outside = [
                ChildOutside(parent_code, code, m2, _point(x, y))
                for parent_code, code, m2, x, y in cursor.fetchall()
            ]
        if overlapping_parents:
            cursor.execute(
                _OVERLAP_SQL.format(area=table),
                {"parent_ids": overlapping_parents, "tolerance": tolerance_m2},
            )
            findings.overlaps = [
                SiblingOverlap(parent_code, code, other_code, m2, _point(x, y))
                for parent_code, code, other_code, m2, x, y in cursor.fetchall()
            ]
    return findings


def _cells_of(area: Area):
    cells = Area.objects.current().cells()
    if area.level == AreaLevel.GRID:
        # A 14-digit cell code is a prefix of 15-digit codes of the same community.
        return cells.filter(code=area.code)
    return cells.subtree(area.code)


def unstaffed_cells(*, area: Area) -> list[UnstaffedCell]:
    """Current grid cells in `area`'s subtree that no active grid inspector is assigned to."""
    inspector = Assignment.objects.active().filter(
        area=OuterRef("pk"), role=Role.GRID_INSPECTOR, user__is_active=True
    )
    rows = _cells_of(area).filter(~Exists(inspector)).order_by("code").values_list("code", "name")
    return [UnstaffedCell(code, name) for code, name in rows]


def area_coverage(
    *, area: Area, recursive: bool = False, tolerance_m2: float = 1.0
) -> CoverageReport:
    """The coverage findings for `area` (and, with `recursive`, every parent in its subtree).

    Only current areas count. A parent without any child is reported as a gap of 100 %.
    """
    parents = Area.objects.current().filter(level__lt=AreaLevel.GRID)
    if recursive and area.level < AreaLevel.GRID:
        parent_ids = list(parents.subtree(area.code).values_list("id", flat=True))
    else:
        parent_ids = list(parents.filter(pk=area.pk).values_list("id", flat=True))
    findings = coverage_findings(parent_ids=parent_ids, tolerance_m2=tolerance_m2)
    return CoverageReport(
        area_code=area.code,
        area_name=area.name,
        recursive=recursive,
        tolerance_m2=tolerance_m2,
        parents_checked=len(parent_ids),
        outside=findings.outside,
        overlaps=findings.overlaps,
        gaps=findings.gaps,
        unstaffed_cells=unstaffed_cells(area=area),
    )
