"""The demo city generator: real codes, exact partitions, numbering, determinism, loading."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import shapely
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import translation

from grid.errors import Conflict, InvalidInput
from grid.models import Area, AreaLevel
from grid.services.demo_city import (
    city_generate,
    city_plan,
    city_plan_write,
    local_metres_per_degree,
)

CODE_LENGTHS = {
    AreaLevel.CITY: 4,
    AreaLevel.DISTRICT: 6,
    AreaLevel.STREET: 9,
    AreaLevel.COMMUNITY: 12,
    AreaLevel.GRID: 15,
}


def division_rows(filename: str) -> list[dict[str, str]]:
    with (Path(settings.WANGGE_DIVISIONS_DIR) / filename).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def children_of(plan) -> dict[str, list]:
    children = defaultdict(list)
    for area in plan.areas:
        if area.parent_code:
            children[area.parent_code].append(area)
    return children


# --- the plan, without the database ---------------------------------------------------------


def test_plan_has_every_real_district_and_street_of_xinyu(small_city_plan):
    plan = small_city_plan
    districts = {
        r["code"]: r["name"] for r in division_rows("areas.csv") if r["cityCode"] == "3605"
    }
    streets = {
        r["code"]: r["name"] for r in division_rows("streets.csv") if r["cityCode"] == "3605"
    }
    assert districts == {"360502": "渝水区", "360521": "分宜县"}
    assert len(streets) == 34
    assert plan.city_name == "新余市"
    assert plan.at_level(AreaLevel.CITY)[0].code == "3605"
    assert {a.code: a.name for a in plan.at_level(AreaLevel.DISTRICT)} == districts
    assert {a.code: a.name for a in plan.at_level(AreaLevel.STREET)} == streets


def test_small_plan_has_about_three_thousand_cells_in_realistic_communities(small_city_plan):
    counts = small_city_plan.counts()
    assert 2_700 <= counts[AreaLevel.GRID] <= 3_300
    assert 100 <= counts[AreaLevel.COMMUNITY] <= 400
    cells_per_community = defaultdict(int)
    for cell in small_city_plan.at_level(AreaLevel.GRID):
        cells_per_community[cell.parent_code] += 1
    assert len(cells_per_community) == counts[AreaLevel.COMMUNITY]
    assert min(cells_per_community.values()) >= 3


def test_codes_nest_have_the_right_lengths_and_are_unique(small_city_plan):
    areas = small_city_plan.areas
    by_code = {area.code: area for area in areas}
    assert len(by_code) == len(areas)
    for area in areas:
        assert len(area.code) == CODE_LENGTHS[area.level], area.code
        assert area.code.isdigit()
        if area.level == AreaLevel.CITY:
            assert area.parent_code is None
            continue
        parent = by_code[area.parent_code]
        assert parent.level == area.level - 1
        assert area.code.startswith(parent.code)
    assert all(by_code[c.parent_code] for c in small_city_plan.at_level(AreaLevel.GRID))


def test_community_codes_follow_street_type(small_city_plan):
    """街道 (street digits 001–099) have 社区 (community digits 001–199); towns and townships
    have mostly 村 (200–399) and one or two 社区 at the seat."""
    children = children_of(small_city_plan)
    for street in small_city_plan.at_level(AreaLevel.STREET):
        numbers = [int(c.code[9:]) for c in children[street.code]]
        names = [c.name for c in children[street.code]]
        neighbourhoods = [n for n in numbers if 1 <= n <= 199]
        villages = [n for n in numbers if 200 <= n <= 399]
        assert len(neighbourhoods) + len(villages) == len(numbers)
        # Codes are consecutive from the start of each range.
        assert sorted(neighbourhoods) == list(range(1, len(neighbourhoods) + 1))
        assert sorted(villages) == list(range(200, 200 + len(villages)))
        if 1 <= int(street.code[6:]) <= 99:
            assert not villages, street
            assert all(name.endswith("社区") for name in names)
        else:
            assert 1 <= len(neighbourhoods) <= 2, street
            if len(numbers) >= 3:
                assert len(villages) > len(neighbourhoods), street
            assert all(
                c.name.endswith("村") for c in children[street.code] if int(c.code[9:]) >= 200
            )
    names = [c.name for c in small_city_plan.at_level(AreaLevel.COMMUNITY)]
    assert len(set(names)) > 0.95 * len(names)
    assert all(len(name) >= 3 for name in names)


def test_every_boundary_is_a_valid_nonempty_connected_multipolygon(small_city_plan):
    geometries = np.array([area.boundary for area in small_city_plan.areas])
    assert all(isinstance(g, shapely.MultiPolygon) for g in geometries)
    assert shapely.is_valid(geometries).all()
    assert not shapely.is_empty(geometries).any()
    assert (shapely.area(geometries) > 0).all()
    assert (shapely.get_num_geometries(geometries) == 1).all()


def test_children_partition_every_parent_exactly(small_city_plan):
    """The union of the children is the parent; no two siblings share interior points."""
    plan = small_city_plan
    by_code = {area.code: area for area in plan.areas}
    children = children_of(plan)
    assert len(children) == len(plan.areas) - len(plan.at_level(AreaLevel.GRID))
    for parent_code, kids in children.items():
        parent = by_code[parent_code].boundary
        union = shapely.coverage_union_all([kid.boundary for kid in kids])
        assert shapely.equals(union, parent), parent_code
        assert math.isclose(sum(kid.boundary.area for kid in kids), parent.area, rel_tol=1e-9)
    for level in (AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY, AreaLevel.GRID):
        areas = plan.at_level(level)
        geometries = np.array([a.boundary for a in areas])
        parents = np.array([a.parent_code for a in areas])
        first, second = shapely.STRtree(geometries).query(geometries, predicate="intersects")
        siblings = (first < second) & (parents[first] == parents[second])
        assert siblings.any()
        overlapping = shapely.relate_pattern(
            geometries[first[siblings]], geometries[second[siblings]], "T********"
        )
        assert not overlapping.any(), level


def test_most_cells_are_not_rectangles(small_city_plan):
    cells = np.array([a.boundary for a in small_city_plan.at_level(AreaLevel.GRID)])
    fill = shapely.area(cells) / shapely.area(shapely.oriented_envelope(cells))
    vertices = shapely.get_num_coordinates(cells)
    assert ((fill < 0.97) | (vertices > 5)).mean() > 0.95
    assert (fill < 0.97).mean() > 0.9


def test_cells_are_numbered_west_to_east_then_north_to_south(small_city_plan):
    """Rows one typical cell high (√ of the community's mean cell area) from the northernmost
    cell centroid down; inside a row, by longitude; all in the city's local metric plane."""
    plan = small_city_plan
    metres_lon, metres_lat = local_metres_per_degree(plan.center[1])
    by_code = {area.code: area for area in plan.areas}
    southward = tall = 0
    children = children_of(plan)
    for community in plan.at_level(AreaLevel.COMMUNITY):
        cells = children[community.code]
        sequence = [int(cell.code[12:]) for cell in cells]
        assert sequence == list(range(1, len(cells) + 1))
        assert all(
            by_code[cell.code].name.endswith(f"{n}号网格")
            for cell, n in zip(cells, sequence, strict=True)
        )
        x = np.array([cell.boundary.centroid.x * metres_lon for cell in cells])
        y = np.array([cell.boundary.centroid.y * metres_lat for cell in cells])
        band = math.sqrt(sum(c.boundary.area for c in cells) * metres_lon * metres_lat / len(cells))
        rows = np.floor((y.max() - y) / band)
        keys = list(zip(rows.tolist(), x.tolist(), strict=True))
        assert keys == sorted(keys), community.code
        if len(cells) >= 6:
            tall += 1
            southward += np.corrcoef(sequence, y)[0, 1] < 0
    assert tall > 100
    assert southward > 0.95 * tall


def test_city_lies_where_xinyu_is_and_has_its_size(small_city_plan):
    city = small_city_plan.at_level(AreaLevel.CITY)[0].boundary
    metres_lon, metres_lat = local_metres_per_degree(27.82)
    west, south, east, north = city.bounds
    assert west < 114.93 < east and south < 27.82 < north
    assert 50 <= (east - west) * metres_lon / 1000 <= 75
    assert 45 <= (north - south) * metres_lat / 1000 <= 70
    # Not a box: the outline follows an irregular line.
    assert city.area < 0.85 * shapely.envelope(city).area


def test_same_seed_same_plan_and_another_seed_another(small_city_plan):
    again = city_plan(city_code="3605", scale="small", seed=1)
    assert [(a.code, a.name, a.boundary.wkb) for a in again.areas] == [
        (a.code, a.name, a.boundary.wkb) for a in small_city_plan.areas
    ]
    other = city_plan(city_code="3605", scale="small", seed=2)
    assert [a.code for a in other.at_level(AreaLevel.STREET)] == [
        a.code for a in small_city_plan.at_level(AreaLevel.STREET)
    ]
    assert other.areas[0].boundary.wkb != small_city_plan.areas[0].boundary.wkb
    assert {a.name for a in other.at_level(AreaLevel.COMMUNITY)} != {
        a.name for a in small_city_plan.at_level(AreaLevel.COMMUNITY)
    }


def test_any_city_code_works_and_a_municipality_takes_its_province_name():
    plan = city_plan(city_code="1101", scale="small", seed=3)
    districts = {r["code"] for r in division_rows("areas.csv") if r["cityCode"] == "1101"}
    streets = {r["code"] for r in division_rows("streets.csv") if r["cityCode"] == "1101"}
    assert plan.city_name == "北京市"
    assert {a.code for a in plan.at_level(AreaLevel.DISTRICT)} == districts
    assert {a.code for a in plan.at_level(AreaLevel.STREET)} == streets
    assert 2_700 <= plan.counts()[AreaLevel.GRID] <= 3_300
    west, south, east, north = plan.areas[0].boundary.bounds
    assert west < 116.40 < east and south < 39.90 < north
    assert shapely.is_valid(np.array([a.boundary for a in plan.areas])).all()


def test_center_option_moves_the_city():
    plan = city_plan(city_code="4419", scale="small", seed=1, center=(100.0, 30.0))
    centroid = plan.areas[0].boundary.centroid
    assert abs(centroid.x - 100.0) < 0.3 and abs(centroid.y - 30.0) < 0.3
    assert plan.city_name == "东莞市"
    assert [a.code for a in plan.at_level(AreaLevel.DISTRICT)] == ["441900"]


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"city_code": "36"}, "4 digits"),
        ({"city_code": "9999"}, "no city with code 9999"),
        ({"scale": "huge"}, "unknown scale"),
        ({"center": (200.0, 30.0)}, "longitude"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(arguments, reason):
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        city_plan(**arguments)
    assert reason in caught.value.message


# --- written into PostGIS -------------------------------------------------------------------


def test_written_city_matches_the_plan(demo_city):
    plan = demo_city.plan
    assert demo_city.city.code == "3605" and demo_city.city.name == "新余市"
    rows = (
        Area.objects.current().subtree("3605").values_list("code", "name", "level", "parent__code")
    )
    assert sorted(rows) == sorted((a.code, a.name, a.level, a.parent_code) for a in plan.areas)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code, ST_AsBinary(boundary), ST_SRID(boundary) FROM grid_area WHERE code LIKE '3605%%'"
        )
        stored = {code: (bytes(wkb), srid) for code, wkb, srid in cursor.fetchall()}
    assert stored == {a.code: (shapely.to_wkb(a.boundary), 4326) for a in plan.areas}
    assert demo_city.result.counts == plan.counts()
    assert demo_city.result.cells == plan.counts()[AreaLevel.GRID]


