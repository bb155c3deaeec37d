"""Locate benchmark on the medium city.

- single locate through the API: Django's test Client in this process, with a user logged
  in by session (no HTTP server, so no network or worker overhead is counted), median and
  p95 over random points inside the city;
- the locate tiles: a full rebuild on the medium city (kept, so the figures below run on
  tiles built by this code) and the rebuild of the blocks around one cell (rolled back);
- bulk locate: grid.selectors.locate.locate_points on 100,000 random points, in batches of
  10,000 (the API's limit) and as one call, in points per second;
- the same points through the bulk API, 10,000 per request (JSON in and out included);
- for comparison, in the same run: the statement without the tiles (the exact path alone,
  as locate ran before them), one LATERAL GiST probe per point (the obvious set-based
  statement), the statement with and without JIT, and the two ways of sending the points;
- the baseline: a naive per-point ORM loop on a sample, its rate and the ratio.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np
import shapely
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.test import Client

from bench.city import CITY_CODE, current_cells
from grid.models import Area, AreaLevel
from grid.selectors import locate as locate_module
from grid.selectors.locate import locate_points
from grid.services.locate_tiles import locate_tiles_rebuild

TARGET_API_P95_MS = 20.0
TARGET_BULK_POINTS_PER_SECOND = 100_000
TARGET_RATIO = 50.0

API_POINTS = 1_000
BULK_POINTS = 100_000
BATCH = 10_000
NAIVE_POINTS = 2_000
REPEATS = 3
SEED = 20_260_101
URL = "/api/grid/locate"

# The obvious set-based statement, for comparison: one GiST probe per point. Cell ids only,
# so it is measured without the cost of the chain.
LATERAL_SQL = """
    SELECT (dumped).path[1], cell.id
    FROM ST_DumpPoints(ST_GeomFromEWKB(%(points)s)) AS dumped
    CROSS JOIN LATERAL (
        SELECT candidate.id FROM grid_area AS candidate
        WHERE candidate.level = 5 AND candidate.valid_to IS NULL
          AND ST_Covers(candidate.boundary, (dumped).geom)
        ORDER BY candidate.code COLLATE "C"
        LIMIT 1
    ) AS cell
"""


def random_points(count: int, *, seed: int) -> list[list[float]]:
    """`count` points inside the city's boundary, the same for the same seed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_AsBinary(ST_GeneratePoints(boundary, %s, %s)) FROM grid_area "
            "WHERE code = %s AND level = %s AND valid_to IS NULL",
            [count, seed, CITY_CODE, AreaLevel.CITY],
        )
        coordinates = shapely.get_coordinates(shapely.from_wkb(bytes(cursor.fetchone()[0])))
    np.random.default_rng(seed).shuffle(coordinates)
    return coordinates.tolist()


