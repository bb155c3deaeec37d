"""The locate tiles (grid.services.locate_tiles) and locate through them.

The rule under test is the one locate always had: among the current cells whose closed
boundary covers a point, the smallest code. Answers with the tiles must be identical to the
exact path's and to an independent point-in-polygon check (shapely), on tile edges and
corners, on cell edges and vertices, and after every kind of change of the cells.
"""

import itertools
import math
import random
from io import StringIO

import numpy as np
import pytest
import shapely
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from django.utils.translation import override

from grid.models import Area, AreaLevel, LocateTileBlock, LocateTileGrid
from grid.selectors.locate import locate_point, locate_points
from grid.services.areas import area_admin_save, area_import
from grid.services.locate_tiles import (
    EPSILON,
    MAX_CELL,
    NOT_TABULATED,
    TILES_PER_CELL_SIDE,
    locate_tiles_rebuild,
)
from tests.factories import SquareCity, box, make_area
from tests.grid.boundary_files import box_geometry, feature, write_geojson

pytestmark = pytest.mark.django_db


# --- an independent check ------------------------------------------------------------------


def current_cells():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code, ST_AsBinary(boundary) FROM grid_area "
            "WHERE level = %s AND valid_to IS NULL",
            [AreaLevel.GRID],
        )
        rows = cursor.fetchall()
    return [code for code, _wkb in rows], shapely.from_wkb([bytes(wkb) for _code, wkb in rows])


def brute_force(points):
    """Per point, the smallest code among the current cells whose polygon covers it."""
    codes, polygons = current_cells()
    tree = shapely.STRtree(polygons)
    point_index, cell_index = tree.query(
        shapely.points(np.asarray(points, dtype=float)), predicate="covered_by"
    )
    answers = [None] * len(points)
    for point, cell in zip(point_index.tolist(), cell_index.tolist(), strict=True):
        code = codes[cell]
        if answers[point] is None or code < answers[point]:
            answers[point] = code
    return answers


def located_codes(points):
    return [location.cell.code if location else None for location in locate_points(points=points)]


def grid():
    return LocateTileGrid.objects.get()


def tile_corner(i, j, tiles):
    return (tiles.west + i * tiles.tile_size, tiles.south + j * tiles.tile_size)


def hard_points(count, seed):
    """Points where answers go wrong if anything does: cell vertices, points on cell edges,
    tile corners and points on tile edges, all inside the current cells' extent, and random
    points around it."""
    _codes, polygons = current_cells()
    rng = random.Random(seed)
    west, south, east, north = shapely.total_bounds(polygons).tolist()
    chosen = rng.sample(range(len(polygons)), min(40, len(polygons)))
    coordinates = shapely.get_coordinates(polygons[chosen])
    points = [tuple(xy) for xy in coordinates.tolist()]
    for start, end in itertools.pairwise(coordinates):
        points.append(tuple(((start + end) / 2).tolist()))
    tiles = grid()
    for _ in range(count):
        i = math.floor((rng.uniform(west, east) - tiles.west) / tiles.tile_size)
        j = math.floor((rng.uniform(south, north) - tiles.south) / tiles.tile_size)
        x, y = tile_corner(i, j, tiles)
        points.append((x, y))
        points.append((x + rng.random() * tiles.tile_size, y))
        points.append((x, y + rng.random() * tiles.tile_size))
        points.append(
            (rng.uniform(west - 0.01, east + 0.01), rng.uniform(south - 0.01, north + 0.01))
        )
    return points


# --- building ------------------------------------------------------------------------------


def test_a_full_build_chooses_the_tiling_from_the_cells(square_city):
    report = locate_tiles_rebuild()
    tiles = grid()
    assert report.full and report.cells == 16
    assert (tiles.west, tiles.south) == (SquareCity.X0, SquareCity.Y0)
    assert tiles.tile_size == pytest.approx(SquareCity.STEP / TILES_PER_CELL_SIDE)
    # 80 × 20 tiles of 0.001°: blocks of 16 × 16 tiles, 5 × 2 of them (the last row and
    # column of tiles touch the next block, within EPSILON of the city's edge).
    assert report.blocks == LocateTileBlock.objects.count() >= 10


def test_without_cells_there_are_no_tiles(square_city):
    locate_tiles_rebuild()
    Area.objects.cells().update(valid_to=timezone.localdate())
    report = locate_tiles_rebuild()
    assert report.blocks == 0
    assert not LocateTileGrid.objects.exists() and not LocateTileBlock.objects.exists()


def test_a_partial_rebuild_before_any_full_one_builds_everything(square_city):
    report = locate_tiles_rebuild(extents=[(114.0, 27.8, 114.001, 27.801)])
    assert report.full and LocateTileGrid.objects.exists()


