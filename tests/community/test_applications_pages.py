"""Counter pages through Django's test client: the receipt steps, moves as buttons with their
errors shown, printing after a notice, the review queue."""

from __future__ import annotations

import pytest
from django.urls import reverse

from community import pii
from community.models import Application, NoticeKind
from community.services import applications as services
from tests.fixtures.applications import build_counter_world
from tests.fixtures.community import make_delegation, make_item

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def world(work_calendar):
    return build_counter_world()


@pytest.fixture
def clerk(world, client):
    client.force_login(world.user("staff_a"))
    return client


def receive_url(world) -> str:
    return reverse("community:counter-receive", kwargs={"code": world.counter_a.code})


def test_counter_home_goes_straight_to_the_only_counter(world, clerk):
    answer = clerk.get(reverse("community:counter-home"))
    assert answer.status_code == 302
    assert answer["Location"] == reverse("community:counter-queue", kwargs={"code": "360502001001"})


def test_find_the_applicant_by_full_id_number_in_the_post_body(world, clerk):
    full_id = pii.decrypt(world.applicant.id_number_ciphertext)
    answer = clerk.post(receive_url(world), {"action": "find", "id_number": full_id}, **EN)
    html = answer.content.decode()
    assert f'href="?resident={world.applicant.pk}"' in html
    assert world.applicant.id_number_masked in html
    assert full_id not in html
    wrong = full_id[:17] + ("0" if full_id[17] != "0" else "1")
    html = clerk.post(receive_url(world), {"action": "find", "id_number": wrong}, **EN)
    assert "check character" in html.content.decode()
    by_name = clerk.post(receive_url(world), {"action": "find", "name": "李"}, **EN).content
    assert f'data-resident="{world.applicant.pk}"'.encode() in by_name


def test_items_are_only_those_the_counter_may_take(world, clerk):
    elsewhere = make_item(code="TEST-B-ONLY", name="仅B社区事项")
    make_delegation(item=elsewhere, counter=world.counter_b)
    html = clerk.get(receive_url(world), {"resident": world.applicant.pk}, **EN).content.decode()
    assert 'data-item="TEST-DECIDE"' in html and 'data-item="TEST-FORWARD"' in html
    assert "TEST-B-ONLY" not in html
    assert "decide on the spot" in html and "accept and forward" in html
    searched = clerk.get(
        receive_url(world), {"resident": world.applicant.pk, "q": "低保"}
    ).content.decode()
    assert 'data-item="TEST-FORWARD"' in searched and 'data-item="TEST-DECIDE"' not in searched
    chosen = clerk.get(receive_url(world), {"resident": world.applicant.pk, "item": "TEST-B-ONLY"})
    assert chosen.status_code == 200
    assert 'id="receive-form"' not in chosen.content.decode()


def test_receive_through_the_page_then_correction_prints_the_notice(world, clerk):
    item = world.forward_item
    first, second = world.requirement_ids(item)
    page = clerk.get(
        receive_url(world), {"resident": world.applicant.pk, "item": item.implementation_code}
    ).content.decode()
    assert f'name="material" value="{first}"' in page
    answer = clerk.post(
        receive_url(world),
        {
            "action": "receive",
            "resident": world.applicant.pk,
            "item": item.implementation_code,
            "material": [str(first)],
            "channel": "counter",
            "delivery": "grid_worker",
        },
    )
    application = Application.objects.get()
    assert answer["Location"] == reverse(
        "community:counter-application", kwargs={"pk": application.pk}
    )
    assert application.delivery == "grid_worker"
    html = clerk.get(answer["Location"], **EN).content.decode()
    assert 'data-move="request_correction"' in html
    # Acceptance is offered but disabled while something required is missing.
    assert "Required materials are missing" in html
    move = reverse(
        "community:counter-move", kwargs={"pk": application.pk, "move": "request_correction"}
    )
    answer = clerk.post(move, {"status": "received", "print": "on"})
    notice = application.notices.get(kind=NoticeKind.CORRECTION)
    assert answer["Location"] == reverse("community:counter-notice-print", kwargs={"pk": notice.pk})
    supply = reverse(
        "community:counter-move", kwargs={"pk": application.pk, "move": "supply_materials"}
    )
    clerk.post(supply, {"status": "correction", "material": [str(second)]})
    application.refresh_from_db()
    assert application.status == "received"


