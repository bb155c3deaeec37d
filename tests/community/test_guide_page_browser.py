"""The guide and catalogue pages in a real headless Chromium: printed, the guide hides the
navigation and fits the width of an A4 sheet; the catalogue is searched from the keyboard."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from community.models import DelegationPower, ServiceItem
from community.services.catalogue import catalogue_seed
from grid.models import Role
from tests.factories import SquareCity
from tests.fixtures.browser import login
from tests.fixtures.community import catalogue_user, make_delegation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-123"
# An A4 sheet is 210 mm wide; the guide's @page margins leave 180 mm, at CSS's 96 px per inch.
PRINTABLE_WIDTH_PX = round(180 / 25.4 * 96)


def test_printed_guide_hides_the_navigation_and_fits_a4(page, live_server, browser_log):
    city = SquareCity().build()
    catalogue_seed()
    catalogue_user("staff", city.communities["360502001001"], Role.COMMUNITY_STAFF)
    item = ServiceItem.objects.get(name="最低生活保障申请")
    login(page, live_server, "staff", PASSWORD)
    page.goto(live_server.url + reverse("community:item-guide", args=[item.implementation_code]))

    # On screen: the header, the navigation and the print button are there.
    for selector in (".site-header", ".site-nav", ".guide-toolbar", ".site-footer"):
        assert page.is_visible(selector), selector
    assert page.inner_text("#guide-title").startswith("最低生活保障申请")

    page.emulate_media(media="print")
    for selector in (".site-header", ".site-nav", ".guide-toolbar", ".site-footer"):
        assert not page.is_visible(selector), selector
    assert page.is_visible(".guide")
    assert page.is_visible('[data-element="materials"]')

    # Laid out at the printable width of A4, nothing sticks out sideways.
    page.set_viewport_size({"width": PRINTABLE_WIDTH_PX, "height": 1100})
    overflow = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " document.querySelector('.guide').getBoundingClientRect().right]"
    )
    scroll_width, client_width, guide_right = overflow
    assert scroll_width <= client_width == PRINTABLE_WIDTH_PX
    assert guide_right <= PRINTABLE_WIDTH_PX
    widest = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('.guide table')]"
        ".map(t => t.getBoundingClientRect().right))"
    )
    assert widest <= PRINTABLE_WIDTH_PX

    # Chromium's own print: the stylesheet's @page makes every sheet A4 (595 × 842 pt).
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes, "the PDF has no page"
    for width, height in boxes:
        assert abs(float(width) - 595.3) < 1.5 and abs(float(height) - 841.9) < 1.5
    assert 1 <= len(boxes) <= 3
    browser_log.assert_all_local()


def test_catalogue_search_and_counter_from_the_keyboard(page, live_server, browser_log):
    city = SquareCity().build()
    catalogue_seed()
    counter = city.communities["360502001001"]
    decided = ServiceItem.objects.get(name="生育登记")
    make_delegation(item=decided, counter=counter, power=DelegationPower.DECIDE)
    catalogue_user("staff", counter, Role.COMMUNITY_STAFF)

    page.goto(live_server.url + reverse("community:catalogue"))
    assert page.evaluate("document.activeElement.name") == "q"
    page.keyboard.type("高龄")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*q=.*"))
    rows = page.eval_on_selector_all("tr[data-code]", "rows => rows.map(r => r.dataset.code)")
    assert rows == [ServiceItem.objects.get(name="高龄津贴申领").implementation_code]
    assert not page.is_visible('input[name="counter"]')

    login(page, live_server, "staff", PASSWORD)
    page.goto(live_server.url + reverse("community:catalogue"))
    page.fill('input[name="counter"]', counter.code)
    page.press('input[name="counter"]', "Enter")
    page.wait_for_url(re.compile(r".*counter=360502001001.*"))
    powers = page.eval_on_selector_all(
        "tr[data-code]",
        "rows => rows.map(r => [r.dataset.code, r.querySelector('.power').dataset.power])",
    )
    tongban = set(
        ServiceItem.objects.filter(tongban_area=city.city).values_list(
            "implementation_code", flat=True
        )
    )
    assert dict(powers)[decided.implementation_code] == "decide"
    assert {code for code, power in powers if power == "accept_forward"} == tongban - {
        decided.implementation_code
    }
    page.click(f'tr[data-code="{decided.implementation_code}"] a')
    page.wait_for_selector("#guide-title")
    assert "生育登记" in page.inner_text("#guide-title")
    browser_log.assert_all_local()
