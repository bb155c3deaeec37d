"""Every move of the transition table, from every state, by every role, through the API.

The table of expectations is generated from states × moves × roles: out of the user's
visibility → 404; a move the state does not allow → 409 naming the current state; a move the
state allows but the user's roles for this application do not → 403; otherwise the move is
made (200). Each attempt runs in a savepoint that is rolled back, so every attempt starts
from the same application in the same state.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from community.models import ApplicationStatus as S
from community.models import Delivery, MaterialStatus
from community.services import applications as services
from community.transitions import COUNTER_ROLES, HANDLER_ROLES, MOVES, allowed_moves, move_refusal
from grid.models import Role
from tests.fixtures.applications import ROLE_NAMES, build_counter_world

pytestmark = pytest.mark.django_db

# The roles each test user holds for an application of counter A, and whether they see it.
# The department handler holds the handler role once the application has been forwarded to
# the department; the applicant's cell inspector sees applications delivered by the grid
# worker (all applications below are).
HOLDINGS = {
    "staff_a": ({Role.COMMUNITY_STAFF}, True),
    "street_officer": ({Role.STREET_OFFICER}, True),
    "staff_b": (set(), False),
    "handler": ({Role.DEPARTMENT_HANDLER}, True),
    "other_handler": (set(), True),
    "inspector": ({Role.GRID_INSPECTOR}, True),
    "district_officer": (set(), True),
    "superuser": (set(), True),
}
FORWARDED_STATES = {S.FORWARDED, S.SUSPENDED, S.APPROVED, S.DENIED, S.ISSUED}


def build_states(world) -> dict[str, object]:
    """One application of counter A in every state (and a second, incomplete, received one
    for the correction request), all made through the services by a superuser."""
    root = world.user("superuser")
    item = world.decide_item

    def received(complete=True):
        return world.receive(item, complete=complete, delivery=Delivery.GRID_WORKER, actor=root)

    def forwarded():
        app = received()
        services.application_accept(actor=root, application_id=app.pk)
        services.application_forward(actor=root, application_id=app.pk)
        return app

    apps = {S.RECEIVED: received(), "received_incomplete": received(complete=False)}
    apps[S.CORRECTION] = received(complete=False)
    services.application_request_correction(actor=root, application_id=apps[S.CORRECTION].pk)
    apps[S.REFUSED] = received()
    services.application_refuse(actor=root, application_id=apps[S.REFUSED].pk, reason="不符合条件")
    apps[S.ACCEPTED] = received()
    services.application_accept(actor=root, application_id=apps[S.ACCEPTED].pk)
    apps[S.FORWARDED] = forwarded()
    apps[S.SUSPENDED] = forwarded()
    services.application_suspend(actor=root, application_id=apps[S.SUSPENDED].pk, reason="听证")
    apps[S.APPROVED] = forwarded()
    services.application_approve(actor=root, application_id=apps[S.APPROVED].pk)
    apps[S.DENIED] = forwarded()
    services.application_deny(actor=root, application_id=apps[S.DENIED].pk, reason="不符合")
    apps[S.ISSUED] = forwarded()
    services.application_approve(actor=root, application_id=apps[S.ISSUED].pk)
    services.application_issue(
        actor=root, application_id=apps[S.ISSUED].pk, delivery=Delivery.GRID_WORKER
    )
    for status in S.values:
        assert apps[status].__class__.objects.get(pk=apps[status].pk).status == status
    return apps


def payload(move: str, application) -> dict:
    if move in {"refuse", "deny_on_spot", "deny", "suspend"}:
        return {"reason": "理由"}
    if move == "supply_materials":
        missing = application.materials.filter(status=MaterialStatus.MISSING)
        return {"supplied": list(missing.values_list("requirement_id", flat=True))}
    if move == "issue":
        return {"delivery": Delivery.GRID_WORKER}
    if move == "rate":
        return {"rating": 4}
    return {}


def expected(role_name: str, status: str, move_name: str) -> int:
    roles, visible = HOLDINGS[role_name]
    if role_name == "handler" and status not in FORWARDED_STATES:
        roles = set()
    move = MOVES[move_name]
    if not visible:
        return 404
    if status not in move.sources:
        return 409
    if role_name != "superuser" and not (roles & move.roles):
        return 403
    return 200


def attempt(client, application, move: str) -> tuple[int, dict]:
    url = reverse(
        f"community-api:application-{move.replace('_', '-')}", kwargs={"pk": application.pk}
    )
    savepoint = transaction.savepoint()
    try:
        response = client.post(
            url, payload(move, application), format="json", HTTP_ACCEPT_LANGUAGE="en"
        )
    finally:
        transaction.savepoint_rollback(savepoint)
    return response.status_code, response.json()


@pytest.mark.parametrize("role_name", ROLE_NAMES)
def test_every_move_from_every_state(role_name, work_calendar):
    world = build_counter_world()
    apps = build_states(world)
    client = APIClient()
    client.force_authenticate(world.user(role_name))
    outcomes: dict[int, int] = {}
    mismatches = []
    for status in S.values:
        for move in MOVES:
            application = (
                apps["received_incomplete"]
                if status == S.RECEIVED and move == "request_correction"
                else apps[status]
            )
            code, body = attempt(client, application, move)
            want = expected(role_name, status, move)
            outcomes[code] = outcomes.get(code, 0) + 1
            if code != want:
                mismatches.append((status, move, want, code, body.get("detail")))
            elif code == 409:
                assert body["errors"]["status"] == status, (status, move, body)
            elif code == 200:
                target = MOVES[move].target
                if move == "resume":
                    target = S.FORWARDED  # the state it was suspended from
                assert body["status"] == (target or status), (status, move, body["status"])
    assert not mismatches, "\n".join(map(str, mismatches))
    assert sum(outcomes.values()) == len(S.values) * len(MOVES)
    # Every role meets refusals; every role but staff of another community sees the states.
    if role_name == "staff_b":
        assert outcomes == {404: len(S.values) * len(MOVES)}
    else:
        assert outcomes.get(409, 0) > 0


def test_the_generated_table_agrees_with_hand_picked_cases():
    cases = {
        ("staff_a", S.RECEIVED, "accept"): 200,
        ("street_officer", S.ACCEPTED, "forward"): 200,
        ("handler", S.RECEIVED, "accept"): 403,
        ("handler", S.FORWARDED, "approve"): 200,
        ("other_handler", S.FORWARDED, "approve"): 403,
        ("staff_a", S.FORWARDED, "approve"): 403,
        ("inspector", S.APPROVED, "issue"): 200,
        ("inspector", S.ACCEPTED, "issue"): 409,
        ("inspector", S.RECEIVED, "accept"): 403,
        ("district_officer", S.FORWARDED, "approve"): 403,
        ("staff_b", S.RECEIVED, "accept"): 404,
        ("superuser", S.FORWARDED, "deny"): 200,
        ("staff_a", S.ISSUED, "rate"): 200,
        ("staff_a", S.APPROVED, "rate"): 409,
        ("handler", S.SUSPENDED, "resume"): 200,
        ("staff_a", S.CORRECTION, "request_correction"): 409,
    }
    for (role_name, status, move), code in cases.items():
        assert expected(role_name, status, move) == code, (role_name, status, move)


def test_transition_table_helpers():
    assert [move.name for move in allowed_moves(S.RECEIVED, {Role.COMMUNITY_STAFF})] == [
        "accept",
        "request_correction",
        "refuse",
    ]
    assert allowed_moves(S.FORWARDED, {Role.COMMUNITY_STAFF}) == [MOVES["suspend"]]
    assert [m.name for m in allowed_moves(S.FORWARDED, set(HANDLER_ROLES))] == [
        "approve",
        "deny",
        "suspend",
    ]
    assert len(allowed_moves(S.ACCEPTED, set(), superuser=True)) == 4
    assert move_refusal("accept", S.RECEIVED, set(COUNTER_ROLES)) is None
    assert move_refusal("nonsense", S.RECEIVED, set()) is not None
    with translation.override("en"):
        assert "issued" in str(move_refusal("issue", S.ISSUED, set(COUNTER_ROLES)))


def test_every_move_has_one_endpoint():
    from community.api.applications import MOVE_ENDPOINTS, MOVE_VIEWS

    assert set(MOVE_ENDPOINTS) == set(MOVES) == set(MOVE_VIEWS)
    assert len({view.__name__ for view in MOVE_VIEWS.values()}) == len(MOVES)


def test_a_stale_client_gets_409_with_the_current_state(work_calendar):
    world = build_counter_world()
    application = world.receive()
    client = APIClient()
    client.force_authenticate(world.user("staff_a"))
    url = reverse("community-api:application-accept", kwargs={"pk": application.pk})
    assert client.post(url, {"status": "received"}, format="json").status_code == 200
    # A second clerk still showing the received application presses "refuse".
    refuse = reverse("community-api:application-refuse", kwargs={"pk": application.pk})
    answer = client.post(
        refuse,
        {"status": "received", "reason": "材料不全"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 409
    assert answer.json()["errors"]["status"] == "accepted"
    assert "now accepted" in answer.json()["detail"]
    # And a stale view of a state from which the move would be allowed is refused too.
    forward = reverse("community-api:application-forward", kwargs={"pk": application.pk})
    answer = client.post(forward, {"status": "received"}, format="json")
    assert answer.status_code == 409
    assert application.events.count() == 2
