"""Photos added to one's own report after it was filed (POST /api/casework/cases/<number>/photos):
what an inspector's phone sends once batch intake has taken its queued reports, which carry no
photos. The reporter may, until the case is dispatched; others who see the case get 403, those
who do not 404; a refused file stores nothing and writes no history."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from casework.models import Incident, IncidentEvent, IncidentPhoto, Status
from casework.services.report import CREATED, incidents_report_batch
from tests.fixtures.casework import catalogue_category, jpeg_bytes

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def as_user(world, name: str | None) -> APIClient:
    client = APIClient()
    if name is not None:
        client.force_authenticate(world.user(name))
    return client


def batch_filed(world) -> Incident:
    """A report filed through batch intake by inspector-a (no photos)."""
    lon, lat = world.point()
    [outcome] = incidents_report_batch(
        actor=world.user("inspector-a"),
        reports=[
            {
                "source": "inspector",
                "category": catalogue_category("0102").pk,
                "lon": lon,
                "lat": lat,
                "description": "路边有一堆暴露垃圾",
                "external_id": "phone-7-0001",
            }
        ],
    )
    assert outcome.status == CREATED
    return outcome.incident


def photos(count: int = 2) -> list:
    return [
        SimpleUploadedFile(f"{i}.jpg", jpeg_bytes(colour=(40 * i, 90, 200)), "image/jpeg")
        for i in range(count)
    ]


def post_photos(client: APIClient, incident: Incident, files: list):
    return client.post(
        f"/api/casework/cases/{incident.number}/photos",
        {"photos": files},
        format="multipart",
        **EN,
    )


def test_the_reporter_adds_photos_to_a_batch_filed_report(report_world, media):
    incident = batch_filed(report_world)
    client = as_user(report_world, "inspector-a")
    answer = post_photos(client, incident, photos(2))
    assert answer.status_code == 201, answer.content
    case = answer.json()
    assert [photo["stage"] for photo in case["photos"]] == ["report", "report"]
    assert [event["action"] for event in case["history"]] == ["reported", "photos_added"]
    event = IncidentEvent.objects.get(incident=incident, action="photos_added")
    assert (event.actor, event.role, event.data) == (
        report_world.user("inspector-a"),
        IncidentEvent.objects.get(incident=incident, action="reported").role,
        {"photos": 2},
    )
    assert set(event.photos.values_list("pk", flat=True)) == set(
        incident.photos.values_list("pk", flat=True)
    )
    # The reporter may see what was stored; the status did not change.
    photo = incident.photos.first()
    assert client.get(f"/api/casework/photos/{photo.pk}").status_code == 200
    incident.refresh_from_db()
    assert incident.status == Status.REPORTED


@pytest.mark.parametrize(("reader", "status"), [("district-a", 403), ("district-b", 404)])
def test_only_the_reporter_may_add_photos(report_world, media, reader, status):
    incident = batch_filed(report_world)
    answer = post_photos(as_user(report_world, reader), incident, photos(1))
    assert answer.status_code == status, answer.content
    if status == 403:
        assert "only the reporter" in answer.json()["detail"]
    assert not IncidentPhoto.objects.exists()
    assert not IncidentEvent.objects.filter(action="photos_added").exists()


def test_anonymous_gets_401(report_world, media):
    incident = batch_filed(report_world)
    assert post_photos(as_user(report_world, None), incident, photos(1)).status_code == 401


def test_once_dispatched_the_report_is_settled(report_world, media):
    incident = batch_filed(report_world)
    Incident.objects.filter(pk=incident.pk).update(status=Status.DISPATCHED)
    answer = post_photos(as_user(report_world, "inspector-a"), incident, photos(1))
    assert answer.status_code == 409
    body = answer.json()
    assert "until it is dispatched" in body["detail"]
    assert body["errors"]["status"] == Status.DISPATCHED
    assert not IncidentPhoto.objects.exists()


@pytest.mark.parametrize(
    "files",
    [
        pytest.param([], id="none"),
        pytest.param(
            [SimpleUploadedFile("a.jpg", b"GIF89a not really", content_type="image/jpeg")],
            id="not-an-image",
        ),
        pytest.param(
            [
                SimpleUploadedFile("a.jpg", jpeg_bytes(), content_type="image/jpeg"),
                SimpleUploadedFile("b.jpg", b"%PDF-1.4", content_type="image/jpeg"),
            ],
            id="one-good-one-bad",
        ),
    ],
)
def test_a_refused_upload_stores_nothing(report_world, media, files):
    incident = batch_filed(report_world)
    answer = post_photos(as_user(report_world, "inspector-a"), incident, files)
    assert answer.status_code == 422, answer.content
    assert "photos" in answer.json()["errors"]
    assert not IncidentPhoto.objects.exists()
    assert not IncidentEvent.objects.filter(action="photos_added").exists()
    assert not [path for path in (media / "media").rglob("*") if path.is_file()]
