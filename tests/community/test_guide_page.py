"""The printable guide (办事指南) of an item: public, every guide element laid out, the A4
print stylesheet; and the catalogue pages (public list, officers' delegation rate, the
items of one counter, the missing delegations)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from community.models import DelegationPower, ServiceItem
from grid.models import Role
from tests.fixtures.community import catalogue_user, make_delegation, make_item

PASSWORD = "pass-word-123"
GUIDE_ELEMENTS = (
    "name",
    "item_type",
    "basic_code",
    "implementation_code",
    "handling_code",
    "version",
    "exercise_level",
    "implementing_body",
    "implementing_body_credit_code",
    "service_object",
    "department_kind",
    "kind",
    "handling_form",
    "legal_limit_days",
    "promised_limit_days",
    "fee",
    "fee_basis",
    "visits_needed",
    "in_hall",
    "delegate_to_level",
    "tongban_area",
    "requires_joint_handling",
    "place",
    "hours",
    "consult_phone",
    "complaint_phone",
    "legal_basis",
    "conditions",
    "materials",
    "procedure",
)


def element(html: str, name: str) -> str:
    """The text of the element marked data-element=name."""
    match = re.search(rf'<(\w+)[^>]*data-element="{name}"[^>]*>(.*?)</\1>', html, flags=re.DOTALL)
    assert match, f"no element {name}"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(2))).split())


def english(client: Client) -> Client:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def seeded_city(square_city, seeded_catalogue):
    """The seed catalogue on SquareCity (the city 3605 is built first, so 通办 scopes resolve)."""
    return square_city


def test_guide_page_is_public_and_renders_every_element(seeded_city):
    item = ServiceItem.objects.get(name="最低生活保障申请")
    client = english(Client())
    answer = client.get(reverse("community:item-guide", args=[item.implementation_code]))
    assert answer.status_code == 200
    html = answer.content.decode()
    for name in GUIDE_ELEMENTS:
        assert element(html, name), name
    assert element(html, "name") == "最低生活保障申请"
    assert element(html, "basic_code") == item.basic_code
    assert element(html, "implementation_code") == item.implementation_code
    assert element(html, "handling_code") == item.handling_code
    assert element(html, "implementing_body") == "新余市民政局"
    assert element(html, "implementing_body_credit_code") == item.implementing_body_credit_code
    assert element(html, "item_type") == "administrative benefit"
    assert element(html, "kind") == "promised"
    assert element(html, "legal_limit_days") == "30 working days"
    assert element(html, "promised_limit_days") == "20 working days"
    assert element(html, "fee") == "free of charge"
    assert element(html, "fee_basis") == "不收费"
    assert element(html, "visits_needed") == "at most 2 visits"
    assert element(html, "tongban_area") == "none"
    assert element(html, "delegate_to_level").startswith("street counters")
    assert element(html, "consult_phone") == "12345"
    assert "《社会救助暂行办法》" in element(html, "legal_basis")
    assert "最低生活保障标准" in element(html, "conditions")
    assert "入户调查" in element(html, "procedure")
    materials = element(html, "materials")
    for material in item.materials.select_related("material_type"):
        assert material.material_type.name in materials
    assert "original and copy" in materials
    assert "a copy on file is valid for 90 days" in materials  # 家庭成员收入证明
    assert "no, bring it each time" in materials  # the application form
    # Public: no login, no navigation for an anonymous reader.
    assert 'class="site-nav"' not in html


def test_guide_shows_tongban_scope_fee_and_immediate_kind(seeded_city):
    client = english(Client())
    birth = ServiceItem.objects.get(name="生育登记")
    html = client.get(reverse("community:item-guide", args=[birth.implementation_code]))
    html = html.content.decode()
    assert element(html, "tongban_area") == "any counter in 新余市"
    assert element(html, "kind") == "immediate"
    assert element(html, "visits_needed") == "no visit needed"
    permit = ServiceItem.objects.get(name="居住证换领补领")
    html = client.get(reverse("community:item-guide", args=[permit.implementation_code]))
    html = html.content.decode()
    assert element(html, "fee") == "20.00 yuan"
    assert element(html, "delegate_to_level") == "the service hall"


def test_guide_page_links_the_print_stylesheet_for_a4(seeded_catalogue):
    item = ServiceItem.objects.first()
    html = Client().get(reverse("community:item-guide", args=[item.implementation_code]))
    html = html.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "/static/community/catalogue.css" in html
    assert 'onclick="window.print()"' in html
    css = Path(finders.find("community/catalogue.css")).read_text(encoding="utf-8")
    assert re.search(r"@page\s*\{\s*size:\s*A4", css)
    print_rules = css[css.index("@media print") :]
    assert ".site-header" in print_rules and ".site-nav" in print_rules
    assert ".no-print" in print_rules and "display: none" in print_rules


def test_unknown_guide_is_404(db):
    assert Client().get(reverse("community:item-guide", args=["NOPE-1"])).status_code == 404


def test_inactive_item_guide_says_so(db):
    item = make_item(code="OLD-1", name="再生育审批", active=False)
    html = english(Client()).get(reverse("community:item-guide", args=[item.implementation_code]))
    assert "This item is no longer offered." in html.content.decode()


# --- the catalogue page ---------------------------------------------------------------------


def test_catalogue_page_is_public_and_searchable(seeded_catalogue):
    client = english(Client())
    page = client.get(reverse("community:catalogue"), {"q": "高龄"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "高龄津贴申领" in html and "最低生活保障申请" not in html
    assert "1 item" in html
    item = ServiceItem.objects.get(name="高龄津贴申领")
    assert reverse("community:item-guide", args=[item.implementation_code]) in html
    # Anonymous readers get neither the rate nor the counter picker.
    assert "Delegation rate" not in html and 'name="counter"' not in html
    every = client.get(reverse("community:catalogue")).content.decode()
    assert f"{ServiceItem.objects.count()} items" in every


def test_officers_see_the_rate_of_their_area_and_its_children(rate_fixture):
    officer = catalogue_user(
        "district-a", rate_fixture.city.districts["360502"], "district_officer"
    )
    client = english(Client())
    client.force_login(officer)
    html = client.get(reverse("community:catalogue")).content.decode()
    assert 'data-area="360502"' in html
    assert 'data-numerator="2" data-denominator="5"' in html
    assert "40.0 %" in html and "2 of 5 delegated" in html
    assert "3 missing delegations" in html
    assert reverse("community:delegation-missing", args=["360502"]) in html
    assert '<tr data-area="360502001">' in html
    street = client.get(reverse("community:catalogue"), {"area": "360502001"}).content.decode()
    assert '<tr data-area="360502001002">' in street
    outside = client.get(reverse("community:catalogue"), {"area": "360521"}).content.decode()
    assert "there is no area “360521”" in outside and "data-numerator" not in outside


def test_the_items_of_one_counter_with_their_power(rate_fixture):
    counters = rate_fixture.counters
    make_delegation(
        item=make_item(code="RATE-F", name="养老待遇领取资格认证"),
        counter=counters["c1"],
        power=DelegationPower.DECIDE,
    )
    staff = catalogue_user("staff-c1", counters["c1"], Role.COMMUNITY_STAFF)
    client = english(Client())
    client.force_login(staff)
    html = client.get(reverse("community:catalogue"), {"counter": counters["c1"].code})
    html = html.content.decode()
    rows = re.findall(r'<tr data-code="([^"]+)">', html)
    # Every active delegation to c1 lets it take the item (A, B, C and F); D is no longer
    # offered and E is not delegated there.
    assert set(rows) == {"RATE-A", "RATE-B", "RATE-C", "RATE-F"}
    assert 'data-power="decide"' in html
    assert "Only the items counter 360502001001" in html
    assert '<option value="360502001001">' in html
    refused = client.get(reverse("community:catalogue"), {"counter": "360521001001"})
    refused = refused.content.decode()
    assert "there is no counter “360521001001”" in refused
    assert not re.findall(r'<tr data-code="', refused)


def test_missing_delegations_page(rate_fixture):
    manager = catalogue_user("city", rate_fixture.city.city, Role.CITY_MANAGER)
    client = english(Client())
    assert client.get(reverse("community:delegation-missing", args=["3605"])).status_code == 302
    client.force_login(manager)
    html = client.get(reverse("community:delegation-missing", args=["3605"])).content.decode()
    pairs = re.findall(r'<tr data-counter="(\d+)" data-item="([^"]+)">', html)
    assert pairs == [
        ("360502001001", "RATE-E"),
        ("360502001002", "RATE-A"),
        ("360502001002", "RATE-E"),
        ("360521001", "RATE-B"),
        ("360521001001", "RATE-E"),
        ("360521001002", "RATE-A"),
    ]
    assert "4 of 10 delegated" in html
    staff = catalogue_user("staff-c1", rate_fixture.counters["c1"], Role.COMMUNITY_STAFF)
    client.force_login(staff)
    assert client.get(reverse("community:delegation-missing", args=["3605"])).status_code == 404