def test_in_postgis_children_partition_every_parent(demo_city):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT parent.code,
                   ST_Area(ST_SymDifference(parent.boundary, ST_Union(child.boundary))::geography)
            FROM grid_area AS parent
            JOIN grid_area AS child ON child.parent_id = parent.id AND child.valid_to IS NULL
            WHERE parent.code LIKE '3605%%' AND parent.valid_to IS NULL
            GROUP BY parent.id, parent.code, parent.boundary
            """
        )
        differences = dict(cursor.fetchall())
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE ST_Relate(a.boundary, b.boundary, 'T********')),
                   count(*) FILTER (WHERE ST_Touches(a.boundary, b.boundary))
            FROM grid_area AS a
            JOIN grid_area AS b ON b.parent_id = a.parent_id AND a.id < b.id
            WHERE a.code LIKE '3605%%' AND a.boundary && b.boundary
            """
        )
        overlapping, touching = cursor.fetchone()
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE NOT ST_IsValid(boundary)),
                   count(*) FILTER (WHERE GeometryType(boundary) <> 'MULTIPOLYGON'),
                   count(*) FILTER (WHERE ST_IsEmpty(boundary) OR ST_Area(boundary) = 0)
            FROM grid_area WHERE code LIKE '3605%%'
            """
        )
        invalid, not_multipolygons, empty = cursor.fetchone()
    assert len(differences) == len(demo_city.plan.areas) - demo_city.result.cells
    assert max(differences.values()) < 1.0, max(differences.items(), key=lambda kv: kv[1])
    assert overlapping == 0
    assert touching > demo_city.result.cells
    assert (invalid, not_multipolygons, empty) == (0, 0, 0)


def test_every_point_of_the_city_is_in_exactly_one_cell(demo_city):
    city = demo_city.plan.areas[0].boundary
    rng = np.random.default_rng(7)
    west, south, east, north = city.bounds
    candidates = rng.uniform((west, south), (east, north), (4000, 2))
    inside = candidates[shapely.contains_xy(city, candidates[:, 0], candidates[:, 1])][:1000]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(cell.id)
            FROM unnest(%s::float8[], %s::float8[]) AS probe(lon, lat)
            LEFT JOIN grid_area AS cell
              ON cell.level = 5 AND cell.valid_to IS NULL
             AND ST_Intersects(cell.boundary, ST_SetSRID(ST_MakePoint(lon, lat), 4326))
            GROUP BY lon, lat
            """,
            [inside[:, 0].tolist(), inside[:, 1].tolist()],
        )
        hits = [row[0] for row in cursor.fetchall()]
    assert len(hits) == len(inside) > 500
    assert set(hits) == {1}


