"""The map's GeoJSON endpoint: what each role sees, the shape of the answer, simplification."""

import json
import math
import re

import pytest
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon
from django.urls import reverse
from django.utils import timezone

from grid.models import Area, AreaLevel, Role
from tests.factories import UserFactory, assign

pytestmark = pytest.mark.django_db

URL = reverse("maps:areas-geojson")


def client_for(api_client, *assignments):
    """An API client logged in as a new user with `(area, role)` assignments."""
    user = UserFactory()
    for area, role in assignments:
        assign(user, area, role)
    api_client.force_authenticate(user)
    return api_client


def fetch(client, parent=None, status=200):
    params = {"parent": parent} if parent is not None else {}
    response = client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == status, response.content
    return json.loads(response.content)


def codes(body):
    return [feature["properties"]["code"] for feature in body["features"]]


def crumbs(body):
    return [crumb["code"] for crumb in body["breadcrumb"]]


def test_city_manager_opens_on_the_districts_of_the_city(square_city, api_client):
    client = client_for(api_client, (square_city.city, Role.CITY_MANAGER))
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Type"].startswith("application/geo+json")
    body = json.loads(response.content)
    assert body["type"] == "FeatureCollection"
    assert body["parent"]["code"] == "3605"
    assert body["parent"]["geometry"]["type"] == "MultiPolygon"
    assert body["breadcrumb"] == []
    assert body["count"] == 2
    assert codes(body) == ["360502", "360521"]
    first = body["features"][0]
    assert first["type"] == "Feature"
    assert first["id"] == "360502"
    assert first["properties"] == {
        "code": "360502",
        "name": "渝水区",
        "level": AreaLevel.DISTRICT,
        "level_label": "district",
        "child_count": 1,
    }
    assert first["geometry"]["type"] == "MultiPolygon"


def test_city_manager_drills_down_level_by_level(square_city, api_client):
    client = client_for(api_client, (square_city.city, Role.CITY_MANAGER))

    district = fetch(client, "360502")
    assert codes(district) == ["360502001"]
    assert crumbs(district) == ["360502"]
    assert district["features"][0]["properties"]["child_count"] == 2

    street = fetch(client, "360502001")
    assert codes(street) == ["360502001001", "360502001002"]
    assert crumbs(street) == ["360502", "360502001"]
    assert [f["properties"]["level_label"] for f in street["features"]] == ["community"] * 2

    community = fetch(client, "360502001001")
    assert codes(community) == [f"360502001001{n:03d}" for n in range(1, 5)]
    assert crumbs(community) == ["360502", "360502001", "360502001001"]
    assert {f["properties"]["child_count"] for f in community["features"]} == {0}
    assert {f["properties"]["level_label"] for f in community["features"]} == {"grid cell"}

    cell = fetch(client, "360502001001001")
    assert cell["count"] == 0 and cell["features"] == []
    assert cell["parent"]["code"] == "360502001001001"


def test_district_officer_sees_only_their_district(square_city, api_client):
    client = client_for(api_client, (square_city.districts["360502"], Role.DISTRICT_OFFICER))

    opening = fetch(client)
    assert opening["parent"]["code"] == "360502"
    assert codes(opening) == ["360502001"]

    own = fetch(client, "360502")
    assert codes(own) == ["360502001"] and crumbs(own) == []
    assert crumbs(fetch(client, "360502001")) == ["360502001"]

    for foreign in ("360521", "360521001", "360521001001", "360521001001001", "3605"):
        body = fetch(client, foreign, status=404)
        assert body["error"] == "not_found"
        assert foreign in body["detail"]


def test_street_officer_sees_the_communities_of_their_street(square_city, api_client):
    client = client_for(api_client, (square_city.streets["360521001"], Role.STREET_OFFICER))
    opening = fetch(client)
    assert opening["parent"]["code"] == "360521001"
    assert codes(opening) == ["360521001001", "360521001002"]
    fetch(client, "360502001", status=404)


def test_inspector_sees_exactly_their_cells(square_city, api_client):
    client = client_for(
        api_client,
        (square_city.cells["360502001001003"], Role.GRID_INSPECTOR),
        (square_city.cells["360521001002004"], Role.GRID_INSPECTOR),
    )
    opening = fetch(client)
    assert opening["parent"] is None
    assert codes(opening) == ["360502001001003", "360521001002004"]
    assert {f["properties"]["level"] for f in opening["features"]} == {AreaLevel.GRID}
    fetch(client, "360502001001", status=404)
    fetch(client, "360502001001004", status=404)
    assert fetch(client, "360502001001003")["features"] == []


def test_an_inspector_of_one_cell_opens_on_that_cell(square_city, api_client):
    client = client_for(api_client, (square_city.cells["360502001002001"], Role.GRID_INSPECTOR))
    opening = fetch(client)
    assert opening["parent"] is None
    assert codes(opening) == ["360502001002001"]


def test_several_areas_open_on_the_areas_themselves(square_city, api_client):
    client = client_for(
        api_client,
        (square_city.streets["360502001"], Role.STREET_OFFICER),
        (square_city.streets["360521001"], Role.STREET_OFFICER),
    )
    opening = fetch(client)
    assert opening["parent"] is None
    assert codes(opening) == ["360502001", "360521001"]
    assert crumbs(fetch(client, "360521001001")) == ["360521001", "360521001001"]


