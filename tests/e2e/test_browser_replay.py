"""The graded replay in a real browser (Playwright + Debian Chromium against a real server on a free port).

A candidate finishes a round, opens its replay from the debrief and sees, per turn, why the interviewer moved and,
per answer, the grades with the evidence highlighted inside the answer's own words (text nodes and <mark>
elements, never markup), what it missed and its timing; jumps with the strip, filters by principle, downloads the
Markdown report and the JSON, imports the JSON back, prints. Then "Try this answer again" forks the session at
that turn's checkpoint: the retry is answered and graded, the replay shows the new grade beside the old one, and
the original transcript is unchanged. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import ARTIFACTS
from tests.e2e.test_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser

WEAK = "High variance means overfitting, so I would <b>add more features</b> to fix it."
# the reply to the follow-up about high bias; it invites an LP probe
HIGH_BIAS = (
    "A high-bias model has high error on the training data itself: it underfits, and training and validation error "
    "are both high and close together, so more data will not help; I would add capacity or features."
)
GOOD = (
    "Bias is error from wrong assumptions, so the model underfits; variance is sensitivity to the training sample, "
    "so it overfits. I compare training and validation error on a learning curve: both high means bias, a large "
    "gap means variance, then I regularize or get more data."
)


def answer(page: Page, text: str) -> None:
    grades = page.get_by_test_id("grade-entry").count()
    page.get_by_test_id("answer").fill(text)
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("grade-entry")).to_have_count(grades + 1, timeout=15_000)
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer", timeout=15_000)


def finish_round(page: Page, url: str, answers: list[str], question: str = "ml-bias-variance") -> None:
    """Lobby -> ML breadth at L5 with the given opening question -> answers -> end -> debrief."""
    page.goto(url + "/#/")
    page.get_by_test_id("round-ml_breadth").click()
    page.get_by_test_id("level-L5").click()
    select = page.get_by_test_id("question-select")
    expect(select.locator(f"option[value='{question}']")).to_be_attached(timeout=10_000)
    select.select_option(question)
    page.get_by_test_id("start").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer", timeout=15_000)
    for text in answers:
        answer(page, text)
    page.once("dialog", lambda d: d.accept())
    page.get_by_test_id("end").click()
    expect(page.get_by_test_id("debrief")).to_be_visible(timeout=15_000)


def transcript(page: Page, session_id: str) -> dict:
    """The session's transcript over REST, with the token this browser holds."""
    return page.evaluate(
        """async (sid) => {
            const token = JSON.parse(localStorage.getItem("barraiser.tokens"))[sid];
            const r = await fetch(`/api/sessions/${sid}/transcript`, {headers: {Authorization: `Bearer ${token}`}});
            return await r.json();
        }""",
        session_id,
    )


