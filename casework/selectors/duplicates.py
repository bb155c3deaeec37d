"""Likely duplicates of a report (DOMAIN.md §2, ISSUE §4): open cases of the same category
near the point, reported shortly before."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.gis.geos import Point
from django.db import connection

from ..models import Category, Incident
from ..transitions import OPEN_STATES

DUPLICATES_LIMIT = 20

# The fields a duplicate is read with (besides its location and distance), in model order.
_FIELDS = [
    field.attname
    for field in Incident._meta.concrete_fields
    if field.attname
    in {
        "id",
        "number",
        "category_id",
        "address",
        "description",
        "area_code",
        "status",
        "department_id",
        "reported_at",
    }
]
# Raw SQL: this runs in every report, and building it through the ORM cost about three times
# the database's own time. Distances are on the spheroid (geography), in metres; the
# expression `location::geography` is the one the index incident_location_geography is built
# on (migration 0005), so ST_DWithin is answered from it even for long windows. Many probes
# (a batch of reports) go in one statement: each probe's cases come from the same index scan,
# joined LATERAL.
_DUPLICATES_SQL = """
    SELECT probe.position, {found_fields}, found.lon, found.lat, found.distance_m
    FROM (
        SELECT position, category, since, at, radius, exclude, seen,
               ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography AS point
        FROM unnest(%(positions)s::int[], %(lons)s::float8[], %(lats)s::float8[],
                    %(categories)s::bigint[], %(since)s::timestamptz[], %(at)s::timestamptz[],
                    %(radius)s::float8[], %(exclude)s::bigint[], %(seen)s::int[])
             AS probe(position, lon, lat, category, since, at, radius, exclude, seen)
    ) AS probe
    CROSS JOIN LATERAL (
        SELECT {fields}, ST_X(location) AS lon, ST_Y(location) AS lat,
               ST_Distance(location::geography, probe.point) AS distance_m
        FROM {incident}
        WHERE category_id = probe.category
          AND status = ANY(%(open)s)
          AND reported_at >= probe.since AND reported_at <= probe.at
          AND ST_DWithin(location::geography, probe.point, probe.radius)
          AND id <> probe.exclude
          AND COALESCE(array_position(%(written)s::bigint[], id), 0) <= probe.seen
        ORDER BY distance_m, reported_at DESC, id
        LIMIT %(limit)s
    ) AS found
    ORDER BY probe.position, found.distance_m, found.reported_at DESC, found.id
"""


@dataclass(frozen=True)
class DuplicateProbe:
    """One report to find likely duplicates of: its category, point (WGS84), moment, its own
    case (excluded) and how many of the cases written by its batch were filed before it (the
    others are not yet there for it)."""

    category: Category
    lon: float
    lat: float
    at: datetime
    exclude_id: int | None = None
    seen_written: int = 0


def incident_duplicates_many(
    *, probes: list[DuplicateProbe], written: Sequence[int] = (), limit: int = DUPLICATES_LIMIT
) -> list[list[Incident]]:
    """incident_duplicates for each probe, in order, in one query. `written`: the ids of the
    cases a batch wrote, in filing order — a probe sees the first `seen_written` of them, as
    if the batch's reports had been filed one after another."""
    if not probes:
        return []
    sql = _DUPLICATES_SQL.format(
        fields=", ".join(_FIELDS),
        found_fields=", ".join(f"found.{field}" for field in _FIELDS),
        incident=Incident._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "positions": list(range(len(probes))),
                "lons": [float(probe.lon) for probe in probes],
                "lats": [float(probe.lat) for probe in probes],
                "categories": [probe.category.id for probe in probes],
                "since": [
                    probe.at - timedelta(hours=probe.category.duplicate_window_hours)
                    for probe in probes
                ],
                "at": [probe.at for probe in probes],
                "radius": [float(probe.category.duplicate_radius_m) for probe in probes],
                "exclude": [probe.exclude_id or 0 for probe in probes],
                "seen": [probe.seen_written for probe in probes],
                "written": list(written),
                "open": sorted(OPEN_STATES),
                "limit": limit,
            },
        )
        rows = cursor.fetchall()
    duplicates: list[list[Incident]] = [[] for _probe in probes]
    width = len(_FIELDS)
    for row in rows:
        incident = Incident.from_db(connection.alias, _FIELDS, list(row[1 : width + 1]))
        incident.location = Point(row[width + 1], row[width + 2], srid=4326)
        incident.distance_m = row[width + 3]
        duplicates[row[0]].append(incident)
    return duplicates


def incident_duplicates(
    *,
    category: Category,
    point: Point,
    at: datetime,
    exclude_id: int | None = None,
    limit: int = DUPLICATES_LIMIT,
) -> list[Incident]:
    """Open cases of `category` within its duplicate radius (metres on the spheroid) of
    `point`, reported within its duplicate window before `at` (up to `at` itself), nearest
    first (then the most recent), each with `distance_m`. Closed and voided cases are not
    duplicates (a merged case is closed). The cases are read with their number, status,
    category, location, address, description, area code, department and report time; other
    fields load when touched."""
    if point.srid not in (None, 4326):
        point = point.transform(4326, clone=True)
    [duplicates] = incident_duplicates_many(
        probes=[
            DuplicateProbe(
                category=category, lon=point.x, lat=point.y, at=at, exclude_id=exclude_id
            )
        ],
        limit=limit,
    )
    return duplicates
