"""The demo city generator: a real city's districts and streets, with synthetic communities
and unit grid cells, on boundaries that partition every parent exactly.

Real codes and names come from the division codes in settings.WANGGE_DIVISIONS_DIR; the
communities (社区/村) and grid cells are synthetic but coded by the rules of DOMAIN.md §1.

How the boundaries are made exact: one organic mesh of small faces (the Voronoi diagram of
jittered points, denser around the district seats, so that town centres get small cells)
covers an irregular city outline. Faces are assigned level by level — district, street,
community, cell — by growing regions from seed faces over the face adjacency graph inside
the parent's faces, and every area is the union of its faces. Neighbouring faces share exact
vertex coordinates, so every union is exact: siblings meet edge to edge without gap or
overlap, and the union of the children is the parent.

The work is split in two: `city_plan` computes codes, names and geometry without touching
the database (tests check the invariants on it cheaply), and `city_plan_write` loads a plan
in one transaction with COPY. `city_generate` does both.
"""

from __future__ import annotations

import csv
import heapq
import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grid.errors import Conflict, InvalidInput
from grid.models import Area, AreaLevel
from grid.services.locate_tiles import locate_tiles_rebuild

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Scale:
    """How big a generated city is: its number of grid cells and of cells per community."""

    cells: int
    cells_per_community: int


SCALES: dict[str, Scale] = {
    "small": Scale(cells=3_000, cells_per_community=15),
    "medium": Scale(cells=50_000, cells_per_community=120),
}

# Mesh faces per grid cell: enough for cells to be organic unions of several faces.
FACES_PER_CELL = 4
# Every street gets at least this many faces, so that a city with very many streets still
# has room for a community and a few cells in each.
MIN_FACES_PER_STREET = 40
# Land per street: 新余市 (34 streets) comes out at about 60 km × 55 km.
KM2_PER_STREET = 76.0
EAST_WEST_TO_NORTH_SOUTH = 60.0 / 55.0

# Metres per degree of latitude; a degree of longitude is this times cos(latitude) (the
# equatorial 111,320 m). A local equirectangular plane is accurate enough for one city.
METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LON_AT_EQUATOR = 111_320.0

# Centres of cities whose real position is known; others default near their province's
# capital (PROVINCE_CAPITALS), spread so that cities of one province do not overlap.
KNOWN_CENTERS: dict[str, tuple[float, float]] = {"3605": (114.93, 27.82)}
PROVINCE_CAPITALS: dict[str, tuple[float, float]] = {
    "11": (116.40, 39.90),
    "12": (117.20, 39.13),
    "13": (114.51, 38.04),
    "14": (112.55, 37.87),
    "15": (111.75, 40.84),
    "21": (123.43, 41.80),
    "22": (125.32, 43.82),
    "23": (126.53, 45.80),
    "31": (121.47, 31.23),
    "32": (118.80, 32.06),
    "33": (120.16, 30.27),
    "34": (117.23, 31.82),
    "35": (119.30, 26.08),
    "36": (115.86, 28.68),
    "37": (117.00, 36.65),
    "41": (113.63, 34.75),
    "42": (114.31, 30.59),
    "43": (112.94, 28.23),
    "44": (113.26, 23.13),
    "45": (108.37, 22.82),
    "46": (110.35, 20.02),
    "50": (106.55, 29.56),
    "51": (104.07, 30.57),
    "52": (106.63, 26.65),
    "53": (102.83, 24.88),
    "54": (91.11, 29.65),
    "61": (108.94, 34.34),
    "62": (103.83, 36.06),
    "63": (101.78, 36.62),
    "64": (106.23, 38.49),
    "65": (87.62, 43.83),
}
# Spacing, in degrees, of the sunflower spiral that spreads a province's cities.
CITY_SPREAD_DEGREES = 0.8

# Community digits 10–12 (DOMAIN.md §1): 001–199 居委会 (社区), 200–399 村委会 (村).
NEIGHBOURHOOD_CODES = range(1, 200)
VILLAGE_CODES = range(200, 400)
MAX_CELLS_PER_COMMUNITY = 999

_CITY_CODE = re.compile(r"^[0-9]{4}$")


# --- divisions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class DistrictDivision:
    code: str
    name: str
    streets: tuple[Division, ...]


@dataclass(frozen=True, slots=True)
class CityDivisions:
    """A city's real name, districts and streets, from the division codes."""

    code: str
    name: str
    province_code: str
    province_rank: int  # position among the province's cities, in code order, from 0
    districts: tuple[DistrictDivision, ...]

    @property
    def streets(self) -> tuple[Division, ...]:
        return tuple(street for district in self.districts for street in district.streets)


def _division_rows(directory: Path, filename: str) -> Iterator[dict[str, str]]:
    path = directory / filename
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            yield from csv.DictReader(handle)
    except FileNotFoundError as exc:
        raise ImproperlyConfigured(
            f"{path} is missing: WANGGE_DIVISIONS_DIR must hold the division codes"
        ) from exc