def test_replay_timeline_exports_import_and_a_retry_from_a_checkpoint(live_server, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            finish_round(page, live_server.url, [WEAK, HIGH_BIAS])

            page.get_by_test_id("open-replay").click()
            replay = page.get_by_test_id("replay")
            expect(replay).to_be_visible(timeout=10_000)
            session_id = replay.get_attribute("data-session")
            turns = page.get_by_test_id("replay-turn")
            answers = page.locator("[data-testid=replay-turn][data-role=candidate]")
            expect(answers).to_have_count(2)

            # the interviewer's first move: what it aimed at and why, recorded when it was decided
            opening = turns.first
            expect(opening).to_have_attribute("data-move", "ask")
            expect(opening.get_by_test_id("turn-aim")).to_have_text("Bias-variance trade-off")
            expect(opening.get_by_test_id("turn-why")).not_to_be_empty()

            # an answer: its words as text, the evidence marked inside them, grades, what it missed, timing
            first = answers.first
            text = first.get_by_test_id("answer-text")
            expect(text).to_have_text(WEAK)
            expect(text.locator("b")).to_have_count(0)  # candidate text is never markup
            marks = text.get_by_test_id("evidence-mark")
            expect(marks.first).to_be_visible()
            assert all(m.evaluate("n => n.tagName") == "MARK" for m in marks.all())
            assert all((m.text_content() or "") in WEAK for m in marks.all())
            assert text.evaluate("n => [...n.childNodes].every(c => c.nodeType === 3 || c.tagName === 'MARK')")
            expect(first.get_by_test_id("turn-grade")).to_have_attribute("data-vote", "not_inclined")
            expect(first.get_by_test_id("turn-criteria").locator("li.rcriterion")).to_have_count(3)
            expect(first.get_by_test_id("turn-missed")).to_contain_text("High bias means")
            expect(first.get_by_test_id("turn-timing")).to_contain_text("13 words")
            page.screenshot(path=str(ARTIFACTS / "browser-replay.png"), full_page=True)

            # the strip jumps to a turn and focuses it; the filter keeps one principle's thread
            strip = page.get_by_test_id("strip-item")
            expect(strip).to_have_count(turns.count())
            expect(page.locator("[data-testid=strip-item][data-kind=answer]").nth(1)).to_have_attribute(
                "data-vote", re.compile(r"^(strong_no_hire|not_inclined|inclined|strong_hire)$")
            )
            page.locator("[data-testid=strip-item][data-kind=pivot]").first.click()
            pivot = page.locator("[data-testid=replay-turn][data-move=lp_pivot]")
            expect(pivot).to_be_focused()
            principle = pivot.get_by_test_id("turn-aim").text_content()
            page.get_by_test_id("replay-filter").select_option(f"p:{principle}")
            expect(page.locator("[data-testid=replay-turn]:visible")).to_have_count(1)
            expect(page.get_by_test_id("replay-shown")).to_contain_text("1 of")
            page.get_by_test_id("replay-filter").select_option("all")

            # exports: the Markdown report and the JSON (timestamps on every turn)
            with page.expect_download() as md:
                page.get_by_test_id("replay-download-md").click()
            report = open(md.value.path(), encoding="utf-8").read()
            assert md.value.suggested_filename.endswith(".md")
            assert report.startswith("# Bar Raiser replay: ML breadth · L5")
            assert "\\<b\\>" not in report and "&lt;b&gt;add more features&lt;/b&gt;" in report
            assert "**Missed:**" in report and "**Why:**" in report
            with page.expect_download() as js:
                page.get_by_test_id("replay-download-json").click()
            exported = tmp_path / "replay.json"
            js.value.save_as(exported)
            doc = json.loads(exported.read_text())
            assert doc["format"] == "barraiser-replay" and doc["exported_at"] > 0
            assert all(isinstance(t["at"], float) for t in doc["turns"])

            # the print stylesheet: no app chrome, no buttons
            page.emulate_media(media="print")
            expect(page.locator(".app-header")).to_be_hidden()
            expect(page.get_by_test_id("replay-strip")).to_be_hidden()
            expect(page.get_by_test_id("retry-turn").first).to_be_hidden()
            page.screenshot(path=str(ARTIFACTS / "browser-replay-print.png"), full_page=True)
            page.emulate_media(media="screen")

            # import the export back: the same timeline, read-only
            page.goto(live_server.url + "/#/import")
            bad = tmp_path / "bad.json"
            bad.write_text(json.dumps({"turns": "nope"}))
            page.get_by_test_id("import-file").set_input_files(str(bad))
            expect(page.get_by_test_id("import-error")).to_contain_text("no turns")
            page.get_by_test_id("import-file").set_input_files(str(exported))
            expect(page.get_by_test_id("replay")).to_be_visible()
            expect(page.locator("[data-testid=replay-turn][data-role=candidate]")).to_have_count(2)
            expect(page.get_by_test_id("answer-text").first).to_have_text(WEAK)
            expect(page.get_by_test_id("evidence-mark").first).to_be_visible()
            expect(page.get_by_test_id("retry-turn")).to_have_count(0)

            # try the first answer again: a fork at that turn's checkpoint
            before = transcript(page, session_id)
            page.goto(live_server.url + f"/#/replay/{session_id}")
            page.get_by_test_id("retry-turn").first.click()
            expect(page.get_by_test_id("retry-banner")).to_be_visible(timeout=10_000)
            expect(page.get_by_test_id("retry-before")).to_have_text("Not inclined")
            expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer", timeout=10_000)
            expect(page.get_by_test_id("interviewer-turn")).to_have_count(1)
            expect(page.get_by_test_id("candidate-turn")).to_have_count(0)
            expect(page.get_by_test_id("answer")).to_be_focused()
            answer(page, GOOD)
            page.screenshot(path=str(ARTIFACTS / "browser-retry-room.png"))

            page.get_by_test_id("retry-compare").click()
            compare = page.get_by_test_id("turn-compare")
            expect(compare).to_be_visible(timeout=10_000)
            expect(compare.get_by_test_id("compare-old-grade")).to_have_attribute("data-vote", "not_inclined")
            expect(compare.get_by_test_id("compare-new-grade")).not_to_have_attribute("data-vote", "pending")
            expect(compare.get_by_test_id("compare-old")).to_contain_text("add more features")
            page.screenshot(path=str(ARTIFACTS / "browser-retry-compare.png"), full_page=True)

            # the original: unchanged, and its first answer now lists the retry's grade beside its own
            assert transcript(page, session_id) == before
            page.goto(live_server.url + f"/#/replay/{session_id}")
            retries = page.get_by_test_id("turn-retries")
            expect(retries).to_have_count(1, timeout=10_000)
            expect(retries.get_by_test_id("retry-grade")).not_to_have_attribute("data-vote", "none")
            assert not errors, errors
        finally:
            browser.close()
