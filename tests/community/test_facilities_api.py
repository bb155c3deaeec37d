"""Facilities API: every endpoint, its answers (201, 400, 403, 404, 409, 413, 422), and the
access matrix — a district officer of 360502 cannot list, read, edit, change the state of or
import facilities of 360521 through any endpoint; inspectors only on their cells; department
handlers only for their department's facilities."""

from __future__ import annotations

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from community.models import Facility, FacilityState, FacilityStateChange
from grid.models import Role
from tests.factories import department
from tests.fixtures.community import assigned_user, cell_point, facility_category, make_facility

pytestmark = pytest.mark.django_db

LIST = reverse("community-api:facility-list")
GEOJSON = reverse("community-api:facility-geojson")
NEAR = reverse("community-api:facility-near")
DUE = reverse("community-api:facility-inspection-due")
IMPORT = reverse("community-api:facility-import")
CATEGORIES = reverse("community-api:facility-category-list")
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}

YUSHUI_CELL = "360502001001004"  # column 1, row 0: lon 114.01–114.02, lat 27.80–27.81
FENYI_CELL = "360521001001003"  # column 4, row 0: lon 114.04–114.05, lat 27.80–27.81


def detail(facility) -> str:
    return reverse("community-api:facility-detail", kwargs={"facility_id": facility.pk})


def state_url(facility) -> str:
    return reverse("community-api:facility-state", kwargs={"facility_id": facility.pk})


def inspection_url(facility) -> str:
    return reverse("community-api:facility-inspection", kwargs={"facility_id": facility.pk})


@pytest.fixture
def as_user(api_client):
    def login(user):
        api_client.force_authenticate(user)
        return api_client

    return login


@pytest.fixture
def facilities(square_city):
    """One facility in each district, same class."""
    return {
        "yushui": make_facility(cell=square_city.cells[YUSHUI_CELL], name="渝水井盖"),
        "fenyi": make_facility(cell=square_city.cells[FENYI_CELL], name="分宜井盖"),
    }


def listed_codes(client, url=LIST, **params) -> list[str]:
    codes, query = [], params
    while url:
        answer = client.get(url, query)
        assert answer.status_code == 200, answer.content
        body = answer.json()
        items = body["results"] if "results" in body else body["features"]
        codes += [item["code"] if "code" in item else item["properties"]["code"] for item in items]
        url, query = body["next"], None
    return codes


def csv_upload(text: str, name: str = "facilities.csv") -> io.BytesIO:
    upload = io.BytesIO(text.encode())
    upload.name = name
    return upload


# --- anonymous ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", LIST),
        ("post", LIST),
        ("get", GEOJSON),
        ("get", NEAR),
        ("get", DUE),
        ("post", IMPORT),
        ("get", CATEGORIES),
        ("get", "/api/community/facilities/1/"),
        ("patch", "/api/community/facilities/1/"),
        ("post", "/api/community/facilities/1/state"),
        ("post", "/api/community/facilities/1/inspection"),
    ],
)
def test_anonymous_requests_are_refused(api_client, method, url):
    assert getattr(api_client, method)(url).status_code in (401, 403)


# --- list, detail, register -----------------------------------------------------------------


def test_list_is_paginated_and_filtered(as_user, square_city, facilities):
    client = as_user(assigned_user("3605", Role.CITY_MANAGER))
    lamp = make_facility(
        cell=square_city.cells[YUSHUI_CELL],
        category=facility_category("0118"),
        state=FacilityState.DAMAGED,
    )
    answer = client.get(LIST, {"page_size": 2})
    assert answer.json()["count"] == 3
    assert len(answer.json()["results"]) == 2
    item = next(i for i in answer.json()["results"] if i["code"] == facilities["yushui"].code)
    assert item["grid_cell"] == YUSHUI_CELL
    assert (item["scheme"], item["category"], item["major_name"]) == (
        "GB/T 30428",
        "0101",
        "公用设施",
    )
    assert item["lon"] == pytest.approx(114.015)
    assert listed_codes(client, state="damaged") == [lamp.code]
    assert listed_codes(client, category="0118") == [lamp.code]
    assert listed_codes(client, area="360521") == [facilities["fenyi"].code]
    assert sorted(listed_codes(client, major="01")) == sorted(
        [facilities["yushui"].code, facilities["fenyi"].code, lamp.code]
    )
    assert client.get(LIST, {"state": "broken"}).status_code == 400
    assert client.get(LIST, {"area": "36x"}).status_code == 400


