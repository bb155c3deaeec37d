"""Catalogue API: item search, the counter filter with powers, item detail; delegations list,
grant and withdraw through HTTP with the status codes of each refusal."""

from __future__ import annotations

import pytest
from django.urls import reverse

from community.models import Delegation, DelegationPower, ServiceItem
from community.services.catalogue import catalogue_seed
from grid.models import Area, AreaLevel, Role
from tests.factories import SquareCity
from tests.fixtures.community import catalogue_user, make_delegation, make_item

ITEMS = reverse("community-api:item-list")
DELEGATIONS = reverse("community-api:delegation-list")
C1, C3 = "360502001001", "360521001001"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def area(code: str) -> Area:
    return Area.objects.current().get(code=code)


def codes(answer) -> list[str]:
    assert answer.status_code == 200, answer.content
    return [row["implementation_code"] for row in answer.json()["results"]]


@pytest.fixture
def seeded_with_city(db):
    """The seed catalogue with its 通办 scope resolved to a city 3605 built by SquareCity."""
    city = SquareCity().build()
    catalogue_seed()
    return city


# --- items ----------------------------------------------------------------------------------


def test_search_by_name_or_code(seeded_catalogue, logged_in_client):
    elderly = ServiceItem.objects.get(name="高龄津贴申领")
    by_name = codes(logged_in_client.get(ITEMS, {"q": "高龄"}))
    assert by_name == [elderly.implementation_code]
    by_basic_code = codes(logged_in_client.get(ITEMS, {"q": elderly.basic_code}))
    assert by_basic_code == [elderly.implementation_code]
    by_implementation_code = codes(
        logged_in_client.get(ITEMS, {"q": elderly.implementation_code[-14:]})
    )
    assert by_implementation_code == [elderly.implementation_code]
    relief = codes(logged_in_client.get(ITEMS, {"q": "救助"}))
    assert len(relief) == 2
    assert codes(logged_in_client.get(ITEMS, {"q": "没有这个事项"})) == []


def test_list_is_paginated_and_filtered_by_kind_and_department(seeded_catalogue, logged_in_client):
    total = ServiceItem.objects.count()
    first = logged_in_client.get(ITEMS, {"page_size": 10}).json()
    assert first["count"] == total and len(first["results"]) == 10 and first["next"]
    immediate = logged_in_client.get(ITEMS, {"kind": "immediate", "page_size": 100}).json()
    assert immediate["count"] == ServiceItem.objects.filter(kind="immediate").count()
    assert {row["kind"] for row in immediate["results"]} == {"immediate"}
    civil = logged_in_client.get(ITEMS, {"department_kind": "minzheng", "page_size": 100}).json()
    assert {row["department_kind_name"] for row in civil["results"]} == {"民政"}
    assert all(row["power"] is None for row in civil["results"])


def test_inactive_items_are_listed_only_on_request(db, logged_in_client):
    make_item(code="LIVE-1", name="高龄津贴申领")
    make_item(code="GONE-1", name="再生育审批", active=False)
    assert codes(logged_in_client.get(ITEMS)) == ["LIVE-1"]
    assert codes(logged_in_client.get(ITEMS, {"include_inactive": "true"})) == ["GONE-1", "LIVE-1"]


def test_counter_filter_lists_only_what_the_counter_may_take_with_the_power(
    square_city, api_client
):
    city = square_city
    decided = make_item(code="CF-1", name="生育登记")
    forwarded = make_item(code="CF-2", name="高龄津贴申领")
    tongban = make_item(code="CF-3", name="城乡居民医保参保登记", tongban_area=city.city)
    elsewhere = make_item(code="CF-4", name="居住证申领", tongban_area=city.districts["360521"])
    make_item(code="CF-5", name="未下沉事项")
    withdrawn = make_item(code="CF-6", name="临时救助申请")
    inactive = make_item(code="CF-7", name="已取消事项", active=False)
    counter = city.communities[C1]
    make_delegation(item=decided, counter=counter, power=DelegationPower.DECIDE)
    make_delegation(item=forwarded, counter=counter)
    make_delegation(item=tongban, counter=city.communities[C3], power=DelegationPower.DECIDE)
    gone = make_delegation(item=withdrawn, counter=counter, power=DelegationPower.DECIDE)
    gone.active = False
    gone.save(update_fields=["active"])
    make_delegation(item=inactive, counter=counter)

    staff = catalogue_user("staff-c1", counter, Role.COMMUNITY_STAFF)
    api_client.force_authenticate(staff)
    answer = api_client.get(ITEMS, {"counter": C1})
    rows = {row["implementation_code"]: row["power"] for row in answer.json()["results"]}
    assert rows == {"CF-1": "decide", "CF-2": "accept_forward", "CF-3": "accept_forward"}
    assert elsewhere.implementation_code not in rows
    searched = api_client.get(ITEMS, {"counter": C1, "q": "生育"}).json()["results"]
    assert [(row["implementation_code"], row["power"]) for row in searched] == [("CF-1", "decide")]


