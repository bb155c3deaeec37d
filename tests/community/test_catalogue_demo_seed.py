"""community_demo_seed: the catalogue delegated to the demo city's counters by level, with
the power of each kind, a few pairs left out, idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F
from django.utils import translation

from community.models import (
    Delegation,
    DelegationEvent,
    DelegationPower,
    ItemKind,
    ServiceItem,
)
from community.selectors.catalogue import counter_may_accept, delegation_rate
from grid.models import Area, AreaLevel, Department, DepartmentKind


def counts() -> dict[str, int]:
    return {
        "items": ServiceItem.objects.count(),
        "delegations": Delegation.objects.count(),
        "active": Delegation.objects.filter(active=True).count(),
        "events": DelegationEvent.objects.count(),
        "departments": Department.objects.count(),
        "kinds": DepartmentKind.objects.count(),
    }


def test_demo_seed_delegates_by_level_and_kind_once(demo_people):
    first, second = StringIO(), StringIO()
    with translation.override("en"):
        call_command("community_demo_seed", stdout=first)
        after_first = counts()
        call_command("community_demo_seed", stdout=second)
    assert "community demo data ready" in first.getvalue()
    assert "left undelegated on purpose" in first.getvalue()
    assert "already there; nothing changed" in second.getvalue()
    assert "0 departments and 0 delegations created" in second.getvalue()
    assert counts() == after_first

    current = Area.objects.current().subtree("3605")
    communities = current.filter(level=AreaLevel.COMMUNITY).count()
    streets = current.filter(level=AreaLevel.STREET).count()
    items = ServiceItem.objects.filter(active=True)
    community_items = items.filter(delegate_to_level=AreaLevel.COMMUNITY).count()
    street_items = items.filter(delegate_to_level=AreaLevel.STREET).count()
    should = community_items * communities + street_items * streets
    delegated = Delegation.objects.filter(active=True).count()
    assert 0 < should - delegated <= should // 50  # a few pairs, not many

    rate = delegation_rate(area=Area.objects.current().get(code="3605"))
    assert (rate.numerator, rate.denominator) == (delegated, should)
    assert 0.95 < rate.rate < 1

    # Delegations go only to counters of the item's level, none to the hall-only items.
    wrong_level = Delegation.objects.exclude(counter__level=F("item__delegate_to_level"))
    assert not wrong_level.exists()
    assert not Delegation.objects.filter(item__delegate_to_level__isnull=True).exists()
    # 即办 items are decided on the spot, the rest accepted and forwarded.
    powers = set(Delegation.objects.values_list("item__kind", "power").distinct())
    assert powers == {
        (ItemKind.IMMEDIATE, DelegationPower.DECIDE),
        (ItemKind.PROMISED, DelegationPower.ACCEPT_FORWARD),
    }
    # Every seeded delegation has its grant in the history, written by the seed (no actor).
    assert DelegationEvent.objects.filter(actor__isnull=True).count() == delegated


def test_the_demo_accounts_counters_take_every_item_of_their_level(demo_people):
    call_command("community_demo_seed", stdout=StringIO())
    community = Area.objects.current().get(code="360502001001")
    street = Area.objects.current().get(code="360502001")
    for counter, level in ((community, AreaLevel.COMMUNITY), (street, AreaLevel.STREET)):
        for item in ServiceItem.objects.filter(active=True, delegate_to_level=level):
            answer = counter_may_accept(item=item, counter=counter)
            assert answer.allowed and answer.delegation is not None, (counter.code, item.name)
            expected = (
                DelegationPower.DECIDE
                if item.kind == ItemKind.IMMEDIATE
                else DelegationPower.ACCEPT_FORWARD
            )
            assert answer.power == expected


def test_tongban_scopes_and_departments_for_every_kind(demo_people):
    call_command("community_demo_seed", stdout=StringIO())
    city = Area.objects.current().get(code="3605")
    assert ServiceItem.objects.filter(tongban_area=city).count() >= 10
    kinds = set(ServiceItem.objects.values_list("department_kind__code", flat=True))
    assert {"weijian", "gongan"} <= kinds
    areas = Area.objects.current().subtree("3605").filter(level__lte=AreaLevel.DISTRICT)
    per_area_kind = (
        Department.objects.filter(area__in=areas, kind__code__in=kinds)
        .values("area", "kind")
        .annotate(n=Count("id"))
    )
    assert len(per_area_kind) == areas.count() * len(kinds)
    assert all(row["n"] == 1 for row in per_area_kind)
    assert Department.objects.filter(name="渝水区卫生健康委员会").exists()
    assert Department.objects.filter(name="新余市公安局").exists()


def test_a_withdrawn_delegation_stays_withdrawn(demo_people):
    call_command("community_demo_seed", stdout=StringIO())
    delegation = Delegation.objects.order_by("id").first()
    delegation.active = False
    delegation.save(update_fields=["active"])
    before = counts()
    call_command("community_demo_seed", stdout=StringIO())
    delegation.refresh_from_db()
    assert not delegation.active
    assert counts() == before


@pytest.mark.django_db
def test_demo_seed_needs_the_city():
    with translation.override("en"), pytest.raises(CommandError, match="run demo_seed first"):
        call_command("community_demo_seed", stdout=StringIO())
    assert not ServiceItem.objects.exists()
