"""In-app notifications: the services, the reads, the API under /api/grid/notifications/ and
the page /notifications/ with the header's unread badge. A person only ever sees and changes
their own notifications; anyone else's answers 404."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import override

from grid.errors import InvalidInput, NotFound
from grid.models import Notification
from grid.selectors.notifications import notification_list, notification_unread_count
from grid.services.notifications import (
    NotificationDraft,
    notification_create,
    notification_mark_read,
    notifications_create_many,
    notifications_mark_all_read,
)
from tests.factories import UserFactory

API = "/api/grid/notifications/"
PAGE = "/notifications/"


@pytest.fixture
def people(db):
    return UserFactory(username="alice"), UserFactory(username="bob")


def inbox(user, count: int, *, read: int = 0, kind: str = "case_light_red") -> list[Notification]:
    """`count` notifications to `user`, one minute apart (the last is the newest); the first
    `read` of them read."""
    start = timezone.now() - timedelta(hours=1)
    made = []
    for index in range(count):
        notification = notification_create(
            user=user,
            kind=kind,
            title=f"案件 {index}",
            body=f"第 {index} 条",
            link=f"/casework/cases/2026360502{index:06d}/",
        )
        Notification.objects.filter(pk=notification.pk).update(
            created_at=start + timedelta(minutes=index),
            read_at=start + timedelta(minutes=index, seconds=30) if index < read else None,
        )
        notification.refresh_from_db()
        made.append(notification)
    return made


# ---------------------------------------------------------------- services and selectors


def test_create_many_writes_in_bulk(people, django_assert_max_num_queries):
    alice, bob = people
    drafts = [
        NotificationDraft(user_id=user.pk, kind="test", title=f"t{n}", link="/x/")
        for n in range(30)
        for user in (alice, bob)
    ]

    with django_assert_max_num_queries(3):
        written = notifications_create_many(drafts=drafts)

    assert written == 60
    assert Notification.objects.filter(user=alice).count() == 30
    assert notification_unread_count(user=bob) == 30


@pytest.mark.parametrize(
    ("title", "link", "field"),
    [("  ", "/ok/", "title"), ("t", "https://elsewhere.example/", "link"), ("t", "x/y", "link")],
)
def test_a_notification_needs_a_title_and_an_inside_link(people, title, link, field):
    alice, _bob = people
    with override("en"), pytest.raises(InvalidInput) as caught:
        notification_create(user=alice, kind="test", title=title, link=link)
    assert field in caught.value.details
    assert not Notification.objects.exists()


def test_mark_read_is_for_ones_own_and_keeps_the_first_time(people):
    alice, bob = people
    (mine,) = inbox(alice, 1)
    first = timezone.now() - timedelta(minutes=5)

    with pytest.raises(NotFound):
        notification_mark_read(user=bob, notification_id=mine.pk)
    assert Notification.objects.get(pk=mine.pk).read_at is None

    assert notification_mark_read(user=alice, notification_id=mine.pk, at=first).read_at == first
    again = notification_mark_read(user=alice, notification_id=mine.pk)
    assert again.read_at == first


def test_mark_all_read_touches_only_ones_own_unread(people):
    alice, bob = people
    inbox(alice, 4, read=1)
    inbox(bob, 2)

    assert notifications_mark_all_read(user=alice) == 3
    assert notification_unread_count(user=alice) == 0
    assert notification_unread_count(user=bob) == 2
    assert notifications_mark_all_read(user=alice) == 0


def test_list_is_unread_first_then_newest_first(people):
    alice, bob = people
    made = inbox(alice, 5, read=2)  # 0, 1 read; 2, 3, 4 unread
    inbox(bob, 3)

    titles = [n.title for n in notification_list(user=alice)]
    unread = [n.title for n in notification_list(user=alice, unread_only=True)]

    assert titles == ["案件 4", "案件 3", "案件 2", "案件 1", "案件 0"]
    assert unread == ["案件 4", "案件 3", "案件 2"]
    # a newer read one still comes after the older unread ones
    Notification.objects.filter(pk=made[4].pk).update(read_at=timezone.now())
    assert [n.title for n in notification_list(user=alice)][:3] == ["案件 3", "案件 2", "案件 4"]
    assert notification_unread_count(user=alice) == 2


# ---------------------------------------------------------------- API


def test_api_lists_mine_paginated_with_the_unread_count(people, api_client):
    alice, bob = people
    inbox(alice, 25, read=5)
    inbox(bob, 3)
    api_client.force_authenticate(alice)

    first = api_client.get(API).json()
    second = api_client.get(API, {"page": 2}).json()
    unread = api_client.get(API, {"unread": "true", "page_size": 50}).json()

    assert (first["count"], first["unread"], len(first["results"])) == (25, 20, 20)
    assert first["results"][0]["title"] == "案件 24"
    assert first["results"][0]["unread"] is True
    assert set(first["results"][0]) == {
        "id",
        "kind",
        "title",
        "body",
        "link",
        "created_at",
        "read_at",
        "unread",
    }
    assert [n["title"] for n in second["results"]] == [f"案件 {i}" for i in (4, 3, 2, 1, 0)]
    assert all(n["unread"] is False for n in second["results"])
    assert unread["count"] == 20
    assert all(n["read_at"] is None for n in unread["results"])


def test_api_marks_one_read_and_anothers_is_not_found(people, api_client):
    alice, bob = people
    (mine,) = inbox(alice, 1)
    (theirs,) = inbox(bob, 1)
    api_client.force_authenticate(alice)

    done = api_client.post(f"{API}{mine.pk}/read")
    other = api_client.post(f"{API}{theirs.pk}/read", HTTP_ACCEPT_LANGUAGE="en")
    missing = api_client.post(f"{API}999999/read")

    assert done.status_code == 200
    assert done.json()["unread"] is False
    assert done.json()["read_at"] is not None
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"] == "not_found"
    assert other.json()["detail"] == f"there is no notification {theirs.pk}"
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_api_marks_all_mine_read(people, api_client):
    alice, bob = people
    inbox(alice, 3, read=1)
    inbox(bob, 2)
    api_client.force_authenticate(alice)

    response = api_client.post(f"{API}read-all")

    assert response.status_code == 200
    assert response.json() == {"marked": 2}
    assert notification_unread_count(user=alice) == 0
    assert notification_unread_count(user=bob) == 2


def test_api_needs_a_signed_in_user(people, api_client):
    (mine,) = inbox(people[0], 1)
    for response in (
        api_client.get(API),
        api_client.post(f"{API}{mine.pk}/read"),
        api_client.post(f"{API}read-all"),
    ):
        assert response.status_code in (401, 403)
    assert Notification.objects.get(pk=mine.pk).read_at is None


# ---------------------------------------------------------------- page


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_page_needs_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_page_shows_mine_unread_first_in_chinese_with_the_badge(people, client):
    alice, bob = people
    inbox(alice, 3, read=1)
    inbox(bob, 2, kind="other")
    client.force_login(alice)

    text = html(client.get(PAGE))

    assert '<html lang="zh-hans">' in text
    titles = re.findall(
        r'<p class="notification-title">(?:<span[^>]*>[^<]*</span>)?([^<]+)</p>', text
    )
    assert titles == ["案件 2", "案件 1", "案件 0"]
    assert text.count('class="notification unread"') == 2
    assert re.search(r'id="unread-badge"[^>]*>.*?2</span>', text)
    assert "/notifications/" in text


def test_page_filters_unread_and_says_when_there_are_none(people, client):
    alice, _bob = people
    inbox(alice, 2, read=2)
    client.force_login(alice)

    text = html(client.get(PAGE, {"unread": "1"}))

    assert 'id="no-notifications"' in text
    assert 'id="unread-badge"' not in text


def test_opening_one_marks_it_read_and_goes_to_the_case(people, client):
    alice, bob = people
    (mine,) = inbox(alice, 1)
    (theirs,) = inbox(bob, 1)
    client.force_login(alice)

    response = client.post(f"{PAGE}{mine.pk}/open")
    refused = client.post(f"{PAGE}{theirs.pk}/open")

    assert response.status_code == 302
    assert response["Location"] == mine.link
    assert Notification.objects.get(pk=mine.pk).read_at is not None
    assert refused.status_code == 404
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_page_marks_one_and_all_read_and_comes_back(people, client):
    alice, bob = people
    made = inbox(alice, 3)
    inbox(bob, 1)
    client.force_login(alice)

    one = client.post(f"{PAGE}{made[0].pk}/read", {"next": "/notifications/?unread=1"})
    assert one.status_code == 302
    assert one["Location"] == "/notifications/?unread=1"
    assert notification_unread_count(user=alice) == 2

    everything = client.post(f"{PAGE}read-all", {"next": "https://elsewhere.example/"})
    assert everything.status_code == 302
    assert everything["Location"] == PAGE
    assert notification_unread_count(user=alice) == 0
    assert notification_unread_count(user=bob) == 1


def test_page_actions_need_post(people, client):
    (mine,) = inbox(people[0], 1)
    client.force_login(people[0])
    assert client.get(f"{PAGE}{mine.pk}/read").status_code == 405
    assert client.get(f"{PAGE}read-all").status_code == 405
    assert Notification.objects.get(pk=mine.pk).read_at is None
