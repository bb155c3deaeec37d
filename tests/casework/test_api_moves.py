"""The move endpoints (POST /api/casework/cases/<number>/<move>): one endpoint per move of the
table, the case as it is after the move, and the refusals — 404 outside the reader's areas,
403 for a part that may not, 409 with the current state for a wrong or stale state, 422 naming
the wrong field. Cases of the workflow world (tests.fixtures.casework.workflow_case)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from casework.models import Incident, Status
from casework.transitions import MOVES
from tests.fixtures.casework import jpeg_bytes, workflow_case

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def as_user(world, name: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.user(name))
    return client


def move_url(case: Incident, move: str) -> str:
    return f"/api/casework/cases/{case.number}/{move}"


def jpeg(name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(), content_type="image/jpeg")


def test_one_endpoint_per_move_of_the_table():
    for name in MOVES:
        assert reverse(f"casework-api:case-{name}", kwargs={"number": "1"}) == (
            f"/api/casework/cases/1/{name}"
        )


def test_a_case_from_acceptance_to_closing_through_the_api(workflow_world, workflow_media):
    case = workflow_case(workflow_world)
    holder = as_user(workflow_world, "holder")

    accepted = holder.post(move_url(case, "accept"), {"expected_status": "reported"}, format="json")
    assert accepted.status_code == 200, accepted.content
    body = accepted.json()
    assert body["status"] == "accepted"
    assert [m["name"] for m in body["moves"]] == ["void", "register", "escalate", "merge"]
    assert body["history"][-1]["action"] == "accept"
    assert body["history"][-1]["actor"] == "wf-holder"

    registered = holder.post(
        move_url(case, "register"), {"expected_status": "accepted", "note": "属实"}, format="json"
    )
    assert registered.json()["status"] == "registered"
    assert registered.json()["history"][-1]["note"] == "属实"
    street = workflow_world.departments["street"]
    dispatched = holder.post(
        move_url(case, "dispatch"),
        {"expected_status": "registered", "department": street.pk},
        format="json",
    )
    assert dispatched.json()["status"] == "dispatched"
    assert dispatched.json()["department"]["id"] == street.pk

    handler = as_user(workflow_world, "handler")
    assert handler.post(move_url(case, "start"), {"expected_status": "dispatched"}).status_code == (
        200
    )
    handled = handler.post(
        move_url(case, "handle"),
        {"expected_status": "in_progress", "note": "已清理", "photos": [jpeg(), jpeg("b.jpg")]},
        format="multipart",
    )
    assert handled.status_code == 200, handled.content
    photos = handled.json()["photos"]
    assert [photo["stage"] for photo in photos] == ["handled", "handled"]
    picture = handler.get(photos[0]["url"])
    assert picture.status_code == 200 and picture["Content-Type"] == "image/jpeg"

    inspector = as_user(workflow_world, "inspector")
    checked = inspector.post(
        move_url(case, "check_pass"),
        {"expected_status": "handled", "photos": [jpeg()]},
        format="multipart",
    )
    assert checked.json()["status"] == "checked"
    assert [photo["stage"] for photo in checked.json()["photos"]][-1] == "check"
    closed = holder.post(move_url(case, "close"), {"expected_status": "checked"}, format="json")
    assert closed.json()["status"] == "closed"
    assert closed.json()["light"] == ""
    assert [event["action"] for event in closed.json()["history"]] == [
        "reported",
        "accept",
        "register",
        "dispatch",
        "start",
        "handle",
        "check_pass",
        "close",
    ]


def test_a_stale_expected_status_is_409_with_the_current_state(workflow_world):
    case = workflow_case(workflow_world, Status.ACCEPTED)
    answer = as_user(workflow_world, "holder").post(
        move_url(case, "register"), {"expected_status": "reported"}, format="json", **EN
    )
    assert answer.status_code == 409
    body = answer.json()
    assert body["error"] == "conflict"
    assert "is now accepted" in body["detail"]
    assert body["errors"]["status"] == "accepted"
    assert body["errors"]["status_label"] == "accepted"
    assert Incident.objects.get(pk=case.pk).status == Status.ACCEPTED


def test_a_move_the_state_does_not_allow_is_409_naming_it(workflow_world):
    case = workflow_case(workflow_world)
    answer = as_user(workflow_world, "holder").post(move_url(case, "close"), **EN)
    assert answer.status_code == 409
    assert answer.json()["errors"]["status"] == "reported"
    assert "reported" in answer.json()["detail"]


def test_a_part_that_may_not_is_403(workflow_world):
    case = workflow_case(workflow_world)
    answer = as_user(workflow_world, "handler").post(move_url(case, "accept"), **EN)
    assert answer.status_code == 403
    assert answer.json()["error"] == "forbidden"
    assert Incident.objects.get(pk=case.pk).status == Status.REPORTED


def test_a_case_outside_the_readers_areas_is_404_for_every_move(workflow_world):
    case = workflow_case(workflow_world, Status.IN_PROGRESS)
    client = as_user(workflow_world, "other-district")
    for name in MOVES:
        answer = client.post(move_url(case, name), {"reason": "x"}, format="json", **EN)
        assert answer.status_code == 404, name
        assert case.number in answer.json()["detail"]
    assert client.post("/api/casework/cases/2000000000000000/accept").status_code == 404
    assert Incident.objects.get(pk=case.pk).status == Status.IN_PROGRESS
    assert case.events.count() == 1


@pytest.mark.parametrize(
    ("status", "move", "data", "field"),
    [
        (Status.REPORTED, "void", {}, "reason"),
        (Status.REPORTED, "void", {"reason": "   "}, "reason"),
        (Status.IN_PROGRESS, "request_extension", {"amount": "2", "reason": "x"}, "unit"),
        (
            Status.IN_PROGRESS,
            "request_extension",
            {"amount": "-1", "unit": "days", "reason": "x"},
            "amount",
        ),
        (Status.IN_PROGRESS, "handle", {}, "photos"),
        (Status.REGISTERED, "merge", {"into": "1999000000000001"}, "into"),
        (Status.REGISTERED, "dispatch", {"department": "first"}, "department"),
        (Status.REPORTED, "accept", {"expected_status": "lost"}, "expected_status"),
    ],
)
def test_wrong_input_is_422_naming_the_field(workflow_world, status, move, data, field):
    case = workflow_case(workflow_world, status)
    who = "handler" if move in {"request_extension", "handle"} else "holder"
    answer = as_user(workflow_world, who).post(move_url(case, move), data, **EN)
    assert answer.status_code == 422, answer.content
    assert field in answer.json()["errors"] or field in answer.json()["detail"]
    assert Incident.objects.get(pk=case.pk).status == status


def test_a_photo_that_is_not_an_image_is_refused_by_content(workflow_world, workflow_media):
    case = workflow_case(workflow_world, Status.IN_PROGRESS)
    fake = SimpleUploadedFile("photo.jpg", b"%PDF-1.4 not a photo", content_type="image/jpeg")
    answer = as_user(workflow_world, "handler").post(
        move_url(case, "handle"), {"photos": [fake]}, format="multipart", **EN
    )
    assert answer.status_code == 422
    assert "photos" in answer.json()["errors"]
    assert Incident.objects.get(pk=case.pk).status == Status.IN_PROGRESS
    assert not case.photos.exists()


def test_merge_names_the_kept_case_by_its_number(workflow_world):
    kept = workflow_case(workflow_world, Status.REGISTERED)
    duplicate = workflow_case(workflow_world)
    answer = as_user(workflow_world, "holder").post(
        move_url(duplicate, "merge"), {"into": kept.number}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "closed"
    assert answer.json()["duplicates"]["merged_into"]["number"] == kept.number
    kept_body = as_user(workflow_world, "holder").get(f"/api/casework/cases/{kept.number}").json()
    assert [c["number"] for c in kept_body["duplicates"]["merged"]] == [duplicate.number]
    assert kept_body["history"][-1]["action"] == "merged_from"


def test_anonymous_moves_are_401(workflow_world):
    case = workflow_case(workflow_world)
    assert APIClient().post(move_url(case, "accept")).status_code == 401