def test_detail_shows_the_state_history(as_user, facilities):
    client = as_user(assigned_user("360502", Role.DISTRICT_OFFICER))
    facility = facilities["yushui"]
    assert (
        client.post(state_url(facility), {"state": "damaged", "reason": "破裂"}).status_code == 200
    )
    answer = client.get(detail(facility))
    assert answer.status_code == 200
    body = answer.json()
    assert body["state"] == "damaged"
    assert body["grid_cell_name"].endswith("4号网格")
    assert [(h["from_state"], h["to_state"], h["reason"]) for h in body["history"]] == [
        ("intact", "damaged", "破裂")
    ]


def test_register_issues_a_code_and_answers_the_detail(as_user, square_city):
    client = as_user(assigned_user("360502", Role.DISTRICT_OFFICER))
    answer = client.post(
        LIST,
        {"category": "0118", "lon": 114.015, "lat": 27.805, "name": "路灯1", "state": "damaged"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["code"] == "3605020118000001"
    assert body["grid_cell"] == YUSHUI_CELL
    assert body["state"] == "damaged"
    five = client.post(
        LIST,
        {"category": "01001", "scheme": "GB/T 47678.5", "lon": 114.015, "lat": 27.805},
        format="json",
    )
    assert five.json()["code"] == "36050201001000001"


def test_register_refusals(as_user, square_city):
    client = as_user(assigned_user("360502", Role.DISTRICT_OFFICER))
    outside = client.post(
        LIST, {"category": "0101", "lon": 116.4, "lat": 39.9}, format="json", **EN
    )
    assert outside.status_code == 422
    assert "lon 116.4, lat 39.9" in outside.json()["detail"]
    wrong_code = client.post(
        LIST,
        {"category": "0101", "lon": 114.015, "lat": 27.805, "code": "3605210101000001"},
        format="json",
        **EN,
    )
    assert wrong_code.status_code == 422
    assert "county part 360521 is not 360502" in wrong_code.json()["errors"]["code"][0]
    unknown = client.post(LIST, {"category": "9999", "lon": 114.015, "lat": 27.805}, format="json")
    assert unknown.status_code == 400
    assert "category" in unknown.json()
    not_a_number = client.post(LIST, {"category": "0101", "lon": "NaN", "lat": 27.8}, format="json")
    assert not_a_number.status_code == 400
    in_fenyi = client.post(LIST, {"category": "0101", "lon": 114.045, "lat": 27.805}, format="json")
    assert in_fenyi.status_code == 404
    assert not Facility.objects.exists()


# --- update, state, inspection --------------------------------------------------------------


def test_update_with_a_stale_updated_at_gets_409_and_the_current_values(as_user, facilities):
    client = as_user(assigned_user("360502", Role.DISTRICT_OFFICER))
    facility = facilities["yushui"]
    read = client.get(detail(facility)).json()
    first = client.patch(
        detail(facility), {"updated_at": read["updated_at"], "name": "新名"}, format="json"
    )
    assert first.status_code == 200, first.content
    assert first.json()["name"] == "新名"
    stale = client.patch(
        detail(facility), {"updated_at": read["updated_at"], "name": "别名"}, format="json"
    )
    assert stale.status_code == 409
    assert stale.json()["errors"]["current"]["name"] == "新名"
    assert stale.json()["errors"]["current"]["updated_at"]
    fresh = first.json()["updated_at"]
    moved = client.patch(
        detail(facility),
        {"updated_at": fresh, "lon": 114.005, "lat": 27.815, "category": "0102", "code": None},
        format="json",
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["grid_cell"] == "360502001001001"
    assert moved.json()["code"] == "3605020102000001"
    half = client.patch(detail(facility), {"updated_at": fresh, "lon": 114.0}, format="json")
    assert half.status_code == 400


def test_state_and_inspection_endpoints(as_user, facilities):
    cell_inspector = assigned_user(YUSHUI_CELL, Role.GRID_INSPECTOR)
    client = as_user(cell_inspector)
    facility = facilities["yushui"]
    answer = client.post(
        state_url(facility),
        {"state": "occupied", "reason": "摊贩占用", "reference": "2026360502000007"},
        format="json",
    )
    assert answer.status_code == 200
    assert answer.json()["history"][-1]["reference"] == "2026360502000007"
    assert answer.json()["history"][-1]["changed_by"] == cell_inspector.username
    again = client.post(state_url(facility), {"state": "occupied", "reason": "x"}, format="json")
    assert again.status_code == 409
    assert client.post(state_url(facility), {"state": "x", "reason": "x"}).status_code == 400
    today = timezone.localdate()
    inspected = client.post(inspection_url(facility), {}, format="json")
    assert inspected.status_code == 200
    assert inspected.json()["last_inspected_on"] == today.isoformat()
    earlier = client.post(inspection_url(facility), {"inspected_on": "2026-01-01"}, format="json")
    assert earlier.status_code == 409
    future = client.post(
        inspection_url(facility),
        {"inspected_on": (today + datetime.timedelta(days=2)).isoformat()},
        format="json",
    )
    assert future.status_code == 422


# --- near, map, patrol list, categories -----------------------------------------------------


def test_near_answers_in_metres_nearest_first(as_user, square_city):
    cell = square_city.cells[YUSHUI_CELL]
    near = make_facility(cell=cell, location=cell_point(cell, 0.0005, 0.0))
    far = make_facility(cell=cell, location=cell_point(cell, 0.0, 0.003))
    make_facility(cell=cell, location=cell_point(cell, 0.0, -0.0049))
    client = as_user(assigned_user("360502", Role.DISTRICT_OFFICER))
    answer = client.get(NEAR, {"lon": 114.015, "lat": 27.805, "radius": 400})
    assert answer.status_code == 200
    body = answer.json()
    assert [item["code"] for item in body["results"]] == [near.code, far.code]
    # 0.0005° of longitude at 27.8°N is ~49 m, 0.003° of latitude ~333 m
    assert body["results"][0]["distance_m"] == pytest.approx(49.3, abs=0.5)
    assert body["results"][1]["distance_m"] == pytest.approx(332.6, abs=0.5)
    assert client.get(NEAR, {"lon": 114.015, "lat": 27.805, "radius": 5001}).status_code == 400
    assert client.get(NEAR, {"lon": 114.015, "lat": 95, "radius": 10}).status_code == 400
    assert client.get(NEAR, {"lon": 114.015, "lat": 27.805}).status_code == 400
    lamps = client.get(NEAR, {"lon": 114.015, "lat": 27.805, "radius": 400, "category": "0118"})
    assert lamps.json()["count"] == 0


def test_geojson_with_a_bbox(as_user, facilities):
    client = as_user(assigned_user("3605", Role.CITY_MANAGER))
    answer = client.get(GEOJSON, {"bbox": "114.0,27.8,114.03,27.82"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["type"] == "FeatureCollection"
    assert body["count"] == 1
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert feature["geometry"]["coordinates"] == pytest.approx([114.015, 27.805])
    assert feature["properties"]["code"] == facilities["yushui"].code
    assert len(client.get(GEOJSON).json()["features"]) == 2
    assert client.get(GEOJSON, {"bbox": "114.1,27.8,114.0,27.82"}).status_code == 422
    assert client.get(GEOJSON, {"bbox": "a,b,c"}).status_code == 400


def test_inspection_due_and_categories(as_user, square_city):
    cell = square_city.cells[YUSHUI_CELL]
    never = make_facility(cell=cell)
    make_facility(cell=cell, last_inspected_on=timezone.localdate())
    client = as_user(assigned_user("360502", Role.DISTRICT_OFFICER))
    assert listed_codes(client, DUE, days=7) == [never.code]
    categories = client.get(CATEGORIES, {"scheme": "GB/T 47678.5"}).json()["results"]
    assert {c["code"] for c in categories} >= {"01001", "01018"}
    assert {c["scheme"] for c in categories} == {"GB/T 47678.5"}


# --- import ---------------------------------------------------------------------------------

GOOD_CSV = "小类代码,名称,经度,纬度,状态,最近巡查日期\n0101,井盖,114.015,27.805,破损,2026-03-01\n"


def test_import_upload(as_user, square_city):
    client = as_user(assigned_user("360502", Role.DISTRICT_OFFICER))
    answer = client.post(IMPORT, {"file": csv_upload(GOOD_CSV)}, format="multipart")
    assert answer.status_code == 201, answer.content
    assert answer.json()["created"] == 1
    facility = Facility.objects.get()
    assert (facility.code, facility.state) == ("3605020101000001", "damaged")
    assert facility.last_inspected_on == datetime.date(2026, 3, 1)


def test_import_upload_problems_are_listed_and_nothing_is_written(as_user, square_city):
    client = as_user(assigned_user("360502", Role.DISTRICT_OFFICER))
    text = GOOD_CSV + "0101,分宜,114.045,27.805,完好,\n0101,坏,114.015,27.805,碎了,2026-02-30\n"
    answer = client.post(IMPORT, {"file": csv_upload(text)}, format="multipart", **EN)
    assert answer.status_code == 422
    problems = {(p["row"], p["column"]) for p in answer.json()["errors"]}
    assert problems == {(3, "经度, 纬度"), (4, "状态"), (4, "最近巡查日期")}
    assert not Facility.objects.exists()
    partial = client.post(
        IMPORT, {"file": csv_upload(text), "partial": "true"}, format="multipart", **EN
    )
    assert partial.status_code == 201
    assert (partial.json()["created"], partial.json()["skipped"]) == (1, 2)
    assert len(partial.json()["problems"]) == 3


def test_import_upload_limits(as_user, square_city, settings):
    client = as_user(assigned_user("360502", Role.DISTRICT_OFFICER))
    settings.WANGGE_FACILITY_UPLOAD_MAX = 100
    big = GOOD_CSV + "0101,井盖,114.015,27.805,完好,2026-03-01\n" * 5
    assert client.post(IMPORT, {"file": csv_upload(big)}, format="multipart").status_code == 413
    settings.WANGGE_FACILITY_UPLOAD_MAX = 1024 * 1024
    broken = client.post(
        IMPORT, {"file": csv_upload("PK\x03\x04junk", "f.xlsx")}, format="multipart", **EN
    )
    assert broken.status_code == 422
    assert "XLSX" in broken.json()["detail"]
    no_columns = client.post(
        IMPORT, {"file": csv_upload("名称,备注\n井盖,x\n")}, format="multipart", **EN
    )
    assert no_columns.status_code == 422
    assert {p["column"] for p in no_columns.json()["errors"]} == {"category", "lon", "lat"}
    wrong_kind = client.post(
        IMPORT, {"file": csv_upload("x", "facilities.pdf")}, format="multipart", **EN
    )
    assert wrong_kind.status_code == 422
    staff = as_user(assigned_user("360502001001", Role.COMMUNITY_STAFF))
    assert staff.post(IMPORT, {"file": csv_upload(GOOD_CSV)}, format="multipart").status_code == 403


# --- the access matrix ----------------------------------------------------------------------


def test_a_district_officer_reaches_nothing_of_the_other_district(as_user, facilities):
    client = as_user(assigned_user("360502", Role.DISTRICT_OFFICER))
    mine, theirs = facilities["yushui"], facilities["fenyi"]
    assert listed_codes(client) == [mine.code]
    assert listed_codes(client, area="360521") == []
    assert listed_codes(client, GEOJSON) == [mine.code]
    assert listed_codes(client, DUE, days=0) == [mine.code]
    near = client.get(NEAR, {"lon": 114.03, "lat": 27.805, "radius": 5000}).json()
    assert [item["code"] for item in near["results"]] == [mine.code]
    stamp = theirs.updated_at.isoformat()
    assert client.get(detail(theirs)).status_code == 404
    assert client.patch(detail(theirs), {"updated_at": stamp, "name": "x"}).status_code == 404
    assert client.post(state_url(theirs), {"state": "lost", "reason": "x"}).status_code == 404
    assert client.post(inspection_url(theirs), {}).status_code == 404
    # nor move one of theirs in, nor one of theirs out
    moved_out = client.patch(
        detail(mine), {"updated_at": mine.updated_at.isoformat(), "lon": 114.045, "lat": 27.805}
    )
    assert moved_out.status_code == 404
    upload = csv_upload("小类代码,经度,纬度\n0101,114.045,27.805\n")
    imported = client.post(IMPORT, {"file": upload}, format="multipart", **EN)
    assert imported.status_code == 422
    assert "outside your areas" in imported.json()["errors"][0]["reason"]
    theirs.refresh_from_db()
    assert (theirs.name, theirs.state, theirs.last_inspected_on) == ("分宜井盖", "intact", None)
    assert not FacilityStateChange.objects.exists()
    assert Facility.objects.count() == 2


def test_an_inspector_only_on_their_cells(as_user, square_city, facilities):
    inspector = assigned_user(YUSHUI_CELL, Role.GRID_INSPECTOR)
    client = as_user(inspector)
    mine = facilities["yushui"]
    neighbour = make_facility(cell=square_city.cells["360502001001003"])
    assert listed_codes(client) == [mine.code]
    assert client.post(state_url(mine), {"state": "lost", "reason": "被盗"}).status_code == 200
    assert client.post(inspection_url(mine), {}).status_code == 200
    assert client.get(detail(neighbour)).status_code == 404
    assert client.post(state_url(neighbour), {"state": "lost", "reason": "x"}).status_code == 404
    assert client.post(inspection_url(neighbour), {}).status_code == 404
    mine.refresh_from_db()
    edit = client.patch(detail(mine), {"updated_at": mine.updated_at.isoformat(), "name": "x"})
    assert edit.status_code == 403
    register = client.post(LIST, {"category": "0101", "lon": 114.015, "lat": 27.805})
    assert register.status_code == 403
    assert (
        client.post(IMPORT, {"file": csv_upload(GOOD_CSV)}, format="multipart").status_code == 403
    )


def test_department_handlers_act_for_their_department(as_user, square_city):
    cell = square_city.cells[YUSHUI_CELL]
    owner = department(square_city.districts["360502"], "渝水区城管局")
    other = department(square_city.districts["360502"], "渝水区供电公司", "power")
    owned = make_facility(cell=cell, owner_department=owner)
    foreign = make_facility(cell=cell, owner_department=other)
    client = as_user(assigned_user("360502", Role.DEPARTMENT_HANDLER, owner))
    assert sorted(listed_codes(client)) == sorted([owned.code, foreign.code])
    assert sorted(listed_codes(client, department=owner.pk)) == [owned.code]
    assert client.post(state_url(owned), {"state": "damaged", "reason": "x"}).status_code == 200
    owned.refresh_from_db()
    edit = client.patch(detail(owned), {"updated_at": owned.updated_at.isoformat(), "name": "甲"})
    assert edit.status_code == 200
    assert client.post(state_url(foreign), {"state": "damaged", "reason": "x"}).status_code == 403
    foreign_edit = client.patch(
        detail(foreign), {"updated_at": foreign.updated_at.isoformat(), "name": "乙"}
    )
    assert foreign_edit.status_code == 403
    registered = client.post(
        LIST,
        {"category": "0101", "lon": 114.015, "lat": 27.805, "owner_department": owner.pk},
        format="json",
    )
    assert registered.status_code == 201
    unowned = client.post(LIST, {"category": "0101", "lon": 114.015, "lat": 27.805}, format="json")
    assert unowned.status_code == 403
    upload = csv_upload(
        f"小类代码,经度,纬度,权属部门\n0101,114.015,27.805,{owner.name}\n"
        f"0101,114.015,27.805,{other.pk}\n"
    )
    imported = client.post(IMPORT, {"file": upload}, format="multipart", **EN)
    assert imported.status_code == 422
    assert [(p["row"], p["column"]) for p in imported.json()["errors"]] == [(3, "经度, 纬度")]
    assert "owner department" in imported.json()["errors"][0]["reason"]


def test_import_upload_of_a_workbook_spooled_to_disk(as_user, square_city, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10  # the upload goes to a temporary file
    workbook = Workbook()
    workbook.active.append(["小类代码", "名称", "经度", "纬度", "状态"])
    workbook.active.append(["0118", "路灯", 114.015, 27.805, "占用"])
    data = io.BytesIO()
    workbook.save(data)
    data.seek(0)
    data.name = "路灯.xlsx"
    client = as_user(assigned_user("360502", Role.DISTRICT_OFFICER))
    answer = client.post(IMPORT, {"file": data}, format="multipart")
    assert answer.status_code == 201, answer.content
    assert answer.json()["file"] == "路灯.xlsx"
    facility = Facility.objects.get()
    assert (facility.code, facility.state) == ("3605020118000001", "occupied")
