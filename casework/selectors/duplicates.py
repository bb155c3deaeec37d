"""Likely duplicates of a report (DOMAIN.md §2, ISSUE §4): open cases of the same category
near the point, reported shortly before."""

from __future__ import annotations

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
# on (migration 0005), so ST_DWithin is answered from it even for long windows.
_DUPLICATES_SQL = """
    SELECT {fields}, ST_X(location), ST_Y(location),
           ST_Distance(location::geography, probe.point) AS distance_m
    FROM {incident}
    CROSS JOIN (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography AS point)
        AS probe
    WHERE category_id = %(category)s
      AND status = ANY(%(open)s)
      AND reported_at >= %(since)s AND reported_at <= %(at)s
      AND ST_DWithin(location::geography, probe.point, %(radius)s)
      AND id <> %(exclude)s
    ORDER BY distance_m, reported_at DESC, id
    LIMIT %(limit)s
"""


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
    sql = _DUPLICATES_SQL.format(fields=", ".join(_FIELDS), incident=Incident._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "lon": float(point.x),
                "lat": float(point.y),
                "category": category.id,
                "open": sorted(OPEN_STATES),
                "since": at - timedelta(hours=category.duplicate_window_hours),
                "at": at,
                "radius": float(category.duplicate_radius_m),
                "exclude": exclude_id if exclude_id is not None else 0,
                "limit": limit,
            },
        )
        rows = cursor.fetchall()
    duplicates = []
    width = len(_FIELDS)
    for row in rows:
        incident = Incident.from_db(connection.alias, _FIELDS, list(row[:width]))
        incident.location = Point(row[width], row[width + 1], srid=4326)
        incident.distance_m = row[width + 2]
        duplicates.append(incident)
    return duplicates
