"""The counter in a real headless Chromium: a clerk receives an application (applicant by ID
number, item, ticked materials), prints the one correction notice, takes the missing
material, accepts and forwards it and sees its light in the queue; the department's handler
approves it in the review queue."""

from __future__ import annotations

import re

import pytest

from community import pii
from community.models import Application
from tests.fixtures.applications import PASSWORD, build_counter_world
from tests.fixtures.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_clerk_receives_corrects_accepts_and_a_handler_approves(
    page, live_server, browser_log, work_calendar
):
    world = build_counter_world()
    full_id = pii.decrypt(world.applicant.id_number_ciphertext)
    first, second = world.requirement_ids(world.forward_item)

    login(page, live_server, "staff-a", PASSWORD, next_url="/community/counter/")
    assert page.url.endswith("/community/counter/360502001001/")
    page.click("#new-application")

    # 1 the applicant, by full ID number (sent in the form body)
    page.fill("#find-id", full_id)
    with page.expect_navigation():
        page.press("#find-id", "Enter")
    assert full_id not in page.url
    with page.expect_navigation():
        page.click(f'[data-resident="{world.applicant.pk}"]')
    assert page.inner_text("#chosen-applicant") == "李四"

    # 2 the item, searched from the keyboard
    # The search field has the focus on arrival; "/" brings it back from anywhere else.
    assert page.evaluate("document.activeElement.id") == "item-q"
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "item-q"
    page.keyboard.type("低保")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("[data-item]").count() == 1
    with page.expect_navigation():
        page.click('[data-item="TEST-FORWARD"]')
    assert page.inner_text("#chosen-item") == "低保申请"

    # 3 the materials: only the ID card is handed in
    page.check(f"#material-{first}")
    with page.expect_navigation():
        page.click("#receive-button")
    application = Application.objects.get()
    assert page.inner_text("#application-number") == application.number
    assert page.get_attribute(f'#materials tr[data-requirement="{second}"]', "data-status") == (
        "missing"
    )
    assert page.is_disabled('[data-move="accept"] button')

    # The one correction notice, straight to its printable page.
    with page.expect_navigation():
        page.click('[data-move="request_correction"] button')
    assert "/community/counter/notices/" in page.url
    missing = page.eval_on_selector_all(
        "#missing-materials tbody tr", "rows => rows.map(r => r.dataset.material)"
    )
    assert missing == ["户口簿"]
    page.emulate_media(media="print")
    assert not page.is_visible(".site-header")
    assert not page.is_visible(".print-bar")
    assert page.is_visible("#notice-sheet")
    pdf = page.pdf(prefer_css_page_size=True)
    # One A4 sheet: 595.28 × 841.89 points.
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert len(boxes) == 1, boxes
    assert abs(float(boxes[0][0]) - 595.3) < 1.5 and abs(float(boxes[0][1]) - 841.9) < 1.5
    page.emulate_media(media="screen")
    with page.expect_navigation():
        page.click(".print-bar a")

    # The applicant brings the household register: tick it, then accept.
    assert page.get_attribute("#application-status", "data-status") == "correction"
    page.check(f'[data-move="supply_materials"] input[value="{second}"]')
    with page.expect_navigation():
        page.click('[data-move="supply_materials"] button')
    assert page.get_attribute("#application-status", "data-status") == "received"
    with page.expect_navigation():
        page.click('[data-move="accept"] button')
    assert page.get_attribute("#notice-sheet", "data-kind") == "acceptance"
    with page.expect_navigation():
        page.click(".print-bar a")
    with page.expect_navigation():
        page.click('[data-move="forward"] button')
    assert page.get_attribute("#application-status", "data-status") == "forwarded"

    # The counter's queue shows it with its light.
    page.goto(live_server.url + "/community/counter/360502001001/")
    row = page.locator(f'tr[data-number="{application.number}"]')
    assert row.get_attribute("data-light") == "green"
    assert row.locator(".light-green").is_visible()

    # The handler of the department approves it in the review queue.
    page.context.clear_cookies()
    login(page, live_server, "handler", PASSWORD, next_url="/community/counter/review/")
    row = page.locator(f'tr[data-number="{application.number}"]')
    with page.expect_navigation():
        row.locator('button[data-move="approve"]').click()
    assert page.locator(f'tr[data-number="{application.number}"]').count() == 0
    application.refresh_from_db()
    assert application.status == "approved"
    assert list(application.events.values_list("action", flat=True)) == [
        "receive",
        "request_correction",
        "supply_materials",
        "accept",
        "forward",
        "approve",
    ]
    browser_log.assert_all_local()
