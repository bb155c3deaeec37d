"""The access matrix: staff of community A cannot find, read, move or print the applications
of community B through any endpoint or page — answered exactly like something that does not
exist — while B's own staff and the street officer over both can."""

from __future__ import annotations

import pytest
from django.urls import reverse

from community.models import Complaint
from community.services import applications as services
from community.transitions import MOVES
from tests.fixtures.applications import build_counter_world
from tests.fixtures.community import make_resident

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(work_calendar):
    world = build_counter_world()
    staff_b = world.user("staff_b")
    world.resident_b = make_resident(community=world.counter_b, name="王五")
    world.app_b = world.receive(counter=world.counter_b, applicant=world.resident_b, actor=staff_b)
    services.application_accept(actor=staff_b, application_id=world.app_b.pk)
    world.notice_b = world.app_b.notices.get()
    world.complaint_b = services.complaint_register(
        actor=staff_b, application_id=world.app_b.pk, content="态度差"
    )
    world.app_a = world.receive()
    return world


def api_urls(world) -> list[tuple[str, str]]:
    pk = world.app_b.pk
    urls = [
        ("get", reverse("community-api:application-detail", kwargs={"pk": pk})),
        ("get", reverse("community-api:application-notices", kwargs={"pk": pk})),
        ("get", reverse("community-api:application-complaints", kwargs={"pk": pk})),
        ("post", reverse("community-api:application-complaints", kwargs={"pk": pk})),
        ("get", reverse("community-api:application-notice", kwargs={"pk": world.notice_b.pk})),
        (
            "post",
            reverse(
                "community-api:application-complaint-resolve",
                kwargs={"pk": world.complaint_b.pk},
            ),
        ),
        (
            "get",
            reverse("community-api:application-counter-queue", kwargs={"code": "360502001002"}),
        ),
        ("get", reverse("community-api:application-indicators", kwargs={"code": "360502001002"})),
    ]
    urls += [
        ("post", reverse(f"community-api:application-{name.replace('_', '-')}", kwargs={"pk": pk}))
        for name in MOVES
    ]
    return urls


BODY = {
    "reason": "x",
    "content": "x",
    "substantiated": True,
    "rating": 5,
    "supplied": [1],
    "delivery": "pickup",
}
QUERY = {"date_from": "2025-01-01", "date_to": "2025-12-31"}


def test_staff_of_a_get_404_from_every_endpoint_about_b(world, api_client):
    api_client.force_authenticate(world.user("staff_a"))
    for method, url in api_urls(world):
        if method == "get":
            answer = api_client.get(url, QUERY)
        else:
            answer = api_client.post(url, BODY, format="json")
        assert answer.status_code == 404, (method, url, answer.status_code)
    world.app_b.refresh_from_db()
    assert world.app_b.status == "accepted"
    assert world.app_b.events.count() == 3
    assert Complaint.objects.filter(application=world.app_b).count() == 1


def test_staff_of_a_cannot_find_b_in_lists(world, api_client):
    api_client.force_authenticate(world.user("staff_a"))
    listed = api_client.get(reverse("community-api:application-list")).json()
    assert [row["number"] for row in listed["results"]] == [world.app_a.number]
    for query in (
        {"counter": "360502001002"},
        {"counter": "3605"},
        {"status": "accepted"},
        {"item": world.decide_item.implementation_code},
    ):
        numbers = [
            row["number"]
            for row in api_client.get(reverse("community-api:application-list"), query).json()[
                "results"
            ]
        ]
        assert world.app_b.number not in numbers, query
    review = api_client.get(reverse("community-api:application-review-queue")).json()
    assert review["results"] == []


def test_staff_of_a_cannot_receive_for_b_or_at_b(world, api_client):
    api_client.force_authenticate(world.user("staff_a"))
    url = reverse("community-api:application-receive")
    item = world.decide_item.implementation_code
    for body in (
        {"counter": "360502001002", "applicant": world.applicant.pk, "item": item},
        {"counter": "360502001001", "applicant": world.resident_b.pk, "item": item},
    ):
        assert api_client.post(url, body, format="json").status_code == 404, body
    ok = api_client.post(
        url,
        {"counter": "360502001001", "applicant": world.applicant.pk, "item": item},
        format="json",
    )
    assert ok.status_code == 201


def test_staff_of_a_get_404_from_every_page_about_b(world, client):
    client.force_login(world.user("staff_a"))
    pk = world.app_b.pk
    for url in (
        reverse("community:counter-queue", kwargs={"code": "360502001002"}),
        reverse("community:counter-receive", kwargs={"code": "360502001002"}),
        reverse("community:counter-application", kwargs={"pk": pk}),
        reverse("community:counter-notice-print", kwargs={"pk": world.notice_b.pk}),
    ):
        assert client.get(url).status_code == 404, url
    for name in MOVES:
        url = reverse("community:counter-move", kwargs={"pk": pk, "move": name})
        assert client.post(url, BODY).status_code == 404, url
    # Picking B's resident on A's receipt page, by id in the URL or by name in the form.
    receive = reverse("community:counter-receive", kwargs={"code": "360502001001"})
    assert client.get(receive, {"resident": world.resident_b.pk}).status_code == 404
    found = client.post(receive, {"action": "find", "name": "王五"})
    assert found.status_code == 200
    assert f'data-resident="{world.resident_b.pk}"' not in found.content.decode()
    queue = client.get(
        reverse("community:counter-queue", kwargs={"code": "360502001001"}), {"show": "all"}
    ).content.decode()
    assert world.app_b.number not in queue and world.app_a.number in queue
    world.app_b.refresh_from_db()
    assert world.app_b.status == "accepted"


def test_b_and_the_street_officer_see_b(world, api_client, client):
    for name in ("staff_b", "street_officer"):
        api_client.force_authenticate(world.user(name))
        detail = reverse("community-api:application-detail", kwargs={"pk": world.app_b.pk})
        assert api_client.get(detail).status_code == 200
        client.force_login(world.user(name))
        page = reverse("community:counter-notice-print", kwargs={"pk": world.notice_b.pk})
        assert client.get(page).status_code == 200
    listed = api_client.get(reverse("community-api:application-list")).json()
    assert {row["number"] for row in listed["results"]} == {
        world.app_a.number,
        world.app_b.number,
    }


def test_anonymous_gets_nothing(world, api_client, client):
    for method, url in api_urls(world):
        answer = getattr(api_client, method)(url)
        assert answer.status_code in (401, 403), url
    page = reverse("community:counter-application", kwargs={"pk": world.app_a.pk})
    answer = client.get(page)
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


def test_the_full_id_number_never_appears_in_answers(world, api_client, client):
    from community import pii

    full_id = pii.decrypt(world.applicant.id_number_ciphertext)
    api_client.force_authenticate(world.user("staff_a"))
    services.application_accept(actor=world.user("staff_a"), application_id=world.app_a.pk)
    detail = api_client.get(
        reverse("community-api:application-detail", kwargs={"pk": world.app_a.pk})
    )
    assert full_id not in detail.content.decode()
    assert world.applicant.id_number_masked in detail.content.decode()
    client.force_login(world.user("staff_a"))
    page = client.get(reverse("community:counter-application", kwargs={"pk": world.app_a.pk}))
    assert full_id not in page.content.decode()
