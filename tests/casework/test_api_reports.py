"""The report endpoint (POST /api/casework/reports): multipart with photos or JSON without,
201 with the case and its likely duplicates, 200 with created=false when the external id was
seen, 422 naming the wrong field, 403 outside the reporter's cells. Reports go through the real
report service on the report world (seeded catalogue, departments on several tiers)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from casework.models import Incident
from tests.fixtures.casework import REPORT_CELL, catalogue_category, jpeg_bytes, report_case

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
URL = "/api/casework/reports"


def as_user(world, name: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.user(name))
    return client


def report_body(world, **fields) -> dict:
    lon, lat = world.point()
    return {
        "category": catalogue_category("0102").pk,
        "lon": lon,
        "lat": lat,
        "description": "路边有一堆暴露垃圾",
        **fields,
    }


def test_an_inspector_reports_with_photos(report_world, media):
    photos = [
        SimpleUploadedFile("a.jpg", jpeg_bytes(), content_type="image/jpeg"),
        SimpleUploadedFile("b.jpg", jpeg_bytes(colour=(0, 90, 200)), content_type="image/jpeg"),
    ]
    answer = as_user(report_world, "inspector-a").post(
        URL,
        {**report_body(report_world, address="人民路12号"), "photos": photos},
        format="multipart",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["created"] is True
    assert body["duplicates"] == []
    case = body["case"]
    incident = Incident.objects.get(number=case["number"])
    assert case["status"] == "reported"
    assert case["source"] == "inspector"
    assert case["grid_cell"] == REPORT_CELL
    assert case["address"] == "人民路12号"
    assert case["reporter"] == "report-inspector-a"
    assert case["light"] == "green"
    assert [photo["stage"] for photo in case["photos"]] == ["report", "report"]
    assert incident.photos.count() == 2
    assert case["history"][0]["action"] == "reported"
    # The reporter may confirm the result later, but has nothing to do with a new report.
    assert case["moves"] == []


def test_a_second_report_nearby_names_the_first_as_likely_duplicate(report_world):
    first = report_case(report_world).incident
    answer = as_user(report_world, "inspector-a").post(
        URL, report_body(report_world, description="又一堆垃圾"), format="json"
    )
    assert answer.status_code == 201
    assert [row["number"] for row in answer.json()["duplicates"]] == [first.number]
    assert answer.json()["case"]["duplicates"]["likely"][0]["number"] == first.number


def test_the_same_external_id_returns_the_same_case(report_world):
    client = as_user(report_world, "inspector-a")
    body = report_body(report_world, external_id="phone-7f3a-0001")
    first = client.post(URL, body, format="json")
    again = client.post(URL, body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False
    assert again.json()["case"]["number"] == first.json()["case"]["number"]
    assert Incident.objects.filter(external_id="phone-7f3a-0001").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lon": "east"}, "lon"),
        ({"lat": 95}, "lat"),
        ({"description": ""}, "description"),
        ({"category": 999999}, "category"),
        ({"source": "rumour"}, "source"),
        ({"external_id": "x" * 81}, "external_id"),
    ],
)
def test_wrong_input_is_422_naming_the_field(report_world, change, field):
    answer = as_user(report_world, "inspector-a").post(
        URL, report_body(report_world, **change), format="json", **EN
    )
    assert answer.status_code == 422, answer.content
    assert field in answer.json()["errors"]
    assert not Incident.objects.exists()


def test_a_photo_that_is_not_an_image_is_refused(report_world, media):
    fake = SimpleUploadedFile("a.jpg", b"GIF89a not really", content_type="image/jpeg")
    answer = as_user(report_world, "inspector-a").post(
        URL, {**report_body(report_world), "photos": [fake]}, format="multipart", **EN
    )
    assert answer.status_code == 422
    assert "photos" in answer.json()["errors"]
    assert not Incident.objects.exists()


def test_an_inspector_may_not_report_outside_their_cells(report_world):
    lon, lat = report_world.point("360521001001001")
    answer = as_user(report_world, "inspector-a").post(
        URL, report_body(report_world, lon=lon, lat=lat), format="json", **EN
    )
    assert answer.status_code == 403
    assert "outside your grid cells" in answer.json()["detail"]


def test_a_city_manager_files_a_report_in_no_cell_into_the_unlocated_queue(report_world):
    answer = as_user(report_world, "city").post(
        URL, report_body(report_world, lon=113.95, lat=27.75), format="json"
    )
    assert answer.status_code == 201
    case = answer.json()["case"]
    assert case["unlocated"] is True and case["grid_cell"] is None
    assert case["source"] == "staff"
    assert case["holder_area"]["code"] == "3605"
    queue = as_user(report_world, "city").get("/api/casework/queue").json()["results"]
    assert case["number"] in [row["number"] for row in queue]
    district = as_user(report_world, "district-a").get("/api/casework/cases").json()["results"]
    assert case["number"] not in [row["number"] for row in district]


def test_anonymous_reports_are_401(report_world):
    assert APIClient().post(URL, report_body(report_world), format="json").status_code == 401