def test_counter_filter_is_scoped_and_needs_a_counter(square_city, api_client):
    staff = catalogue_user("staff-c1", square_city.communities[C1], Role.COMMUNITY_STAFF)
    api_client.force_authenticate(staff)
    outside = api_client.get(ITEMS, {"counter": C3}, **EN)
    assert outside.status_code == 404
    assert outside.json()["detail"] == f"there is no counter “{C3}”"
    # A street code in the right form but outside the scope, and a malformed code.
    assert api_client.get(ITEMS, {"counter": "360502001"}).status_code == 404
    officer = catalogue_user("district-a", square_city.districts["360502"], Role.DISTRICT_OFFICER)
    api_client.force_authenticate(officer)
    assert api_client.get(ITEMS, {"counter": "360502001"}).status_code == 200


def test_counter_filter_refuses_an_area_that_is_not_a_counter(square_city, api_client):
    manager = catalogue_user("city-manager", square_city.city, Role.CITY_MANAGER)
    api_client.force_authenticate(manager)
    district = api_client.get(ITEMS, {"counter": "360502"}, **EN)
    assert district.status_code == 422
    assert district.json()["detail"] == (
        "360502 渝水区 is a district, not a community or street counter"
    )
    assert api_client.get(ITEMS, {"counter": C1 + "001"}).status_code == 422
    assert api_client.get(ITEMS, {"counter": "36a"}).status_code == 400


def test_item_detail_has_every_guide_element_and_the_materials(seeded_with_city, api_client):
    api_client.force_authenticate(catalogue_user("viewer", None, ""))
    item = ServiceItem.objects.get(name="残疾人证换领")
    body = api_client.get(reverse("community-api:item-detail", args=[item.implementation_code]))
    assert body.status_code == 200
    data = body.json()
    for field in (
        "basic_code",
        "handling_code",
        "implementing_body",
        "implementing_body_credit_code",
        "legal_basis",
        "conditions",
        "procedure",
        "handling_form",
        "place",
        "hours",
        "consult_phone",
        "complaint_phone",
        "fee_basis",
    ):
        assert data[field], field
    assert data["kind"] == "promised" and data["kind_label"]
    assert data["promised_limit_days"] <= data["legal_limit_days"]
    assert data["tongban_area"] == {"code": "3605", "name": "新余市"}
    assert data["department_kind"] == "canlian" and data["department_kind_name"] == "残联"
    assert data["delegate_to_level"] == AreaLevel.COMMUNITY
    assert data["fee"] == "0.00"
    materials = {m["code"]: m for m in data["materials"]}
    assert materials["disability_cert"]["form"] == "original"
    assert materials["disability_cert"]["reusable"] is False
    assert materials["photo"]["valid_days"] == 180 and materials["photo"]["copies"] == 2
    assert materials["id_card"]["valid_days"] is None
    assert api_client.get(reverse("community-api:item-detail", args=["NOPE-1"])).status_code == 404


# --- delegations ----------------------------------------------------------------------------


