"""Exam mode in a real browser (Playwright, Debian Chromium, a real uvicorn on a free port): the bar raiser starts in
exam mode; no grade, grade panel or LP tag is visible until the debrief; the debrief shows the grader's caveats, its
review and the graded replay show everything. Practice mode is one click away in the lobby."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import ARTIFACTS
from tests.e2e.test_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser

STORY = (
    "At my last job the PM wanted to launch a churn model that I thought leaked future data. I pushed back: I "
    "rebuilt the validation with a time-based split, showed the AUC fell from 0.91 to 0.71, and we delayed the "
    "launch by two weeks. I owned the fix and added a feature timestamp check to our pipeline."
)
# ML breadth on bias and variance: a follow-up, then an Earn Trust pivot (tests/fixtures/evals)
PIVOT_ANSWERS = [
    "High variance means the model overfits; I would compare training and validation error on a learning curve and "
    "regularize.",
    "Expected error is bias squared plus variance plus noise. If training error is low but validation error is much "
    "higher, the model overfit, so I would regularize, get more data or stop early.",
]


def answer(page: Page, text: str) -> None:
    turns = page.get_by_test_id("interviewer-turn").count()
    page.get_by_test_id("answer").fill(text)
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("interviewer-turn")).to_have_count(turns + 1, timeout=10_000)
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer", timeout=10_000)


def end(page: Page) -> None:
    page.once("dialog", lambda d: d.accept())
    page.get_by_test_id("end").click()
    expect(page.get_by_test_id("debrief")).to_be_visible(timeout=10_000)


def no_grade_in_sight(page: Page) -> None:
    expect(page.get_by_test_id("exam-note")).to_have_text("Exam mode: grades come in the debrief.")
    expect(page.get_by_test_id("grade-panel")).to_be_hidden()
    expect(page.get_by_test_id("toggle-grades")).to_be_hidden()
    expect(page.get_by_test_id("grade-entry")).to_have_count(0)
    expect(page.get_by_test_id("move-tag").filter(has_text="LP")).to_have_count(0)


def test_a_bar_raiser_round_in_exam_mode_shows_grades_only_in_the_debrief(live_server):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(live_server.url)
            page.get_by_test_id("round-bar_raiser").click()
            expect(page.get_by_test_id("mode-exam")).to_have_attribute("aria-pressed", "true")
            expect(page.get_by_test_id("mode-note")).to_contain_text("until the debrief")
            page.get_by_test_id("level-L5").click()
            page.get_by_test_id("start").click()

            expect(page.get_by_test_id("interviewer-turn").first).to_contain_text("Bar raiser", timeout=10_000)
            no_grade_in_sight(page)
            answer(page, STORY)
            answer(page, "I did the analysis myself and presented it to the director.")
            no_grade_in_sight(page)
            page.reload()  # a reload brings nothing more back
            expect(page.get_by_test_id("interviewer-turn")).to_have_count(3, timeout=10_000)
            no_grade_in_sight(page)
            page.screenshot(path=str(ARTIFACTS / "browser-exam-room.png"), full_page=True)

            # the replay of the round still running holds the grades back too, and says so
            session_id = page.url.rsplit("/", 1)[-1]
            page.goto(live_server.url + f"/#/replay/{session_id}")
            expect(page.get_by_test_id("replay-exam-note")).to_be_visible(timeout=10_000)
            expect(page.get_by_test_id("turn-grade")).to_have_count(2)
            for chip in page.get_by_test_id("turn-grade").all():
                expect(chip).to_have_attribute("data-vote", "withheld")
            page.get_by_test_id("replay-open-session").click()
            expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer", timeout=10_000)

            end(page)
            expect(page.get_by_test_id("vote")).to_have_text(
                re.compile(r"strong no hire|not inclined|inclined|strong hire|no evidence", re.I)
            )
            caveats = page.get_by_test_id("caveat")
            expect(caveats.first).to_be_visible()  # the offline brain always says what it cannot verify
            assert all(text.strip() for text in caveats.all_text_contents())
            page.screenshot(path=str(ARTIFACTS / "browser-exam-debrief.png"), full_page=True)

            page.get_by_test_id("open-replay").click()
            expect(page.get_by_test_id("replay-exam-note")).to_have_count(0, timeout=10_000)
            grades = page.get_by_test_id("turn-grade")
            expect(grades).to_have_count(2, timeout=10_000)
            expect(grades.first).not_to_have_attribute("data-vote", "pending")
            # a low-confidence grade (the failure-ladder answer) is marked tentative, with its reason
            tentative = page.get_by_test_id("turn-grade-tentative").first
            expect(tentative).to_be_visible()
            expect(tentative).to_have_attribute("title", re.compile("not sure"))
        finally:
            browser.close()


def test_exam_mode_chosen_in_the_lobby_hides_the_lp_tag_until_the_debrief(live_server):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(live_server.url)
            page.get_by_test_id("round-ml_breadth").click()
            expect(page.get_by_test_id("mode-practice")).to_have_attribute("aria-pressed", "true")
            page.get_by_test_id("mode-exam").click()
            expect(page.get_by_test_id("mode-exam")).to_have_attribute("aria-pressed", "true")
            select = page.get_by_test_id("question-select")
            expect(select).to_be_enabled(timeout=10_000)
            select.select_option("ml-bias-variance")
            page.get_by_test_id("level-L5").click()
            page.get_by_test_id("start").click()

            expect(page.get_by_test_id("interviewer-turn").first).to_contain_text("ML breadth", timeout=10_000)
            for text in PIVOT_ANSWERS:
                answer(page, text)
            # the interviewer pivoted into a principle, but the page does not say which (nor that it is one)
            expect(page.get_by_test_id("interviewer-turn").last).to_have_attribute("data-move", "ask")
            no_grade_in_sight(page)

            end(page)
            # the debrief's review of the conversation names the probe now
            expect(page.get_by_test_id("replay-move-tag").filter(has_text="LP probe")).to_have_text(
                re.compile("Earn Trust"), timeout=10_000
            )
        finally:
            browser.close()


def test_practice_mode_shows_grades_live_and_marks_a_low_confidence_one_tentative(live_server):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(live_server.url)
            page.get_by_test_id("round-bar_raiser").click()
            page.get_by_test_id("mode-practice").click()
            expect(page.get_by_test_id("mode-note")).to_contain_text("as you go")
            page.get_by_test_id("level-L5").click()
            page.get_by_test_id("start").click()

            expect(page.get_by_test_id("interviewer-turn").first).to_contain_text("Bar raiser", timeout=10_000)
            expect(page.get_by_test_id("exam-note")).to_be_hidden()
            answer(page, STORY)
            answer(page, "I did the analysis myself and presented it to the director.")
            expect(page.get_by_test_id("grade-entry")).to_have_count(2, timeout=10_000)
            expect(page.get_by_test_id("grade-panel")).to_be_visible()
            tentative = page.get_by_test_id("grade-entry").nth(1).get_by_test_id("tentative")
            expect(tentative).to_be_visible()
            expect(tentative).to_contain_text("Tentative")  # with its reason, for screen readers too
            expect(tentative).to_have_attribute("title", re.compile("not sure"))
            expect(page.get_by_test_id("grade-entry").first.get_by_test_id("tentative")).to_have_count(0)
            page.reload()  # the state frame's grades carry their confidence too
            expect(page.get_by_test_id("grade-entry").nth(1).get_by_test_id("tentative")).to_be_visible(timeout=10_000)
        finally:
            browser.close()
