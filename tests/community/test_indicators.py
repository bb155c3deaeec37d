"""Window indicators on a hand-built fixture: every numerator and denominator is counted by
hand below, for a counter, its street, its district and the city."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from community.models import Channel, Delivery
from community.selectors.indicators import window_indicators
from community.services import applications as services
from grid.errors import InvalidInput
from grid.models import AreaLevel
from grid.workcalendar import working_days_between
from tests.fixtures.applications import build_counter_world, immediate_item
from tests.fixtures.community import make_delegation, make_item, make_resident

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Asia/Shanghai")
PERIOD = {"date_from": date(2025, 3, 3), "date_to": date(2025, 3, 14)}
NOW = datetime(2025, 3, 20, 12, 0, tzinfo=ZONE)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def build(world):
    """The fixture. Counter A (360502001001), received 3–14 March 2025:

    1 高龄津贴 (decide, legal 20) Mon 3 Mar 10:00, accepted, approved on the spot 11:00
      (0 working days → speed-up 20/20 = 1), issued, rated 5.
    2 joint item (legal 20, promised 10) Tue 4 Mar 09:30, accepted, forwarded jointly,
      approved Mon 10 Mar 15:00 (working days 5, 6, 7, 10 March = 4 → 16/20 = 0.8), rated 3.
    3 joint item, online, Wed 5 Mar 16:00, accepted, forwarded (not jointly), approved Thu
      20 Mar 10:00 after its deadline (19 Mar 17:30): overdue; 11 working days → 9/20 =
      0.45; rated 4; one substantiated and one unsubstantiated complaint.
    4 高龄津贴 Thu 6 Mar, incomplete, refused; rated 1; one substantiated complaint.
    5 高龄津贴 Fri 7 Mar 18:00, accepted Mon 10 Mar, still open; due Fri 14 Mar 17:30, so
      open past its deadline on 20 March: overdue.
    6 低保 Mon 10 Mar, incomplete, correction (clock paused before its deadline): not overdue.
    7 immediate item (legal 0) Tue 11 Mar 10:00, accepted, approved on the spot 10:30: on the
      spot, but no legal limit to speed up against.
    8 高龄津贴 Fri 14 Mar 23:59, received only (the last minute of the period).
    Outside counter A or the period: one at A on Sun 2 Mar 23:59 and one on Mon 17 Mar; one at
    counter B (same street) on 12 Mar approved on the spot; one at a community of the other
    district (通办 item) on 12 Mar.
    """
    clerk, handler = world.user("staff_a"), world.user("handler")
    root = world.user("superuser")
    joint = make_item(
        code="TEST-JOINT", name="残疾人两项补贴", promised_days=10, requires_joint_handling=True
    )
    make_delegation(item=joint, counter=world.counter_a)
    now_item = immediate_item(code="TEST-NOW", name="居住证明开具")
    make_delegation(item=now_item, counter=world.counter_a, power="decide")
    # 事项进驻落实率: both of these should go down to every community.
    for item in (world.decide_item, world.forward_item):
        item.delegate_to_level = AreaLevel.COMMUNITY
        item.save()

    def accept(app, moment):
        services.application_accept(actor=clerk, application_id=app.pk, at=at(moment))

    a1 = world.receive(world.decide_item, at=at("2025-03-03T10:00"))
    accept(a1, "2025-03-03T10:05")
    services.application_approve_on_spot(
        actor=clerk, application_id=a1.pk, at=at("2025-03-03T11:00")
    )
    services.application_issue(
        actor=clerk, application_id=a1.pk, delivery=Delivery.PICKUP, at=at("2025-03-03T11:05")
    )
    services.application_rate(actor=clerk, application_id=a1.pk, rating=5)

    a2 = world.receive(joint, at=at("2025-03-04T09:30"))
    accept(a2, "2025-03-04T09:40")
    services.application_forward(
        actor=clerk, application_id=a2.pk, jointly=True, at=at("2025-03-04T10:00")
    )
    services.application_approve(actor=handler, application_id=a2.pk, at=at("2025-03-10T15:00"))
    services.application_issue(
        actor=clerk, application_id=a2.pk, delivery=Delivery.POST, at=at("2025-03-11T09:00")
    )
    services.application_rate(actor=clerk, application_id=a2.pk, rating=3)

    a3 = services.application_receive(
        actor=clerk,
        applicant=world.applicant,
        item=joint,
        counter=world.counter_a,
        received_materials=world.requirement_ids(joint),
        channel=Channel.ONLINE,
        at=at("2025-03-05T16:00"),
    )
    accept(a3, "2025-03-05T16:10")
    services.application_forward(actor=clerk, application_id=a3.pk, at=at("2025-03-05T16:20"))
    services.application_approve(actor=handler, application_id=a3.pk, at=at("2025-03-20T10:00"))
    services.application_issue(
        actor=clerk, application_id=a3.pk, delivery=Delivery.PICKUP, at=at("2025-03-20T11:00")
    )
    services.application_rate(actor=clerk, application_id=a3.pk, rating=4)
    for substantiated in (True, False):
        complaint = services.complaint_register(
            actor=clerk, application_id=a3.pk, content="办理超时"
        )
        services.complaint_resolve(
            actor=world.user("street_officer"),
            complaint_id=complaint.pk,
            substantiated=substantiated,
        )
    # An unresolved complaint counts for nothing yet.
    services.complaint_register(actor=clerk, application_id=a1.pk, content="排队太久")

    a4 = world.receive(world.decide_item, complete=False, at=at("2025-03-06T10:00"))
    services.application_refuse(
        actor=clerk, application_id=a4.pk, reason="不符合条件", at=at("2025-03-06T10:10")
    )
    services.application_rate(actor=clerk, application_id=a4.pk, rating=1)
    complaint = services.complaint_register(actor=clerk, application_id=a4.pk, content="拒收")
    services.complaint_resolve(
        actor=world.user("district_officer"), complaint_id=complaint.pk, substantiated=True
    )

    a5 = world.receive(world.decide_item, at=at("2025-03-07T18:00"))
    accept(a5, "2025-03-10T09:00")

    # A newcomer: nothing of theirs is on file to reuse.
    newcomer = make_resident(community=world.counter_a, name="孙八")
    a6 = world.receive(
        world.forward_item, complete=False, applicant=newcomer, at=at("2025-03-10T09:00")
    )
    services.application_request_correction(
        actor=clerk, application_id=a6.pk, at=at("2025-03-10T09:05")
    )

    a7 = world.receive(now_item, at=at("2025-03-11T10:00"))
    accept(a7, "2025-03-11T10:05")
    services.application_approve_on_spot(
        actor=clerk, application_id=a7.pk, at=at("2025-03-11T10:30")
    )

    world.receive(world.decide_item, at=at("2025-03-14T23:59"))
    world.receive(world.decide_item, at=at("2025-03-02T23:59"))
    world.receive(world.decide_item, at=at("2025-03-17T09:00"))

    resident_b = make_resident(community=world.counter_b, name="赵六")
    b1 = world.receive(
        world.decide_item,
        counter=world.counter_b,
        applicant=resident_b,
        actor=world.user("staff_b"),
        at=at("2025-03-12T10:00"),
    )
    services.application_accept(
        actor=world.user("staff_b"), application_id=b1.pk, at=at("2025-03-12T10:05")
    )
    services.application_approve_on_spot(
        actor=world.user("staff_b"), application_id=b1.pk, at=at("2025-03-12T10:10")
    )

    far = world.city.communities["360521001001"]
    tongban = make_item(code="TEST-CITY", tongban_area=world.city.city)
    world.receive(
        tongban,
        counter=far,
        applicant=make_resident(community=far, name="钱七"),
        actor=root,
        at=at("2025-03-12T10:00"),
    )
    return {"a1": a1, "a2": a2, "a3": a3}


def values(result) -> dict[str, tuple]:
    return {i.code: (i.numerator, i.denominator) for i in result.indicators}


@pytest.fixture
def world(work_calendar):
    world = build_counter_world()
    world.fixture = build(world)
    return world


def test_counter_indicators_are_the_hand_counted_ones(world):
    result = window_indicators(area=world.counter_a, now=NOW, **PERIOD)
    assert result.applications == 8
    assert values(result) == {
        "on_spot_rate": (2, 5),  # 1 and 7, of 1 2 3 5 7 accepted
        "speedup_rate": (Decimal("2.25"), 3),  # 1 + 0.8 + 0.45 over 1 2 3
        "online_rate": (1, 5),  # 3
        "joint_rate": (1, 2),  # 2 jointly, of 2 and 3
        "satisfaction_rate": (2, 4),  # 5 and 4, of 5 3 4 1
        "complaint_rate": (2, 8),  # substantiated: one on 3, one on 4
        "overdue": (2, 8),  # 3 decided late, 5 open past its deadline
        "delegation_rate": (2, 2),  # both items delegated to A
    }
    by_code = {i.code: i for i in result.indicators}
    assert by_code["speedup_rate"].value == pytest.approx(0.75)
    assert by_code["on_spot_rate"].value == pytest.approx(0.4)
    assert by_code["overdue"].value == 2
    assert by_code["satisfaction_rate"].standard_name == "窗口服务满意率"


def test_actual_working_days_in_sql_match_the_calendar(world, work_calendar):
    expected = {"a1": 0, "a2": 4, "a3": 11}
    for key, days in expected.items():
        application = world.fixture[key]
        application.refresh_from_db()
        assert (
            working_days_between(work_calendar, application.received_at, application.decided_at)
            == days
        )


def test_street_district_and_city_add_their_counters(world):
    street = window_indicators(area=world.city.streets["360502001"], now=NOW, **PERIOD)
    assert street.applications == 9
    assert values(street)["on_spot_rate"] == (3, 6)
    # Items to go down to communities: A has both, B only 高龄津贴.
    assert values(street)["delegation_rate"] == (3, 4)
    district = window_indicators(area=world.city.districts["360502"], now=NOW, **PERIOD)
    assert district.applications == 9
    city = window_indicators(area=world.city.city, now=NOW, **PERIOD)
    assert city.applications == 10
    assert values(city)["complaint_rate"] == (2, 10)
    assert values(city)["delegation_rate"] == (3, 8)
    other = window_indicators(area=world.city.districts["360521"], now=NOW, **PERIOD)
    assert other.applications == 1
    assert values(other)["on_spot_rate"] == (0, 0)
    assert {i.code: i.value for i in other.indicators}["on_spot_rate"] is None


def test_the_satisfied_ratings_are_a_setting(world):
    with override_settings(WANGGE_SATISFIED_RATINGS=(3, 4, 5)):
        result = window_indicators(area=world.counter_a, now=NOW, **PERIOD)
    assert values(result)["satisfaction_rate"] == (3, 4)


def test_a_period_that_ends_before_it_starts_is_refused(world):
    with pytest.raises(InvalidInput):
        window_indicators(
            area=world.counter_a, date_from=date(2025, 3, 14), date_to=date(2025, 3, 3)
        )


def test_api_answers_within_scope_only(world, api_client):
    url = reverse("community-api:application-indicators", kwargs={"code": "360502"})
    query = {"date_from": "2025-03-03", "date_to": "2025-03-14"}
    api_client.force_authenticate(world.user("district_officer"))
    answer = api_client.get(url, query)
    assert answer.status_code == 200
    body = answer.json()
    assert body["applications"] == 9
    assert {i["code"]: (i["numerator"], i["denominator"]) for i in body["indicators"]}[
        "on_spot_rate"
    ] == (3, 6)
    api_client.force_authenticate(world.user("staff_b"))
    assert api_client.get(url, query).status_code == 404
    own = reverse("community-api:application-indicators", kwargs={"code": "360502001002"})
    assert api_client.get(own, query).json()["applications"] == 1
    assert (
        api_client.get(own, {"date_from": "2025-03-14", "date_to": "2025-03-01"}).status_code == 400
    )


def test_command_prints_a_table_and_json(world):
    out = StringIO()
    call_command(
        "window_indicators",
        "360502001001",
        "--from",
        "2025-03-03",
        "--to",
        "2025-03-14",
        "--json",
        stdout=out,
    )
    payload = json.loads(out.getvalue())
    assert payload["applications"] == 8
    codes = {i["code"]: i for i in payload["indicators"]}
    assert (codes["joint_rate"]["numerator"], codes["joint_rate"]["denominator"]) == (1, 2)
    assert codes["online_rate"]["value"] == pytest.approx(0.2)
    out = StringIO()
    call_command(
        "window_indicators", "360502001", "--from", "2025-03-03", "--to", "2025-03-14", stdout=out
    )
    text = out.getvalue()
    assert "现场办结率" in text and "50.0 %" in text
    with pytest.raises(CommandError):
        call_command("window_indicators", "999999", "--from", "2025-03-03", "--to", "2025-03-14")
    with pytest.raises(CommandError):
        call_command("window_indicators", "3605", "--from", "2025-03-33", "--to", "2025-03-14")