def test_errors_of_a_move_come_back_as_a_message(world, clerk):
    application = world.receive(world.forward_item, complete=False)
    accept = reverse("community:counter-move", kwargs={"pk": application.pk, "move": "accept"})
    answer = clerk.post(accept, {"status": "received"}, follow=True, **EN)
    assert "cannot accept: missing 居民身份证、户口簿" in answer.content.decode()
    stale = clerk.post(accept, {"status": "accepted"}, follow=True, **EN)
    assert "is now received" in stale.content.decode()
    refuse = reverse("community:counter-move", kwargs={"pk": application.pk, "move": "refuse"})
    empty = clerk.post(refuse, {"status": "received", "reason": ""}, follow=True, **EN)
    assert "give the reason" in empty.content.decode()
    assert (
        clerk.post(
            reverse("community:counter-move", kwargs={"pk": application.pk, "move": "fly"})
        ).status_code
        == 404
    )
    assert clerk.get(accept).status_code == 405


def test_the_application_page_shows_moves_history_and_keys(world, clerk):
    application = world.receive(world.decide_item)
    html = clerk.get(
        reverse("community:counter-application", kwargs={"pk": application.pk}), **EN
    ).content.decode()
    assert 'accesskey="a"' in html
    assert 'data-action="receive"' in html
    assert 'data-light="green"' in html
    services.application_accept(actor=world.user("staff_a"), application_id=application.pk)
    html = clerk.get(
        reverse("community:counter-application", kwargs={"pk": application.pk}), **EN
    ).content.decode()
    for move in ("approve_on_spot", "deny_on_spot", "forward", "suspend"):
        assert f'data-move="{move}"' in html, move
    assert 'data-kind="acceptance"' in html


def test_queue_filters_by_light(world, clerk):
    application = world.receive()
    queue = reverse("community:counter-queue", kwargs={"code": world.counter_a.code})
    assert application.number in clerk.get(queue, {"light": "green"}).content.decode()
    assert application.number not in clerk.get(queue, {"light": "red"}).content.decode()
    assert 'accesskey="n"' in clerk.get(queue).content.decode()


def test_review_queue_approves_and_denies(world, client):
    clerk = world.user("staff_a")
    apps = []
    for _ in range(2):
        application = world.receive(world.forward_item)
        services.application_accept(actor=clerk, application_id=application.pk)
        services.application_forward(actor=clerk, application_id=application.pk)
        apps.append(application)
    client.force_login(world.user("handler"))
    review = reverse("community:counter-review")
    html = client.get(review).content.decode()
    assert all(f'data-number="{a.number}"' in html for a in apps)
    approve = reverse("community:counter-move", kwargs={"pk": apps[0].pk, "move": "approve"})
    answer = client.post(approve, {"status": "forwarded", "next": review})
    assert answer["Location"] == review
    deny = reverse("community:counter-move", kwargs={"pk": apps[1].pk, "move": "deny"})
    client.post(deny, {"status": "forwarded", "reason": "不符合条件", "next": review})
    statuses = dict(Application.objects.values_list("pk", "status"))
    assert (statuses[apps[0].pk], statuses[apps[1].pk]) == ("approved", "denied")
    assert f'data-number="{apps[0].number}"' not in client.get(review).content.decode()
    # A handler of another department sees an empty queue.
    client.force_login(world.user("other_handler"))
    assert "data-number=" not in client.get(review).content.decode()
