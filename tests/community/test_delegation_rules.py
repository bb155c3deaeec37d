"""Delegation rules: which counter may accept which item (and why not), who may grant and
withdraw delegations where, duplicates, and the history of every change."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from community.models import (
    Delegation,
    DelegationAction,
    DelegationEvent,
    DelegationPower,
)
from community.selectors.catalogue import counter_may_accept
from community.services.catalogue import delegation_grant, delegation_revoke
from grid.errors import Conflict, Forbidden, InvalidInput, NotFound
from grid.models import Area, AreaLevel, Role
from tests.factories import assign
from tests.fixtures.community import catalogue_user, make_delegation, make_item

C1, C2, C3 = "360502001001", "360502001002", "360521001001"
S1 = "360502001"


@pytest.fixture
def item(db):
    return make_item(code="DELEG-1", name="高龄津贴申领", delegate_to_level=AreaLevel.COMMUNITY)


# --- counter_may_accept ---------------------------------------------------------------------


def test_a_delegated_counter_accepts_with_the_delegations_power(square_city, item):
    counter = square_city.communities[C1]
    make_delegation(item=item, counter=counter, power=DelegationPower.DECIDE)
    answer = counter_may_accept(item=item, counter=counter)
    assert answer.allowed and answer.power == DelegationPower.DECIDE and answer.reason == ""
    assert answer.delegation.counter == counter


def test_a_street_counter_accepts_what_is_delegated_to_it(square_city, item):
    street = square_city.streets[S1]
    make_delegation(item=item, counter=street)
    assert counter_may_accept(item=item, counter=street).power == DelegationPower.ACCEPT_FORWARD


def test_tongban_scope_lets_any_counter_inside_accept_and_forward(square_city):
    item = make_item(code="TONGBAN-1", name="生育登记", tongban_area=square_city.city)
    for code in (C1, C3):
        answer = counter_may_accept(item=item, counter=square_city.communities[code])
        assert answer.allowed and answer.power == DelegationPower.ACCEPT_FORWARD
        assert answer.delegation is None
    answer = counter_may_accept(item=item, counter=square_city.streets["360521001"])
    assert answer.allowed


def test_refused_when_not_delegated_and_the_tongban_scope_does_not_cover(square_city):
    item = make_item(
        code="TONGBAN-2", name="居住证申领", tongban_area=square_city.districts["360521"]
    )
    with translation.override("en"):
        answer = counter_may_accept(item=item, counter=square_city.communities[C1])
    assert not answer.allowed and answer.power is None
    assert answer.reason == (
        "the item “居住证申领” is not delegated to 城南街道第1社区, and its 通办 scope "
        "分宜县 does not cover this counter"
    )
    assert counter_may_accept(item=item, counter=square_city.communities[C3]).allowed


def test_refused_when_not_delegated_and_without_tongban_scope(square_city, item):
    make_delegation(item=item, counter=square_city.communities[C2])
    with translation.override("en"):
        answer = counter_may_accept(item=item, counter=square_city.communities[C1])
    assert not answer.allowed
    assert answer.reason == (
        "the item “高龄津贴申领” is not delegated to 城南街道第1社区 and has no 通办 scope"
    )


def test_refused_after_the_delegation_was_withdrawn(square_city, item):
    delegation = make_delegation(item=item, counter=square_city.communities[C1])
    delegation.active = False
    delegation.save(update_fields=["active"])
    with translation.override("en"):
        answer = counter_may_accept(item=item, counter=square_city.communities[C1])
    assert not answer.allowed
    assert answer.reason == (
        "the delegation of “高龄津贴申领” to 城南街道第1社区 has been withdrawn, and the item "
        "has no 通办 scope"
    )


def test_refused_for_an_item_no_longer_offered_even_where_delegated(square_city):
    item = make_item(code="OLD-1", name="再生育审批", active=False)
    make_delegation(item=item, counter=square_city.communities[C1])
    with translation.override("en"):
        answer = counter_may_accept(item=item, counter=square_city.communities[C1])
    assert not answer.allowed
    assert answer.reason == "the item “再生育审批” is no longer offered"


def test_refused_for_areas_that_are_not_current_counters(square_city, item):
    retired = Area.objects.create(
        code="360502001009",
        name="已撤并社区",
        level=AreaLevel.COMMUNITY,
        parent=square_city.streets[S1],
        valid_from=date(2020, 1, 1),
        valid_to=date(2024, 1, 1),
    )
    make_delegation(item=item, counter=retired)
    cell = square_city.cells[C1 + "001"]
    district = square_city.districts["360502"]
    with translation.override("en"):
        for area in (retired, cell, district):
            answer = counter_may_accept(item=item, counter=area)
            assert not answer.allowed
            assert answer.reason == f"{area} is not a current community or street counter"


# --- grant and withdraw: who, where ---------------------------------------------------------


def test_a_district_officer_grants_inside_the_district_only(square_city, item):
    officer = catalogue_user("district-a", square_city.districts["360502"], Role.DISTRICT_OFFICER)
    delegation = delegation_grant(
        actor=officer, item=item, counter=square_city.communities[C1], power="decide"
    )
    assert delegation.active and delegation.counter_code == C1
    assert delegation.power == DelegationPower.DECIDE
    with pytest.raises(NotFound):
        delegation_grant(
            actor=officer, item=item, counter=square_city.communities[C3], power="decide"
        )
    with pytest.raises(NotFound):
        delegation_grant(
            actor=officer, item=item, counter=square_city.streets["360521001"], power="decide"
        )
    assert not Delegation.objects.filter(counter_code__startswith="360521").exists()


def test_a_city_manager_grants_anywhere_in_the_city(square_city, item):
    manager = catalogue_user("city-manager", square_city.city, Role.CITY_MANAGER)
    for code in (C1, C3):
        delegation_grant(
            actor=manager, item=item, counter=square_city.communities[code], power="decide"
        )
    assert Delegation.objects.filter(item=item, active=True).count() == 2


def test_a_superuser_grants_without_an_assignment(square_city, item):
    admin = catalogue_user("admin", None, "", superuser=True)
    delegation_grant(actor=admin, item=item, counter=square_city.communities[C3], power="decide")
    assert Delegation.objects.filter(counter_code=C3).exists()


@pytest.mark.parametrize(
    ("role", "area_code"),
    [
        (Role.COMMUNITY_STAFF, C1),
        (Role.STREET_OFFICER, S1),
        (Role.GRID_INSPECTOR, C1 + "001"),
    ],
)
def test_counter_staff_cannot_grant_or_withdraw_at_all(square_city, item, role, area_code):
    area = Area.objects.current().get(code=area_code)
    user = catalogue_user(f"{role}-user", area, role)
    target = square_city.communities[C1]
    if role == Role.GRID_INSPECTOR:
        # The inspector sees only a cell: the community is outside their scope.
        with pytest.raises(NotFound):
            delegation_grant(actor=user, item=item, counter=target, power="decide")
        return
    with translation.override("en"), pytest.raises(Forbidden) as caught:
        delegation_grant(actor=user, item=item, counter=target, power="decide")
    assert caught.value.status == 403
    assert "only district officers and city managers" in caught.value.message
    delegation = make_delegation(item=item, counter=target)
    with pytest.raises(Forbidden):
        delegation_revoke(actor=user, delegation=delegation)
    delegation.refresh_from_db()
    assert delegation.active


def test_granting_rights_come_from_the_officer_role_not_from_any_assignment(square_city, item):
    """A district officer of 360502 who is also community staff in 360521 sees that community
    but may not delegate to it."""
    user = catalogue_user("two-hats", square_city.districts["360502"], Role.DISTRICT_OFFICER)
    assign(user, square_city.communities[C3], Role.COMMUNITY_STAFF)
    with pytest.raises(Forbidden):
        delegation_grant(actor=user, item=item, counter=square_city.communities[C3], power="decide")
    delegation_grant(actor=user, item=item, counter=square_city.communities[C1], power="decide")


def test_revoke_follows_the_same_scope(square_city, item):
    officer = catalogue_user("district-a", square_city.districts["360502"], Role.DISTRICT_OFFICER)
    other = make_delegation(item=item, counter=square_city.communities[C3])
    with pytest.raises(NotFound):
        delegation_revoke(actor=officer, delegation=other)
    other.refresh_from_db()
    assert other.active
    mine = make_delegation(item=item, counter=square_city.communities[C1])
    revoked = delegation_revoke(actor=officer, delegation=mine, note="改由街道受理")
    assert not revoked.active
    assert not Delegation.objects.get(pk=mine.pk).active


# --- validation, duplicates, history --------------------------------------------------------


def test_only_current_communities_and_streets_are_counters(square_city, item):
    manager = catalogue_user("city-manager", square_city.city, Role.CITY_MANAGER)
    with translation.override("en"):
        for area in (square_city.districts["360502"], square_city.cells[C1 + "001"]):
            with pytest.raises(InvalidInput) as caught:
                delegation_grant(actor=manager, item=item, counter=area, power="decide")
            assert caught.value.message == (
                f"{area} is not a current community or street: items are delegated to counters"
            )
    assert not Delegation.objects.exists()


def test_an_item_no_longer_offered_cannot_be_delegated(square_city):
    manager = catalogue_user("city-manager", square_city.city, Role.CITY_MANAGER)
    old = make_item(code="OLD-2", name="已取消事项", active=False)
    with translation.override("en"), pytest.raises(InvalidInput, match="no longer offered"):
        delegation_grant(
            actor=manager, item=old, counter=square_city.communities[C1], power="decide"
        )


def test_an_unknown_power_is_refused(square_city, item):
    manager = catalogue_user("city-manager", square_city.city, Role.CITY_MANAGER)
    with translation.override("en"), pytest.raises(InvalidInput, match="unknown power “approve”"):
        delegation_grant(
            actor=manager, item=item, counter=square_city.communities[C1], power="approve"
        )


def test_one_active_delegation_per_item_and_counter(square_city, item):
    manager = catalogue_user("city-manager", square_city.city, Role.CITY_MANAGER)
    counter = square_city.communities[C1]
    first = delegation_grant(actor=manager, item=item, counter=counter, power="decide")
    with translation.override("en"), pytest.raises(Conflict) as caught:
        delegation_grant(actor=manager, item=item, counter=counter, power="accept_forward")
    assert caught.value.status == 409
    assert "already delegated to 城南街道第1社区 (decide on the spot" in caught.value.message
    assert caught.value.details["id"] == first.pk
    assert caught.value.details["power"] == "decide"
    assert Delegation.objects.filter(item=item, counter=counter).count() == 1


def test_withdraw_twice_is_a_conflict_and_a_withdrawn_delegation_can_be_granted_again(
    square_city, item
):
    manager = catalogue_user("city-manager", square_city.city, Role.CITY_MANAGER)
    counter = square_city.communities[C1]
    delegation = delegation_grant(actor=manager, item=item, counter=counter, power="decide")
    delegation_revoke(actor=manager, delegation=delegation)
    with translation.override("en"), pytest.raises(Conflict, match="already withdrawn"):
        delegation_revoke(actor=manager, delegation=delegation)
    again = delegation_grant(actor=manager, item=item, counter=counter, power="accept_forward")
    assert again.pk == delegation.pk and again.active
    assert again.power == DelegationPower.ACCEPT_FORWARD
    assert counter_may_accept(item=item, counter=counter).power == DelegationPower.ACCEPT_FORWARD
    events = list(DelegationEvent.objects.filter(delegation=delegation).order_by("at", "id"))
    assert [(e.action, e.power, e.actor) for e in events] == [
        (DelegationAction.GRANT, "decide", manager),
        (DelegationAction.REVOKE, "decide", manager),
        (DelegationAction.GRANT, "accept_forward", manager),
    ]