def city_divisions(*, city_code: str, divisions_dir: Path | None = None) -> CityDivisions:
    """The real districts and streets of `city_code`, read by column name from the CSV files.
    Municipalities have a city row named 市辖区: the province's name is used instead."""
    if not _CITY_CODE.match(city_code or ""):
        raise InvalidInput(
            _("a city code has 4 digits; got “%(code)s”") % {"code": city_code},
            details={"city_code": city_code},
        )
    directory = Path(divisions_dir or settings.WANGGE_DIVISIONS_DIR)
    cities = sorted(_division_rows(directory, "cities.csv"), key=lambda row: row["code"])
    city_row = next((row for row in cities if row["code"] == city_code), None)
    if city_row is None:
        raise InvalidInput(
            _("there is no city with code %(code)s in the division codes") % {"code": city_code},
            details={"city_code": city_code},
        )
    province_code = city_row["provinceCode"]
    province_rank = [row["code"] for row in cities if row["provinceCode"] == province_code].index(
        city_code
    )
    name = city_row["name"]
    if name == "市辖区":
        name = next(
            row["name"]
            for row in _division_rows(directory, "provinces.csv")
            if row["code"] == province_code
        )
    streets: dict[str, list[Division]] = {}
    for row in _division_rows(directory, "streets.csv"):
        if row["cityCode"] == city_code:
            streets.setdefault(row["areaCode"], []).append(Division(row["code"], row["name"]))
    districts = tuple(
        DistrictDivision(
            code=row["code"],
            name=row["name"],
            streets=tuple(sorted(streets.get(row["code"], []), key=lambda s: s.code)),
        )
        for row in sorted(_division_rows(directory, "areas.csv"), key=lambda r: r["code"])
        if row["cityCode"] == city_code
    )
    districts = tuple(district for district in districts if district.streets)
    if not districts:
        raise InvalidInput(
            _("city %(code)s has no districts with streets in the division codes")
            % {"code": city_code},
            details={"city_code": city_code},
        )
    return CityDivisions(
        code=city_code,
        name=name,
        province_code=province_code,
        province_rank=province_rank,
        districts=districts,
    )


def default_center(*, city_code: str, province_code: str, rank: int) -> tuple[float, float]:
    """Where a generated city is placed when no centre is given: its real centre when known,
    otherwise a point on a sunflower spiral around its province's capital, by the city's
    `rank` among the province's cities (the first on the capital itself), so that the cities
    of one province keep apart."""
    if city_code in KNOWN_CENTERS:
        return KNOWN_CENTERS[city_code]
    lon, lat = PROVINCE_CAPITALS.get(province_code, KNOWN_CENTERS["3605"])
    index = rank
    if index <= 0:
        return (lon, lat)
    angle = index * math.pi * (3 - math.sqrt(5))
    radius = CITY_SPREAD_DEGREES * math.sqrt(index)
    return (round(lon + radius * math.cos(angle), 4), round(lat + radius * math.sin(angle), 4))


# --- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedArea:
    code: str
    name: str
    level: int
    parent_code: str | None
    boundary: shapely.MultiPolygon  # lon/lat, SRID 4326


@dataclass(frozen=True)
class CityPlan:
    """Everything `city_plan_write` loads: areas parents first, codes ascending per level."""

    city_code: str
    city_name: str
    scale: str
    seed: int
    center: tuple[float, float]
    areas: tuple[PlannedArea, ...]
    mesh_faces: int
    seconds: float

    def at_level(self, level: int) -> tuple[PlannedArea, ...]:
        return tuple(area for area in self.areas if area.level == level)

    def counts(self) -> dict[int, int]:
        counts = dict.fromkeys(AreaLevel.values, 0)
        for area in self.areas:
            counts[area.level] += 1
        return counts


@dataclass(frozen=True)
class CityGenerationResult:
    city_id: int
    city_code: str
    city_name: str
    scale: str
    seed: int
    counts: dict[int, int]
    mesh_faces: int
    plan_seconds: float
    write_seconds: float

    @property
    def cells(self) -> int:
        return self.counts[AreaLevel.GRID]

    @property
    def areas(self) -> int:
        return sum(self.counts.values())


def local_metres_per_degree(latitude: float) -> tuple[float, float]:
    return (
        METRES_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(latitude)),
        METRES_PER_DEGREE_LAT,
    )


def reading_order(*, centroids: np.ndarray, band: float) -> np.ndarray:
    """Indexes of the points (x east, y north, in metres) in reading order: rows of height
    `band` from the northernmost point southward, west → east inside a row. Grid cells are
    numbered this way inside their community (DOMAIN.md §1), with the cells' centroids in the
    city's local plane (`local_metres_per_degree` of the city centre's latitude) and `band`
    the square root of the community's mean cell area in that plane."""
    rows = np.floor((centroids[:, 1].max() - centroids[:, 1]) / band)
    return np.lexsort((centroids[:, 0], rows))


# --- geometry of the outline, density and mesh -------------------------------------------


