"""The browser harness itself: requests leaving the live server are blocked and recorded,
console and page errors are caught."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_requests_to_other_hosts_are_blocked_and_recorded(page, live_server, browser_log):
    page.goto(live_server.url + "/accounts/login/")
    browser_log.assert_all_local()

    outcome = page.evaluate(
        """() => fetch("https://tile.openstreetmap.org/1/0/0.png")
                 .then(() => "loaded", () => "refused")"""
    )
    assert outcome == "refused"
    assert browser_log.blocked == ["https://tile.openstreetmap.org/1/0/0.png"]
    assert browser_log.foreign_requests() == ["https://tile.openstreetmap.org/1/0/0.png"]
    with pytest.raises(AssertionError, match=r"tile\.openstreetmap\.org"):
        browser_log.assert_all_local()
    browser_log.clear_errors()


def test_console_and_page_errors_are_recorded(page, live_server, browser_log):
    page.goto(live_server.url + "/accounts/login/")
    assert browser_log.console_errors == [] and browser_log.page_errors == []

    page.evaluate("console.error('broken widget')")
    with page.expect_event("pageerror"):
        page.evaluate("setTimeout(() => { throw new Error('uncaught in page'); }, 0)")
    assert any("broken widget" in error for error in browser_log.console_errors)
    assert any("uncaught in page" in error for error in browser_log.page_errors)
    browser_log.clear_errors()