def test_generating_an_existing_city_again_is_a_conflict(demo_city):
    with translation.override("en"):
        with pytest.raises(Conflict) as caught:
            city_generate(city_code="3605")
        assert "already exists" in caught.value.message
        with pytest.raises(Conflict):
            city_plan_write(plan=demo_city.plan)
    assert Area.objects.subtree("3605").count() == len(demo_city.plan.areas)


@pytest.mark.django_db
def test_an_existing_area_inside_the_city_is_a_conflict_and_nothing_is_written(small_city_plan):
    Area.objects.create(code="360521", name="分宜县", level=AreaLevel.DISTRICT)
    with translation.override("en"), pytest.raises(Conflict, match="area inside it"):
        city_plan_write(plan=small_city_plan)
    assert Area.objects.count() == 1


@pytest.mark.django_db
def test_city_generate_writes_a_city_in_one_go_with_progress():
    lines: list[str] = []
    with translation.override("en"):
        result = city_generate(city_code="4419", seed=5, progress=lines.append)
    assert result.city_name == "东莞市"
    assert Area.objects.current().subtree("4419").count() == result.areas
    assert Area.objects.current().subtree("4419").cells().count() == result.cells
    assert result.counts[AreaLevel.STREET] == 36
    assert any("grid cells" in line for line in lines)
    assert any(line.startswith("wrote") for line in lines)
    assert result.plan_seconds > 0 and result.write_seconds > 0


@pytest.mark.django_db
def test_demo_city_command_generates_with_progress_and_refuses_a_second_time():
    out = StringIO()
    with translation.override("en"):
        call_command(
            "demo_city", "--city", "4419", "--seed", "2", "--center", "113.75,23.02", stdout=out
        )
        text = out.getvalue()
        assert "planning 东莞市 (4419)" in text
        assert "grid cells" in text
        city = Area.objects.current().get(code="4419")
        assert abs(city.boundary.centroid.x - 113.75) < 0.3
        with pytest.raises(CommandError, match="already exists"):
            call_command("demo_city", "--city", "4419", stdout=StringIO())
        with pytest.raises(CommandError, match="LON,LAT"):
            call_command("demo_city", "--city", "4420", "--center", "east", stdout=StringIO())
