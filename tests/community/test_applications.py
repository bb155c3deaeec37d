"""Applications at the counter through the services: receipt (numbers, materials reuse,
counter permission), acceptance, the one correction notice, refusal, decisions on the spot
and by the department, suspension, issue, rating, complaints, history."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django.utils.translation import override

from community.models import (
    ApplicationEvent,
    ApplicationStatus,
    Channel,
    DelegationPower,
    Delivery,
    MaterialStatus,
    NoticeKind,
    ResidentMaterial,
)
from community.selectors import applications as selectors
from community.services import applications as services
from grid.errors import Conflict, Forbidden, InvalidInput, NotFound
from grid.models import Role
from tests.factories import UserFactory, assign, department
from tests.fixtures.applications import build_counter_world, missing_names
from tests.fixtures.community import make_delegation, make_item, make_material_type

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


@pytest.fixture
def world(work_calendar):
    return build_counter_world()


def staff(world):
    return world.user("staff_a")


# ---------------------------------------------------------------- receipt


def test_receipt_numbers_follow_counter_date_and_sequence(world):
    first = world.receive(at=at("2025-03-03T09:15"))
    second = world.receive(at=at("2025-03-03T10:00"))
    next_day = world.receive(at=at("2025-03-04T09:00"))
    other = world.receive(
        counter=world.counter_b,
        actor=world.user("staff_b"),
        applicant=_resident_of_b(world),
        at=at("2025-03-03T09:30"),
    )
    assert first.number == "360502001001-20250303-0001"
    assert second.number == "360502001001-20250303-0002"
    assert next_day.number == "360502001001-20250304-0001"
    assert other.number == "360502001002-20250303-0001"
    assert first.status == ApplicationStatus.RECEIVED
    assert first.counter_code == "360502001001"
    assert first.power == DelegationPower.DECIDE
    assert first.received_by == staff(world)
    event = first.events.get()
    assert (event.action, event.from_status, event.to_status, event.role) == (
        "receive",
        "",
        "received",
        Role.COMMUNITY_STAFF,
    )


def _resident_of_b(world):
    from tests.fixtures.community import make_resident

    return make_resident(community=world.counter_b, name="王五")


def test_ticked_materials_are_received_and_the_rest_missing(world):
    ids = world.requirement_ids(world.forward_item)
    application = services.application_receive(
        actor=staff(world),
        applicant=world.applicant,
        item=world.forward_item,
        counter=world.counter_a,
        received_materials=ids[:1],
    )
    statuses = dict(application.materials.values_list("requirement_id", "status"))
    assert statuses == {ids[0]: MaterialStatus.RECEIVED, ids[1]: MaterialStatus.MISSING}
    assert application.events.get().data == {
        "received": [ids[0]],
        "reused": [],
        "missing": [ids[1]],
    }


def test_materials_on_file_are_reused_while_valid_and_reusable(world):
    valid = make_material_type("residence", "居住证明", valid_days=90)
    expired = make_material_type("income", "收入证明", valid_days=30)
    forever = make_material_type("id_card", "居民身份证")
    once = make_material_type("photo", "近期照片", valid_days=365)
    item = make_item(
        code="TEST-REUSE",
        materials=(
            ("id_card", "居民身份证", True),
            ("residence", "居住证明", True),
            ("income", "收入证明", True),
            ("photo", "近期照片", False),
            ("hukou", "户口簿", True),
        ),
    )
    make_delegation(item=item, counter=world.counter_a)
    today = date(2025, 6, 2)
    received = at("2025-01-01T10:00")
    for material_type, valid_until in (
        (forever, None),
        (valid, today),  # valid through today: still reused
        (expired, today - timedelta(days=1)),
        (once, today + timedelta(days=100)),  # valid, but the item asks for a fresh one
    ):
        ResidentMaterial.objects.create(
            resident=world.applicant,
            material_type=material_type,
            received_at=received,
            valid_until=valid_until,
        )
    preview = selectors.materials_preview(applicant=world.applicant, item=item, today=today)
    assert [(row.requirement.material_type.code, row.status) for row in preview] == [
        ("id_card", "reused"),
        ("residence", "reused"),
        ("income", "missing"),
        ("photo", "missing"),
        ("hukou", "missing"),
    ]
    application = world.receive(item, complete=False, at=at("2025-06-02T10:00"))
    rows = {
        m.requirement.material_type.code: (m.status, m.reused_from_id)
        for m in application.materials.select_related("requirement__material_type")
    }
    on_file = dict(
        ResidentMaterial.objects.filter(resident=world.applicant).values_list(
            "material_type__code", "pk"
        )
    )
    assert rows == {
        "id_card": ("reused", on_file["id_card"]),
        "residence": ("reused", on_file["residence"]),
        "income": ("missing", None),
        "photo": ("missing", None),
        "hukou": ("missing", None),
    }
    # The next day the residence certificate has expired too.
    later = world.receive(item, complete=False, at=at("2025-06-03T10:00"))
    assert missing_names(later) == sorted(["居住证明", "收入证明", "近期照片", "户口簿"])


def test_accepted_materials_go_on_file_with_their_validity(world):
    make_material_type("id_card", "居民身份证")
    hukou = make_material_type("hukou", "户口簿")
    hukou.valid_days = 180
    hukou.save()
    application = world.receive(world.forward_item, at=at("2025-03-03T10:00"))
    services.application_accept(
        actor=staff(world), application_id=application.pk, at=at("2025-03-04T10:00")
    )
    on_file = {
        m.material_type.code: m
        for m in ResidentMaterial.objects.filter(resident=world.applicant).select_related(
            "material_type"
        )
    }
    assert on_file["hukou"].valid_until == date(2025, 3, 4) + timedelta(days=180)
    assert on_file["id_card"].valid_until is None
    assert on_file["hukou"].source_application == application
    reused = world.receive(world.decide_item, complete=False, at=at("2025-03-05T10:00"))
    assert set(reused.materials.values_list("status", flat=True)) == {MaterialStatus.REUSED}
    assert missing_names(reused) == []


def test_a_counter_without_the_item_is_refused_with_the_reason(world):
    item = make_item(code="TEST-NOWHERE", name="独生子女证明")
    with override("en"), pytest.raises(InvalidInput) as refused:
        world.receive(item)
    assert "is not delegated to" in refused.value.message
    assert "独生子女证明" in refused.value.message


def test_tongban_lets_any_counter_in_scope_accept_and_forward(world):
    item = make_item(code="TEST-TONGBAN", tongban_area=world.city.city)
    application = world.receive(item, counter=world.counter_a)
    assert application.power == DelegationPower.ACCEPT_FORWARD


def test_receipt_checks_who_and_what(world):
    with pytest.raises(NotFound):
        world.receive(actor=world.user("staff_b"))
    # The district officer sees the counter but holds no counter role there.
    with pytest.raises(Forbidden):
        world.receive(actor=world.user("district_officer"))
    street = world.receive(actor=world.user("street_officer"))
    assert street.events.get().role == Role.STREET_OFFICER
    with pytest.raises(InvalidInput) as unknown:
        services.application_receive(
            actor=staff(world),
            applicant=world.applicant,
            item=world.decide_item,
            counter=world.counter_a,
            received_materials=[999999],
        )
    assert unknown.value.details == {"received_materials": [999999]}
    with pytest.raises(InvalidInput):
        services.application_receive(
            actor=staff(world),
            applicant=world.applicant,
            item=world.decide_item,
            counter=world.counter_a,
            channel="fax",
        )


# ---------------------------------------------------------------- acceptance and correction


def test_accept_refuses_while_a_required_material_is_missing(world):
    application = world.receive(world.forward_item, complete=False)
    with override("en"), pytest.raises(InvalidInput) as refused:
        services.application_accept(actor=staff(world), application_id=application.pk)
    assert refused.value.details == {"missing": ["居民身份证", "户口簿"]}
    assert "居民身份证、户口簿" in refused.value.message
    application.refresh_from_db()
    assert application.status == ApplicationStatus.RECEIVED
    assert application.events.count() == 1
    assert not application.notices.exists()


def test_optional_materials_do_not_block_acceptance(world):
    item = make_item(code="TEST-OPTIONAL", materials=(("id_card", "居民身份证", True),))
    extra = make_material_type("letter", "说明信")
    item.materials.create(material_type=extra, form="original", required=False, position=5)
    make_delegation(item=item, counter=world.counter_a)
    required, optional = world.requirement_ids(item)
    nothing = world.receive(item, complete=False)
    with pytest.raises(InvalidInput) as refused:
        services.application_accept(actor=staff(world), application_id=nothing.pk)
    assert refused.value.details == {"missing": ["居民身份证"]}
    application = services.application_receive(
        actor=staff(world),
        applicant=world.applicant,
        item=item,
        counter=world.counter_a,
        received_materials=[required],
    )
    assert application.materials.get(requirement_id=optional).status == MaterialStatus.MISSING
    result = services.application_accept(actor=staff(world), application_id=application.pk)
    assert result.status == ApplicationStatus.ACCEPTED


def test_one_correction_notice_lists_every_missing_material_and_only_once(world):
    application = world.receive(world.forward_item, complete=False, at=at("2025-03-03T10:00"))
    result = services.application_request_correction(
        actor=staff(world), application_id=application.pk, at=at("2025-03-03T10:05")
    )
    assert result.status == ApplicationStatus.CORRECTION
    assert result.paused_since == at("2025-03-03T10:05")
    notice = result.notices.get()
    assert notice.kind == NoticeKind.CORRECTION
    assert [m["name"] for m in notice.content["materials"]] == ["居民身份证", "户口簿"]
    assert notice.content["materials"][0]["form"] == "copy"
    assert notice.content["materials"][0]["copies"] == 1
    # The applicant brings one of the two; the other is still missing.
    ids = world.requirement_ids(world.forward_item)
    back = services.application_supply_materials(
        actor=staff(world),
        application_id=application.pk,
        supplied=ids[:1],
        at=at("2025-03-04T10:00"),
    )
    assert back.status == ApplicationStatus.RECEIVED
    assert back.paused_since is None
    with override("en"), pytest.raises(Conflict) as again:
        services.application_request_correction(actor=staff(world), application_id=application.pk)
    assert notice.number in again.value.message
    assert again.value.details["status"] == "received"
    assert application.notices.count() == 1
    # What is still missing blocks acceptance; the counter may refuse.
    with pytest.raises(InvalidInput):
        services.application_accept(actor=staff(world), application_id=application.pk)
    refused = services.application_refuse(
        actor=staff(world), application_id=application.pk, reason="逾期未补齐材料"
    )
    assert refused.status == ApplicationStatus.REFUSED


def test_correction_needs_something_missing_and_supply_only_what_is_missing(world):
    complete = world.receive(world.forward_item)
    with pytest.raises(InvalidInput):
        services.application_request_correction(actor=staff(world), application_id=complete.pk)
    application = world.receive(world.forward_item, complete=False)
    services.application_request_correction(actor=staff(world), application_id=application.pk)
    with pytest.raises(InvalidInput):
        services.application_supply_materials(
            actor=staff(world), application_id=application.pk, supplied=[]
        )
    with pytest.raises(InvalidInput) as stray:
        services.application_supply_materials(
            actor=staff(world), application_id=application.pk, supplied=[123456]
        )
    assert stray.value.details == {"supplied": [123456]}
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CORRECTION


def test_refusal_needs_a_reason_and_stops_a_paused_clock(world):
    application = world.receive(world.forward_item, complete=False, at=at("2025-03-03T10:00"))
    with pytest.raises(InvalidInput):
        services.application_refuse(actor=staff(world), application_id=application.pk, reason=" ")
    services.application_request_correction(
        actor=staff(world), application_id=application.pk, at=at("2025-03-03T11:00")
    )
    refused = services.application_refuse(
        actor=staff(world),
        application_id=application.pk,
        reason="不属于本事项受理范围",
        at=at("2025-03-03T14:00"),
    )
    assert refused.status == ApplicationStatus.REFUSED
    assert refused.paused_since is None
    # 11:00–12:00 and 13:30–14:00 of office hours passed while paused.
    assert refused.paused_seconds == 90 * 60
    assert refused.reason == "不属于本事项受理范围"
    notice = refused.notices.get(kind=NoticeKind.REFUSAL)
    assert notice.content["reason"] == "不属于本事项受理范围"
    assert notice.content["appeal"]["reconsideration_days"] == 60
    assert notice.content["appeal"]["lawsuit_months"] == 6


# ---------------------------------------------------------------- decisions


def test_on_the_spot_only_where_the_counter_may_decide(world):
    forward = world.receive(world.forward_item)
    services.application_accept(actor=staff(world), application_id=forward.pk)
    with override("en"), pytest.raises(Conflict) as refused:
        services.application_approve_on_spot(actor=staff(world), application_id=forward.pk)
    assert "may only accept and forward" in refused.value.message
    assert refused.value.details["status"] == "accepted"
    decide = world.receive(world.decide_item)
    services.application_accept(actor=staff(world), application_id=decide.pk)
    approved = services.application_approve_on_spot(actor=staff(world), application_id=decide.pk)
    assert approved.status == ApplicationStatus.APPROVED
    assert approved.decided_on_spot is True
    assert approved.notices.filter(kind=NoticeKind.COMPLETION).count() == 1
    denied_app = world.receive(world.decide_item)
    services.application_accept(actor=staff(world), application_id=denied_app.pk)
    with pytest.raises(InvalidInput):
        services.application_deny_on_spot(
            actor=staff(world), application_id=denied_app.pk, reason=""
        )
    denied = services.application_deny_on_spot(
        actor=staff(world), application_id=denied_app.pk, reason="年龄未满80周岁"
    )
    assert denied.status == ApplicationStatus.DENIED
    assert denied.notices.get(kind=NoticeKind.DENIAL).content["reason"] == "年龄未满80周岁"


def test_forward_goes_to_the_nearest_department_of_the_kind(world):
    street = world.city.streets["360502001"]
    street_office = department(street, "城南街道民政办", "minzheng")
    application = world.receive(world.forward_item)
    services.application_accept(actor=staff(world), application_id=application.pk)
    forwarded = services.application_forward(
        actor=staff(world), application_id=application.pk, jointly=True
    )
    assert forwarded.department == street_office
    assert forwarded.handled_jointly is True
    assert forwarded.events.last().data["department_name"] == "城南街道民政办"
    # Without the street's office, the district's; without that, the city's.
    street_office.active = False
    street_office.save()
    second = world.receive(world.forward_item)
    services.application_accept(actor=staff(world), application_id=second.pk)
    assert (
        services.application_forward(actor=staff(world), application_id=second.pk).department
        == world.department
    )
    world.department.active = False
    world.department.save()
    city_office = department(world.city.city, "新余市民政局", "minzheng")
    third = world.receive(world.forward_item)
    services.application_accept(actor=staff(world), application_id=third.pk)
    assert (
        services.application_forward(actor=staff(world), application_id=third.pk).department
        == city_office
    )


def test_forward_without_a_responsible_department_names_the_kind(world):
    item = make_item(code="TEST-CANLIAN", department_kind="canlian")
    make_delegation(item=item, counter=world.counter_a)
    application = world.receive(item)
    services.application_accept(actor=staff(world), application_id=application.pk)
    with override("en"), pytest.raises(InvalidInput) as refused:
        services.application_forward(actor=staff(world), application_id=application.pk)
    assert "canlian" in refused.value.message
    assert refused.value.details == {"department_kind": "canlian"}
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACCEPTED
    assert application.events.count() == 2


def test_the_department_decides_what_was_forwarded_to_it(world):
    application = world.receive(world.forward_item)
    services.application_accept(actor=staff(world), application_id=application.pk)
    services.application_forward(actor=staff(world), application_id=application.pk)
    with pytest.raises(Forbidden):
        services.application_approve(
            actor=world.user("other_handler"), application_id=application.pk
        )
    with pytest.raises(InvalidInput):
        services.application_deny(
            actor=world.user("handler"), application_id=application.pk, reason=""
        )
    denied = services.application_deny(
        actor=world.user("handler"), application_id=application.pk, reason="家庭收入超过标准"
    )
    assert denied.status == ApplicationStatus.DENIED
    assert denied.decided_on_spot is False
    notice = denied.notices.get(kind=NoticeKind.DENIAL)
    assert notice.content["department"] == "渝水区民政局"
    assert denied.events.last().role == Role.DEPARTMENT_HANDLER
    # A handler sees what was forwarded to the department even outside their areas.
    elsewhere = UserFactory(username="remote-handler")
    assign(elsewhere, world.city.districts["360521"], Role.DEPARTMENT_HANDLER, world.department)
    assert selectors.application_get(user=elsewhere, application_id=application.pk)


def test_suspend_and_resume_return_to_the_state_before(world):
    application = world.receive(world.forward_item, at=at("2025-03-03T10:00"))
    services.application_accept(
        actor=staff(world), application_id=application.pk, at=at("2025-03-03T10:10")
    )
    suspended = services.application_suspend(
        actor=staff(world),
        application_id=application.pk,
        reason="需现场核查",
        at=at("2025-03-03T11:00"),
    )
    assert (suspended.status, suspended.status_before_pause) == ("suspended", "accepted")
    resumed = services.application_resume(
        actor=staff(world), application_id=application.pk, at=at("2025-03-03T11:30")
    )
    assert (resumed.status, resumed.status_before_pause) == ("accepted", "")
    services.application_forward(
        actor=staff(world), application_id=application.pk, at=at("2025-03-03T11:40")
    )
    services.application_suspend(
        actor=world.user("handler"),
        application_id=application.pk,
        reason="专家评审",
        at=at("2025-03-04T09:00"),
    )
    resumed = services.application_resume(
        actor=world.user("handler"), application_id=application.pk, at=at("2025-03-04T10:00")
    )
    assert resumed.status == "forwarded"
    with pytest.raises(InvalidInput):
        services.application_suspend(actor=staff(world), application_id=application.pk, reason="")


def test_issue_and_rate_once(world):
    application = world.receive(world.decide_item, delivery=Delivery.GRID_WORKER)
    services.application_accept(actor=staff(world), application_id=application.pk)
    services.application_approve_on_spot(actor=staff(world), application_id=application.pk)
    # The inspector of the applicant's cell may deliver, and records only that.
    inspector = world.user("inspector")
    with pytest.raises(Forbidden):
        services.application_issue(
            actor=inspector, application_id=application.pk, delivery=Delivery.POST
        )
    issued = services.application_issue(actor=inspector, application_id=application.pk)
    assert (issued.status, issued.delivery, issued.delivered_by) == (
        "issued",
        Delivery.GRID_WORKER,
        inspector,
    )
    assert issued.events.last().role == Role.GRID_INSPECTOR
    with pytest.raises(InvalidInput):
        services.application_rate(actor=staff(world), application_id=application.pk, rating=6)
    with pytest.raises(InvalidInput):
        services.application_rate(actor=staff(world), application_id=application.pk, rating=0)
    rated = services.application_rate(
        actor=staff(world), application_id=application.pk, rating=5, comment="很方便"
    )
    assert (rated.rating, rated.rating_comment, rated.status) == (5, "很方便", "issued")
    with override("en"), pytest.raises(Conflict) as twice:
        services.application_rate(actor=staff(world), application_id=application.pk, rating=1)
    assert "already rated 5" in twice.value.message
    assert application.events.filter(action="rate").count() == 1


def test_issue_needs_a_delivery(world):
    application = world.receive(world.decide_item)
    services.application_accept(actor=staff(world), application_id=application.pk)
    services.application_approve_on_spot(actor=staff(world), application_id=application.pk)
    with pytest.raises(InvalidInput):
        services.application_issue(actor=staff(world), application_id=application.pk)
    issued = services.application_issue(
        actor=staff(world), application_id=application.pk, delivery=Delivery.POST
    )
    assert (issued.delivery, issued.delivered_by) == (Delivery.POST, None)


def test_history_is_complete_and_append_only(world):
    application = world.receive(world.forward_item, complete=False)
    services.application_request_correction(actor=staff(world), application_id=application.pk)
    services.application_supply_materials(
        actor=staff(world),
        application_id=application.pk,
        supplied=world.requirement_ids(world.forward_item),
    )
    services.application_accept(actor=staff(world), application_id=application.pk)
    services.application_forward(actor=staff(world), application_id=application.pk)
    services.application_approve(actor=world.user("handler"), application_id=application.pk)
    services.application_issue(
        actor=staff(world), application_id=application.pk, delivery=Delivery.PICKUP
    )
    services.application_rate(actor=staff(world), application_id=application.pk, rating=4)
    events = list(
        ApplicationEvent.objects.filter(application=application).values_list(
            "action", "from_status", "to_status", "actor__username"
        )
    )
    assert events == [
        ("receive", "", "received", "staff-a"),
        ("request_correction", "received", "correction", "staff-a"),
        ("supply_materials", "correction", "received", "staff-a"),
        ("accept", "received", "accepted", "staff-a"),
        ("forward", "accepted", "forwarded", "staff-a"),
        ("approve", "forwarded", "approved", "handler"),
        ("issue", "approved", "issued", "staff-a"),
        ("rate", "issued", "issued", "staff-a"),
    ]
    # Every event's from-state is the previous event's to-state.
    for earlier, later in itertools.pairwise(events):
        assert later[1] == earlier[2]
    assert [n.kind for n in application.notices.order_by("id")] == [
        NoticeKind.CORRECTION,
        NoticeKind.ACCEPTANCE,
        NoticeKind.COMPLETION,
    ]


def test_moves_are_sent_after_commit(world, django_capture_on_commit_callbacks):
    received = []

    def listener(sender, **kwargs):
        received.append((kwargs["action"], kwargs["from_status"], kwargs["to_status"]))

    services.application_moved.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            application = world.receive()
            services.application_accept(actor=staff(world), application_id=application.pk)
        assert received == []
        for callback in callbacks:
            callback()
        assert received == [("receive", "", "received"), ("accept", "received", "accepted")]
        # A refused move sends nothing.
        with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Conflict):
            services.application_accept(actor=staff(world), application_id=application.pk)
        assert callbacks == []
    finally:
        services.application_moved.disconnect(listener)


# ---------------------------------------------------------------- complaints


def test_complaints_are_registered_and_decided_once_by_a_supervisor(world):
    application = world.receive()
    complaint = services.complaint_register(
        actor=staff(world), application_id=application.pk, content="窗口人员态度差"
    )
    with pytest.raises(InvalidInput):
        services.complaint_register(actor=staff(world), application_id=application.pk, content="")
    with pytest.raises(NotFound):
        services.complaint_register(
            actor=world.user("staff_b"), application_id=application.pk, content="x"
        )
    with pytest.raises(Forbidden):
        services.complaint_resolve(
            actor=staff(world), complaint_id=complaint.pk, substantiated=False
        )
    resolved = services.complaint_resolve(
        actor=world.user("street_officer"), complaint_id=complaint.pk, substantiated=True
    )
    assert (resolved.substantiated, resolved.resolved_at is not None) == (True, True)
    with pytest.raises(Conflict):
        services.complaint_resolve(
            actor=world.user("district_officer"), complaint_id=complaint.pk, substantiated=False
        )
    assert list(application.events.values_list("action", flat=True)) == [
        "receive",
        "complaint",
        "complaint_resolved",
    ]


# ---------------------------------------------------------------- reads


def test_queues_filter_by_status_light_item_counter_and_dates(world):
    first = world.receive(world.decide_item, at=at("2025-03-03T10:00"))
    second = world.receive(world.forward_item, at=at("2025-03-05T10:00"))
    now = at("2025-03-06T10:00")
    user = staff(world)
    assert list(selectors.application_list(user=user, status="received", now=now)) == [
        first,
        second,
    ]
    assert list(selectors.application_list(user=user, item="TEST-FORWARD", now=now)) == [second]
    assert list(selectors.application_list(user=user, item=world.decide_item.pk, now=now)) == [
        first
    ]
    assert list(selectors.application_list(user=user, date_from=date(2025, 3, 4), now=now)) == [
        second
    ]
    assert list(selectors.application_list(user=user, date_to=date(2025, 3, 3), now=now)) == [first]
    assert list(selectors.application_list(user=user, counter="360502001002", now=now)) == []
    # 5 working days from Monday 3 March 10:00: due Monday 10 March 17:30, 41 working hours;
    # yellow once 32 h 48 min are used, on Friday 7 March at 16:18.
    assert list(
        selectors.application_list(user=user, light="yellow", now=at("2025-03-07T16:18"))
    ) == [first]
    assert list(
        selectors.application_list(user=user, light="green", now=at("2025-03-07T16:17"))
    ) == [first, second]
    with pytest.raises(InvalidInput):
        list(selectors.application_list(user=user, light="blue"))
    with pytest.raises(InvalidInput):
        list(selectors.application_list(user=user, status="lost"))
    queue = selectors.application_counter_queue(
        user=user, counter_code=world.counter_a.code, now=at("2025-03-12T10:00")
    )
    assert [a.light for a in queue] == ["red", "green"]
    services.application_accept(actor=user, application_id=second.pk)
    services.application_forward(actor=user, application_id=second.pk)
    review = selectors.application_review_queue(user=world.user("handler"))
    assert list(review) == [second]
    assert list(selectors.application_review_queue(user=world.user("other_handler"))) == []
    with pytest.raises(NotFound):
        selectors.application_review_queue(
            user=world.user("handler"), department_id=world.other_department.pk
        )


def test_detail_lists_only_the_moves_the_user_may_make(world):
    application = world.receive(world.forward_item, complete=False)
    detail = selectors.application_detail(user=staff(world), application_id=application.pk)
    assert [m.name for m in detail.moves] == ["accept", "request_correction", "refuse"]
    assert [m.requirement.material_type.name for m in detail.missing] == ["居民身份证", "户口簿"]
    services.application_request_correction(actor=staff(world), application_id=application.pk)
    services.application_supply_materials(
        actor=staff(world),
        application_id=application.pk,
        supplied=world.requirement_ids(world.forward_item),
    )
    detail = selectors.application_detail(user=staff(world), application_id=application.pk)
    assert [m.name for m in detail.moves] == ["accept", "refuse"]
    services.application_accept(actor=staff(world), application_id=application.pk)
    detail = selectors.application_detail(user=staff(world), application_id=application.pk)
    # No decision on the spot: the counter may only accept and forward this item.
    assert [m.name for m in detail.moves] == ["forward", "suspend"]
    detail = selectors.application_detail(
        user=world.user("district_officer"), application_id=application.pk
    )
    assert detail.moves == []


def test_channel_is_recorded(world):
    application = services.application_receive(
        actor=staff(world),
        applicant=world.applicant,
        item=world.decide_item,
        counter=world.counter_a,
        channel=Channel.ONLINE,
        at=timezone.now(),
    )
    assert application.channel == Channel.ONLINE