def tile_table():
    """Every tabulated tile as (i, j) → (value, cell ids it names)."""
    tiles = {}
    for block in LocateTileBlock.objects.all():
        bj = (block.key + 2**31) % 2**32 - 2**31
        bi = (block.key - bj) >> 32
        data = bytes(block.map)
        for position, value in enumerate(data):
            i, j = bi * 16 + position % 16, bj * 16 + position // 16
            if 1 <= value <= MAX_CELL:
                named = [block.cells[value - 1]]
            elif MAX_CELL < value < NOT_TABULATED:
                start = (value - MAX_CELL - 1) * block.set_width
                members = block.sets[start : start + block.set_width]
                named = [block.cells[member - 1] for member in members if member]
            else:
                named = []
            tiles[(i, j)] = (value, named)
    return tiles


def test_tiles_agree_with_postgis_predicates(demo_city):
    """A sample of blocks, tile by tile: a tile naming one cell lies strictly inside it
    (ST_ContainsProperly) and touches no other; a tile with candidates lists every cell that
    touches it; a tile naming nothing touches no cell."""
    tiles = grid()
    table = tile_table()
    assert len(table) > 100_000
    sample = random.Random(5).sample(sorted(table), 6000)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT tile.i, tile.j,
                   coalesce(array_agg(cell.id ORDER BY cell.id)
                            FILTER (WHERE ST_Intersects(cell.boundary, envelope)), '{}'),
                   coalesce(array_agg(cell.id ORDER BY cell.id)
                            FILTER (WHERE ST_ContainsProperly(cell.boundary, envelope)), '{}')
            FROM unnest(%(i)s::int8[], %(j)s::int8[]) AS tile(i, j)
            CROSS JOIN LATERAL ST_MakeEnvelope(
                %(west)s + tile.i * %(size)s, %(south)s + tile.j * %(size)s,
                %(west)s + (tile.i + 1) * %(size)s, %(south)s + (tile.j + 1) * %(size)s, 4326
            ) AS envelope
            LEFT JOIN grid_area AS cell
              ON cell.level = 5 AND cell.valid_to IS NULL AND cell.boundary && envelope
            GROUP BY tile.i, tile.j
            """,
            {
                "i": [i for i, _j in sample],
                "j": [j for _i, j in sample],
                "west": tiles.west,
                "south": tiles.south,
                "size": tiles.tile_size,
            },
        )
        truth = {(i, j): (touching, inside) for i, j, touching, inside in cursor.fetchall()}
    kinds = {"inside": 0, "candidates": 0, "none": 0}
    for key in sample:
        value, named = table[key]
        touching, inside = truth[key]
        if 1 <= value <= MAX_CELL:
            kinds["inside"] += 1
            assert inside == named and touching == named, key
        elif MAX_CELL < value < NOT_TABULATED:
            kinds["candidates"] += 1
            assert set(touching) <= set(named), key
        else:
            assert value == 0, key
            kinds["none"] += 1
            assert touching == [], key
    assert kinds["inside"] > 2 * kinds["candidates"] > 0


def test_a_block_where_cells_overlap_is_not_tabulated(square_city):
    community = square_city.communities["360502001001"]
    # Overlaps 360502001001001 by half a cell.
    make_area(
        "360502001001005",
        "重叠网格",
        AreaLevel.GRID,
        community,
        box(114.005, 27.81, 114.015, 27.82),
    )
    locate_tiles_rebuild()
    tiles = grid()
    i, j = (
        math.floor((value - origin) / tiles.tile_size)
        for value, origin in ((114.007, tiles.west), (27.815, tiles.south))
    )
    block = LocateTileBlock.objects.get(key=((i >> 4) << 32) + (j >> 4))
    assert set(bytes(block.map)) == {NOT_TABULATED}
    points = [(114.007, 27.815), (114.012, 27.815), (114.005, 27.815), (114.003, 27.811)]
    assert located_codes(points) == brute_force(points)
    assert located_codes(points)[:2] == ["360502001001001", "360502001001002"]


# --- locate through the tiles --------------------------------------------------------------


def x(col):
    """A lattice line of SquareCity, computed as SquareCity computes it, so that a point
    built from it lies exactly on the cells' shared edge."""
    return SquareCity.X0 + col * SquareCity.STEP


def y(row):
    return SquareCity.Y0 + row * SquareCity.STEP