def test_grant_through_the_api(square_city, api_client):
    item = make_item(code="API-1", name="高龄津贴申领")
    officer = catalogue_user("district-a", square_city.districts["360502"], Role.DISTRICT_OFFICER)
    api_client.force_authenticate(officer)
    answer = api_client.post(
        DELEGATIONS, {"item": "API-1", "counter": C1, "power": "decide"}, format="json"
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["item_code"] == "API-1" and body["counter_code"] == C1
    assert body["power"] == "decide" and body["active"]
    assert [(e["action"], e["actor"]) for e in body["events"]] == [("grant", "district-a")]
    assert Delegation.objects.get(pk=body["id"]).item == item


def test_grant_refusals_through_the_api(square_city, api_client):
    make_item(code="API-1", name="高龄津贴申领")
    make_item(code="API-OLD", name="已取消事项", active=False)
    officer = catalogue_user("district-a", square_city.districts["360502"], Role.DISTRICT_OFFICER)
    api_client.force_authenticate(officer)

    def grant(**data):
        payload = {"item": "API-1", "counter": C1, "power": "decide", **data}
        return api_client.post(DELEGATIONS, payload, format="json", **EN)

    assert grant(counter=C3).status_code == 404  # 分宜县 is outside 360502
    assert grant(item="NOPE").status_code == 404
    assert grant(power="approve").status_code == 400
    not_counter = grant(counter="360502")
    assert not_counter.status_code == 422
    assert "not a current community or street" in not_counter.json()["detail"]
    old = grant(item="API-OLD")
    assert old.status_code == 422 and "no longer offered" in old.json()["detail"]
    assert grant().status_code == 201
    duplicate = grant(power="accept_forward")
    assert duplicate.status_code == 409
    assert duplicate.json()["error"] == "conflict"
    assert duplicate.json()["errors"]["power"] == "decide"
    assert Delegation.objects.count() == 1


@pytest.mark.parametrize(
    ("role", "code"), [(Role.COMMUNITY_STAFF, C1), (Role.STREET_OFFICER, "360502001")]
)
def test_counter_staff_get_403_from_grant_and_revoke(square_city, api_client, role, code):
    item = make_item(code="API-1", name="高龄津贴申领")
    delegation = make_delegation(item=item, counter=square_city.communities[C1])
    user = catalogue_user("counter-user", area(code), role)
    api_client.force_authenticate(user)
    granted = api_client.post(
        DELEGATIONS, {"item": "API-1", "counter": C1, "power": "decide"}, format="json"
    )
    assert granted.status_code == 403
    revoked = api_client.post(reverse("community-api:delegation-revoke", args=[delegation.pk]))
    assert revoked.status_code == 403
    # They may still read the delegations of their own counter.
    listed = api_client.get(DELEGATIONS).json()
    assert [row["id"] for row in listed["results"]] == [delegation.pk]
    delegation.refresh_from_db()
    assert delegation.active


def test_revoke_through_the_api(square_city, api_client):
    item = make_item(code="API-1", name="高龄津贴申领")
    mine = make_delegation(item=item, counter=square_city.communities[C1])
    theirs = make_delegation(item=item, counter=square_city.communities[C3])
    officer = catalogue_user("district-a", square_city.districts["360502"], Role.DISTRICT_OFFICER)
    api_client.force_authenticate(officer)
    url = reverse("community-api:delegation-revoke", args=[mine.pk])
    answer = api_client.post(url, {"note": "改由街道受理"}, format="json")
    assert answer.status_code == 200
    assert answer.json()["active"] is False
    assert answer.json()["events"][-1]["action"] == "revoke"
    assert answer.json()["events"][-1]["note"] == "改由街道受理"
    again = api_client.post(url, **EN)
    assert again.status_code == 409 and "already withdrawn" in again.json()["detail"]
    other = api_client.post(reverse("community-api:delegation-revoke", args=[theirs.pk]))
    assert other.status_code == 404


def test_delegation_list_is_scoped_and_filtered(square_city, api_client):
    first = make_item(code="API-1", name="高龄津贴申领")
    second = make_item(code="API-2", name="生育登记")
    c1, c2, c3 = (square_city.communities[code] for code in (C1, "360502001002", C3))
    make_delegation(item=first, counter=c1)
    make_delegation(item=second, counter=c1)
    gone = make_delegation(item=first, counter=c2)
    gone.active = False
    gone.save(update_fields=["active"])
    make_delegation(item=first, counter=c3)
    officer = catalogue_user("district-a", square_city.districts["360502"], Role.DISTRICT_OFFICER)
    api_client.force_authenticate(officer)

    def listed(**params):
        rows = api_client.get(DELEGATIONS, params).json()["results"]
        return [(row["counter_code"], row["item_code"], row["active"]) for row in rows]

    assert listed() == [(C1, "API-1", True), (C1, "API-2", True)]
    assert listed(state="all") == [
        (C1, "API-1", True),
        (C1, "API-2", True),
        ("360502001002", "API-1", False),
    ]
    assert listed(state="withdrawn") == [("360502001002", "API-1", False)]
    assert listed(item="API-2") == [(C1, "API-2", True)]
    assert listed(area="360521") == []
    assert listed(area="360502001002", state="all") == [("360502001002", "API-1", False)]
    detail = api_client.get(reverse("community-api:delegation-detail", args=[gone.pk]))
    assert detail.status_code == 200 and detail.json()["counter_name"] == c2.name
    outside = Delegation.objects.get(counter=c3)
    assert (
        api_client.get(reverse("community-api:delegation-detail", args=[outside.pk])).status_code
        == 404
    )
