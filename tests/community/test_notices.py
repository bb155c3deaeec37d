"""Notices: numbering, the snapshot each one keeps, the printable page rendered from it (the
same on every reprint, whatever changes later), and the API's view of them."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import translation

from community import pii
from community.models import Notice, NoticeKind
from community.services import applications as services
from tests.fixtures.applications import build_counter_world
from tests.fixtures.community import make_resident

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


@pytest.fixture(autouse=True)
def english():
    """A notice's text is written in the language active when it is issued: these tests
    issue and read them in English."""
    with translation.override("en"):
        yield


@pytest.fixture
def world(work_calendar):
    return build_counter_world()


def page_for(client, notice) -> str:
    answer = client.get(
        reverse("community:counter-notice-print", kwargs={"pk": notice.pk}),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 200
    return answer.content.decode()


def sheet(html: str) -> str:
    """The printed sheet only (the page around it carries a per-request CSRF token)."""
    return html[html.index('<article class="sheet"') : html.index("</article>")]


def test_numbers_count_per_kind_counter_and_year(world):
    clerk = world.user("staff_a")
    numbers = []
    for moment in ("2025-12-30T10:00", "2025-12-31T10:00", "2026-01-05T10:00"):
        application = world.receive(at=at(moment))
        services.application_accept(actor=clerk, application_id=application.pk, at=at(moment))
        numbers.append(application.notices.get().number)
    assert numbers == [
        "SL-360502001001-2025-00001",
        "SL-360502001001-2025-00002",
        "SL-360502001001-2026-00001",
    ]
    incomplete = world.receive(
        world.forward_item,
        complete=False,
        applicant=make_resident(community=world.counter_a, name="周九"),
        at=at("2025-12-31T11:00"),
    )
    services.application_request_correction(
        actor=clerk, application_id=incomplete.pk, at=at("2025-12-31T11:05")
    )
    assert incomplete.notices.get().number == "BZ-360502001001-2025-00001"
    other = world.receive(
        counter=world.counter_b,
        applicant=make_resident(community=world.counter_b, name="吴十"),
        actor=world.user("staff_b"),
        at=at("2025-12-31T10:00"),
    )
    services.application_accept(
        actor=world.user("staff_b"), application_id=other.pk, at=at("2025-12-31T10:00")
    )
    assert other.notices.get().number == "SL-360502001002-2025-00001"
    assert Notice.objects.count() == len(set(Notice.objects.values_list("number", flat=True)))


def test_acceptance_notice_snapshot_and_page(world, client):
    application = world.receive(world.forward_item, at=at("2025-04-03T10:00"))
    services.application_accept(
        actor=world.user("staff_a"), application_id=application.pk, at=at("2025-04-03T10:20")
    )
    notice = application.notices.get()
    content = notice.content
    assert content["kind"] == NoticeKind.ACCEPTANCE
    assert content["number"] == notice.number
    assert content["application_number"] == application.number
    assert content["counter"] == {"code": "360502001001", "name": "城南街道第1社区"}
    assert content["applicant"]["name"] == "李四"
    full_id = pii.decrypt(world.applicant.id_number_ciphertext)
    assert content["applicant"]["id_number_masked"] == pii.mask_id_number(full_id)
    assert content["received_at"] == "2025-04-03T10:00:00+08:00"
    assert content["accepted_at"] == "2025-04-03T10:20:00+08:00"
    assert content["deadline"] == "2025-04-18T17:30:00+08:00"
    assert content["item"]["implementation_code"] == "TEST-FORWARD"
    assert [m["status"] for m in content["materials"]] == ["received", "received"]
    client.force_login(world.user("staff_a"))
    html = page_for(client, notice)
    assert full_id not in html and full_id not in str(content)
    for text in (
        notice.number,
        application.number,
        "城南街道第1社区",
        "低保申请",
        pii.mask_id_number(full_id),
        "2025-04-03 10:00",
        "2025-04-18 17:30",
        "promised 10 working days, legal limit 20 working days",
    ):
        assert text in html, text
    assert "@page { size: A4" in open_static("community/notice.css")


def open_static(path: str) -> str:
    from django.contrib.staticfiles import finders

    with open(finders.find(path), encoding="utf-8") as handle:
        return handle.read()


def test_correction_notice_lists_every_missing_material_with_form_and_count(world, client):
    item = world.forward_item
    first = item.materials.order_by("position").first()
    first.copies = 2
    first.form = "both"
    first.note = "正反面复印"
    first.save()
    application = world.receive(item, complete=False, at=at("2025-04-03T10:00"))
    services.application_request_correction(
        actor=world.user("staff_a"), application_id=application.pk, at=at("2025-04-03T10:05")
    )
    notice = application.notices.get(kind=NoticeKind.CORRECTION)
    client.force_login(world.user("staff_a"))
    html = page_for(client, notice)
    rows = re.findall(
        r'<tr data-material="([^"]+)"><td>(\d)</td><td>[^<]+</td><td>([^<]+)</td>'
        r"<td>(\d)</td><td>([^<]*)</td>",
        html,
    )
    assert rows == [
        ("居民身份证", "1", "original and copy", "2", "正反面复印"),
        ("户口簿", "2", "copy", "1", ""),
    ]
    assert "every missing material is listed here at once" in html


def test_refusal_and_denial_notices_carry_the_reason_and_the_right_to_appeal(world, client):
    clerk = world.user("staff_a")
    refused = world.receive(at=at("2025-04-03T10:00"))
    services.application_refuse(
        actor=clerk, application_id=refused.pk, reason="申请人不在本辖区", at=at("2025-04-03T10:10")
    )
    denied = world.receive(world.forward_item, at=at("2025-04-03T11:00"))
    services.application_accept(actor=clerk, application_id=denied.pk, at=at("2025-04-03T11:05"))
    services.application_forward(actor=clerk, application_id=denied.pk, at=at("2025-04-03T11:10"))
    services.application_deny(
        actor=world.user("handler"),
        application_id=denied.pk,
        reason="家庭收入超过标准",
        at=at("2025-04-08T15:00"),
    )
    client.force_login(clerk)
    for application, kind, reason in (
        (refused, NoticeKind.REFUSAL, "申请人不在本辖区"),
        (denied, NoticeKind.DENIAL, "家庭收入超过标准"),
    ):
        notice = application.notices.get(kind=kind)
        html = page_for(client, notice)
        assert f"<strong>{reason}</strong>" in html
        assert (
            "apply to 渝水区 People&#x27;s Government for administrative reconsideration within "
            "60 days" in html
        )
        assert "within 6 months" in html
    completion = world.receive(at=at("2025-04-03T12:00"))
    services.application_accept(actor=clerk, application_id=completion.pk)
    services.application_approve_on_spot(
        actor=clerk, application_id=completion.pk, at=at("2025-04-03T14:00")
    )
    html = page_for(client, completion.notices.get(kind=NoticeKind.COMPLETION))
    assert "was approved on 2025-04-03" in html
    assert "reconsideration" not in html


def test_a_reprint_is_identical_whatever_changed_since(world, client):
    application = world.receive(at=at("2025-04-03T10:00"))
    services.application_accept(
        actor=world.user("staff_a"), application_id=application.pk, at=at("2025-04-03T10:05")
    )
    notice = application.notices.get()
    client.force_login(world.user("staff_a"))
    first = sheet(page_for(client, notice))
    world.applicant.name = "李四改"
    world.applicant.save()
    world.decide_item.name = "改名后的事项"
    world.decide_item.save()
    world.counter_a.name = "新社区名"
    world.counter_a.save()
    services.application_approve_on_spot(actor=world.user("staff_a"), application_id=application.pk)
    second = sheet(page_for(client, notice))
    assert first == second
    assert "李四改" not in second and "改名后的事项" not in second


def test_notices_through_the_api(world, api_client):
    application = world.receive()
    services.application_accept(actor=world.user("staff_a"), application_id=application.pk)
    notice = application.notices.get()
    api_client.force_authenticate(world.user("staff_a"))
    listed = api_client.get(
        reverse("community-api:application-notices", kwargs={"pk": application.pk})
    ).json()
    assert [(n["number"], n["kind"]) for n in listed] == [(notice.number, "acceptance")]
    assert listed[0]["print_url"] == f"/community/counter/notices/{notice.pk}/"
    one = api_client.get(listed[0]["url"]).json()
    assert one["content"]["application_number"] == application.number
    assert one["application"] == application.pk
    api_client.force_authenticate(world.user("staff_b"))
    assert api_client.get(listed[0]["url"]).status_code == 404