SQUARE_CASES = [
    ((114.005, 27.815), "360502001001001"),
    ((114.035, 27.805), "360502001002004"),
    ((114.0799, 27.8001), "360521001002004"),
    ((x(1), 27.815), "360502001001001"),
    ((114.015, y(1)), "360502001001002"),
    ((x(2), 27.805), "360502001001004"),
    ((x(4), 27.815), "360502001002002"),
    ((x(1), y(1)), "360502001001001"),
    ((x(4), y(1)), "360502001002002"),
    ((x(0), 27.805), "360502001001003"),
    ((114.055, y(0)), "360521001001004"),
    ((x(8), y(2)), "360521001002002"),
    ((114.1, 27.9), None),
    ((113.99, 27.805), None),
    ((114.04, 27.8201), None),
]


def test_shared_edges_and_vertices_through_the_tiles(square_city):
    """The lattice lines of SquareCity are tile edges too (tiles of 0.001°)."""
    locate_tiles_rebuild()
    points = [point for point, _code in SQUARE_CASES]
    assert located_codes(points) == [code for _point, code in SQUARE_CASES]
    assert located_codes(points) == brute_force(points)
    for (lon, lat), code in SQUARE_CASES:
        location = locate_point(lon=lon, lat=lat)
        assert (location.cell.code if location else None) == code


def test_locate_through_the_tiles_agrees_with_an_independent_check(demo_city):
    points = hard_points(1500, seed=20261126)
    rng = np.random.default_rng(3)
    west, south, east, north = shapely.total_bounds(current_cells()[1]).tolist()
    points += list(zip(rng.uniform(west, east, 4000), rng.uniform(south, north, 4000), strict=True))
    expected = brute_force(points)
    with_tiles = locate_points(points=points)
    assert [loc.cell.code if loc else None for loc in with_tiles] == expected
    assert 0 < expected.count(None) < len(points) / 4
    LocateTileBlock.objects.all().delete()
    assert located_codes(points) == expected
    for location in with_tiles:
        if location:
            assert location.community.code == location.cell.code[:12]
            assert location.city.code == "3605"


def test_the_tiles_settle_points_without_the_cells_geometry(square_city):
    """Point a tile at the wrong cell: locate answers what the tile says, so it was read."""
    locate_tiles_rebuild()
    tiles = grid()
    i = math.floor((114.005 - tiles.west) / tiles.tile_size)
    j = math.floor((27.815 - tiles.south) / tiles.tile_size)
    block = LocateTileBlock.objects.get(key=((i >> 4) << 32) + (j >> 4))
    position = (j & 15) * 16 + (i & 15)
    data = bytearray(block.map)
    value = data[position]
    assert block.cells[value - 1] == square_city.cells["360502001001001"].id
    other = block.cells.index(square_city.cells["360502001001002"].id) + 1
    data[position] = other
    block.map = bytes(data)
    block.save(update_fields=["map"])
    assert located_codes([(114.005, 27.815)]) == ["360502001001002"]
    locate_tiles_rebuild()
    assert located_codes([(114.005, 27.815)]) == ["360502001001001"]


def test_one_statement_with_tiles_and_a_second_only_for_a_retired_cell(
    square_city, django_assert_num_queries
):
    locate_tiles_rebuild()
    points = [point for point, _code in SQUARE_CASES]
    with django_assert_num_queries(1):
        located_codes(points)
    # Retired behind the services' back: the tiles still name it.
    Area.objects.filter(code="360502001001001").update(valid_to=timezone.localdate())
    with django_assert_num_queries(2):
        codes = located_codes([(114.005, 27.815), (114.01, 27.815), (114.035, 27.805)])
    assert codes == [None, "360502001001002", "360502001002004"]


def test_a_region_without_tiles_takes_the_exact_path(demo_city):
    tiles = grid()
    keys = list(LocateTileBlock.objects.order_by("key").values_list("key", flat=True))
    LocateTileBlock.objects.filter(key__in=keys[::2]).delete()
    points = hard_points(400, seed=9)
    assert located_codes(points) == brute_force(points)
    assert tiles.tile_size > 0


# --- freshness -----------------------------------------------------------------------------


def blocks():
    return {
        block.key: (bytes(block.map), tuple(block.cells), block.set_width, tuple(block.sets or ()))
        for block in LocateTileBlock.objects.all()
    }


