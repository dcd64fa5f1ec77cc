"""An idle socket in a real browser: the server closes it after BARRAISER_IDLE_TIMEOUT_S, the page says it is
paused and does not reconnect on its own, and typing an answer brings the connection back without losing anything."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import ARTIFACTS, LiveServer
from tests.e2e.test_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser

ANSWER = "High variance means the model overfits; I would compare training and validation error on a learning curve."


def _socket_opens(log_path) -> int:
    return len(re.findall(r"WebSocket /ws/sessions/\S+ \[accepted\]", log_path.read_text(errors="replace")))


def test_an_idle_page_pauses_and_resumes_when_the_candidate_types(tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    log = tmp_path / "server.log"
    server = LiveServer(tmp_path / "idle.db", log, env={"BARRAISER_IDLE_TIMEOUT_S": "1.5"}).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(server.url)
                page.get_by_test_id("round-ml_breadth").click()
                page.get_by_test_id("start").click()
                expect(page.get_by_test_id("status")).to_have_attribute(
                    "data-status", "awaiting_answer", timeout=10_000
                )
                connection = page.get_by_test_id("connection")
                expect(connection).to_have_attribute("data-state", "paused", timeout=10_000)
                expect(connection).to_contain_text("type to resume")
                opened = _socket_opens(log)
                assert opened >= 1
                time.sleep(2.5)  # longer than the first retry delays: a reconnecting page would have come back
                expect(connection).to_have_attribute("data-state", "paused")
                assert _socket_opens(log) == opened
                page.screenshot(path=str(ARTIFACTS / "browser-idle-paused.png"), full_page=True)

                page.get_by_test_id("answer").fill(ANSWER)  # typing reconnects
                expect(connection).to_have_attribute("data-state", "connected", timeout=10_000)
                page.get_by_test_id("send").click()
                expect(page.get_by_test_id("interviewer-turn")).to_have_count(2, timeout=10_000)
                expect(page.get_by_test_id("candidate-turn")).to_have_count(1)
            finally:
                browser.close()
    finally:
        server.stop()