@dataclass(frozen=True)
class _Outline:
    """An irregular star-shaped outline around the origin: an ellipse with semi-axes a, b
    (metres) whose radius wobbles with a few harmonics of the angle."""

    a: float
    b: float
    harmonics: np.ndarray  # rows of (k, amplitude, phase)

    def radius(self, theta: np.ndarray) -> np.ndarray:
        k, amplitude, phase = self.harmonics.T
        return 1.0 + (amplitude * np.cos(np.outer(theta, k) + phase)).sum(axis=1)

    def normalised(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distance from the origin in units of the local outline radius (1 on the outline)."""
        u, v = x / self.a, y / self.b
        return np.hypot(u, v) / self.radius(np.arctan2(v, u))

    @property
    def extent(self) -> float:
        return max(self.a, self.b) * (1.0 + self.harmonics[:, 1].sum())


def _outline(*, streets: int, rng: np.random.Generator) -> _Outline:
    area = max(streets, 4) * KM2_PER_STREET * 1e6
    a = math.sqrt(area / math.pi * EAST_WEST_TO_NORTH_SOUTH)
    b = area / (math.pi * a)
    low = [
        (k, rng.uniform(0.03, 0.08) / math.sqrt(k - 1), rng.uniform(0, 2 * math.pi))
        for k in range(2, 6)
    ]
    high = [(k, rng.uniform(0.008, 0.02), rng.uniform(0, 2 * math.pi)) for k in range(6, 10)]
    return _Outline(a=a, b=b, harmonics=np.array(low + high))


@dataclass(frozen=True)
class _Seat:
    """Where a district's seat (its town centre) lies, and how dense the mesh is around it."""

    x: float
    y: float
    amplitude: float
    sigma: float


def _is_urban_district(code: str) -> bool:
    """County-level digits 5–6 of 01–20 are a city's urban districts (市辖区) in GB/T 2260."""
    return 1 <= int(code[4:6]) <= 20


def _district_seats(
    *, divisions: CityDivisions, outline: _Outline, rng: np.random.Generator
) -> list[_Seat]:
    """Urban districts sit around the city centre (the first one on it); the others spread
    over the rest of the outline by a few Lloyd iterations on sample points."""
    districts = divisions.districts
    urban = [i for i, d in enumerate(districts) if _is_urban_district(d.code)] or [0]
    others = [i for i in range(len(districts)) if i not in urban]
    size = math.sqrt(outline.a * outline.b)
    positions = np.zeros((len(districts), 2))
    rotation = rng.uniform(0, 2 * math.pi)
    golden = math.pi * (3 - math.sqrt(5))
    for rank, index in enumerate(urban):
        radius = 0.22 * size * math.sqrt(rank / len(urban))
        angle = rotation + rank * golden
        positions[index] = (radius * math.cos(angle), radius * math.sin(angle))
    if others:
        grid = np.linspace(-outline.extent, outline.extent, 80)
        sx, sy = np.meshgrid(grid, grid)
        samples = np.column_stack([sx.ravel(), sy.ravel()])
        samples = samples[outline.normalised(samples[:, 0], samples[:, 1]) <= 1.0]
        positions[others] = samples[rng.choice(len(samples), len(others), replace=False)]
        for _iteration in range(20):
            nearest = np.argmin(
                ((samples[:, None, :] - positions[None, :, :]) ** 2).sum(axis=2), axis=1
            )
            for index in others:
                mine = samples[nearest == index]
                if len(mine):
                    positions[index] = mine.mean(axis=0)
    seats = []
    for index, (x, y) in enumerate(positions):
        if index == urban[0]:
            amplitude, sigma = 12.0, 0.10 * size
        elif index in urban:
            amplitude, sigma = 8.0, 0.07 * size
        else:
            amplitude, sigma = 6.0, 0.05 * size
        seats.append(_Seat(x=float(x), y=float(y), amplitude=amplitude, sigma=sigma))
    return seats


def _relative_density(seats: list[_Seat], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    density = np.ones_like(x)
    for seat in seats:
        density += seat.amplitude * np.exp(
            -((x - seat.x) ** 2 + (y - seat.y) ** 2) / (2 * seat.sigma**2)
        )
    return density


# A leaf square of the quadtree holds one point; squares split while larger than the local
# spacing times a random factor, which blurs the steps between quadtree levels. With these
# factors a leaf holds on average this many "units" of density (measured).
_SPLIT_FACTORS = (0.75, 1.35)
_POINTS_PER_UNIT = 2.05
# Points also cover a band a few faces wide around the outline, so that the faces on the
# border are bounded by their outer neighbours rather than by the diagram's frame.
_OUTLINE_PADDING_FACES = 4


def _mesh_points(
    *, outline: _Outline, seats: list[_Seat], faces: int, rng: np.random.Generator
) -> np.ndarray:
    """Jittered points, one per leaf of a quadtree refined where the density is high; about
    `faces` of them fall inside the outline."""
    grid = np.linspace(-outline.extent, outline.extent, 200)
    gx, gy = np.meshgrid(grid, grid)
    gx, gy = gx.ravel(), gy.ravel()
    inside = outline.normalised(gx, gy) <= 1.0
    outline_area = inside.mean() * (2 * outline.extent) ** 2
    mean_density = _relative_density(seats, gx[inside], gy[inside]).mean()
    # Points per square metre for relative density 1.
    base = faces / (outline_area * mean_density) / _POINTS_PER_UNIT

    half = outline.extent * 1.1
    cx, cy, side = np.zeros(1), np.zeros(1), 2 * half
    leaves_x, leaves_y, leaves_side = [], [], []
    while len(cx):
        spacing = 1.0 / np.sqrt(base * _relative_density(seats, cx, cy))
        split = side > spacing * rng.uniform(*_SPLIT_FACTORS, len(cx))
        padding = _OUTLINE_PADDING_FACES * side / min(outline.a, outline.b)
        keep = ~split & (outline.normalised(cx, cy) <= 1.0 + padding)
        leaves_x.append(cx[keep])
        leaves_y.append(cy[keep])
        leaves_side.append(np.full(keep.sum(), side))
        quarter = side / 4
        cx = np.concatenate([cx[split] + dx for dx in (-quarter, quarter, -quarter, quarter)])
        cy = np.concatenate([cy[split] + dy for dy in (-quarter, -quarter, quarter, quarter)])
        side /= 2
    x, y, sides = np.concatenate(leaves_x), np.concatenate(leaves_y), np.concatenate(leaves_side)
    jitter = rng.uniform(-0.42, 0.42, (len(x), 2)) * sides[:, None]
    return np.column_stack([x + jitter[:, 0], y + jitter[:, 1]])


@dataclass
class _Mesh:
    """The faces inside the city: generator points (metres), faces (lon/lat), adjacency in
    CSR form with edge weights, and a Hilbert key per face for compact seed placement."""

    points: np.ndarray
    faces: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    hilbert: np.ndarray

    def __len__(self) -> int:
        return len(self.points)


def _hilbert_keys(points: np.ndarray, order: int = 16) -> np.ndarray:
    side = 1 << order
    low = points.min(axis=0)
    span = max(float((points.max(axis=0) - low).max()), 1e-9)
    scaled = np.minimum(((points - low) / span * side).astype(np.int64), side - 1)
    x, y = scaled[:, 0].copy(), scaled[:, 1].copy()
    keys = np.zeros(len(points), dtype=np.int64)
    s = side >> 1
    while s:
        rx = (x & s) > 0
        ry = (y & s) > 0
        keys += s * s * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        flip = ~ry & rx
        x = np.where(flip, s - 1 - x, x)
        y = np.where(flip, s - 1 - y, y)
        swap = ~ry
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        s >>= 1
    return keys


def _adjacency(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Pairs of faces that share an edge (each pair once), found by the exact coordinates of
    the edges' end points, and the Euler characteristic V − E + F of the faces' union (1 for
    one piece without holes)."""
    coords, ring = shapely.get_coordinates(shapely.get_exterior_ring(faces), return_index=True)
    unique_coords, vertex = np.unique(coords[:, 0] + 1j * coords[:, 1], return_inverse=True)
    same_ring = ring[:-1] == ring[1:]
    start, end, face = vertex[:-1][same_ring], vertex[1:][same_ring], ring[:-1][same_ring]
    proper = start != end
    start, end, face = start[proper], end[proper], face[proper]
    key = np.minimum(start, end).astype(np.int64) * (int(vertex.max()) + 1) + np.maximum(start, end)
    order = np.argsort(key, kind="stable")
    key, face = key[order], face[order]
    shared = np.flatnonzero(key[:-1] == key[1:])
    edges = len(key) - len(shared)
    return face[shared], face[shared + 1], len(unique_coords) - edges + len(faces)


def _csr(
    count: int, first: np.ndarray, second: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    source = np.concatenate([first, second])
    target = np.concatenate([second, first])
    both = np.concatenate([weight, weight])
    order = np.lexsort((target, source))
    indptr = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(source, minlength=count), out=indptr[1:])
    return indptr, target[order], both[order]


def _reached(indptr: np.ndarray, indices: np.ndarray, start: int) -> np.ndarray:
    """The faces connected to `start`."""
    pointers, targets = indptr.tolist(), indices.tolist()
    seen = [False] * (len(pointers) - 1)
    seen[start] = True
    queue = deque([start])
    while queue:
        face = queue.popleft()
        for j in range(pointers[face], pointers[face + 1]):
            other = targets[j]
            if not seen[other]:
                seen[other] = True
                queue.append(other)
    return np.array(seen)


def _mesh(
    *,
    outline: _Outline,
    seats: list[_Seat],
    faces: int,
    center: tuple[float, float],
    rng: np.random.Generator,
) -> _Mesh:
    all_points = _mesh_points(outline=outline, seats=seats, faces=faces, rng=rng)
    frame = shapely.box(*(all_points.min(axis=0) - 1.0), *(all_points.max(axis=0) + 1.0))
    diagram = shapely.voronoi_polygons(
        shapely.multipoints(all_points), extend_to=frame, ordered=True
    )
    all_faces = shapely.get_parts(diagram)
    inside = outline.normalised(all_points[:, 0], all_points[:, 1]) <= 1.0
    points, metric_faces = all_points[inside], all_faces[inside]
    first, second, euler = _adjacency(metric_faces)
    # The city is one piece without enclaves that belong to no district. Almost always the
    # faces inside the outline are that already; otherwise keep the piece around the centre
    # and fill its holes with the faces there.
    indptr, indices, _weights = _csr(len(points), first, second, np.zeros(len(first)))
    centre = int(np.argmin(np.hypot(points[:, 0], points[:, 1])))
    kept = _reached(indptr, indices, centre)
    if not kept.all() or euler != 1:
        piece = shapely.coverage_union_all(metric_faces[kept])
        filled = shapely.Polygon(shapely.get_exterior_ring(piece))
        shapely.prepare(filled)
        # A Voronoi face lies in the filled outline exactly when its generator does.
        within = shapely.contains_xy(filled, all_points[:, 0], all_points[:, 1])
        points, metric_faces = all_points[within], all_faces[within]
        first, second, _euler = _adjacency(metric_faces)

    lengths = np.hypot(*(points[first] - points[second]).T)
    spacing = np.sqrt((shapely.area(metric_faces[first]) + shapely.area(metric_faces[second])) / 2)
    weight = lengths / spacing * rng.uniform(0.8, 1.25, len(first))
    indptr, indices, weights = _csr(len(points), first, second, weight)

    metres_lon, metres_lat = local_metres_per_degree(center[1])
    lon0, lat0 = center

    def to_degrees(coords: np.ndarray) -> np.ndarray:
        return np.column_stack([lon0 + coords[:, 0] / metres_lon, lat0 + coords[:, 1] / metres_lat])

    return _Mesh(
        points=points,
        faces=shapely.transform(metric_faces, to_degrees),
        indptr=indptr,
        indices=indices,
        weights=weights,
        hilbert=_hilbert_keys(points),
    )


# --- assigning faces to areas, level by level ----------------------------------------------


@dataclass(frozen=True)
class _Split:
    labels: np.ndarray  # child index per face
    seeds: np.ndarray  # seed face per child
    parent: np.ndarray  # parent index per child


class _Graph:
    """The adjacency of one level as plain lists, keeping only edges between faces of the
    same parent: the region growing is a Python loop, and list indexing is several times
    faster there than indexing numpy arrays."""

    def __init__(self, mesh: _Mesh, parent_of: np.ndarray) -> None:
        source = np.repeat(np.arange(len(mesh)), np.diff(mesh.indptr))
        inside = parent_of[source] == parent_of[mesh.indices]
        indptr = np.zeros(len(mesh) + 1, dtype=np.int64)
        np.cumsum(np.bincount(source[inside], minlength=len(mesh)), out=indptr[1:])
        self.size = len(mesh)
        self.indptr = indptr.tolist()
        self.indices = mesh.indices[inside].tolist()
        self.weights = mesh.weights[inside].tolist()

    def hops(self, *, sources: list[int]) -> np.ndarray:
        """Breadth-first distance, in faces, from the nearest source inside the same parent."""
        distance = [-1] * self.size
        queue = deque(sources)
        for source in sources:
            distance[source] = 0
        indptr, indices = self.indptr, self.indices
        while queue:
            face = queue.popleft()
            next_distance = distance[face] + 1
            for j in range(indptr[face], indptr[face + 1]):
                other = indices[j]
                if distance[other] < 0:
                    distance[other] = next_distance
                    queue.append(other)
        return np.array(distance)

    def claim(self, *, seeds: list[int], slowness: list[float]) -> np.ndarray:
        """Grow one region from each seed inside the seed's parent, all at once: a face goes
        to the region that reaches it first, a region's edges being `slowness` times as long.
        Each region is connected by construction."""
        label = [-1] * self.size
        best = [math.inf] * self.size
        heap = [(0.0, face, region) for region, face in enumerate(seeds)]
        heapq.heapify(heap)
        indptr, indices, weights = self.indptr, self.indices, self.weights
        pop, push = heapq.heappop, heapq.heappush
        while heap:
            distance, face, region = pop(heap)
            if label[face] >= 0:
                continue
            label[face] = region
            factor = slowness[region]
            for j in range(indptr[face], indptr[face + 1]):
                other = indices[j]
                if label[other] < 0:
                    reached = distance + weights[j] * factor
                    if reached < best[other]:
                        best[other] = reached
                        push(heap, (reached, other, region))
        return np.array(label)


def _chunk_seeds(faces: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """One seed per weight: the middle face of consecutive chunks of `faces` (in Hilbert
    order, so chunks are compact) sized in proportion to the weights."""
    if len(faces) < len(weights):
        raise InvalidInput(
            _("the city is too small for its areas at this scale; choose a larger scale")
        )
    bounds = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * len(faces)
    middle = np.floor((bounds[:-1] + bounds[1:]) / 2).astype(np.int64).tolist()
    for i in range(1, len(middle)):
        middle[i] = max(middle[i], middle[i - 1] + 1)
    overflow = middle[-1] - (len(faces) - 1)
    if overflow > 0:
        middle = [max(m - overflow, i) for i, m in enumerate(middle)]
    return faces[middle]


def _recentred(mesh: _Mesh, labels: np.ndarray, count: int) -> np.ndarray:
    """For each region, its face nearest to the mean of its generator points."""
    sizes = np.bincount(labels, minlength=count)
    mean_x = np.bincount(labels, weights=mesh.points[:, 0], minlength=count) / sizes
    mean_y = np.bincount(labels, weights=mesh.points[:, 1], minlength=count) / sizes
    distance = (mesh.points[:, 0] - mean_x[labels]) ** 2 + (mesh.points[:, 1] - mean_y[labels]) ** 2
    order = np.lexsort((distance, labels))
    return order[np.searchsorted(labels[order], np.arange(count))]


def _split(
    mesh: _Mesh,
    *,
    parent_of: np.ndarray,
    centres: np.ndarray,
    weights: list[np.ndarray],
    central: list[np.ndarray],
    iterations: int,
    tolerance: float = 0.1,
    fixed_seeds: np.ndarray | None = None,
) -> _Split:
    """Divide each parent's faces among its children in proportion to their weights. Central
    children are seeded near the parent's centre face (a town's 社区 at its seat, a
    district's 街道 around the district seat). Between growth passes each region's speed is
    adjusted towards its target size and its seed moved to its middle, until every size is
    within `tolerance` of its target."""
    parents = len(weights)
    child_parent = np.repeat(np.arange(parents), [len(w) for w in weights])
    all_weights = np.concatenate(weights)
    parent_faces = np.bincount(parent_of, minlength=parents)
    parent_weight = np.bincount(child_parent, weights=all_weights, minlength=parents)
    targets = all_weights / parent_weight[child_parent] * parent_faces[child_parent]
    graph = _Graph(mesh, parent_of)

    if fixed_seeds is not None:
        seeds = fixed_seeds
    else:
        seeds = np.empty(len(all_weights), dtype=np.int64)
        order = np.lexsort((mesh.hilbert, parent_of))
        bounds = np.searchsorted(parent_of[order], np.arange(parents + 1))
        with_centre = {p for p in range(parents) if central[p].any() and not central[p].all()}
        hops = (
            graph.hops(sources=[int(centres[p]) for p in sorted(with_centre)])
            if with_centre
            else None
        )
        in_core = np.zeros(len(mesh), dtype=bool)
        start = 0
        for p in range(parents):
            faces = order[bounds[p] : bounds[p + 1]]
            w, c = weights[p], central[p]
            chosen = np.arange(start, start + len(w))
            if p in with_centre and hops is not None:
                by_hop = faces[np.argsort(hops[faces], kind="stable")]
                core = round(len(faces) * w[c].sum() / w.sum())
                core = min(max(core, int(c.sum())), len(faces) - int((~c).sum()))
                in_core[by_hop[:core]] = True
                seeds[chosen[c]] = _chunk_seeds(faces[in_core[faces]], w[c])
                seeds[chosen[~c]] = _chunk_seeds(faces[~in_core[faces]], w[~c])
            else:
                seeds[chosen] = _chunk_seeds(faces, w)
            start += len(w)

    slowness = np.ones(len(all_weights))
    for iteration in range(iterations):
        labels = graph.claim(seeds=seeds.tolist(), slowness=slowness.tolist())
        sizes = np.bincount(labels, minlength=len(all_weights))
        if iteration == iterations - 1 or np.abs(sizes / targets - 1).max() <= tolerance:
            break
        # A region's size goes with the square of its speed.
        slowness /= np.clip(targets / sizes, 0.5, 2.0) ** 0.5
        if fixed_seeds is None:
            seeds = _recentred(mesh, labels, len(all_weights))
    if (labels < 0).any():
        raise RuntimeError("region growing left faces unassigned: a parent is not connected")
    return _Split(labels=labels, seeds=seeds, parent=child_parent)


# --- names -------------------------------------------------------------------------------

_NEIGHBOURHOOD_FIRST = (
    "东西南北新长和光胜红建团文育明阳桂白爱城沿湖天锦丽春百金学银凤紫玉幸康永安清翠荷恒滨仙秀龙瑞"
)
_NEIGHBOURHOOD_SECOND = "华门城园湖江山苑桥塘岭林岸兴平宁丰泰景乐福盛源溪坊府庭洲"
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭罗梁宋谢唐许邓冯韩曹曾彭萧蔡潘田董袁于余叶蒋杜苏魏程吕"
    "丁沈任姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江严黎易敖饶聂简甘"
)
_SURNAME_ENDINGS = ("家村", "家坊村", "家湾村", "家边村", "家岭村", "家山村")
_LANDSCAPE_FIRST = "上下前后东西南北大小新老高石枫竹桃杨柳松梅樟荷莲沙黄白青塘岭坪湖泉"
_LANDSCAPE_SECOND = "坑塘岭源田坊山湾洲溪桥陂垄坪港圩江冲埠口"
_STREET_SUFFIXES = ("街道办事处", "街道", "林场", "农场", "垦殖场", "镇", "乡", "场")


def _name_pools(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Shuffled names for 社区 and for 村; unique while they last."""
    neighbourhoods = [
        f"{a}{b}社区" for a in _NEIGHBOURHOOD_FIRST for b in _NEIGHBOURHOOD_SECOND if a != b
    ]
    villages = [f"{s}{e}" for s in _SURNAMES for e in _SURNAME_ENDINGS]
    villages += [f"{a}{b}村" for a in _LANDSCAPE_FIRST for b in _LANDSCAPE_SECOND if a != b]
    neighbourhoods, villages = list(dict.fromkeys(neighbourhoods)), list(dict.fromkeys(villages))
    return (
        [neighbourhoods[i] for i in rng.permutation(len(neighbourhoods))],
        [villages[i] for i in rng.permutation(len(villages))],
    )


def _street_stem(name: str) -> str:
    for suffix in _STREET_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _is_subdistrict(street_code: str) -> bool:
    """Street digits 7–9 of 001–099 are 街道 (DOMAIN.md §1); 100 and up are towns (镇),
    townships (乡) and other units (farms, forestry centres)."""
    return 1 <= int(street_code[6:9]) <= 99


def _is_township(street_code: str) -> bool:
    return 200 <= int(street_code[6:9]) <= 399


def _street_weight(street_code: str) -> float:
    return 0.5 if int(street_code[6:9]) >= 400 else 1.0


# --- the plan ----------------------------------------------------------------------------


def _scale(scale: str) -> Scale:
    if scale not in SCALES:
        raise InvalidInput(
            _("unknown scale “%(scale)s”; choose one of %(choices)s")
            % {"scale": scale, "choices": ", ".join(SCALES)},
            details={"scale": scale},
        )
    return SCALES[scale]


def _check_center(center: tuple[float, float]) -> tuple[float, float]:
    try:
        lon, lat = (float(value) for value in center)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(_("center must be a pair of numbers (lon, lat)")) from exc
    if not (-180 <= lon <= 180 and -80 <= lat <= 80):
        raise InvalidInput(
            _("center must be a longitude in [-180, 180] and a latitude in [-80, 80]"),
            details={"center": [lon, lat]},
        )
    return (lon, lat)


def _unions(parts: np.ndarray, group: np.ndarray, count: int) -> np.ndarray:
    """The exact union of the parts of each group (the parts meet edge to edge), as
    MultiPolygons. One vectorised call over a table with a row per group, padded with None."""
    order = np.argsort(group, kind="stable")
    sizes = np.bincount(group, minlength=count)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    table = np.full((count, int(sizes.max())), None, dtype=object)
    rows = group[order]
    table[rows, np.arange(len(order)) - starts[rows]] = parts[order]
    unions = shapely.coverage_union_all(table, axis=1)
    polygons, index = shapely.get_parts(unions, return_index=True)
    return shapely.multipolygons(polygons, indices=index)


def _local_centroids(geometries: np.ndarray, metres: tuple[float, float]) -> np.ndarray:
    return shapely.get_coordinates(shapely.centroid(geometries)) * np.array(metres)


def _ordered(
    geometries: np.ndarray, members: np.ndarray, metres: tuple[float, float]
) -> np.ndarray:
    """`members` (indexes into `geometries`) in reading order, rows one typical member high."""
    if len(members) < 2:
        return members
    area = shapely.area(geometries[members]).sum() * metres[0] * metres[1]
    band = math.sqrt(area / len(members))
    return members[
        reading_order(centroids=_local_centroids(geometries[members], metres), band=band)
    ]


def city_plan(
    *,
    city_code: str = "3605",
    scale: str = "small",
    seed: int = 1,
    center: tuple[float, float] | None = None,
    progress: Progress | None = None,
) -> CityPlan:
    """Codes, names and boundaries of a generated city, without the database. The same
    arguments give the same plan, byte for byte."""
    started = time.perf_counter()
    say = progress or (lambda message: None)
    spec = _scale(scale)
    divisions = city_divisions(city_code=city_code)
    center = _check_center(
        center
        or default_center(
            city_code=city_code,
            province_code=divisions.province_code,
            rank=divisions.province_rank,
        )
    )
    rng = np.random.default_rng([int(seed), int(city_code)])
    streets = divisions.streets
    say(
        _(
            "planning %(name)s (%(code)s): %(districts)d districts, %(streets)d streets, about %(cells)d grid cells"
        )
        % {
            "name": divisions.name,
            "code": city_code,
            "districts": len(divisions.districts),
            "streets": len(streets),
            "cells": spec.cells,
        }
    )

    outline = _outline(streets=len(streets), rng=rng)
    seats = _district_seats(divisions=divisions, outline=outline, rng=rng)
    wanted_faces = max(spec.cells * FACES_PER_CELL, MIN_FACES_PER_STREET * len(streets))
    mesh = _mesh(outline=outline, seats=seats, faces=wanted_faces, center=center, rng=rng)
    faces_per_cell = len(mesh) / spec.cells
    say(_("mesh of %(faces)d faces") % {"faces": len(mesh)})

    # Districts grow from their seats.
    seat_faces: list[int] = []
    for seat in seats:
        distance = np.hypot(mesh.points[:, 0] - seat.x, mesh.points[:, 1] - seat.y)
        distance[seat_faces] = math.inf
        seat_faces.append(int(np.argmin(distance)))
    districts = _split(
        mesh,
        parent_of=np.zeros(len(mesh), dtype=np.int64),
        centres=np.array(seat_faces[:1]),
        weights=[
            np.array([sum(_street_weight(s.code) for s in d.streets) for d in divisions.districts])
        ],
        central=[np.zeros(len(divisions.districts), dtype=bool)],
        iterations=4,
        fixed_seeds=np.array(seat_faces),
    )
    say(_("%(count)d districts") % {"count": len(divisions.districts)})

    # Streets: 街道 around the district seat, towns and townships around them.
    street_divisions = [d.streets for d in divisions.districts]
    street_split = _split(
        mesh,
        parent_of=districts.labels,
        centres=districts.seeds,
        weights=[np.array([_street_weight(s.code) for s in group]) for group in street_divisions],
        central=[np.array([_is_subdistrict(s.code) for s in group]) for group in street_divisions],
        iterations=4,
    )
    say(_("%(count)d streets") % {"count": len(streets)})

    # Communities: 社区 in 街道; in towns one or two 社区 at the seat and villages around.
    street_faces = np.bincount(street_split.labels, minlength=len(streets))
    community_kinds: list[list[bool]] = []  # per street: True for 社区, False for 村
    for index, street in enumerate(streets):
        count = max(1, round(street_faces[index] / (faces_per_cell * spec.cells_per_community)))
        if _is_subdistrict(street.code):
            community_kinds.append([True] * min(count, len(NEIGHBOURHOOD_CODES)))
            continue
        seat_count = 1 if count < 8 or _is_township(street.code) else 2
        villages = min(max(count - seat_count, 0), len(VILLAGE_CODES))
        community_kinds.append([True] * seat_count + [False] * villages)
    community_split = _split(
        mesh,
        parent_of=street_split.labels,
        centres=street_split.seeds,
        weights=[
            np.array(
                [0.6 if is_seat and len(kinds) > 1 and not all(kinds) else 1.0 for is_seat in kinds]
            )
            for kinds in community_kinds
        ],
        central=[
            np.array(kinds) if not all(kinds) else np.zeros(len(kinds), dtype=bool)
            for kinds in community_kinds
        ],
        iterations=3,
    )
    is_neighbourhood = np.concatenate([np.array(kinds) for kinds in community_kinds])
    say(_("%(count)d communities") % {"count": len(is_neighbourhood)})

    # Grid cells: a few faces each.
    community_faces = np.bincount(community_split.labels, minlength=len(is_neighbourhood))
    cell_counts = np.clip(np.rint(community_faces / faces_per_cell), 1, MAX_CELLS_PER_COMMUNITY)
    cell_split = _split(
        mesh,
        parent_of=community_split.labels,
        centres=community_split.seeds,
        weights=[np.ones(int(n)) for n in cell_counts],
        central=[np.zeros(int(n), dtype=bool) for n in cell_counts],
        iterations=2,
    )
    say(_("%(count)d grid cells") % {"count": len(cell_split.parent)})

    cells = _unions(mesh.faces, cell_split.labels, len(cell_split.parent))
    communities = _unions(cells, cell_split.parent, len(is_neighbourhood))
    street_shapes = _unions(communities, community_split.parent, len(streets))
    district_shapes = _unions(street_shapes, street_split.parent, len(divisions.districts))
    city_shape = shapely.coverage_union_all(district_shapes)

    metres = local_metres_per_degree(center[1])
    neighbourhood_names, village_names = _name_pools(rng)
    areas: list[PlannedArea] = [
        PlannedArea(
            city_code,
            divisions.name,
            AreaLevel.CITY,
            None,
            shapely.multipolygons(shapely.get_parts(city_shape)),
        )
    ]
    planned_streets: list[PlannedArea] = []
    planned_communities: list[PlannedArea] = []
    planned_cells: list[PlannedArea] = []
    for index, district in enumerate(divisions.districts):
        areas.append(
            PlannedArea(
                district.code,
                district.name,
                AreaLevel.DISTRICT,
                city_code,
                district_shapes[index],
            )
        )
    community_parent = community_split.parent
    cell_parent = cell_split.parent
    for street_index, street in enumerate(streets):
        planned_streets.append(
            PlannedArea(
                street.code,
                street.name,
                AreaLevel.STREET,
                street.code[:6],
                street_shapes[street_index],
            )
        )
        members = np.flatnonzero(community_parent == street_index)
        stem = _street_stem(street.name)
        for kind, numbers in ((True, NEIGHBOURHOOD_CODES), (False, VILLAGE_CODES)):
            of_kind = members[is_neighbourhood[members] == kind]
            for rank, community_index in enumerate(_ordered(communities, of_kind, metres)):
                code = f"{street.code}{numbers[rank]:03d}"
                if kind and rank == 0 and not _is_subdistrict(street.code):
                    name = f"{stem}社区"
                elif kind:
                    name = neighbourhood_names[len(planned_communities) % len(neighbourhood_names)]
                else:
                    name = village_names[len(planned_communities) % len(village_names)]
                planned_communities.append(
                    PlannedArea(
                        code,
                        name,
                        AreaLevel.COMMUNITY,
                        street.code,
                        communities[community_index],
                    )
                )
                cell_members = np.flatnonzero(cell_parent == community_index)
                for sequence, cell_index in enumerate(_ordered(cells, cell_members, metres), 1):
                    planned_cells.append(
                        PlannedArea(
                            f"{code}{sequence:03d}",
                            f"{name}{sequence}号网格",
                            AreaLevel.GRID,
                            code,
                            cells[cell_index],
                        )
                    )
    areas += planned_streets
    areas += sorted(planned_communities, key=lambda a: a.code)
    areas += sorted(planned_cells, key=lambda a: a.code)
    return CityPlan(
        city_code=city_code,
        city_name=divisions.name,
        scale=scale,
        seed=seed,
        center=center,
        areas=tuple(areas),
        mesh_faces=len(mesh),
        seconds=time.perf_counter() - started,
    )


# --- loading into the database ------------------------------------------------------------


# First key of the advisory lock that serialises loads of one city ("wang" in ASCII).
_GENERATION_LOCK = 0x77616E67


def _city_exists(city_code: str) -> bool:
    return Area.objects.current().filter(code=city_code).exists()


def _conflict(city_code: str) -> Conflict:
    return Conflict(
        _(
            "city %(code)s or an area inside it already exists; retire it before generating "
            "the city again"
        )
        % {"code": city_code},
        details={"city_code": city_code},
    )


def city_plan_write(*, plan: CityPlan, progress: Progress | None = None) -> CityGenerationResult:
    """Load a plan into the database in one transaction (COPY, ids drawn from the table's
    sequence so that parents and children go in one stream), with the locate tiles over the
    new cells. Raises Conflict when the city or any of its codes is already a current area."""
    say = progress or (lambda message: None)
    started = time.perf_counter()
    table = Area._meta.db_table
    areas = plan.areas
    say(_("writing %(count)d areas") % {"count": len(areas)})
    boundaries = shapely.to_wkb(
        shapely.set_srid(np.array([area.boundary for area in areas], dtype=object), 4326),
        hex=True,
        include_srid=True,
    )
    now = timezone.now()
    today = timezone.localdate()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # Two loads of the same city wait for each other instead of failing half-way.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_GENERATION_LOCK, int(plan.city_code)]
            )
            if Area.objects.current().filter(code__startswith=plan.city_code).exists():
                raise _conflict(plan.city_code)
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, len(areas)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            id_of = {area.code: id_ for area, id_ in zip(areas, ids, strict=True)}
            columns = (
                "id, code, name, level, parent_id, boundary, valid_from, created_at, updated_at"
            )
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for area, id_, boundary in zip(areas, ids, boundaries, strict=True):
                    copy.write_row(
                        (
                            id_,
                            area.code,
                            area.name,
                            int(area.level),
                            id_of[area.parent_code] if area.parent_code else None,
                            boundary,
                            today,
                            now,
                            now,
                        )
                    )
            # Fresh statistics, so the planner uses the spatial indexes on the new rows.
            cursor.execute(f"ANALYZE {table}")
            cells = np.array(
                [area.boundary for area in plan.at_level(AreaLevel.GRID)], dtype=object
            )
            if len(cells):
                locate_tiles_rebuild(extents=[tuple(shapely.total_bounds(cells).tolist())])
    except IntegrityError as exc:
        raise _conflict(plan.city_code) from exc
    seconds = time.perf_counter() - started
    say(_("wrote %(count)d areas in %(seconds).1f s") % {"count": len(areas), "seconds": seconds})
    return CityGenerationResult(
        city_id=id_of[plan.city_code],
        city_code=plan.city_code,
        city_name=plan.city_name,
        scale=plan.scale,
        seed=plan.seed,
        counts=plan.counts(),
        mesh_faces=plan.mesh_faces,
        plan_seconds=plan.seconds,
        write_seconds=seconds,
    )


def city_generate(
    *,
    city_code: str = "3605",
    scale: str = "small",
    seed: int = 1,
    progress: Progress | None = None,
    center: tuple[float, float] | None = None,
) -> CityGenerationResult:
    """Generate a demo city — real districts and streets, synthetic communities and grid
    cells — and write it in one transaction. Raises Conflict if the city is already there;
    `progress` receives one line per step."""
    _scale(scale)
    if _city_exists(city_code):
        raise _conflict(city_code)
    plan = city_plan(city_code=city_code, scale=scale, seed=seed, center=center, progress=progress)
    return city_plan_write(plan=plan, progress=progress)
