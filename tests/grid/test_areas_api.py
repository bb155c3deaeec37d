"""Areas API: scope of list, detail and coverage; who may import; 413, 422 and 201 answers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from grid.models import Area, Role
from tests.factories import UserFactory, assign
from tests.grid.boundary_files import (
    STEP,
    X0,
    Y0,
    box_geometry,
    feature,
    hierarchy,
    shapefile_zip,
    write_geojson,
)

pytestmark = pytest.mark.django_db

LIST = reverse("grid-api:area-list")
IMPORT = reverse("grid-api:area-import")


def detail(code: str) -> str:
    return reverse("grid-api:area-detail", kwargs={"code": code})


def coverage(code: str) -> str:
    return reverse("grid-api:area-coverage", kwargs={"code": code})


def client_for(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def user_with(role: str, code: str):
    user = UserFactory()
    assign(user, Area.objects.current().get(code=code), role)
    return user


def all_codes(client, **params) -> list[str]:
    codes, url, query = [], LIST, params
    while url:
        answer = client.get(url, query)
        assert answer.status_code == 200, answer.content
        codes += [item["code"] for item in answer.json()["results"]]
        url, query = answer.json()["next"], None
    return codes


# --- anonymous -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", LIST),
        ("get", "/api/grid/areas/360502/"),
        ("get", "/api/grid/areas/360502/coverage"),
        ("post", IMPORT),
    ],
)
def test_anonymous_requests_are_refused(api_client, square_city, method, url):
    answer = getattr(api_client, method)(url)
    assert answer.status_code in (401, 403)


# --- the access matrix ---------------------------------------------------------------------

# role, assigned area, codes visible through list/detail/coverage, codes hidden from all three
MATRIX = [
    (Role.CITY_MANAGER, "3605", ["3605", "360502", "360521", "360521001002004"], []),
    (
        Role.DISTRICT_OFFICER,
        "360502",
        ["360502", "360502001", "360502001002003"],
        ["3605", "360521", "360521001", "360521001001001"],
    ),
    (
        Role.STREET_OFFICER,
        "360521001",
        ["360521001", "360521001002", "360521001002004"],
        ["3605", "360521", "360502", "360502001001"],
    ),
    (
        Role.COMMUNITY_STAFF,
        "360502001002",
        ["360502001002", "360502001002001"],
        ["360502001", "360502001001", "360502001001001"],
    ),
    (
        Role.GRID_INSPECTOR,
        "360502001001003",
        ["360502001001003"],
        ["360502001001", "360502001001004", "360521001001003"],
    ),
]


@pytest.mark.parametrize(("role", "assigned", "visible", "hidden"), MATRIX)
def test_access_matrix_for_list_detail_and_coverage(
    api_client, square_city, role, assigned, visible, hidden
):
    client = client_for(api_client, user_with(role, assigned))
    listed = set(all_codes(client))
    for code in visible:
        assert code in listed
        assert client.get(detail(code)).status_code == 200
        assert client.get(coverage(code)).status_code == 200
    for code in hidden:
        assert code not in listed
        assert client.get(detail(code)).status_code == 404
        assert client.get(coverage(code), {"recursive": "true"}).status_code == 404


def test_district_officer_of_360502_never_sees_360521(api_client, square_city):
    client = client_for(api_client, user_with(Role.DISTRICT_OFFICER, "360502"))
    assert not [code for code in all_codes(client) if code.startswith("360521")]
    assert all_codes(client, q="分宜") == []
    assert all_codes(client, q="360521") == []
    assert all_codes(client, parent="360521") == []
    assert all_codes(client, parent="3605") == ["360502"]
    for url in (detail("360521"), coverage("360521"), detail("360521001001001")):
        answer = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert answer.status_code == 404
        assert answer.json()["error"] == "not_found"
    # Outside the scope reads exactly like a code that does not exist.
    hidden = client.get(detail("360521"), HTTP_ACCEPT_LANGUAGE="en").json()
    missing = client.get(detail("360599"), HTTP_ACCEPT_LANGUAGE="en").json()
    assert hidden == {"error": "not_found", "detail": "there is no area “360521”"}
    assert missing == {"error": "not_found", "detail": "there is no area “360599”"}
    own = client.get(coverage("360502"), {"recursive": "true"}).json()
    assert not any(cell["code"].startswith("360521") for cell in own["unstaffed_cells"])


# --- list and detail -----------------------------------------------------------------------


def test_list_filters_and_paginates(api_client, square_city):
    client = client_for(api_client, UserFactory(is_superuser=True))
    answer = client.get(LIST, {"level": "district"}).json()
    assert answer["count"] == 2
    assert [item["code"] for item in answer["results"]] == ["360502", "360521"]
    assert answer["results"][0]["parent_code"] == "3605"
    assert "boundary" not in answer["results"][0]

    assert all_codes(client, level="网格", parent="360521001002") == [
        "360521001002001",
        "360521001002002",
        "360521001002003",
        "360521001002004",
    ]
    assert all_codes(client, q="钤东街道第2社区3") == ["360521001002003"]
    assert client.get(LIST, {"level": "province"}).status_code == 400

    first = client.get(LIST, {"page_size": 5}).json()
    assert first["count"] == 25 and first["next"] is not None


def test_list_leaves_out_retired_areas(api_client, square_city):
    client = client_for(api_client, UserFactory(is_superuser=True))
    Area.objects.filter(code="360521001002004").update(valid_to="2030-01-01")
    assert "360521001002004" not in all_codes(client, level=5)


def test_detail_has_geojson_boundary_ancestors_and_child_count(api_client, square_city):
    client = client_for(api_client, user_with(Role.DISTRICT_OFFICER, "360502"))
    body = client.get(detail("360502001002")).json()
    assert body["code"] == "360502001002" and body["level"] == 4
    assert body["boundary"]["type"] == "MultiPolygon"
    ring = body["boundary"]["coordinates"][0][0]
    assert min(x for x, _y in ring) == pytest.approx(X0 + 2 * STEP)
    assert body["child_count"] == 4
    # 3605 lies above the officer's district: not shown.
    assert [(a["code"], a["level"]) for a in body["ancestors"]] == [("360502", 2), ("360502001", 3)]
    assert body["parent_code"] == "360502001"

    admin = client_for(api_client, UserFactory(is_superuser=True))
    chain = admin.get(detail("360502001002001")).json()["ancestors"]
    assert [a["code"] for a in chain] == ["3605", "360502", "360502001", "360502001002"]
    assert chain[0]["name"] == "新余市"


def test_coverage_endpoint_reports_in_square_metres(api_client, square_city):
    square_city.cells["360521001002004"].delete()
    client = client_for(api_client, user_with(Role.DISTRICT_OFFICER, "360521"))
    flat = client.get(coverage("360521")).json()
    assert flat["gaps"] == [] and flat["parents_checked"] == 1
    deep = client.get(coverage("360521"), {"recursive": "true"}).json()
    assert [g["parent_code"] for g in deep["gaps"]] == ["360521001002"]
    assert deep["gaps"][0]["gap_m2"] == pytest.approx(1_091_967, rel=0.001)
    assert deep["has_problems"] and len(deep["unstaffed_cells"]) == 7
    assert client.get(coverage("360521"), {"tolerance": "-1"}).status_code == 400


# --- import --------------------------------------------------------------------------------


def upload(client, tmp_path, features, name="areas.geojson", **fields):
    path = write_geojson(tmp_path / name, features)
    with path.open("rb") as handle:
        return client.post(
            IMPORT, {"file": handle, **fields}, format="multipart", HTTP_ACCEPT_LANGUAGE="en"
        )


NEW_COMMUNITY = [
    feature("360502001003", "新社区", box_geometry(X0, Y0 - STEP, X0 + STEP, Y0)),
]


@pytest.mark.parametrize(
    ("role", "code"),
    [
        (Role.DISTRICT_OFFICER, "360502"),
        (Role.STREET_OFFICER, "360502001"),
        (Role.COMMUNITY_STAFF, "360502001001"),
        (Role.GRID_INSPECTOR, "360502001001001"),
    ],
)
def test_import_is_refused_to_everyone_but_city_managers(
    api_client, square_city, tmp_path, role, code
):
    client = client_for(api_client, user_with(role, code))
    assert upload(client, tmp_path, NEW_COMMUNITY).status_code == 403
    assert not Area.objects.filter(code="360502001003").exists()


def test_inactive_city_manager_assignment_does_not_count(api_client, square_city, tmp_path):
    manager = UserFactory()
    assignment = assign(manager, square_city.city, Role.CITY_MANAGER)
    assignment.active = False
    assignment.save(update_fields=["active"])
    assert upload(client_for(api_client, manager), tmp_path, NEW_COMMUNITY).status_code == 403


def test_city_manager_imports_and_gets_the_report(api_client, square_city, tmp_path):
    client = client_for(api_client, user_with(Role.CITY_MANAGER, "3605"))
    answer = upload(client, tmp_path, NEW_COMMUNITY, effective_date="2025-01-01")
    assert answer.status_code == 201, answer.content
    report = answer.json()
    assert (report["created"], report["replaced"], report["errors"]) == (1, 0, [])
    assert report["file"] == "areas.geojson"
    # The new community lies south of its street and has no cells yet.
    assert [w["code"] for w in report["warnings"]] == ["360502001003"]
    assert "outside its parent “360502001”" in report["warnings"][0]["reason"]
    created = Area.objects.current().get(code="360502001003")
    assert str(created.valid_from) == "2025-01-01"


def test_superuser_dry_run_writes_nothing(api_client, tmp_path):
    client = client_for(api_client, UserFactory(is_superuser=True))
    answer = upload(client, tmp_path, hierarchy(), dry_run="true")
    assert answer.status_code == 200
    assert answer.json()["created"] == 13 and answer.json()["dry_run"] is True
    assert Area.objects.count() == 0
    answer = upload(client, tmp_path, hierarchy(), name="again.geojson")
    assert answer.status_code == 201 and Area.objects.count() == 13


def test_zipped_shapefile_upload(api_client, tmp_path):
    client = client_for(api_client, UserFactory(is_superuser=True))
    archive = shapefile_zip(tmp_path, write_geojson(tmp_path / "source.geojson", hierarchy()))
    with archive.open("rb") as handle:
        answer = client.post(IMPORT, {"file": handle, "replace": "true"}, format="multipart")
    assert answer.status_code == 201, answer.content
    assert answer.json()["created"] == 13 and answer.json()["file"] == "areas.zip"
    assert Area.objects.get(code="360502001002").name == "城南第2社区"


def test_import_outside_the_city_managers_city_is_refused(api_client, square_city, tmp_path):
    client = client_for(api_client, user_with(Role.CITY_MANAGER, "3605"))
    features = [feature("3606", "鹰潭市", box_geometry(X0, Y0 - STEP, X0 + STEP, Y0))]
    answer = upload(client, tmp_path, features)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["reason"] == "area “3606” lies outside your areas"


def test_import_errors_are_all_listed_with_422(api_client, square_city, tmp_path):
    client = client_for(api_client, UserFactory(is_superuser=True))
    features = [
        feature("360502001003", "好", box_geometry(X0, Y0 - STEP, X0 + STEP, Y0)),
        feature("360502001004", "点", {"type": "Point", "coordinates": [114.0, 27.8]}),
        feature("36050200100", "短", box_geometry(X0, Y0 - STEP, X0 + STEP, Y0)),
        feature("360502", "有了", box_geometry(X0, Y0 - STEP, X0 + STEP, Y0)),
    ]
    before = Area.objects.count()
    answer = upload(client, tmp_path, features)
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid" and "nothing was imported" in body["detail"]
    assert [(e["index"], e["code"]) for e in body["errors"]] == [
        (2, "360502001004"),
        (3, "36050200100"),
        (4, "360502"),
    ]
    assert Area.objects.count() == before


def test_malformed_upload_is_422_with_a_message(api_client, tmp_path):
    client = client_for(api_client, UserFactory(is_superuser=True))
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [')
    with broken.open("rb") as handle:
        answer = client.post(
            IMPORT, {"file": handle}, format="multipart", HTTP_ACCEPT_LANGUAGE="en"
        )
    assert answer.status_code == 422
    assert "“broken.geojson” could not be read as GeoJSON" in answer.json()["detail"]


def test_oversized_upload_is_413(api_client, tmp_path, settings):
    settings.WANGGE_BOUNDARY_UPLOAD_MAX = 1000
    client = client_for(api_client, UserFactory(is_superuser=True))
    answer = upload(client, tmp_path, hierarchy())
    assert answer.status_code == 413
    assert "larger than the limit of 1,000 bytes" in answer.json()["detail"]
    assert Area.objects.count() == 0


def test_level_and_level_field_together_are_a_bad_request(api_client, tmp_path):
    client = client_for(api_client, UserFactory(is_superuser=True))
    answer = upload(client, tmp_path, hierarchy(), level="5", level_field="JB")
    assert answer.status_code == 400
    assert upload(client, tmp_path, hierarchy(), level="province").status_code == 400
