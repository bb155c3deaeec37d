"""Locate: one point and many points to the covering grid cell and its tier chain.

SquareCity (tests.factories) is 8 x 2 cells of 0.01° from (114.00, 27.80). The rule under
test for shared edges and vertices: among the current cells whose closed boundary covers the
point, the smallest code wins.
"""

import math
import random

import pytest
import shapely
from django.db import connection
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from grid.errors import InvalidInput
from grid.models import Area, AreaLevel
from grid.selectors.locate import locate_point, locate_points
from tests.factories import SquareCity, box, make_area

pytestmark = pytest.mark.django_db

URL = "/api/grid/locate"


def x(col):
    """The longitude of a lattice line, computed as SquareCity computes it, so that a point
    built from it lies exactly on the cells' shared edge."""
    return SquareCity.X0 + col * SquareCity.STEP


def y(row):
    return SquareCity.Y0 + row * SquareCity.STEP


# name, (lon, lat), the expected cell
INTERIOR = [
    ("north-west cell of the first community", (114.005, 27.815), "360502001001001"),
    ("south-east cell of the second community", (114.035, 27.805), "360502001002004"),
    ("a cell in the other district", (114.065, 27.815), "360521001002001"),
    ("near a corner, still inside", (114.0799, 27.8001), "360521001002004"),
]
SHARED = [
    # two cells of one community: 001 (north-west) and 002 (north-east)
    ("vertical edge inside a community", (x(1), 27.815), "360502001001001"),
    # 002 (north-east) above 004 (south-east): 002 is the smaller code
    ("horizontal edge inside a community", (114.015, y(1)), "360502001001002"),
    # 360502001001004 | 360502001002003
    ("edge between two communities", (x(2), 27.805), "360502001001004"),
    # 360502001002002 | 360521001001001
    ("edge between two districts", (x(4), 27.815), "360502001002002"),
    # 001, 002, 003 and 004 of community 360502001001 meet here
    ("vertex of four cells of one community", (x(1), y(1)), "360502001001001"),
    # 360502001002002, ...004, 360521001001001, ...003 meet here
    ("vertex of four cells across two districts", (x(4), y(1)), "360502001002002"),
]
OUTER = [
    ("west edge of the city", (x(0), 27.805), "360502001001003"),
    ("south edge of the city", (114.055, y(0)), "360521001001004"),
    ("north-east corner of the city", (x(8), y(2)), "360521001002002"),
]
OUTSIDE = [(114.1, 27.9), (113.99, 27.805), (114.04, 27.8201), (0.0, 0.0)]


def chain_codes(location):
    return [
        location.cell.code,
        location.community.code,
        location.street.code,
        location.district.code,
        location.city.code,
    ]


def expected_chain(cell_code):
    return [cell_code, cell_code[:12], cell_code[:9], cell_code[:6], cell_code[:4]]


@pytest.mark.parametrize(("name", "point", "cell_code"), INTERIOR + SHARED + OUTER)
def test_locate_point_returns_the_cell_and_its_chain(square_city, name, point, cell_code):
    location = locate_point(lon=point[0], lat=point[1])
    assert location is not None, name
    assert chain_codes(location) == expected_chain(cell_code), name
    assert location.cell.id == square_city.cells[cell_code].id
    assert location.community.name == square_city.communities[cell_code[:12]].name
    assert location.district.name == square_city.districts[cell_code[:6]].name
    assert location.city.name == "新余市"


@pytest.mark.parametrize("point", OUTSIDE)
def test_locate_point_outside_every_cell_is_none(square_city, point):
    assert locate_point(lon=point[0], lat=point[1]) is None


def test_the_shared_edge_answer_is_the_smallest_code_of_all_covering_cells(square_city):
    """The fixtures above rely on both neighbours covering the edge point."""
    for _name, (lon, lat), cell_code in SHARED:
        covering = sorted(
            Area.objects.cells()
            .current()
            .filter(boundary__covers=f"SRID=4326;POINT({lon!r} {lat!r})")
            .values_list("code", flat=True)
        )
        assert len(covering) >= 2
        assert covering[0] == cell_code


