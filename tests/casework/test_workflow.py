"""What each move does besides changing the state: holders, departments, counters, clocks,
history, notifications, photos and merges; and that a refused move writes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.translation import override

from casework.models import (
    Category,
    CategoryKind,
    Incident,
    IncidentEvent,
    IncidentPhoto,
    PhotoStage,
    Status,
    Step,
    TimeUnit,
)
from casework.services import workflow
from grid.errors import Conflict, Forbidden, InvalidInput, NotFound
from grid.models import AreaLevel, Notification
from tests.factories import UserFactory, assign, department
from tests.fixtures.casework import workflow_case, workflow_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(workflow_world, work_calendar, workflow_media):
    return workflow_world


def reload(case: Incident) -> Incident:
    return Incident.objects.get(pk=case.pk)


def history(case: Incident) -> list[tuple[str, str, str]]:
    return list(
        IncidentEvent.objects.filter(incident=case)
        .order_by("at", "id")
        .values_list("action", "from_status", "to_status")
    )


def last_event(case: Incident) -> IncidentEvent:
    return IncidentEvent.objects.filter(incident=case).order_by("-at", "-id").first()


def inbox(user) -> list[tuple[str, str]]:
    return list(Notification.objects.filter(user=user).order_by("id").values_list("kind", "link"))


def test_accept_keeps_the_register_clock(world):
    case = workflow_case(world, Status.REPORTED)
    moved = workflow.incident_accept(actor=world.user("holder"), incident_id=case.pk, note="属实")
    stored = reload(case)
    assert stored.status == moved.status == Status.ACCEPTED
    assert stored.accepted_at is not None
    assert (stored.step, stored.step_round) == (Step.REGISTER, 1)
    assert stored.step_deadline == case.step_deadline
    event = last_event(case)
    assert (event.action, event.from_status, event.to_status) == ("accept", "reported", "accepted")
    assert (event.actor, event.role, event.note) == (world.user("holder"), "street_officer", "属实")
    assert event.data == {"part": "dispatcher"}


def test_void_needs_a_reason_and_leaves_the_clock(world):
    case = workflow_case(world, Status.ACCEPTED)
    with override("en"), pytest.raises(InvalidInput) as refused:
        workflow.incident_void(actor=world.user("holder"), incident_id=case.pk, reason="  ")
    assert "reason" in refused.value.details
    assert reload(case).status == Status.ACCEPTED
    assert history(case) == [("reported", "", "reported")]
    workflow.incident_void(actor=world.user("holder"), incident_id=case.pk, reason="重复上报")
    stored = reload(case)
    assert stored.status == Status.VOIDED
    assert (stored.step, stored.step_deadline, stored.step_warn_at) == ("", None, None)
    assert last_event(case).data["reason"] == "重复上报"


def test_register_starts_the_dispatch_clock_with_the_routed_holder(world):
    case = workflow_case(world, Status.ACCEPTED)
    at = timezone.now()
    workflow.incident_register(actor=world.user("holder"), incident_id=case.pk, at=at)
    stored = reload(case)
    assert stored.status == Status.REGISTERED
    assert stored.registered_at == at
    assert (stored.step, stored.step_round, stored.step_started_at) == (Step.DISPATCH, 2, at)
    assert stored.step_deadline > stored.step_warn_at > at
    assert stored.light == "green"
    assert (stored.tier, stored.holder_area.code) == (AreaLevel.STREET, "360502001")
    assert stored.department == world.departments["street"]
    assert last_event(case).data["clock"]["round"] == 2
    assert "holder" not in last_event(case).data
    assert inbox(world.user("community")) == []


def test_register_corrects_the_category_and_routes_again(world):
    community = world.area("360502001001")
    sanitation = department(community, "第1社区环卫站", "huanwei")
    bins = Category.objects.create(
        kind=CategoryKind.EVENT,
        scheme="test-workflow",
        code="0103",
        major_code="01",
        major_name="市容环境",
        name="积存垃圾渣土",
        default_tier=AreaLevel.COMMUNITY,
        department_kind=sanitation.kind,
    )
    case = workflow_case(world, Status.ACCEPTED)
    with pytest.raises(InvalidInput) as unknown:
        workflow.incident_register(actor=world.user("holder"), incident_id=case.pk, category_id=0)
    assert "category_id" in unknown.value.details
    workflow.incident_register(actor=world.user("holder"), incident_id=case.pk, category_id=bins.pk)
    stored = reload(case)
    assert stored.category == bins
    assert (stored.tier, stored.holder_area, stored.department) == (
        AreaLevel.COMMUNITY,
        community,
        sanitation,
    )
    data = last_event(case).data
    assert data["category"] == {"from": world.event.pk, "to": bins.pk}
    assert data["holder"]["from"]["area"] == "360502001"
    assert data["holder"]["to"] == {
        "tier": AreaLevel.COMMUNITY,
        "area": "360502001001",
        "department": sanitation.pk,
    }
    # The community now holds the case: its staff hear of it and dispatch it.
    assert [kind for kind, _link in inbox(world.user("community"))] == ["case_registered"]
    workflow.incident_dispatch(actor=world.user("community"), incident_id=case.pk)
    assert reload(case).department == sanitation


def test_register_leaves_an_escalated_case_where_it_went(world):
    case = workflow_case(world, Status.ACCEPTED)
    workflow.incident_escalate(actor=world.user("holder"), incident_id=case.pk, reason="需区级协调")
    workflow.incident_register(actor=world.user("district"), incident_id=case.pk)
    stored = reload(case)
    assert (stored.tier, stored.holder_area.code) == (AreaLevel.DISTRICT, "360502")
    assert stored.department == world.departments["district"]


def test_dispatch_to_the_routed_department_notifies_its_handlers(world):
    case = workflow_case(world, Status.REGISTERED)
    workflow.incident_dispatch(actor=world.user("holder"), incident_id=case.pk, note="请尽快")
    stored = reload(case)
    assert stored.status == Status.DISPATCHED
    assert stored.department == world.departments["street"]
    assert stored.assignee is None
    assert (stored.step, stored.step_round) == (Step.HANDLE, 2)
    assert last_event(case).data["department"] == {
        "id": world.departments["street"].pk,
        "name": "城南街道城管中队",
    }
    assert inbox(world.user("handler")) == [("case_dispatched", f"/casework/cases/{case.number}/")]
    assert inbox(world.user("other-handler")) == []
    assert inbox(world.user("holder")) == []


def test_dispatch_refuses_a_department_out_of_reach(world):
    case = workflow_case(world, Status.REGISTERED)
    holder = world.user("holder")
    retired = department(world.area("360502001"), "城南街道旧办", "old")
    retired.active = False
    retired.save()
    for department_id in (
        world.departments["other-street"].pk,  # another district's street
        world.departments["district"].pk,  # above the holding tier: escalate instead
        retired.pk,  # inactive
        10**9,  # no such department
        "5",  # not an id
    ):
        with pytest.raises(InvalidInput) as refused:
            workflow.incident_dispatch(
                actor=holder, incident_id=case.pk, department_id=department_id
            )
        assert "department_id" in refused.value.details, department_id
    assert reload(case).status == Status.REGISTERED
    assert history(case) == [("reported", "", "reported")]
    assert Notification.objects.count() == 0
    workflow.incident_dispatch(
        actor=holder, incident_id=case.pk, department_id=world.departments["street-other"].pk
    )
    assert reload(case).department == world.departments["street-other"]
    assert [kind for kind, _link in inbox(world.user("other-handler"))] == ["case_dispatched"]


def test_escalate_moves_the_holder_one_tier_up_and_keeps_the_status(world):
    case = workflow_case(world, Status.REGISTERED)
    with pytest.raises(InvalidInput):
        workflow.incident_escalate(actor=world.user("holder"), incident_id=case.pk)
    workflow.incident_escalate(
        actor=world.user("holder"), incident_id=case.pk, reason="超出街道权限"
    )
    stored = reload(case)
    assert stored.status == Status.REGISTERED
    assert (stored.tier, stored.holder_area.code) == (AreaLevel.DISTRICT, "360502")
    assert stored.department == world.departments["district"]
    assert stored.escalation_count == 1
    assert (stored.step, stored.step_round) == (Step.DISPATCH, 2)
    event = last_event(case)
    assert (event.action, event.from_status, event.to_status) == (
        "escalate",
        "registered",
        "registered",
    )
    assert event.data["reason"] == "超出街道权限"
    assert event.data["holder"]["from"] == {
        "tier": AreaLevel.STREET,
        "area": "360502001",
        "department": world.departments["street"].pk,
    }
    assert event.data["holder"]["to"]["area"] == "360502"
    assert [(s["from"], s["to"]) for s in event.data["escalations"]] == [
        (AreaLevel.STREET, AreaLevel.DISTRICT)
    ]
    assert [kind for kind, _link in inbox(world.user("district"))] == ["case_escalated"]
    # The street no longer holds it; the district does.
    with pytest.raises(Forbidden):
        workflow.incident_dispatch(actor=world.user("holder"), incident_id=case.pk)
    workflow.incident_dispatch(actor=world.user("district"), incident_id=case.pk)
    assert [kind for kind, _link in inbox(world.user("district-handler"))] == ["case_dispatched"]


def test_a_reported_case_escalates_unaccepted_with_a_new_register_clock(world):
    case = workflow_case(world, Status.REPORTED, at=timezone.now() - timedelta(days=3))
    workflow.incident_escalate(actor=world.user("holder"), incident_id=case.pk, reason="非本级事项")
    stored = reload(case)
    assert (stored.status, stored.step, stored.step_round) == (Status.REPORTED, Step.REGISTER, 2)
    assert stored.step_deadline > case.step_deadline


def test_escalate_past_a_tier_without_a_department(world):
    district = world.departments["district"]
    district.active = False
    district.save()
    case = workflow_case(world, Status.ACCEPTED)
    workflow.incident_escalate(
        actor=world.user("holder"), incident_id=case.pk, reason="区无对口部门"
    )
    stored = reload(case)
    assert (stored.tier, stored.holder_area.code) == (AreaLevel.CITY, "3605")
    assert stored.department == world.departments["city"]
    assert stored.escalation_count == 2
    steps = last_event(case).data["escalations"]
    assert [(s["from"], s["to"]) for s in steps] == [
        (AreaLevel.STREET, AreaLevel.DISTRICT),
        (AreaLevel.DISTRICT, AreaLevel.CITY),
    ]
    assert [kind for kind, _link in inbox(world.user("city"))] == ["case_escalated"]
    with override("en"), pytest.raises(Conflict) as refused:
        workflow.incident_escalate(actor=world.user("city"), incident_id=case.pk, reason="再上报")
    assert "already at the city" in refused.value.message
    assert refused.value.details["status"] == Status.ACCEPTED
    assert reload(case).escalation_count == 2


def test_start_makes_the_handler_the_assignee(world):
    case = workflow_case(world, Status.DISPATCHED)
    workflow.incident_start(actor=world.user("handler"), incident_id=case.pk)
    stored = reload(case)
    assert (stored.status, stored.assignee) == (Status.IN_PROGRESS, world.user("handler"))
    assert (stored.step_round, stored.step_deadline) == (1, case.step_deadline)
    assert last_event(case).role == "department_handler"


def test_return_goes_back_to_the_dispatchers_without_a_department(world):
    case = workflow_case(world, Status.IN_PROGRESS, extension_pending=True)
    workflow.incident_return(
        actor=world.user("handler"), incident_id=case.pk, reason="非我部门职责"
    )
    stored = reload(case)
    assert stored.status == Status.REGISTERED
    assert (stored.department, stored.assignee, stored.extension_requested) == (None, None, False)
    assert stored.return_count == 1
    assert (stored.tier, stored.holder_area.code) == (AreaLevel.STREET, "360502001")
    assert (stored.step, stored.step_round) == (Step.DISPATCH, 2)
    assert last_event(case).data["department"]["name"] == "城南街道城管中队"
    assert [kind for kind, _link in inbox(world.user("holder"))] == ["case_returned"]
    # Nothing is routed any more: the dispatcher names the department.
    with pytest.raises(InvalidInput) as refused:
        workflow.incident_dispatch(actor=world.user("holder"), incident_id=case.pk)
    assert "department_id" in refused.value.details


def test_extension_requests_are_checked_and_one_waits_at_a_time(world):
    case = workflow_case(world, Status.IN_PROGRESS)
    handler = world.user("handler")
    for amount, unit, reason, field in (
        (0, TimeUnit.WORKING_DAYS, "等材料", "amount"),
        ("-1", TimeUnit.WORKING_DAYS, "等材料", "amount"),
        ("abc", TimeUnit.WORKING_DAYS, "等材料", "amount"),
        (Decimal("1.005"), TimeUnit.WORKING_HOURS, "等材料", "amount"),
        (61, TimeUnit.WORKING_DAYS, "等材料", "amount"),
        (1, "weeks", "等材料", "unit"),
        (1, TimeUnit.WORKING_DAYS, "", "reason"),
    ):
        with pytest.raises(InvalidInput) as refused:
            workflow.incident_request_extension(
                actor=handler, incident_id=case.pk, amount=amount, unit=unit, reason=reason
            )
        assert field in refused.value.details, (amount, unit, reason)
    assert reload(case).extension_requested is False
    workflow.incident_request_extension(
        actor=handler,
        incident_id=case.pk,
        amount="1.5",
        unit=TimeUnit.WORKING_DAYS,
        reason="等材料",
    )
    stored = reload(case)
    assert (stored.status, stored.extension_requested) == (Status.IN_PROGRESS, True)
    assert last_event(case).data == {
        "part": "handler",
        "amount": "1.5",
        "unit": "days",
        "reason": "等材料",
    }
    assert [kind for kind, _link in inbox(world.user("holder"))] == ["case_extension_requested"]
    with pytest.raises(Conflict) as twice:
        workflow.incident_request_extension(
            actor=handler, incident_id=case.pk, amount=1, unit=TimeUnit.WORKING_DAYS, reason="再等"
        )
    assert twice.value.details["extension_requested"] is True


def test_extension_decisions_need_a_request(world):
    case = workflow_case(world, Status.IN_PROGRESS)
    for decide in (
        lambda: workflow.incident_approve_extension(
            actor=world.user("holder"), incident_id=case.pk
        ),
        lambda: workflow.incident_reject_extension(
            actor=world.user("holder"), incident_id=case.pk, reason="不同意"
        ),
    ):
        with pytest.raises(Conflict):
            decide()
    pending = workflow_case(world, Status.IN_PROGRESS, extension_pending=True)
    workflow.incident_reject_extension(
        actor=world.user("holder"), incident_id=pending.pk, reason="期限足够"
    )
    stored = reload(pending)
    assert (stored.extension_requested, stored.extension_count) == (False, 0)
    assert stored.step_deadline == pending.step_deadline
    assert [kind for kind, _link in inbox(world.user("handler"))] == ["case_extension_rejected"]
    workflow.incident_request_extension(
        actor=world.user("handler"), incident_id=pending.pk, amount=3, unit="hours", reason="再议"
    )
    workflow.incident_approve_extension(actor=world.user("holder"), incident_id=pending.pk)
    approved = reload(pending)
    assert (approved.extension_requested, approved.extension_count) == (False, 1)
    assert approved.step_deadline > pending.step_deadline
    assert last_event(pending).data["amount"] == "3"


def test_handle_needs_a_photo_and_a_refused_one_writes_nothing(world):
    case = workflow_case(world, Status.IN_PROGRESS)
    handler = world.user("handler")
    not_an_image = SimpleUploadedFile("result.jpg", b"%PDF-1.4 not a photo", "image/jpeg")
    for photos in ((), [workflow_photo("ok.jpg"), not_an_image]):
        with pytest.raises(InvalidInput):
            workflow.incident_handle(actor=handler, incident_id=case.pk, photos=photos)
    assert reload(case).status == Status.IN_PROGRESS
    assert history(case) == [("reported", "", "reported")]
    assert IncidentPhoto.objects.count() == Notification.objects.count() == 0
    assert media_files() == []


def media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_handle_stores_the_photos_and_calls_for_the_check(world):
    case = workflow_case(world, Status.IN_PROGRESS)
    workflow.incident_handle(
        actor=world.user("handler"),
        incident_id=case.pk,
        photos=[workflow_photo("a.jpg"), workflow_photo("b.jpg", colour=(10, 10, 200))],
    )
    stored = reload(case)
    assert stored.status == Status.HANDLED
    assert stored.handled_at is not None
    assert (stored.step, stored.step_round) == (Step.VERIFY, 2)
    event = last_event(case)
    photos = list(IncidentPhoto.objects.filter(incident=case))
    assert len(photos) == 2
    assert {(photo.stage, photo.event_id) for photo in photos} == {(PhotoStage.HANDLED, event.pk)}
    assert len(media_files()) == 2
    assert [kind for kind, _link in inbox(world.user("holder"))] == ["case_handled"]
    assert [kind for kind, _link in inbox(world.user("inspector"))] == ["case_check_due"]
    assert inbox(world.user("other-inspector")) == []


def test_check_pass_then_close(world):
    case = workflow_case(world, Status.HANDLED)
    workflow.incident_check_pass(
        actor=world.user("inspector"), incident_id=case.pk, photos=[workflow_photo()]
    )
    stored = reload(case)
    assert (stored.status, stored.step, stored.step_deadline) == (Status.CHECKED, "", None)
    assert IncidentPhoto.objects.get(incident=case).stage == PhotoStage.CHECK
    assert [kind for kind, _link in inbox(world.user("holder"))] == ["case_checked"]
    assert last_event(case).role == "grid_inspector"
    workflow.incident_close(actor=world.user("holder"), incident_id=case.pk)
    closed = reload(case)
    assert closed.status == Status.CLOSED
    assert closed.closed_at is not None
    assert [row[0] for row in history(case)] == ["reported", "check_pass", "close"]


def test_check_fail_sends_the_case_back_for_rework(world):
    case = workflow_case(world, Status.HANDLED)
    with pytest.raises(InvalidInput):
        workflow.incident_check_fail(actor=world.user("inspector"), incident_id=case.pk)
    workflow.incident_check_fail(
        actor=world.user("inspector"), incident_id=case.pk, reason="井盖仍松动"
    )
    stored = reload(case)
    assert (stored.status, stored.rework_count) == (Status.IN_PROGRESS, 1)
    assert (stored.step, stored.step_round) == (Step.HANDLE, 2)
    assert stored.department == world.departments["street"]
    assert [kind for kind, _link in inbox(world.user("handler"))] == ["case_rework"]


def test_merge_closes_the_duplicate_and_both_histories_name_the_other(world):
    duplicate = workflow_case(world, Status.IN_PROGRESS)
    kept = workflow_case(world, Status.REGISTERED)
    workflow.incident_merge(actor=world.user("holder"), incident_id=duplicate.pk, into_id=kept.pk)
    closed = reload(duplicate)
    assert (closed.status, closed.duplicate_of) == (Status.CLOSED, kept)
    assert (closed.step, closed.step_deadline) == ("", None)
    merge = last_event(duplicate)
    assert (merge.action, merge.from_status, merge.to_status) == ("merge", "in_progress", "closed")
    assert merge.data["into"] == {"id": kept.pk, "number": kept.number}
    other = last_event(kept)
    assert (other.action, other.from_status, other.to_status) == (
        "merged_from",
        "registered",
        "registered",
    )
    assert other.data["duplicate"] == {"id": duplicate.pk, "number": duplicate.number}
    assert (other.actor, other.role) == (world.user("holder"), "street_officer")
    assert reload(kept).status == Status.REGISTERED
    # The department was working on the duplicate: it hears it may stop.
    assert [kind for kind, _link in inbox(world.user("handler"))] == ["case_merged"]


def test_merge_refusals(world):
    case = workflow_case(world, Status.REGISTERED)
    holder = world.user("holder")
    closed = workflow_case(world, Status.CLOSED)
    elsewhere = workflow_case(world, Status.REGISTERED)
    # A case of the other district, which the street officer cannot see.
    Incident.objects.filter(pk=elsewhere.pk).update(area_code="360521001001001")
    for into_id in (None, case.pk, elsewhere.pk, 10**9, "x"):
        with pytest.raises(InvalidInput) as refused:
            workflow.incident_merge(actor=holder, incident_id=case.pk, into_id=into_id)
        assert "into_id" in refused.value.details, into_id
    with pytest.raises(Conflict) as not_open:
        workflow.incident_merge(actor=holder, incident_id=case.pk, into_id=closed.pk)
    assert not_open.value.details == {"status": Status.REGISTERED, "into_status": Status.CLOSED}
    assert reload(case).status == Status.REGISTERED
    assert history(case) == [("reported", "", "reported")]


def test_a_stale_client_gets_the_current_state(world):
    case = workflow_case(world, Status.ACCEPTED)
    with override("en"), pytest.raises(Conflict) as stale:
        workflow.incident_register(
            actor=world.user("holder"), incident_id=case.pk, expected_status=Status.REPORTED
        )
    assert stale.value.details == {"status": Status.ACCEPTED}
    assert "accepted" in stale.value.message
    workflow.incident_register(
        actor=world.user("holder"), incident_id=case.pk, expected_status=Status.ACCEPTED
    )
    assert reload(case).status == Status.REGISTERED


def test_incident_move_dispatches_by_name_and_checks_the_arguments(world):
    case = workflow_case(world, Status.REPORTED)
    holder = world.user("holder")
    with pytest.raises(InvalidInput) as unknown:
        workflow.incident_move(actor=holder, incident_id=case.pk, move="approve")
    assert "move" in unknown.value.details
    with pytest.raises(InvalidInput) as extra:
        workflow.incident_move(actor=holder, incident_id=case.pk, move="accept", reason="x")
    assert list(extra.value.details) == ["reason"]
    with pytest.raises(InvalidInput) as naive:
        workflow.incident_move(
            actor=holder, incident_id=case.pk, move="accept", at=datetime(2025, 3, 3, 10)
        )
    assert "at" in naive.value.details
    moved = workflow.incident_move(actor=holder, incident_id=case.pk, move="accept", note="ok")
    assert moved.status == Status.ACCEPTED


def test_a_person_with_no_assignment_sees_no_case(world):
    case = workflow_case(world, Status.REPORTED)
    nobody = UserFactory(username="wf-nobody")
    with pytest.raises(NotFound):
        workflow.incident_accept(actor=nobody, incident_id=case.pk)
    # An inactive assignment counts for nothing either.
    assignment = assign(nobody, world.area("360502001"), "street_officer")
    assignment.active = False
    assignment.save()
    with pytest.raises(NotFound):
        workflow.incident_accept(actor=nobody, incident_id=case.pk)
