"""The LLM brain in a real browser: the page names the model, streams its words, and when the model goes down it
says so, keeps the answer, and continues the round after Retry once the model is back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from devtools.fake_llm.harness import FakeLLM
from tests.conftest import ARTIFACTS, LiveServer
from tests.e2e.test_browser import ARGS, CHROMIUM
from tests.integration.test_llm_brain import BASE_RULES, STRONG

pytestmark = pytest.mark.browser

DOWN = {"rules": [{"match": {"schema": "InterviewerTurn"}, "fault": {"status": 503}}, *BASE_RULES]}


def test_model_outage_is_shown_and_the_round_continues_after_retry(tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    with FakeLLM({"rules": BASE_RULES}, ttft_ms=50, tokens_per_s=400) as fake:
        server = LiveServer(
            tmp_path / "llm.db",
            tmp_path / "server.log",
            env={
                "BARRAISER_LLM_BASE_URL": fake.base_url,
                "BARRAISER_LLM_MODEL": "fake-interviewer",
                "BARRAISER_LLM_MAX_RETRIES": "0",
            },
        ).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                try:
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    page.goto(server.url)
                    expect(page.get_by_test_id("brain-badge")).to_contain_text("LLM brain (fake-interviewer)")
                    page.get_by_test_id("round-ml_breadth").click()
                    page.get_by_test_id("start").click()
                    expect(page.get_by_test_id("interviewer-turn").first).to_contain_text(
                        "Hello, let's begin.", timeout=10_000
                    )
                    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer")

                    fake.set_script(DOWN)
                    page.get_by_test_id("answer").fill(STRONG)
                    page.get_by_test_id("send").click()
                    toast = page.get_by_test_id("toast")
                    expect(toast).to_contain_text("interviewer model is unavailable", timeout=10_000)
                    expect(page.get_by_test_id("candidate-turn")).to_have_count(1)  # the answer stays
                    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "unavailable")
                    page.screenshot(path=str(ARTIFACTS / "browser-llm-outage.png"), full_page=True)

                    fake.set_script({"rules": BASE_RULES})
                    toast.get_by_role("button", name="Retry").click()
                    expect(page.get_by_test_id("interviewer-turn")).to_have_count(2, timeout=10_000)
                    expect(page.get_by_test_id("interviewer-turn").nth(1)).to_contain_text("Tell me about a time")
                    expect(page.get_by_test_id("candidate-turn")).to_have_count(1)
                finally:
                    browser.close()
        finally:
            server.stop()