def test_the_locate_index_holds_current_grid_cells_only():
    """Declared partial in the model, and partial in the database (Django ticket #36694)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'area_current_cell_boundary'"
        )
        (definition,) = cursor.fetchone()
    assert "USING gist (boundary)" in definition
    assert definition.endswith("WHERE ((level = 5) AND (valid_to IS NULL))")


def test_locate_point_is_one_round_trip(square_city, django_assert_num_queries):
    with django_assert_num_queries(1):
        location = locate_point(lon=114.005, lat=27.815)
    assert location.city.code == "3605"


def test_locate_points_is_one_round_trip(square_city, django_assert_num_queries):
    points = [(114.005 + 0.01 * i, 27.805) for i in range(8)] + [(120.0, 30.0)]
    with django_assert_num_queries(1):
        locations = locate_points(points=points)
    assert [loc.cell.code[-3:] if loc else None for loc in locations] == [
        "003",
        "004",
        "003",
        "004",
        "003",
        "004",
        "003",
        "004",
        None,
    ]


def test_retired_cells_are_ignored(square_city):
    cell = square_city.cells["360502001001001"]
    Area.objects.filter(pk=cell.pk).update(valid_to=timezone.localdate())
    location = locate_point(lon=114.005, lat=27.815)
    assert location is None
    # on the edge to the retired cell the remaining neighbour answers
    location = locate_point(lon=x(1), lat=27.815)
    assert location.cell.code == "360502001001002"


def test_a_newer_version_of_a_cell_is_located(square_city):
    old = square_city.cells["360502001001001"]
    Area.objects.filter(pk=old.pk).update(valid_to=timezone.localdate())
    new = make_area(old.code, "新边界", AreaLevel.GRID, old.parent, square_city.cell_box(0, 1))
    location = locate_point(lon=114.005, lat=27.815)
    assert location.cell.id == new.id
    assert location.cell.name == "新边界"


def test_locate_point_refuses_bad_coordinates(square_city):
    for lon, lat, named in [
        (181.0, 27.8, "lon"),
        (114.0, -90.5, "lat"),
        (math.nan, 27.8, "lon"),
        (114.0, math.inf, "lat"),
    ]:
        with override("en"), pytest.raises(InvalidInput) as caught:
            locate_point(lon=lon, lat=lat)
        assert named in caught.value.details


def test_locate_points_when_one_tile_holds_the_whole_city(square_city):
    """Far-apart points make the tiles larger than the city: every cell is a candidate for
    every point near it, and the answers stay the same."""
    near = seeded_points(500, seed=8)
    points = [(100.0, 20.0), *near, (130.0, 45.0)]
    got = [loc.cell.code if loc else None for loc in locate_points(points=points)]
    assert got == brute_force(points)
    assert got[0] is None and got[-1] is None


def test_locate_points_of_one_repeated_point(square_city):
    locations = locate_points(points=[(x(4), y(1))] * 5)
    assert [loc.cell.code for loc in locations] == ["360502001002002"] * 5
    assert locations[0] is locations[4]


def test_a_chain_with_missing_levels_has_nulls(square_city, logged_in_client):
    community = make_area(
        "360599001001", "无街道社区", AreaLevel.COMMUNITY, None, box(114.2, 27.8, 114.21, 27.81)
    )
    cell = make_area(
        "360599001001001", "无街道网格", AreaLevel.GRID, community, box(114.2, 27.8, 114.21, 27.81)
    )
    location = locate_point(lon=114.205, lat=27.805)
    assert (location.cell.id, location.community.code) == (cell.id, "360599001001")
    assert location.street is location.district is location.city is None
    (bulk,) = locate_points(points=[(114.205, 27.805)])
    assert bulk == location
    response = logged_in_client.get(URL, {"lon": 114.205, "lat": 27.805})
    assert response.status_code == 200
    assert response.json()["street"] is None


def test_locate_points_refuses_bad_points_with_their_indexes(square_city):
    with pytest.raises(InvalidInput) as caught:
        locate_points(points=[(114.0, 27.8), (200.0, 27.8), (114.0, math.nan)])
    assert set(caught.value.details) == {1, 2}


def test_locate_points_of_nothing_is_nothing(square_city):
    assert locate_points(points=[]) == []


# --- the API ---


@pytest.mark.parametrize(("name", "point", "cell_code"), INTERIOR + SHARED + OUTER)
def test_api_locates_a_point(logged_in_client, square_city, name, point, cell_code):
    response = logged_in_client.get(URL, {"lon": point[0], "lat": point[1]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [
        body[level]["code"] for level in ("cell", "community", "street", "district", "city")
    ] == (expected_chain(cell_code))
    assert body["cell"]["id"] == square_city.cells[cell_code].id
    assert body["street"]["name"] == square_city.streets[cell_code[:9]].name
    assert (body["lon"], body["lat"]) == point


def test_api_locate_url_is_named(logged_in_client, square_city):
    assert reverse("grid-api:locate") == URL


@pytest.mark.parametrize("point", OUTSIDE)
def test_api_point_outside_every_cell_is_404(logged_in_client, square_city, point):
    response = logged_in_client.get(
        URL, {"lon": point[0], "lat": point[1]}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "not_found"
    assert body["detail"] == f"no grid cell covers lon {point[0]}, lat {point[1]}"


@pytest.mark.parametrize(
    ("params", "named", "message"),
    [
        ({"lat": "27.8"}, "lon", "lon is required"),
        ({"lon": "114.0"}, "lat", "lat is required"),
        ({"lon": "east", "lat": "27.8"}, "lon", "lon must be a number"),
        ({"lon": "114.0", "lat": ""}, "lat", "lat is required"),
        ({"lon": "nan", "lat": "27.8"}, "lon", "lon must be a finite number"),
        ({"lon": "114.0", "lat": "inf"}, "lat", "lat must be a finite number"),
        ({"lon": "114.0", "lat": "1e999"}, "lat", "lat must be a finite number"),
        ({"lon": "180.5", "lat": "27.8"}, "lon", "lon must be between -180 and 180"),
        ({"lon": "114.0", "lat": "-91"}, "lat", "lat must be between -90 and 90"),
    ],
)
def test_api_bad_coordinates_are_400_naming_the_parameter(
    logged_in_client, square_city, params, named, message
):
    response = logged_in_client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = response.json()
    assert list(body["errors"]) == [named]
    assert body["errors"][named].startswith(message)
    assert body["detail"].startswith(message)


def test_api_requires_login(api_client, square_city):
    assert api_client.get(URL, {"lon": 114.005, "lat": 27.815}).status_code in (401, 403)
    response = api_client.post(URL, [[114.005, 27.815]], format="json")
    assert response.status_code in (401, 403)


def test_api_does_not_filter_by_scope(logged_in_client, square_city):
    """Boundaries are public inside the system: a user without assignments locates too."""
    assert not logged_in_client.user.assignments.exists()
    response = logged_in_client.get(URL, {"lon": 114.065, "lat": 27.815})
    assert response.status_code == 200
    assert response.json()["district"]["code"] == "360521"


# --- bulk ---

MIXED = [
    ((114.005, 27.815), "360502001001001"),
    ((120.0, 30.0), None),
    ((x(4), y(1)), "360502001002002"),
    ((114.075, 27.805), "360521001002004"),
    ((113.99, 27.805), None),
    ((x(2), 27.805), "360502001001004"),
    ((114.005, 27.815), "360502001001001"),
]


def as_pairs(points):
    return [list(point) for point in points]


def as_objects(points):
    return [{"lon": lon, "lat": lat} for lon, lat in points]


def as_features(points):
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"n": n},
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }
            for n, (lon, lat) in enumerate(points)
        ],
    }


@pytest.mark.parametrize("form", [as_pairs, as_objects, as_features])
def test_bulk_keeps_order_and_reports_outside_points(logged_in_client, square_city, form):
    points = [point for point, _ in MIXED]
    response = logged_in_client.post(URL, form(points), format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(MIXED)
    assert body["located"] == sum(1 for _, code in MIXED if code)
    for index, (result, (point, code)) in enumerate(zip(body["results"], MIXED, strict=True)):
        assert result["index"] == index
        assert (result["lon"], result["lat"]) == point
        if code is None:
            assert result["location"] is None
            assert result["reason"] == "no grid cell covers this point"
        else:
            assert result["reason"] is None
            location = result["location"]
            assert [
                location[level]["code"]
                for level in ("cell", "community", "street", "district", "city")
            ] == expected_chain(code)
            assert location["cell"]["id"] == square_city.cells[code].id


def test_bulk_accepts_an_altitude_in_geojson_positions(logged_in_client, square_city):
    body = as_features([(114.005, 27.815)])
    body["features"][0]["geometry"]["coordinates"].append(35.0)
    response = logged_in_client.post(URL, body, format="json")
    assert response.status_code == 200
    assert response.json()["results"][0]["location"]["cell"]["code"] == "360502001001001"


def test_bulk_of_no_points_is_an_empty_answer(logged_in_client, square_city):
    response = logged_in_client.post(URL, [], format="json")
    assert response.status_code == 200
    assert response.json() == {"count": 0, "located": 0, "results": []}


@override_settings(WANGGE_BULK_LOCATE_MAX=5)
def test_bulk_over_the_limit_is_413_with_the_limit(logged_in_client, square_city):
    points = [[114.005, 27.815]] * 6
    response = logged_in_client.post(URL, points, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    assert response.json()["detail"] == "at most 5 points per request; got 6"
    response = logged_in_client.post(URL, points[:5], format="json")
    assert response.status_code == 200


def test_bulk_limit_is_ten_thousand_by_default(logged_in_client, square_city, settings):
    assert settings.WANGGE_BULK_LOCATE_MAX == 10_000
    response = logged_in_client.post(
        URL, [[114.005, 27.815]] * 10_001, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 413
    assert "10000" in response.json()["detail"]


def test_bulk_of_the_full_limit_is_answered(logged_in_client, square_city):
    rng = random.Random(7)
    points = [[rng.uniform(114.0, 114.08), rng.uniform(27.8, 27.82)] for _ in range(10_000)]
    response = logged_in_client.post(URL, points, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == body["located"] == 10_000
    assert [result["index"] for result in body["results"]] == list(range(10_000))


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        ([[114.0, 27.8], [114.0], [114.0, 27.8, 5.0], "114,27"], {"1", "2", "3"}),
        ([{"lon": 114.0, "lat": 27.8}, {"lon": 114.0}, {"lat": 27.8, "lon": "x"}], {"1", "2"}),
        ([[114.0, 27.8], [200.0, 27.8], [114.0, -95.0], [True, 27.8]], {"1", "2", "3"}),
        ([[114.0, None], [114.0, 27.8]], {"0"}),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114, 27.8]}},
                    {"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}},
                    {"type": "Feature", "geometry": None},
                    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114]}},
                    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [999, 0]}},
                ],
            },
            {"1", "2", "3", "4"},
        ),
    ],
)
def test_bulk_malformed_points_are_400_listing_their_indexes(
    logged_in_client, square_city, body, bad
):
    response = logged_in_client.post(URL, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    result = response.json()
    assert set(result["errors"]) == bad
    noun = "point, at index" if len(bad) == 1 else "points, at indexes"
    assert result["detail"].startswith(f"{len(bad)} malformed {noun} ")
    for index in bad:
        assert index in result["detail"]


@pytest.mark.parametrize(
    "body", [{"lon": 114.0, "lat": 27.8}, {"type": "Feature"}, "points", 42, {"points": []}]
)
def test_bulk_body_of_the_wrong_shape_is_400(logged_in_client, square_city, body):
    response = logged_in_client.post(URL, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "FeatureCollection" in response.json()["detail"]


def test_bulk_invalid_json_is_400(logged_in_client, square_city):
    response = logged_in_client.post(URL, "[[114.0, 27.8]", content_type="application/json")
    assert response.status_code == 400


# --- against an independent point-in-polygon check ---


def brute_force(points):
    """Per point, the smallest code among current cells whose polygon covers it (shapely on
    the geometries as stored in the database)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code, ST_AsBinary(boundary) FROM grid_area "
            "WHERE level = %s AND valid_to IS NULL",
            [AreaLevel.GRID],
        )
        cells = [(code, shapely.from_wkb(bytes(wkb))) for code, wkb in cursor.fetchall()]
    answers = []
    for lon, lat in points:
        point = shapely.Point(lon, lat)
        covering = [code for code, polygon in cells if polygon.covers(point)]
        answers.append(min(covering) if covering else None)
    return answers


