"""One real round in a real browser: Playwright drives Debian Chromium against a real uvicorn on a free port.

It asserts what the candidate sees: the offline-brain badge, the streamed question, the live grade panel,
a resumed session after a reload, candidate text rendered as text, and the debrief. A screenshot of the
debrief is saved to test-artifacts/.
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import ARTIFACTS

CHROMIUM = os.environ.get("BARRAISER_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.browser


def test_candidate_goes_through_a_round_in_the_browser(live_server, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(live_server.url)
            expect(page.get_by_test_id("brain-badge")).to_contain_text("Offline")

            page.get_by_test_id("round-ml_breadth").click()
            page.get_by_test_id("level-L4").click()
            page.get_by_test_id("start").click()

            first = page.get_by_test_id("interviewer-turn").first
            expect(first).to_contain_text("ML breadth round at level L4", timeout=10_000)
            expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer")
            question = first.text_content()

            answer = (
                "<b>High variance</b> means the model overfits and memorizes noise; I would compare training "
                "and validation error on a learning curve, then regularize or get more data."
            )
            page.get_by_test_id("answer").fill(answer)
            page.get_by_test_id("send").click()

            expect(page.get_by_test_id("interviewer-turn")).to_have_count(2, timeout=10_000)
            expect(page.get_by_test_id("candidate-turn").first).to_contain_text("<b>High variance</b>")
            expect(page.locator("[data-testid=candidate-turn] b")).to_have_count(0)
            expect(page.get_by_test_id("grade-entry")).to_have_count(1, timeout=10_000)
            expect(page.get_by_test_id("grade-panel")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "browser-round.png"), full_page=True)

            # a reload resumes exactly where the round was
            expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer")
            second_turn = page.get_by_test_id("interviewer-turn").nth(1).text_content()
            page.reload()
            expect(page.get_by_test_id("interviewer-turn")).to_have_count(2, timeout=10_000)
            expect(page.get_by_test_id("interviewer-turn").first).to_have_text(question)
            expect(page.get_by_test_id("interviewer-turn").nth(1)).to_have_text(second_turn)
            expect(page.get_by_test_id("grade-entry")).to_have_count(1)

            # the grade panel can be hidden
            page.get_by_test_id("toggle-grades").click()
            expect(page.get_by_test_id("grade-panel")).to_be_hidden()
            page.get_by_test_id("toggle-grades").click()

            page.once("dialog", lambda d: d.accept())
            page.get_by_test_id("end").click()
            debrief = page.get_by_test_id("debrief")
            expect(debrief).to_be_visible(timeout=10_000)
            # one answer is too little to vote on: the debrief may say so (insufficient evidence)
            expect(page.get_by_test_id("vote")).to_have_text(
                re.compile(r"strong no hire|not inclined|inclined|strong hire|no evidence", re.I)
            )
            page.screenshot(path=str(ARTIFACTS / "browser-debrief.png"), full_page=True)
        finally:
            browser.close()
