"""Progress across sessions in a real browser: three rounds, then the progress page plots them per round, per topic
(SVG drawn by the page itself, no library from a CDN), lists the weakest areas and the questions due for review,
and "Practice next" starts a round that opens with the question missed in the first session (spaced repetition
beats "not asked again recently"). A screenshot of the progress page lands in test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import ARTIFACTS
from tests.e2e.test_browser import ARGS, CHROMIUM
from tests.e2e.test_browser_replay import GOOD, WEAK, answer, finish_round

pytestmark = pytest.mark.browser

L1_L2 = (
    "L1 adds the absolute values of the weights and drives some of them to exactly zero, so it selects features; "
    "L2 adds the squared weights and shrinks them smoothly, which helps with correlated features."
)


def test_progress_after_three_sessions_and_practice_next(live_server):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(live_server.url + "/#/progress")
            expect(page.get_by_test_id("progress-empty")).to_be_visible()

            finish_round(page, live_server.url, [WEAK, WEAK])  # bias-variance, missed: due again at once
            finish_round(page, live_server.url, [L1_L2], question="ml-l1-vs-l2")
            finish_round(page, live_server.url, [GOOD, L1_L2], question="ml-l1-vs-l2")

            page.goto(live_server.url + "/#/")
            page.get_by_test_id("progress-link").click()
            expect(page.get_by_test_id("progress")).to_be_visible(timeout=10_000)
            rounds = page.get_by_test_id("chart-rounds")
            chart = rounds.locator("svg[data-testid=chart]")
            expect(chart).to_be_visible()
            expect(chart.locator("[data-series=ml_breadth] circle")).to_have_count(3)
            expect(chart.locator("[data-series=ml_breadth] polyline")).to_have_count(1)
            topics = page.get_by_test_id("chart-topics").locator("svg[data-testid=chart]")
            expect(topics.locator("[data-series=regularization] circle")).to_have_count(2)
            expect(topics.locator("[data-series=bias_variance] circle")).to_have_count(1)
            expect(page.get_by_test_id("chart-principles")).to_be_visible()
            # the page draws its own SVG: nothing was fetched from elsewhere
            scripts = page.evaluate("[...document.scripts].map(s => s.src).filter(Boolean)")
            assert all(s.startswith(live_server.url) for s in scripts), scripts

            due = page.get_by_test_id("due-list")
            expect(due.locator(".is-due", has_text="Bias-variance trade-off")).to_have_count(1)
            expect(page.get_by_test_id("practice")).to_contain_text(
                re.compile(r"Due for review: Bias-variance trade-off")
            )
            expect(page.get_by_test_id("weakest")).to_be_visible()
            expect(page.get_by_test_id("practice-round")).to_have_text("ML breadth \u00b7 L5")
            page.screenshot(path=str(ARTIFACTS / "browser-progress.png"), full_page=True)

            page.get_by_test_id("practice-next").click()
            first = page.get_by_test_id("interviewer-turn").first
            # the question due for review comes back first, although it was asked in a recent session
            expect(first).to_contain_text("bias-variance trade-off", timeout=15_000)
            expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer")
            answer(page, GOOD)
            session_id = re.search(r"#/session/([0-9a-f]+)", page.url).group(1)
            page.goto(live_server.url + f"/#/replay/{session_id}")
            expect(page.get_by_test_id("replay-kind-note")).to_contain_text("practice round aimed at")
            expect(page.get_by_test_id("replay-kind-note")).to_contain_text("Bias-variance trade-off")
            assert not errors, errors
        finally:
            browser.close()