def _timed_runs(work: Callable[[], object], repeats: int = REPEATS) -> list[float]:
    """Wall-clock seconds of each of `repeats` runs of `work`."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return seconds


def _rate(count: int, seconds: Sequence[float]) -> float:
    return count / statistics.median(seconds)


def _bench_user():
    user, _ = get_user_model().objects.get_or_create(username="bench-locate")
    return user


def api_single(points: Sequence[Sequence[float]]) -> dict:
    client = Client(SERVER_NAME="localhost")
    client.force_login(_bench_user())
    for lon, lat in points[:20]:
        client.get(URL, {"lon": repr(lon), "lat": repr(lat)})
    milliseconds = []
    for lon, lat in points:
        started = time.perf_counter()
        response = client.get(URL, {"lon": repr(lon), "lat": repr(lat)})
        milliseconds.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"locate {lon}, {lat} answered {response.status_code}")
    p95 = statistics.quantiles(milliseconds, n=100)[94]
    return {
        "points": len(points),
        "client": "Django test Client in-process, session login, no HTTP server",
        "median_ms": round(statistics.median(milliseconds), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(max(milliseconds), 2),
        "target_p95_ms": TARGET_API_P95_MS,
        "met": p95 <= TARGET_API_P95_MS,
    }


def api_bulk(points: Sequence[Sequence[float]]) -> dict:
    client = Client(SERVER_NAME="localhost")
    client.force_login(_bench_user())
    bodies = [json.dumps(points[i : i + BATCH]) for i in range(0, len(points), BATCH)]

    def send_all():
        for body in bodies:
            response = client.post(URL, body, content_type="application/json")
            if response.status_code != 200:
                raise RuntimeError(f"bulk locate answered {response.status_code}")

    seconds = _timed_runs(send_all, repeats=1)
    return {
        "points": len(points),
        "points_per_request": BATCH,
        "seconds": [round(s, 3) for s in seconds],
        "points_per_second": round(_rate(len(points), seconds)),
    }


def bulk(points: Sequence[Sequence[float]]) -> dict:
    def in_batches():
        for i in range(0, len(points), BATCH):
            locate_points(points=points[i : i + BATCH])

    locate_points(points=points[:BATCH])
    batches = _timed_runs(in_batches)
    one_call = _timed_runs(lambda: locate_points(points=points))
    rate = _rate(len(points), batches)
    return {
        "points": len(points),
        "batches_of_10000": {
            "seconds": [round(s, 3) for s in batches],
            "points_per_second": round(rate),
        },
        "one_call": {
            "seconds": [round(s, 3) for s in one_call],
            "points_per_second": round(_rate(len(points), one_call)),
        },
        "target_points_per_second": TARGET_BULK_POINTS_PER_SECOND,
        "met": rate >= TARGET_BULK_POINTS_PER_SECOND,
    }


def _run_sql(sql: str, params: dict, *, jit: bool) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = " + ("on" if jit else "off"))
        cursor.execute(sql, params)
        cursor.fetchall()


def tiles() -> dict:
    """Rebuild the locate tiles of the whole city (kept), then the blocks around one cell in
    a transaction that is rolled back, as an edit of one cell in the admin does."""
    full = locate_tiles_rebuild()
    city_cells = Area.objects.current().cells().subtree(CITY_CODE).order_by("code")
    cell = city_cells[city_cells.count() // 2]
    regional_seconds = []
    for _ in range(REPEATS):
        with transaction.atomic():
            regional = locate_tiles_rebuild(extents=[cell.boundary.extent])
            regional_seconds.append(regional.seconds)
            transaction.set_rollback(True)
    return {
        "tile_size_degrees": full.tile_size,
        "blocks": full.blocks,
        "cells": full.cells,
        "full_rebuild_seconds": round(full.seconds, 2),
        "one_cell_rebuild": {
            "cell": cell.code,
            "blocks": regional.blocks,
            "cells_considered": regional.cells,
            "seconds": round(statistics.median(regional_seconds), 3),
        },
    }


def alternatives(points: Sequence[Sequence[float]]) -> dict:
    """What the kept choices were measured against, on batches of 10,000 points."""
    batches = [np.asarray(points[i : i + BATCH]) for i in range(0, len(points), BATCH)]
    tiled_sql = locate_module._points_sql()

    def exact_path_only():
        for batch in batches:
            locate_module._located(batch, use_tiles=False)

    def lateral():
        for batch in batches:
            _run_sql(LATERAL_SQL, {"points": locate_module._multipoint_ewkb(batch)}, jit=False)

    first = batches[0]
    tiled_params = locate_module._points_params(first)
    jit_on = _timed_runs(lambda: _run_sql(tiled_sql, tiled_params, jit=True))
    jit_off = _timed_runs(lambda: _run_sql(tiled_sql, tiled_params, jit=False))
    lateral_seconds = _timed_runs(lateral, repeats=1)
    exact_seconds = _timed_runs(exact_path_only, repeats=1)

    def as_arrays():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM unnest(%s::float8[], %s::float8[])",
                [first[:, 0].tolist(), first[:, 1].tolist()],
            )

    def as_ewkb():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM ST_DumpPoints(ST_GeomFromEWKB(%s))",
                [locate_module._multipoint_ewkb(first)],
            )

    return {
        "exact_path_only": {
            "what": "the statement without the tiles (as locate ran before them), batches of "
            "10,000, chains included",
            "points_per_second": round(_rate(len(points), exact_seconds)),
        },
        "lateral_probe_per_point": {
            "what": "one LATERAL GiST probe per point, cell ids only, batches of 10,000",
            "points_per_second": round(_rate(len(points), lateral_seconds)),
        },
        "jit": {
            "what": "the statement on 10,000 points, seconds",
            "on": round(statistics.median(jit_on), 3),
            "off": round(statistics.median(jit_off), 3),
        },
        "sending_10000_points_ms": {
            "two_float8_arrays": round(min(_timed_runs(as_arrays, repeats=5)) * 1000, 1),
            "one_ewkb_multipoint": round(min(_timed_runs(as_ewkb, repeats=5)) * 1000, 1),
        },
    }


def _chain_codes(cell: Area | None) -> tuple[str, ...] | None:
    codes = []
    while cell is not None:
        codes.append(cell.code)
        cell = cell.parent
    return tuple(codes) or None


def naive(points: Sequence[Sequence[float]]) -> tuple[dict, list[tuple[str, ...] | None]]:
    """The per-point ORM loop a first version would write, reading the whole chain."""
    chains: list[tuple[str, ...] | None] = []

    def loop():
        chains.clear()
        for lon, lat in points:
            cell = (
                Area.objects.filter(
                    level=AreaLevel.GRID,
                    valid_to__isnull=True,
                    boundary__covers=Point(lon, lat, srid=4326),
                )
                .order_by("code")
                .select_related("parent__parent__parent__parent")
                .first()
            )
            chains.append(_chain_codes(cell))

    seconds = _timed_runs(loop, repeats=1)
    return {
        "points": len(points),
        "what": "Area.objects.filter(level=GRID, current, boundary__covers=point)"
        ".order_by('code').select_related(parent chain).first() per point",
        "seconds": round(seconds[0], 3),
        "points_per_second": round(_rate(len(points), seconds), 1),
    }, chains


def _index() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'area_current_cell_boundary'"
        )
        row = cursor.fetchone()
        cursor.execute("SELECT version(), postgis_lib_version()")
        postgres, postgis = cursor.fetchone()
    definition = row[0] if row else None
    return {
        "definition": definition,
        "partial": bool(definition and " WHERE " in definition),
        "postgres": postgres.split(" on ")[0],
        "postgis": postgis,
    }


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def run(*, progress: Callable[[str], None]) -> dict:
    city = Area.objects.current().get(code=CITY_CODE, level=AreaLevel.CITY)
    cells = current_cells()
    index = _index()
    load_before = os.getloadavg()[0]
    print(f"city {city.code} {city.name}: {cells:,} current grid cells; {os.cpu_count()} CPUs")
    print(f"{index['postgres']}, PostGIS {index['postgis']}")
    print(f"index area_current_cell_boundary: {index['definition']}")
    if not index["partial"]:
        print(
            "  note: the index has no WHERE clause, so it holds every level and every version"
            " (Django's PostGIS schema editor drops the condition of a spatial index,"
            " Django ticket #36694)"
        )

    progress("rebuilding the locate tiles of the city, then those around one cell")
    tile_figures = tiles()
    progress(f"generating {BULK_POINTS:,} random points inside the city (seed {SEED})")
    points = random_points(BULK_POINTS, seed=SEED)

    progress(f"single locate through the API, {API_POINTS:,} points")
    single = api_single(points[:API_POINTS])
    progress(f"bulk locate_points, {BULK_POINTS:,} points, {REPEATS} runs each")
    bulk_figures = bulk(points)
    progress(f"bulk API, {BULK_POINTS:,} points in requests of {BATCH:,}")
    api_bulk_figures = api_bulk(points)
    progress("the alternatives the kept choices were measured against")
    alternative_figures = alternatives(points)
    progress(f"naive per-point ORM loop, {NAIVE_POINTS:,} points")
    sample = points[:NAIVE_POINTS]
    naive_figures, naive_chains = naive(sample)
    bulk_chains = [
        tuple(area.code for area in (loc.cell, loc.community, loc.street, loc.district, loc.city))
        if loc
        else None
        for loc in locate_points(points=sample)
    ]
    agreement = sum(a == b for a, b in zip(bulk_chains, naive_chains, strict=True))
    naive_figures["agreement_with_locate_points"] = f"{agreement}/{len(sample)}"

    batches_rate = bulk_figures["batches_of_10000"]["points_per_second"]
    one_call_rate = bulk_figures["one_call"]["points_per_second"]
    ratio = batches_rate / naive_figures["points_per_second"]
    ratio_figures = {
        "batches_of_10000_over_naive": round(ratio, 1),
        "one_call_over_naive": round(one_call_rate / naive_figures["points_per_second"], 1),
        "target": TARGET_RATIO,
        "met": ratio >= TARGET_RATIO,
    }

    load_after = os.getloadavg()[0]
    print()
    print(
        f"load average (1 min) before {load_before:.2f}, after {load_after:.2f}: other work on"
        " the machine slows every figure"
    )
    one_cell = tile_figures["one_cell_rebuild"]
    print(
        f"locate tiles: {tile_figures['tile_size_degrees']:.6f}° tiles, "
        f"{tile_figures['blocks']:,} blocks of 16 x 16; full rebuild "
        f"{tile_figures['full_rebuild_seconds']} s; rebuild around one cell "
        f"({one_cell['blocks']} blocks, {one_cell['cells_considered']} cells) {one_cell['seconds']} s"
    )
    print(
        f"single locate, API (test Client), {single['points']:,} points: "
        f"median {single['median_ms']} ms, p95 {single['p95_ms']} ms"
        f"   target p95 <= {TARGET_API_P95_MS:g} ms: {_verdict(single['met'])}"
    )
    print(
        f"bulk locate_points, {BULK_POINTS:,} points in batches of {BATCH:,}: "
        f"{batches_rate:,} points/s   target >= {TARGET_BULK_POINTS_PER_SECOND:,}: "
        f"{_verdict(bulk_figures['met'])}"
    )
    print(f"bulk locate_points, {BULK_POINTS:,} points in one call: {one_call_rate:,} points/s")
    print(
        f"bulk API, {BATCH:,} points per request, JSON included: "
        f"{api_bulk_figures['points_per_second']:,} points/s"
    )
    print(
        f"naive per-point ORM loop, {NAIVE_POINTS:,}-point sample: "
        f"{naive_figures['points_per_second']:,} points/s "
        f"(answers agree on {naive_figures['agreement_with_locate_points']})"
    )
    print(
        f"ratio, batches of {BATCH:,} / naive: {ratio_figures['batches_of_10000_over_naive']}x; "
        f"one call / naive: {ratio_figures['one_call_over_naive']}x"
        f"   target >= {TARGET_RATIO:g}x: {_verdict(ratio_figures['met'])}"
    )
    exact_only = alternative_figures["exact_path_only"]["points_per_second"]
    lateral = alternative_figures["lateral_probe_per_point"]["points_per_second"]
    jit = alternative_figures["jit"]
    sending = alternative_figures["sending_10000_points_ms"]
    print(
        f"for comparison: without the tiles (exact path only), batches of {BATCH:,}: "
        f"{exact_only:,} points/s"
    )
    print(
        f"for comparison: one LATERAL probe per point, batches of {BATCH:,}: {lateral:,} points/s"
    )
    print(f"for comparison: {BATCH:,} points with JIT on {jit['on']} s, off {jit['off']} s")
    print(
        f"for comparison: sending {BATCH:,} points as two float8[] "
        f"{sending['two_float8_arrays']} ms, as one EWKB MultiPoint {sending['one_ewkb_multipoint']} ms"
    )
    return {
        "benchmark": "locate",
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_before_after": [round(load_before, 2), round(load_after, 2)],
        "city": {"code": city.code, "name": city.name, "current_cells": cells},
        "index": index,
        "tiles": tile_figures,
        "api_single": single,
        "bulk": bulk_figures,
        "api_bulk": api_bulk_figures,
        "naive": naive_figures,
        "ratio": ratio_figures,
        "alternatives": alternative_figures,
    }
