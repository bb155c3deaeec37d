"""Likely duplicates at report time: open cases of the same category within the category's
radius (true metres) and time window before the report, nearest first."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from casework.models import Incident, Source, Status
from casework.selectors.duplicates import incident_duplicates
from tests.fixtures.casework import REPORT_CELL, catalogue_category, report_case

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


def at_offset(world, dx: float, dy: float, *, hours_ago: float, now, code="0102", **fields):
    return report_case(
        world, code=code, dx=dx, dy=dy, at=now - timedelta(hours=hours_ago), **fields
    ).incident


def test_distance_is_in_true_metres_and_nearest_comes_first(report_world, now):
    # 0102 暴露垃圾: 30 m, 24 h
    category = catalogue_category("0102")
    assert (category.duplicate_radius_m, category.duplicate_window_hours) == (30, 24)
    far = at_offset(report_world, 0.0002, 0.0001, hours_ago=2, now=now)  # about 22 m
    near = at_offset(report_world, -0.0001, 0.0, hours_ago=1, now=now)  # about 10 m
    north = at_offset(report_world, 0.0, 0.00025, hours_ago=3, now=now)  # about 28 m
    outside = at_offset(report_world, 0.0003, 0.0001, hours_ago=1, now=now)  # about 31 m
    lon, lat = report_world.point()
    found = incident_duplicates(category=category, point=Point(lon, lat, srid=4326), at=now)
    assert [case.pk for case in found] == [near.pk, far.pk, north.pk]
    for case in found:
        # the spheroid and the sphere differ by well under half a percent at 27.8° N
        expected = haversine_m(lon, lat, case.location.x, case.location.y)
        assert case.distance_m == pytest.approx(expected, rel=0.005)
    assert haversine_m(lon, lat, outside.location.x, outside.location.y) > 30.5
    assert [case.number for case in found] == [near.number, far.number, north.number]
    assert all(case.status == Status.REPORTED for case in found)


def test_the_window_counts_back_from_the_moment_given(report_world, now):
    inside = at_offset(report_world, 0.0001, 0.0, hours_ago=23.5, now=now)
    too_old = at_offset(report_world, 0.0001, 0.0, hours_ago=24.5, now=now)
    later = at_offset(report_world, 0.0001, 0.0, hours_ago=0, now=now)
    lon, lat = report_world.point()
    point = Point(lon, lat, srid=4326)
    category = catalogue_category("0102")
    found = incident_duplicates(category=category, point=point, at=now - timedelta(minutes=1))
    assert [case.pk for case in found] == [inside.pk]
    found_now = {case.pk for case in incident_duplicates(category=category, point=point, at=now)}
    assert found_now == {inside.pk, later.pk}
    assert too_old.pk not in found_now


def test_only_the_same_category_counts(report_world, now):
    same = at_offset(report_world, 0.0, 0.0, hours_ago=1, now=now)
    at_offset(report_world, 0.0, 0.0, hours_ago=1, now=now, code="0104")
    lon, lat = report_world.point()
    found = incident_duplicates(
        category=catalogue_category("0102"), point=Point(lon, lat, srid=4326), at=now
    )
    assert [case.pk for case in found] == [same.pk]


@pytest.mark.parametrize(
    ("status", "counts"),
    [
        (Status.REPORTED, True),
        (Status.DISPATCHED, True),
        (Status.PARKED, True),
        (Status.HANDLED, True),
        (Status.CLOSED, False),
        (Status.VOIDED, False),
    ],
)
def test_closed_and_voided_cases_are_not_duplicates(report_world, now, status, counts):
    case = at_offset(report_world, 0.0, 0.0, hours_ago=1, now=now)
    Incident.objects.filter(pk=case.pk).update(status=status)
    lon, lat = report_world.point()
    found = incident_duplicates(
        category=catalogue_category("0102"), point=Point(lon, lat, srid=4326), at=now
    )
    assert bool(found) is counts


def test_a_case_can_be_left_out(report_world, now):
    case = at_offset(report_world, 0.0, 0.0, hours_ago=1, now=now)
    found = incident_duplicates(
        category=case.category, point=case.location, at=now, exclude_id=case.pk
    )
    assert found == []


def test_each_category_has_its_own_radius(report_world, now):
    # 0401 路面塌陷: 100 m — a report 80 m away is a likely duplicate there, not for 0102.
    collapse = at_offset(report_world, 0.0008, 0.0, hours_ago=1, now=now, code="0401")
    rubbish = at_offset(report_world, 0.0008, 0.0, hours_ago=1, now=now, code="0102")
    lon, lat = report_world.point()
    point = Point(lon, lat, srid=4326)
    found_collapse = incident_duplicates(category=catalogue_category("0401"), point=point, at=now)
    assert [case.pk for case in found_collapse] == [collapse.pk]
    assert incident_duplicates(category=catalogue_category("0102"), point=point, at=now) == []
    assert rubbish.pk


def test_the_report_returns_its_likely_duplicates(report_world, now):
    first = at_offset(report_world, 0.0001, 0.0, hours_ago=1, now=now)
    result = report_case(report_world)
    assert [case.pk for case in result.duplicates] == [first.pk]
    assert result.duplicates[0].distance_m == pytest.approx(9.85, abs=0.3)


def test_the_reporter_sees_only_duplicates_in_their_areas(report_world, now):
    # A case 10 m across the edge of the inspector's cell 002, in a cell that is not theirs.
    cell = "360502001001002"
    across = report_case(
        report_world,
        cell="360502001002001",
        dx=-0.0049,
        actor="district-a",
        source=Source.STAFF,
        at=now - timedelta(hours=1),
    ).incident
    by_inspector = report_case(report_world, cell=cell, dx=0.0049)
    assert by_inspector.duplicates == []
    selector = incident_duplicates(
        category=by_inspector.incident.category,
        point=by_inspector.incident.location,
        at=by_inspector.incident.reported_at,
        exclude_id=by_inspector.incident.pk,
    )
    assert [case.pk for case in selector] == [across.pk]
    by_district = report_case(
        report_world, cell=cell, dx=0.0049, actor="district-a", source=Source.STAFF
    )
    assert across.pk in [case.pk for case in by_district.duplicates]
    assert cell != REPORT_CELL
