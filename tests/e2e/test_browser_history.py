"""Past interviews and the optional opening question, in a real browser.

The candidate picks ML breadth at L5, chooses "Bias-variance trade-off" as the opening question, answers once
and ends the round. Back in the lobby the round is listed under "Past interviews" with its vote; opening it
shows the debrief again, and "Forget" removes it from this browser. A screenshot of the lobby with the history
is saved to test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import ARTIFACTS
from tests.e2e.test_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser

VOTE = re.compile(r"strong no hire|not inclined|inclined|strong hire|no evidence", re.I)


def test_past_interviews_and_chosen_question(live_server):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(live_server.url)

            history = page.get_by_test_id("history")
            expect(history).to_be_visible()
            expect(page.get_by_test_id("history-empty")).to_be_visible()
            expect(page.get_by_test_id("history-entry")).to_have_count(0)

            page.get_by_test_id("round-ml_breadth").click()
            page.get_by_test_id("level-L5").click()

            select = page.get_by_test_id("question-select")
            expect(select.locator("option").first).to_have_text("Any question (recommended)")
            expect(select).to_have_value("")
            option = select.locator("option", has_text="Bias-variance trade-off").first
            expect(option).to_be_attached(timeout=10_000)
            expect(select).to_be_enabled()
            select.select_option(value=option.get_attribute("value"))
            expect(select).to_have_value("ml-bias-variance")

            page.get_by_test_id("start").click()
            first = page.get_by_test_id("interviewer-turn").first
            expect(first).to_contain_text("Explain the bias-variance trade-off", timeout=10_000)
            expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer")

            page.get_by_test_id("answer").fill(
                "Bias is error from wrong assumptions, variance is sensitivity to the training sample. I compare "
                "training and validation error on a learning curve: both high means bias, a large gap means variance."
            )
            page.get_by_test_id("send").click()
            expect(page.get_by_test_id("interviewer-turn")).to_have_count(2, timeout=10_000)
            expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer")

            page.once("dialog", lambda d: d.accept())
            page.get_by_test_id("end").click()
            expect(page.get_by_test_id("debrief")).to_be_visible(timeout=10_000)
            vote = page.get_by_test_id("vote").text_content()
            assert VOTE.search(vote or "")

            page.get_by_test_id("new-interview").click()
            entries = page.get_by_test_id("history-entry")
            expect(entries).to_have_count(1)
            entry = entries.first
            expect(entry).to_have_attribute("data-status", "ended")
            expect(entry).to_contain_text("ML breadth")
            expect(entry).to_contain_text("L5")
            expect(entry.get_by_test_id("history-vote")).to_have_text(vote)
            expect(page.get_by_test_id("resume")).to_have_count(0)
            expect(page.get_by_test_id("history-empty")).to_have_count(0)
            # the viewport at the bottom of the lobby: question picker, start bar and past interviews
            # (a full-page capture would pin the sticky start bar in the middle of the round cards)
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            page.screenshot(path=str(ARTIFACTS / "browser-history.png"))

            entry.get_by_test_id("history-open").click()
            expect(page.get_by_test_id("debrief")).to_be_visible(timeout=10_000)
            expect(page.get_by_test_id("vote")).to_have_text(vote)
            expect(page.locator(".replay")).to_contain_text("Review the conversation")

            page.go_back()
            expect(page.get_by_test_id("history-entry")).to_have_count(1)
            page.get_by_test_id("history-entry").first.get_by_test_id("history-forget").click()
            expect(page.get_by_test_id("history-entry")).to_have_count(0)
            expect(page.get_by_test_id("history-empty")).to_be_visible()

            # forgotten on this browser only: a reload still shows an empty history
            page.reload()
            expect(page.get_by_test_id("history-empty")).to_be_visible()
            expect(page.get_by_test_id("history-entry")).to_have_count(0)
        finally:
            browser.close()