def test_superuser_opens_on_the_districts_of_the_one_city(square_city, api_client):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    api_client.force_authenticate(admin)
    opening = fetch(api_client)
    assert opening["parent"]["code"] == "3605"
    assert codes(opening) == ["360502", "360521"]
    assert crumbs(fetch(api_client, "360521001")) == ["360521", "360521001"]


def test_a_user_without_areas_sees_nothing(square_city, api_client):
    client = client_for(api_client)
    opening = fetch(client)
    assert opening["parent"] is None and opening["features"] == [] and opening["count"] == 0
    fetch(client, "3605", status=404)


def test_inactive_assignments_give_no_areas(square_city, api_client):
    user = UserFactory()
    assignment = assign(user, square_city.city, Role.CITY_MANAGER)
    assignment.active = False
    assignment.save(update_fields=["active"])
    api_client.force_authenticate(user)
    assert fetch(api_client)["features"] == []


def test_only_current_areas_are_shown_and_counted(square_city, api_client):
    today = timezone.localdate()
    Area.objects.filter(code="360502001001004").update(valid_to=today)
    client = client_for(api_client, (square_city.city, Role.CITY_MANAGER))

    street = fetch(client, "360502001")
    counts = {f["properties"]["code"]: f["properties"]["child_count"] for f in street["features"]}
    assert counts == {"360502001001": 3, "360502001002": 4}
    assert codes(fetch(client, "360502001001")) == [
        "360502001001001",
        "360502001001002",
        "360502001001003",
    ]
    fetch(client, "360502001001004", status=404)


def test_a_new_version_of_an_area_replaces_the_retired_one(square_city, api_client):
    """A changed boundary retires the old row and adds a current one with the same code:
    the map shows the new boundary once and still finds the children."""
    old = Area.objects.get(code="360502001")
    old.valid_to = timezone.localdate()
    old.save(update_fields=["valid_to"])
    new = Area.objects.create(
        code=old.code,
        name="城南街道（调整后）",
        level=old.level,
        parent=old.parent,
        boundary=old.boundary,
    )
    client = client_for(api_client, (square_city.city, Role.CITY_MANAGER))
    district = fetch(client, "360502")
    assert [f["properties"]["name"] for f in district["features"]] == [new.name]
    assert district["features"][0]["properties"]["child_count"] == 2
    assert codes(fetch(client, "360502001")) == ["360502001001", "360502001002"]


def _dense_ring(x0, y0, x1, y1, per_edge, wiggle):
    """A rectangle whose edges carry `per_edge` vertices each, zig-zagging by `wiggle`°."""
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    points = []
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1], strict=True):
        for i in range(per_edge):
            t = i / per_edge
            # Perpendicular wiggle inwards, so the ring never crosses itself.
            offset = wiggle * (i % 2)
            nx, ny = (by - ay), -(bx - ax)
            length = math.hypot(nx, ny)
            points.append(
                (
                    ax + (bx - ax) * t - offset * nx / length,
                    ay + (by - ay) * t - offset * ny / length,
                )
            )
    points.append(points[0])
    return points


@pytest.mark.parametrize(
    ("code", "wiggle"),
    [("360502001001", 0.00002), ("360502001001001", 0.000004)],
)
def test_boundaries_are_simplified_and_stay_valid(square_city, api_client, code, wiggle):
    area = Area.objects.get(code=code)
    x0, y0, x1, y1 = area.boundary.extent
    dense = MultiPolygon(Polygon(_dense_ring(x0, y0, x1, y1, 500, wiggle)), srid=4326)
    assert dense.valid and dense.num_coords > 2000
    Area.objects.filter(pk=area.pk).update(boundary=dense)

    client = client_for(api_client, (square_city.city, Role.CITY_MANAGER))
    body = fetch(client, code[:-3])
    feature = next(f for f in body["features"] if f["id"] == code)
    geometry = GEOSGeometry(json.dumps(feature["geometry"]), srid=4326)
    assert geometry.valid
    assert geometry.num_coords < 50
    assert abs(geometry.area - dense.area) / dense.area < 0.01
    decimals = re.findall(r"\.(\d+)", json.dumps(feature["geometry"]["coordinates"]))
    assert decimals and max(len(d) for d in decimals) <= 6


def test_a_malformed_parent_is_refused_with_a_reason(square_city, api_client):
    client = client_for(api_client, (square_city.city, Role.CITY_MANAGER))
    body = fetch(client, "36-05", status=422)
    assert body["error"] == "invalid"
    assert "parent" in body["detail"] and "36-05" in body["detail"]


def test_anonymous_requests_are_told_to_authenticate(square_city, api_client):
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_token_authentication_works_for_other_systems(square_city, api_client):
    from rest_framework.authtoken.models import Token

    user = UserFactory()
    assign(user, square_city.streets["360521001"], Role.STREET_OFFICER)
    token = Token.objects.create(user=user)
    response = api_client.get(URL, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert codes(json.loads(response.content)) == ["360521001001", "360521001002"]


def test_the_endpoint_is_in_the_openapi_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/maps/api/areas.geojson"]["get"]
    assert operation["operationId"] == "maps_areas_geojson"
    assert "parent" in [p["name"] for p in operation["parameters"]]
    assert {"200", "401", "404", "422"} <= set(operation["responses"])
    components = schema["components"]["schemas"]
    assert {"MapAreaCollection", "MapAreaFeature", "MapAreaProperties"} <= set(components)
