"""事项进驻落实率 on the hand-built RateFixture (tests/fixtures/community.py): numerator and
denominator counted by hand, one query, the missing pairs paginated, the API scoped.

Pairs that should be delegated (active item with a delegate level × current counter of that
level): A and E × c1 c2 c3 c4, B × s1 s2 — 10 in the city. Delegated among them: A→c1, A→c3,
E→c4, B→s1 — 4. Not counted: A→c2 (withdrawn), B→c1 (wrong level), C→c1 (no level), D→c1
(inactive item), A→the retired community.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from community.selectors.catalogue import (
    delegation_rate,
    delegation_rate_children,
    delegation_rate_missing,
)
from grid.models import Area, Role
from tests.fixtures.community import catalogue_user


def area(code: str) -> Area:
    return Area.objects.current().get(code=code)


@pytest.mark.parametrize(
    ("code", "numerator", "denominator"),
    [
        ("3605", 4, 10),  # A c1, A c3, E c4, B s1 of A×4 + E×4 + B×2
        ("360502", 2, 5),  # A c1, B s1 of A×2 + E×2 + B s1
        ("360521", 2, 5),  # A c3, E c4 of A×2 + E×2 + B s2
        ("360502001", 2, 5),  # the street's subtree is its district's here
        ("360502001001", 1, 2),  # A of A, E
        ("360502001002", 0, 2),  # A withdrawn; E never delegated
        ("360521001002", 1, 2),  # E of A, E
        ("360502001001001", 0, 0),  # a grid cell holds no counter
    ],
)
def test_rate_counted_by_hand(rate_fixture, code, numerator, denominator):
    target = area(code)
    with CaptureQueriesContext(connection) as queries:
        rate = delegation_rate(area=target)
    assert len(queries) == 1
    assert (rate.numerator, rate.denominator) == (numerator, denominator)
    assert rate.missing == denominator - numerator
    if denominator:
        assert rate.rate == pytest.approx(numerator / denominator)
    else:
        assert rate.rate is None and rate.percent is None


def test_the_city_rate_is_forty_percent(rate_fixture):
    rate = delegation_rate(area=area("3605"))
    assert rate.rate == pytest.approx(0.4)
    assert rate.percent == 40.0
    assert (rate.area_code, rate.area_name) == ("3605", "新余市")


def test_inactive_items_withdrawn_delegations_and_retired_counters_do_not_count(rate_fixture):
    items, counters = rate_fixture.items, rate_fixture.counters
    before = delegation_rate(area=area("3605"))
    # Switching the inactive item D on adds D × 4 communities, of which D→c1 is delegated.
    items["D"].active = True
    items["D"].save(update_fields=["active"])
    after = delegation_rate(area=area("3605"))
    assert (after.numerator, after.denominator) == (before.numerator + 1, before.denominator + 4)
    # Reactivating the withdrawn A→c2 counts it.
    withdrawn = items["A"].delegations.get(counter=counters["c2"])
    withdrawn.active = True
    withdrawn.save(update_fields=["active"])
    assert delegation_rate(area=area("3605")).numerator == after.numerator + 1
    # The retired community's delegation never counts, not even in its street.
    assert delegation_rate(area=area("360502001")).denominator == 5 + 2


def test_children_rates_in_one_query(rate_fixture):
    city = area("3605")
    with CaptureQueriesContext(connection) as queries:
        children = delegation_rate_children(area=city)
    assert len(queries) == 1
    assert [(c.area_code, c.numerator, c.denominator) for c in children] == [
        ("360502", 2, 5),
        ("360521", 2, 5),
    ]
    # In a street, its communities; the street's own pair (B→s1) belongs to the street.
    street = delegation_rate_children(area=area("360502001"))
    assert [(c.area_code, c.area_name, c.numerator, c.denominator) for c in street] == [
        ("360502001001", "城南街道第1社区", 1, 2),
        ("360502001002", "城南街道第2社区", 0, 2),
    ]
    assert delegation_rate_children(area=area("360502001001")) == []


def test_missing_pairs_by_counter_then_item_and_sliced_in_sql(rate_fixture):
    missing = delegation_rate_missing(area=area("3605"))
    assert len(missing) == missing.count() == 6
    pairs = [(m.counter_code, m.item_code) for m in missing[0:6]]
    assert pairs == [
        ("360502001001", "RATE-E"),
        ("360502001002", "RATE-A"),
        ("360502001002", "RATE-E"),
        ("360521001", "RATE-B"),
        ("360521001001", "RATE-E"),
        ("360521001002", "RATE-A"),
    ]
    with CaptureQueriesContext(connection) as queries:
        page = missing[2:4]
    assert len(queries) == 1
    assert [(m.counter_code, m.item_code) for m in page] == pairs[2:4]
    assert missing[5].counter_name == "钤东街道第2社区"
    assert missing[5].item_name == "高龄津贴申领"


# --- API ------------------------------------------------------------------------------------


def test_rate_api_with_children(rate_fixture, api_client):
    officer = catalogue_user("district-a", area("360502"), Role.DISTRICT_OFFICER)
    api_client.force_authenticate(officer)
    body = api_client.get(reverse("community-api:delegation-rate", args=["360502"])).json()
    assert body["numerator"] == 2 and body["denominator"] == 5
    assert body["rate"] == pytest.approx(0.4) and body["missing"] == 3
    assert [(c["area_code"], c["numerator"], c["denominator"]) for c in body["children"]] == [
        ("360502001", 2, 5)
    ]


def test_rate_api_is_scoped(rate_fixture, api_client):
    officer = catalogue_user("district-a", area("360502"), Role.DISTRICT_OFFICER)
    api_client.force_authenticate(officer)
    for code in ("360521", "3605", "360521001001"):
        answer = api_client.get(reverse("community-api:delegation-rate", args=[code]))
        assert answer.status_code == 404, code
    missing = api_client.get(reverse("community-api:delegation-rate-missing", args=["360521"]))
    assert missing.status_code == 404


def test_missing_api_is_paginated(rate_fixture, api_client):
    manager = catalogue_user("city-manager", area("3605"), Role.CITY_MANAGER)
    api_client.force_authenticate(manager)
    url = reverse("community-api:delegation-rate-missing", args=["3605"])
    first = api_client.get(url, {"page_size": 4}).json()
    assert first["count"] == 6 and first["next"] and first["previous"] is None
    assert [(r["counter_code"], r["item_code"]) for r in first["results"]] == [
        ("360502001001", "RATE-E"),
        ("360502001002", "RATE-A"),
        ("360502001002", "RATE-E"),
        ("360521001", "RATE-B"),
    ]
    second = api_client.get(url, {"page_size": 4, "page": 2}).json()
    assert [(r["counter_code"], r["item_code"]) for r in second["results"]] == [
        ("360521001001", "RATE-E"),
        ("360521001002", "RATE-A"),
    ]
    assert second["results"][0]["counter_level"] == 4
    assert second["results"][0]["item_name"] == "生育登记"