def seeded_points(count, seed):
    """Random points over and around the city, a third of them snapped to the 0.01° lattice
    lines and vertices where the ties are."""
    rng = random.Random(seed)
    points = []
    for n in range(count):
        lon = rng.uniform(113.995, 114.085)
        lat = rng.uniform(27.795, 27.825)
        if n % 3 == 1:
            lon = x(rng.randint(0, 8))
        elif n % 3 == 2:
            lon, lat = x(rng.randint(0, 8)), y(rng.randint(0, 2))
        points.append((lon, lat))
    return points


def test_bulk_agrees_with_an_independent_check(square_city):
    points = seeded_points(3000, seed=20261126)
    expected = brute_force(points)
    got = [loc.cell.code if loc else None for loc in locate_points(points=points)]
    assert got == expected
    assert 0 < expected.count(None) < len(points)


def test_single_agrees_with_an_independent_check(square_city):
    points = seeded_points(300, seed=11)
    expected = brute_force(points)
    got = [
        (loc.cell.code if loc else None)
        for loc in (locate_point(lon=lon, lat=lat) for lon, lat in points)
    ]
    assert got == expected


def test_bulk_api_agrees_with_an_independent_check(logged_in_client, square_city):
    points = seeded_points(2000, seed=3)
    expected = brute_force(points)
    response = logged_in_client.post(URL, as_pairs(points), format="json")
    assert response.status_code == 200
    got = [
        result["location"]["cell"]["code"] if result["location"] else None
        for result in response.json()["results"]
    ]
    assert got == expected


@pytest.mark.django_db(transaction=True)
def test_bulk_leaves_the_session_jit_setting_alone():
    """Outside a transaction, the bulk statement's SET LOCAL ends with the statement."""
    SquareCity().build()
    with connection.cursor() as cursor:
        cursor.execute("SET jit = on")
        try:
            assert locate_points(points=[(114.005, 27.815)])[0].cell.code == "360502001001001"
            cursor.execute("SELECT current_setting('jit')")
            assert cursor.fetchone() == ("on",)
        finally:
            cursor.execute("RESET jit")