def test_a_boundary_replace_rebuilds_the_tiles_of_the_changed_region(tmp_path, square_city):
    locate_tiles_rebuild()
    before = blocks()
    # The edge between 360502001001001 and ...002 moves east from 114.01 to 114.0137.
    features = [
        feature("360502001001001", "1号网格", box_geometry(114.0, 27.81, 114.0137, 27.82)),
        feature("360502001001002", "2号网格", box_geometry(114.0137, 27.81, 114.02, 27.82)),
    ]
    path = write_geojson(tmp_path / "moved.geojson", features)
    report = area_import(path=path, replace=True)
    assert report.replaced == 2

    points = [(114.012, 27.815), (114.0137, 27.815), (114.0136, 27.8101), (114.015, 27.819)]
    new = {
        code: Area.objects.current().get(code=code)
        for code in ("360502001001001", "360502001001002")
    }
    locations = locate_points(points=points)
    assert [location.cell.id for location in locations] == [
        new["360502001001001"].id,
        new["360502001001001"].id,
        new["360502001001001"].id,
        new["360502001001002"].id,
    ]
    assert located_codes(points) == brute_force(points)
    assert located_codes(hard_points(300, seed=4)) == brute_force(hard_points(300, seed=4))

    after = blocks()
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert changed and len(changed) < len(after)
    # What the partial rebuild left is what a rebuild of everything on the same tiling gives.
    locate_tiles_rebuild(extents=[(113.9, 27.7, 114.2, 27.9)])
    assert blocks() == after


def test_an_import_of_new_cells_builds_their_tiles(tmp_path, square_city):
    locate_tiles_rebuild()
    features = [
        feature("360521001003", "新社区", box_geometry(114.08, 27.8, 114.1, 27.82)),
        feature("360521001003001", "新网格1", box_geometry(114.08, 27.8, 114.09, 27.82)),
        feature("360521001003002", "新网格2", box_geometry(114.09, 27.8, 114.1, 27.82)),
    ]
    area_import(path=write_geojson(tmp_path / "new.geojson", features))
    points = [(114.085, 27.81), (114.09, 27.81), (114.095, 27.8199), (114.08, 27.805)]
    assert located_codes(points) == [
        "360521001003001",
        "360521001003001",
        "360521001003002",
        "360521001002004",
    ]
    assert located_codes(points) == brute_force(points)


def test_a_dry_run_import_leaves_the_tiles_alone(tmp_path, square_city):
    locate_tiles_rebuild()
    before = blocks()
    features = [feature("360502001001001", "1号网格", box_geometry(114.0, 27.81, 114.0137, 27.82))]
    area_import(path=write_geojson(tmp_path / "dry.geojson", features), replace=True, dry_run=True)
    assert blocks() == before


def test_a_generated_city_comes_with_its_tiles(demo_city):
    tiles = grid()
    assert tiles.tile_size == pytest.approx(
        float(np.median(np.sqrt(shapely.area(current_cells()[1])))) / TILES_PER_CELL_SIDE
    )
    assert LocateTileBlock.objects.count() > 500


def test_saving_a_cell_in_the_admin_rebuilds_its_tiles(square_city):
    admin = get_user_model().objects.create_superuser("admin", password="pass-word-123")
    client = Client()
    client.force_login(admin)
    locate_tiles_rebuild()
    cell = square_city.cells["360502001001002"]
    # 002 takes the east half of 001 (the two now overlap there, and the smaller code, 001,
    # still wins on the shared part).
    response = client.post(
        f"/admin/grid/area/{cell.pk}/change/",
        {
            "code": cell.code,
            "name": cell.name,
            "level": cell.level,
            "parent": cell.parent_id,
            "boundary": box(114.005, 27.81, 114.02, 27.82).geojson,
            "valid_from": cell.valid_from.isoformat(),
            "valid_to": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    cell.refresh_from_db()
    assert cell.boundary.extent == pytest.approx((114.005, 27.81, 114.02, 27.82))
    points = [(114.0075, 27.815), (114.003, 27.815), (114.0195, 27.811)]
    assert located_codes(points) == brute_force(points)
    # Moving 002 away again, through the service the admin calls.
    cell.boundary = box(114.01, 27.81, 114.02, 27.82)
    area_admin_save(area=cell)
    assert located_codes([(114.0075, 27.815), (114.0125, 27.815)]) == [
        "360502001001001",
        "360502001001002",
    ]


def test_tile_keys_of_points_far_from_the_tiles(square_city):
    locate_tiles_rebuild()
    points = [(-179.9, -89.9), (179.9, 89.9), (0.0, 0.0), (114.0 - EPSILON, 27.8)]
    assert located_codes(points) == [None, None, None, None]
    assert located_codes([(114.0, 27.8)]) == ["360502001001003"]


def test_the_command_builds_the_tiles(square_city):
    output = StringIO()
    with override("en"):
        call_command("locate_tiles_rebuild", stdout=output)
    assert LocateTileGrid.objects.exists()
    assert f"{LocateTileBlock.objects.count()} blocks of 0.001000° tiles over 16 grid cells" in (
        output.getvalue()
    )
