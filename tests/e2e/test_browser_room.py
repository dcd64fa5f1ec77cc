"""The room's fixes in a real browser: the keyboard flow (focus stays on a chosen round or level, Start focuses the
answer box, every control is reachable and shows its focus), the round clock, drafts restored after a reload, and
the phone layout at 375 px (compact header, Send on screen). Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import ARTIFACTS
from tests.e2e.test_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser

# Is the focused element visibly marked? An outline, or the focus ring some inputs draw as a box shadow.
FOCUS_SHOWN = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const r = e.getBoundingClientRect();
  const ring = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
  const onScreen = r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight;
  return {id: e.getAttribute("data-testid") || e.id || e.tagName, ring, onScreen};
}"""


def focused_testid(page: Page) -> str | None:
    return page.evaluate("document.activeElement && document.activeElement.getAttribute('data-testid')")


def test_keyboard_flow_clock_and_drafts(live_server):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(live_server.url)
            expect(page.get_by_test_id("round-ml_breadth")).to_be_visible(timeout=10_000)

            # every control in the lobby is reached with Tab and shows that it has the focus
            seen, hidden = [], []
            for _ in range(40):
                page.keyboard.press("Tab")
                info = page.evaluate(FOCUS_SHOWN)
                if info is None:
                    continue
                seen.append(info["id"])
                if not (info["ring"] and info["onScreen"]):
                    hidden.append(info)
            assert "round-ml_breadth" in seen and "level-L6" in seen and "question-select" in seen, seen
            assert "start" in seen, seen
            assert not hidden, hidden

            # choosing with the keyboard keeps the focus on the choice (the buttons are redrawn)
            page.get_by_test_id("round-ml_breadth").focus()
            page.keyboard.press("Enter")
            expect(page.get_by_test_id("round-ml_breadth")).to_have_attribute("aria-pressed", "true")
            assert focused_testid(page) == "round-ml_breadth"
            page.keyboard.press("Tab")
            assert focused_testid(page) not in (None, "round-ml_breadth")
            page.get_by_test_id("level-L4").focus()
            page.keyboard.press("Space")
            expect(page.get_by_test_id("level-L4")).to_have_attribute("aria-pressed", "true")
            assert focused_testid(page) == "level-L4"

            # Start (with the keyboard) lands in the answer box
            page.get_by_test_id("start").focus()
            page.keyboard.press("Enter")
            expect(page.get_by_test_id("interviewer-turn").first).to_be_visible(timeout=10_000)
            expect(page.get_by_test_id("answer")).to_be_focused()

            # the round clock: time left of the round's 55 minutes
            clock = page.get_by_test_id("round-clock")
            expect(clock).to_be_visible()
            expect(clock).to_have_text(re.compile(r"^5[45]:\d\d left$"))
            assert "of the round's 55 minutes" in (clock.get_attribute("aria-label") or "")

            # a draft survives a reload; a sent answer leaves no draft behind
            expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer")
            page.keyboard.type("Bias is error from wrong assumptions; variance is")
            page.wait_for_timeout(400)
            page.reload()
            expect(page.get_by_test_id("answer")).to_have_value("Bias is error from wrong assumptions; variance is")
            expect(page.get_by_test_id("answer")).to_be_focused()
            page.get_by_test_id("answer").press("End")
            page.keyboard.type(" sensitivity to the training sample.")
            expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer", timeout=10_000)
            page.keyboard.press("Control+Enter")
            expect(page.get_by_test_id("candidate-turn")).to_have_count(1, timeout=10_000)
            expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer", timeout=10_000)
            page.reload()
            expect(page.get_by_test_id("interviewer-turn")).to_have_count(2, timeout=10_000)
            expect(page.get_by_test_id("answer")).to_have_value("")

            # in the room too, every control shows its focus
            hidden = []
            for _ in range(12):
                page.keyboard.press("Tab")
                info = page.evaluate(FOCUS_SHOWN)
                if info and not (info["ring"] and info["onScreen"]):
                    hidden.append(info)
            assert not hidden, hidden

            # ending with the keyboard: the debrief takes the focus, then its first control is one Tab away
            page.once("dialog", lambda d: d.accept())
            page.get_by_test_id("end").focus()
            page.keyboard.press("Enter")
            expect(page.get_by_test_id("debrief")).to_be_visible(timeout=10_000)
            assert page.evaluate("document.activeElement.id") == "app"
            page.keyboard.press("Tab")
            assert focused_testid(page) == "open-replay"
        finally:
            browser.close()


def test_phone_layout_keeps_send_on_screen(live_server):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 667}, device_scale_factor=2, has_touch=True)
            page.goto(live_server.url)
            header = page.locator(".app-header").bounding_box()
            assert header and header["height"] <= 0.12 * 667, header  # was about 37 % of the screen
            page.get_by_test_id("round-ml_breadth").click()
            page.get_by_test_id("start").click()
            expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer", timeout=10_000)
            page.get_by_test_id("answer").fill("A first thought.")
            send = page.get_by_test_id("send")
            expect(send).to_be_enabled()
            box = send.bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= 667, box
            assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing sticks out sideways
            header = page.locator(".app-header").bounding_box()
            assert header and header["height"] <= 0.12 * 667, header
            expect(page.get_by_test_id("round-clock")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "browser-room-375.png"))
            send.click()
            expect(page.get_by_test_id("interviewer-turn")).to_have_count(2, timeout=10_000)
            box = page.get_by_test_id("send").bounding_box()
            assert box and box["y"] + box["height"] <= 667, box
        finally:
            browser.close()
