"""A SQL round in a real browser with the code pad: Playwright drives Debian Chromium against a real uvicorn.

The candidate picks the coding round and the Top Three Salaries question, types a ROW_NUMBER query into the
CodeMirror editor, runs it and sees the result grid and the diff (5 rows where 6 are expected); sends it with the
answer and gets a follow-up on the wrong row count and the tie; fixes the query, runs it, sees it pass, and the
interviewer moves on. A reload restores the pad from the server; the debrief's replay shows the runs.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import ARTIFACTS
from tests.e2e.test_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser

WRONG = (
    "SELECT d.name AS department, r.name AS employee, r.salary FROM (SELECT e.*, ROW_NUMBER() OVER "
    "(PARTITION BY e.department_id ORDER BY e.salary DESC) AS rn FROM employees e) r "
    "JOIN departments d ON d.id = r.department_id WHERE r.rn <= 3"
)
RIGHT = WRONG.replace("ROW_NUMBER()", "DENSE_RANK()")


def _type_query(page, query: str) -> None:
    editor = page.get_by_test_id("pad-input")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(query, delay=2)
    page.keyboard.press("Escape")  # close the completion list, if any


def test_sql_round_with_the_pad(live_server):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(live_server.url)
            page.get_by_test_id("round-coding").click()
            page.get_by_test_id("level-L5").click()
            select = page.get_by_test_id("question-select")
            option = select.locator("option", has_text="Top Three Salaries").first
            expect(option).to_be_attached(timeout=10_000)
            select.select_option(value=option.get_attribute("value"))
            page.get_by_test_id("start").click()

            expect(page.get_by_test_id("interviewer-turn").first).to_contain_text("three highest", timeout=10_000)
            expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer")
            pad = page.get_by_test_id("pad")
            expect(pad).to_be_visible()
            expect(page.get_by_test_id("pad-schema")).to_contain_text("employees")
            expect(page.get_by_test_id("pad-schema")).to_contain_text("departments")

            # a query with ROW_NUMBER: it runs, the grid shows its rows, the diff says what is off
            _type_query(page, WRONG)
            page.get_by_test_id("run").click()
            result = page.get_by_test_id("pad-results").get_by_test_id("run-result")
            expect(result).to_have_attribute("data-status", "wrong", timeout=15_000)
            expect(result.get_by_test_id("run-summary")).to_contain_text("5 rows where 6 are expected")
            expect(result.get_by_test_id("run-grid").locator("tbody tr")).to_have_count(5)
            expect(result.get_by_test_id("run-diff")).to_contain_text("6 expected")
            expect(result).not_to_contain_text("Lee")  # the missing expected row (Lee, 70) is never shown
            page.screenshot(path=str(ARTIFACTS / "browser-pad-wrong.png"), full_page=True)

            # sent with the answer: the interviewer follows what the query did, without giving the fix
            expect(page.get_by_test_id("pad-attach")).to_be_checked()
            page.get_by_test_id("answer").fill("Here is my query: I rank salaries within each department.")
            page.get_by_test_id("send").click()
            expect(page.get_by_test_id("interviewer-turn")).to_have_count(2, timeout=15_000)
            follow = page.get_by_test_id("interviewer-turn").nth(1)
            expect(follow).to_contain_text("5 rows where 6 are expected")
            expect(follow).to_contain_text("Raj and Kim both earn 85")
            expect(follow).not_to_contain_text("DENSE_RANK")
            expect(page.get_by_test_id("candidate-turn").first.get_by_test_id("answer-code")).to_contain_text(
                "ROW_NUMBER()"
            )
            expect(page.get_by_test_id("grade-entry")).to_have_count(1, timeout=10_000)
            expect(page.get_by_test_id("grade-entry").first.get_by_test_id("criterion-run")).to_contain_text(
                "5 rows where 6"
            )

            # the fix runs and passes; sent again, the interviewer moves on
            _type_query(page, RIGHT)
            page.get_by_test_id("run").click()
            expect(result).to_have_attribute("data-status", "ok", timeout=15_000)
            expect(result.get_by_test_id("run-grid").locator("tbody tr")).to_have_count(6)
            page.get_by_test_id("answer").fill("Ties: DENSE_RANK gives Raj and Kim the same rank, so Lee stays in.")
            page.get_by_test_id("send").click()
            expect(page.get_by_test_id("interviewer-turn")).to_have_count(3, timeout=15_000)
            expect(page.get_by_test_id("interviewer-turn").nth(2)).to_contain_text("matches what I expected")
            page.screenshot(path=str(ARTIFACTS / "browser-pad-right.png"), full_page=True)

            # a reload restores the pad from the server, with its last run
            page.reload()
            expect(page.get_by_test_id("interviewer-turn")).to_have_count(3, timeout=10_000)
            expect(page.get_by_test_id("pad-input")).to_contain_text("DENSE_RANK()", timeout=10_000)
            expect(page.get_by_test_id("pad-results").get_by_test_id("run-result")).to_have_attribute(
                "data-status", "ok"
            )

            page.once("dialog", lambda d: d.accept())
            page.get_by_test_id("end").click()
            expect(page.get_by_test_id("debrief")).to_be_visible(timeout=15_000)
            page.locator("details.replay summary").click()
            runs = page.get_by_test_id("replay-run-result")
            expect(runs).to_have_count(4)  # two from the pad, two with the answers
            page.screenshot(path=str(ARTIFACTS / "browser-pad-debrief.png"), full_page=True)
        finally:
            browser.close()


def test_python_question_with_the_pad(live_server):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(live_server.url)
            page.get_by_test_id("round-coding").click()
            page.get_by_test_id("level-L5").click()
            select = page.get_by_test_id("question-select")
            option = select.locator("option", has_text="Merge").first
            expect(option).to_be_attached(timeout=10_000)
            select.select_option(value=option.get_attribute("value"))
            page.get_by_test_id("start").click()
            expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer", timeout=10_000)
            expect(page.get_by_test_id("pad-language")).to_have_value("python")

            # a first try that ignores the order: typed line by line, the editor indents the body
            editor = page.get_by_test_id("pad-input")
            editor.click()
            page.keyboard.type("def merge_sorted_lists(a, b):", delay=2)
            page.keyboard.press("Escape")
            page.keyboard.press("Enter")
            page.keyboard.type("return a + b", delay=2)
            page.keyboard.press("Escape")
            page.get_by_test_id("run").click()
            result = page.get_by_test_id("pad-results").get_by_test_id("run-result")
            expect(result).to_have_attribute("data-status", "wrong", timeout=20_000)
            tests = result.get_by_test_id("run-test")
            expect(tests).to_have_count(8)
            expect(result.locator("[data-passed=false]").first).to_contain_text("the example")
            expect(result).not_to_contain_text("assert")  # the hidden tests' code is never shown

            page.get_by_test_id("answer").fill("I concatenate the two lists.")
            page.get_by_test_id("send").click()
            expect(page.get_by_test_id("interviewer-turn")).to_have_count(2, timeout=20_000)
            expect(page.get_by_test_id("interviewer-turn").nth(1)).to_contain_text("hidden tests")

            # the fix passes every hidden test
            editor.click()
            page.keyboard.press("Control+A")
            page.keyboard.press("Delete")
            page.keyboard.type("import heapq", delay=2)
            page.keyboard.press("Escape")
            page.keyboard.press("Enter")
            page.keyboard.type("def merge_sorted_lists(a, b):", delay=2)
            page.keyboard.press("Escape")
            page.keyboard.press("Enter")
            page.keyboard.type("return list(heapq.merge(a, b))", delay=2)
            page.keyboard.press("Escape")
            page.get_by_test_id("run").click()
            expect(result).to_have_attribute("data-status", "ok", timeout=20_000)
            expect(result.locator("[data-passed=true]")).to_have_count(8)
            page.screenshot(path=str(ARTIFACTS / "browser-pad-python.png"), full_page=True)
        finally:
            browser.close()
