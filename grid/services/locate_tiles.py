"""The locate tiles: a regular lon/lat tiling over the current grid cells that tells locate,
for most points, the covering cell by an integer key instead of a GiST probe.

Derived data (grid.models.LocateTileGrid, LocateTileBlock), rebuilt by `locate_tiles_rebuild`
in the transaction of every service that changes current grid-cell boundaries: area_import,
city_plan_write, area_admin_save. grid.selectors.locate reads them and takes the exact path
(GiST, ST_Covers) for every point they do not settle, so a missing table or region only
costs speed.

How a tile is classified. The tile size is a fraction of the median cell's side, so that
most points fall on a tile inside one cell. A tile is "inside cell C" when C's boundary
comes nowhere near it (no ring segment within EPSILON of the tile, so the tile lies strictly
inside or strictly outside C, as ST_ContainsProperly means it), its centre is inside C, and
no other cell touches it; then no point of the tile lies on a boundary, and the
smallest-code rule for shared edges never comes into play. Every other tile a cell touches
lists the cells that touch it, and locate tests those with ST_Covers. All of it is
arithmetic in SQL, no GEOS call per tile: the tiles a segment passes are computed per tile
row from its end points; between a cell's boundary tiles in a row, a run of tiles is inside
or outside as a whole, so one point-in-polygon test per run decides it.

Storage. One row per tile would be millions of rows on the medium city (50,000 cells), so
16 × 16 tiles share a row (LocateTileBlock): a byte per tile, the block's cells and the
block's candidate sets (see the model). A block where two cells overlap (a data error the
coverage check reports) is not tabulated, and locate takes the exact path there.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from ..models import Area, AreaLevel, LocateTileBlock, LocateTileGrid

# Tiles per side of the median grid cell.
TILES_PER_CELL_SIDE = 10
# A block is 16 × 16 tiles: the shifts and masks in the SQL (>> 4, & 15) and the 256-byte
# map depend on it.
BLOCK_SHIFT = 4
# Degrees. Larger by orders of magnitude than the rounding of lon/lat arithmetic in float8
# (about 1e-13 here), smaller than anything a boundary is drawn to (1e-9° is 0.1 mm).
EPSILON = 1e-9
# Map values: a cell number is 1..MAX_CELL, a candidate set MAX_CELL + 1..NOT_TABULATED - 1.
MAX_CELL = 127
NOT_TABULATED = 255
MAX_SET = NOT_TABULATED - MAX_CELL - 1

Extent = tuple[float, float, float, float]


@dataclass(frozen=True)
class LocateTilesReport:
    full: bool
    tile_size: float
    cells: int
    blocks: int
    seconds: float


_AREA = Area._meta.db_table
_GRID = LocateTileGrid._meta.db_table
_BLOCK = LocateTileBlock._meta.db_table
_CELL_FILTER = f"level = {int(AreaLevel.GRID)} AND valid_to IS NULL"

# Step by step into temporary tables, dropped at the end. Parameters: west, south, size
# (the grid) and eps. {cells} chooses the cells in scope and {in_region} keeps the blocks
# being rebuilt: everything, or the blocks listed in locate_tiles_region.
_STEPS = [
    f"""
    CREATE TEMPORARY TABLE locate_tiles_cell AS
    SELECT cell.id, cell.code, cell.boundary FROM {_AREA} AS cell {{cells}}
    """,
    # Every ring segment as its end points.
    """
    CREATE TEMPORARY TABLE locate_tiles_segment AS
    SELECT cell.id AS cell_id,
           ST_X(ST_StartPoint(segment.geom)) AS x1, ST_Y(ST_StartPoint(segment.geom)) AS y1,
           ST_X(ST_EndPoint(segment.geom)) AS x2, ST_Y(ST_EndPoint(segment.geom)) AS y2
    FROM locate_tiles_cell AS cell
    CROSS JOIN LATERAL ST_DumpSegments(cell.boundary) AS segment
    """,
    # Per segment and tile row j, the run of columns i_from..i_to whose tiles, grown by eps,
    # the segment meets: the segment's x range inside the row's y range grown by eps, grown
    # by eps again. A horizontal segment spans its whole x range.
    """
    CREATE TEMPORARY TABLE locate_tiles_edge AS
    SELECT cell_id, j,
           floor((x_low - %(eps)s::float8 - %(west)s::float8) / %(size)s::float8)::int8 AS i_from,
           floor((x_high + %(eps)s::float8 - %(west)s::float8) / %(size)s::float8)::int8 AS i_to
    FROM (
        SELECT cell_id, j,
               CASE WHEN slope IS NULL THEN x_min
                    ELSE least(x1 + (y_bottom - y1) * slope, x1 + (y_top - y1) * slope) END AS x_low,
               CASE WHEN slope IS NULL THEN x_max
                    ELSE greatest(x1 + (y_bottom - y1) * slope, x1 + (y_top - y1) * slope) END AS x_high
        FROM (
            SELECT cell_id, j, x1, y1, slope, x_min, x_max,
                   greatest(y_min, %(south)s::float8 + j * %(size)s::float8 - %(eps)s::float8) AS y_bottom,
                   least(y_max, %(south)s::float8 + (j + 1) * %(size)s::float8 + %(eps)s::float8) AS y_top
            FROM (
                SELECT cell_id, x1, y1,
                       least(x1, x2) AS x_min, greatest(x1, x2) AS x_max,
                       least(y1, y2) AS y_min, greatest(y1, y2) AS y_max,
                       CASE WHEN y1 <> y2 THEN (x2 - x1) / (y2 - y1) END AS slope,
                       generate_series(
                           floor((least(y1, y2) - %(eps)s::float8 - %(south)s::float8) / %(size)s::float8)::int8,
                           floor((greatest(y1, y2) + %(eps)s::float8 - %(south)s::float8) / %(size)s::float8)::int8
                       ) AS j
                FROM locate_tiles_segment
            ) AS segment_row
        ) AS clipped
    ) AS spans
    """,
    # Between a cell's boundary tiles in a row, the runs of tiles its boundary does not come
    # near: each is inside or outside the cell as a whole, so its first tile's centre tells.
    """
    CREATE TEMPORARY TABLE locate_tiles_run AS
    SELECT gap.cell_id, gap.j, gap.i_from, gap.i_to
    FROM (
        SELECT cell_id, j, reach + 1 AS i_from, next_from - 1 AS i_to
        FROM (
            SELECT cell_id, j,
                   max(i_to) OVER row_so_far AS reach,
                   lead(i_from) OVER row_so_far AS next_from
            FROM locate_tiles_edge
            WINDOW row_so_far AS (PARTITION BY cell_id, j ORDER BY i_from
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ) AS edge
        WHERE next_from > reach + 1
    ) AS gap
    JOIN locate_tiles_cell AS cell ON cell.id = gap.cell_id
    WHERE ST_Intersects(cell.boundary, ST_SetSRID(ST_MakePoint(
        %(west)s::float8 + (gap.i_from + 0.5) * %(size)s::float8,
        %(south)s::float8 + (gap.j + 0.5) * %(size)s::float8), 4326))
    """,
    # The inside runs cut at block borders: a range of map positions each.
    """
    CREATE TEMPORARY TABLE locate_tiles_inside AS
    SELECT * FROM (
        SELECT (bi << 32) + (run.j >> 4) AS block, run.cell_id,
               ((run.j & 15) * 16 + greatest(run.i_from, bi * 16) - bi * 16)::int AS sub_from,
               ((run.j & 15) * 16 + least(run.i_to, bi * 16 + 15) - bi * 16)::int AS sub_to
        FROM locate_tiles_run AS run
        CROSS JOIN LATERAL generate_series(run.i_from >> 4, run.i_to >> 4) AS bi
    ) AS piece
    WHERE true {in_region}
    """,
    # The tiles some boundary comes near, with the cells whose boundary does.
    """
    CREATE TEMPORARY TABLE locate_tiles_edge_tile AS
    SELECT * FROM (
        SELECT ((i >> 4) << 32) + (j >> 4) AS block, ((j & 15) * 16 + (i & 15))::int AS sub,
               array_agg(DISTINCT cell_id) AS cell_ids
        FROM (
            SELECT cell_id, j, generate_series(i_from, i_to) AS i FROM locate_tiles_edge
        ) AS tile
        GROUP BY i, j
    ) AS tile
    WHERE true {in_region}
    """,
    # The distinct candidate sets of each block, numbered from 1.
    """
    CREATE TEMPORARY TABLE locate_tiles_set AS
    SELECT block, cell_ids, row_number() OVER (PARTITION BY block ORDER BY cell_ids) AS set_no
    FROM (SELECT DISTINCT block, cell_ids FROM locate_tiles_edge_tile) AS distinct_set
    """,
    # Each block's cells, numbered from 1 in code order.
    """
    CREATE TEMPORARY TABLE locate_tiles_block_cell AS
    SELECT block_cell.block, block_cell.cell_id,
           row_number() OVER (PARTITION BY block_cell.block
                              ORDER BY cell.code COLLATE "C") AS n
    FROM (
        SELECT block, cell_id FROM locate_tiles_inside
        UNION
        SELECT block, unnest(cell_ids) FROM locate_tiles_set
    ) AS block_cell
    JOIN locate_tiles_cell AS cell ON cell.id = block_cell.cell_id
    """,
    # The map, piece by piece: ranges of inside tiles and single boundary tiles, in position
    # order, with zeros between. Pieces that overlap mean overlapping cells: the block is
    # then not tabulated.
    f"""
    CREATE TEMPORARY TABLE locate_tiles_map AS
    SELECT block,
           bool_or(sub_from <= before) AS overlapping,
           decode(string_agg(repeat('00', (sub_from - coalesce(before, -1) - 1)::int)
                             || repeat(lpad(to_hex(value), 2, '0'), sub_to - sub_from + 1),
                             '' ORDER BY sub_from, sub_to)
                  || repeat('00', 255 - max(sub_to)), 'hex') AS map
    FROM (
        SELECT block, sub_from, sub_to, value,
               max(sub_to) OVER (PARTITION BY block ORDER BY sub_from, sub_to
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
        FROM (
            SELECT inside.block, inside.sub_from, inside.sub_to,
                   CASE WHEN block_cell.n <= {MAX_CELL} THEN block_cell.n
                        ELSE {NOT_TABULATED} END AS value
            FROM locate_tiles_inside AS inside
            JOIN locate_tiles_block_cell AS block_cell
              ON block_cell.block = inside.block AND block_cell.cell_id = inside.cell_id
            UNION ALL
            SELECT edge.block, edge.sub, edge.sub,
                   CASE WHEN candidate_set.set_no <= {MAX_SET}
                        THEN {MAX_CELL} + candidate_set.set_no
                        ELSE {NOT_TABULATED} END
            FROM locate_tiles_edge_tile AS edge
            JOIN locate_tiles_set AS candidate_set
              ON candidate_set.block = edge.block AND candidate_set.cell_ids = edge.cell_ids
        ) AS piece
    ) AS ordered_piece
    GROUP BY block
    """,
    # The candidate sets as block numbers, ascending (so in code order), padded with 0 to the
    # block's widest set, one after the other.
    f"""
    CREATE TEMPORARY TABLE locate_tiles_set_member AS
    SELECT candidate_set.block, candidate_set.set_no,
           array_agg(block_cell.n ORDER BY block_cell.n) AS members
    FROM locate_tiles_set AS candidate_set
    CROSS JOIN LATERAL unnest(candidate_set.cell_ids) AS member(cell_id)
    JOIN locate_tiles_block_cell AS block_cell
      ON block_cell.block = candidate_set.block AND block_cell.cell_id = member.cell_id
    WHERE candidate_set.set_no <= {MAX_SET}
    GROUP BY candidate_set.block, candidate_set.set_no
    """,
    f"""
    INSERT INTO {_BLOCK} (key, cells, map, set_width, sets)
    SELECT map.block,
           CASE WHEN map.overlapping THEN '{{{{}}}}' ELSE cells.cell_ids END,
           CASE WHEN map.overlapping THEN decode(repeat('ff', 256), 'hex') ELSE map.map END,
           CASE WHEN map.overlapping THEN 0 ELSE coalesce(sets.width, 0) END,
           CASE WHEN map.overlapping THEN NULL ELSE sets.members END
    FROM locate_tiles_map AS map
    JOIN (
        SELECT block, array_agg(cell_id ORDER BY n) AS cell_ids
        FROM locate_tiles_block_cell GROUP BY block
    ) AS cells ON cells.block = map.block
    LEFT JOIN (
        SELECT set_member.block, max(width.width) AS width,
               array_agg(coalesce(set_member.members[position], 0)::int2
                         ORDER BY set_member.set_no, position) AS members
        FROM locate_tiles_set_member AS set_member
        JOIN (
            SELECT block, max(cardinality(members)) AS width
            FROM locate_tiles_set_member GROUP BY block
        ) AS width ON width.block = set_member.block
        CROSS JOIN LATERAL generate_series(1, width.width) AS position
        GROUP BY set_member.block
    ) AS sets ON sets.block = map.block
    -- In key order, so that locate's merge join over the keys reads the table in order.
    ORDER BY map.block
    """,
]
_TEMPORARY_TABLES = [
    "locate_tiles_cell",
    "locate_tiles_segment",
    "locate_tiles_edge",
    "locate_tiles_run",
    "locate_tiles_inside",
    "locate_tiles_edge_tile",
    "locate_tiles_set",
    "locate_tiles_block_cell",
    "locate_tiles_map",
    "locate_tiles_set_member",
]
_ALL_CELLS = f"WHERE cell.{_CELL_FILTER.replace(' AND ', ' AND cell.')}"
# The cells that touch a block of the region, found by GiST on the blocks' envelopes.
_REGION_CELLS = f"""
    WHERE cell.id IN (
        SELECT area.id
        FROM locate_tiles_region AS region
        JOIN {_AREA} AS area ON area.boundary && ST_MakeEnvelope(
            %(west)s::float8 + region.bi * 16 * %(size)s::float8 - %(eps)s::float8,
            %(south)s::float8 + region.bj * 16 * %(size)s::float8 - %(eps)s::float8,
            %(west)s::float8 + (region.bi + 1) * 16 * %(size)s::float8 + %(eps)s::float8,
            %(south)s::float8 + (region.bj + 1) * 16 * %(size)s::float8 + %(eps)s::float8,
            4326)
        WHERE area.{_CELL_FILTER.replace(" AND ", " AND area.")}
    )
"""
_IN_REGION = "AND block IN (SELECT block FROM locate_tiles_region)"


def _region_blocks(extents: Sequence[Extent], grid: Sequence[float]) -> set[tuple[int, int]]:
    """The blocks (bi, bj) whose tiles, grown by EPSILON, meet any of the extents."""
    west, south, size = grid

    def block(value: float, origin: float) -> int:
        return math.floor((value - origin) / size) >> BLOCK_SHIFT

    blocks = set()
    for extent_west, extent_south, extent_east, extent_north in extents:
        for bi in range(block(extent_west - EPSILON, west), block(extent_east + EPSILON, west) + 1):
            for bj in range(
                block(extent_south - EPSILON, south), block(extent_north + EPSILON, south) + 1
            ):
                blocks.add((bi, bj))
    return blocks


def _choose_grid(cursor) -> tuple[float, float, float] | None:
    """Origin at the south-west corner of the current cells, tile size from their median
    side; None when there are no current cells. In degrees on purpose: the tiles are lon/lat
    tiles, and a point's tile is computed from its lon/lat."""
    cursor.execute(
        f"""
        SELECT ST_XMin(extent), ST_YMin(extent), side FROM (
            SELECT ST_Extent(boundary) AS extent,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY sqrt(ST_Area(boundary))) AS side
            FROM {_AREA} WHERE {_CELL_FILTER} AND boundary IS NOT NULL
        ) AS cells
        """
    )
    west, south, side = cursor.fetchone()
    if west is None or not side:
        return None
    return west, south, side / TILES_PER_CELL_SIDE


def _build(
    cursor, *, grid: Sequence[float], region: set[tuple[int, int]] | None
) -> tuple[int, int]:
    """Compute the blocks (all, or those of `region`) from the current cells and insert them.
    Returns (cells considered, blocks written)."""
    params = {"west": grid[0], "south": grid[1], "size": grid[2], "eps": EPSILON}
    if region is None:
        cells, in_region = _ALL_CELLS, ""
    else:
        cursor.execute(
            """
            CREATE TEMPORARY TABLE locate_tiles_region AS
            SELECT bi, bj, (bi << 32) + bj AS block
            FROM unnest(%s::int8[], %s::int8[]) AS region(bi, bj)
            """,
            [[bi for bi, _bj in region], [bj for _bi, bj in region]],
        )
        cursor.execute("ANALYZE locate_tiles_region")
        cells, in_region = _REGION_CELLS, _IN_REGION
    for step in _STEPS:
        cursor.execute(step.format(cells=cells, in_region=in_region), params)
    blocks = cursor.rowcount
    cursor.execute("SELECT count(*) FROM locate_tiles_cell")
    considered = cursor.fetchone()[0]
    temporary = _TEMPORARY_TABLES + ([] if region is None else ["locate_tiles_region"])
    cursor.execute(f"DROP TABLE {', '.join(temporary)}")
    return considered, blocks


@transaction.atomic
def locate_tiles_rebuild(*, extents: Sequence[Extent] | None = None) -> LocateTilesReport:
    """Rebuild the locate tiles from the current grid cells: the blocks that meet any of
    `extents` (west, south, east, north in degrees), or all of them with a tile size chosen
    afresh when `extents` is None or no tiles were built yet. Call it in the transaction that
    changed the cells, with the extents of their old and new boundaries."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # One rebuild at a time: two would each delete and insert the same blocks.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('grid.locate_tiles'))")
        cursor.execute(f"SELECT west, south, tile_size FROM {_GRID} WHERE id = 1")
        grid = cursor.fetchone()
        full = extents is None or grid is None
        if full:
            grid = _choose_grid(cursor)
            cursor.execute(f"DELETE FROM {_BLOCK}")
            cursor.execute(f"DELETE FROM {_GRID}")
            region = None
        else:
            region = _region_blocks(extents, grid)
            cursor.execute(
                f"DELETE FROM {_BLOCK} WHERE key = ANY(%s::int8[])",
                [[(bi << 32) + bj for bi, bj in region]],
            )
        if grid is None:
            return LocateTilesReport(
                full=True, tile_size=0.0, cells=0, blocks=0, seconds=time.perf_counter() - started
            )
        cursor.execute(
            f"""
            INSERT INTO {_GRID} (id, west, south, tile_size, built_at) VALUES (1, %s, %s, %s, %s)
            ON CONFLICT (id) DO UPDATE SET built_at = excluded.built_at
            """,
            [*grid, timezone.now()],
        )
        cells = blocks = 0
        if region is None or region:
            cursor.execute("SELECT current_setting('jit'), current_setting('work_mem')")
            jit, work_mem = cursor.fetchone()
            # JIT compiling costs more than it saves on these statements; the window
            # functions and aggregates over millions of rows (the medium city) sort in
            # memory with room (spilled to disk, the full rebuild took a third longer).
            cursor.execute("SET LOCAL jit = off; SET LOCAL work_mem = '512MB'")
            cells, blocks = _build(cursor, grid=grid, region=region)
            # Back to the caller's settings for the rest of its transaction (on an error,
            # the rollback restores them).
            cursor.execute(
                "SELECT set_config('jit', %s, true), set_config('work_mem', %s, true)",
                [jit, work_mem],
            )
        if full:
            cursor.execute(f"ANALYZE {_BLOCK}")
    return LocateTilesReport(
        full=full,
        tile_size=grid[2],
        cells=cells,
        blocks=blocks,
        seconds=time.perf_counter() - started,
    )
