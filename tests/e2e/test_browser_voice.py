"""A question answered by voice in a real browser: Debian Chromium with a fake microphone that plays a WAV the
product's own synthesiser made, against a real uvicorn with the real models (Silero VAD, Whisper tiny.en,
hibari-tts), no network.

The candidate answers the first question by voice, hears the interviewer's reply (audio frames received and
played by the page), then talks over the reply: the page stops the playback, the server records the cut point,
and the second spoken answer goes in as the next turn. A screenshot lands in test-artifacts/.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from playwright.sync_api import expect, sync_playwright

from app.voice.audio import wav_bytes
from tests.conftest import ARTIFACTS, LiveServer
from tests.e2e.test_browser import ARGS, CHROMIUM
from tests.voice.speech import speech

pytestmark = pytest.mark.browser

ANSWER = (
    "I would compare training and validation error on a learning curve, then regularize the model or get more data."
)
BARGE_IN = "Sorry, can I add one thing? I would also lower the learning rate and add dropout."


def _get(url: str) -> dict:
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=10) as r:
        return json.loads(r.read())


def test_a_question_answered_by_voice_then_a_barge_in(tmp_path):
    # the microphone: a pause, the answer, 3 s of silence (the reply starts playing), then speech over the reply
    mic = tmp_path / "mic.wav"
    mic.write_bytes(wav_bytes(speech(1.5, ANSWER, 3.0, BARGE_IN, 6.0)))
    env = {
        "BARRAISER_VOICE_PRELOAD": "true",
        "BARRAISER_VOICE_RESUME_WINDOW_MS": "1200",  # the barge-in comes after it: a cut, not a take-back
        "BARRAISER_VOICE_AUDIO_DIR": str(tmp_path / "audio"),
    }
    server = LiveServer(tmp_path / "voice.db", tmp_path / "server.log", env=env).start()
    try:
        deadline = time.monotonic() + 120
        while set(_get(f"{server.url}/api/health")["voice"]["loaded"]) != {"stt", "tts", "vad"}:
            assert time.monotonic() < deadline, "the voice models did not load"
            assert not _get(f"{server.url}/api/health")["voice"]["errors"]
            time.sleep(0.5)
        ARTIFACTS.mkdir(exist_ok=True)
        with sync_playwright() as p:
            args = [
                *ARGS,
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={mic}%noloop",
                "--autoplay-policy=no-user-gesture-required",
            ]
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.grant_permissions(["microphone"], origin=server.url)
                page = context.new_page()
                page.goto(server.url)
                page.get_by_test_id("round-ml_breadth").click()
                page.get_by_test_id("level-L5").click()
                page.get_by_test_id("start").click()
                expect(page.get_by_test_id("status")).to_have_attribute(
                    "data-status", "awaiting_answer", timeout=15_000
                )

                page.get_by_test_id("mic").click()  # getUserMedia starts the fake microphone's file
                expect(page.get_by_test_id("voice")).not_to_have_attribute("data-state", "off", timeout=10_000)

                # the spoken answer becomes the candidate's turn, and the interviewer's reply is heard
                expect(page.get_by_test_id("candidate-turn").first).to_contain_text("learning curve", timeout=30_000)
                page.wait_for_function("() => window.__barraiserVoice.player.played >= 1", timeout=30_000)
                # the candidate talks over the reply: playback stops
                page.wait_for_function("() => window.__barraiserVoice.player.stoppedAt !== null", timeout=30_000)
                try:
                    expect(page.get_by_test_id("candidate-turn")).to_have_count(2, timeout=40_000)
                except AssertionError:  # say what the page heard and did
                    print(json.dumps(page.evaluate("() => window.__barraiserVoice"), indent=1)[:6000])
                    raise
                expect(page.get_by_test_id("candidate-turn").nth(1)).to_contain_text("learning rate", timeout=5_000)
                stats = page.evaluate("() => window.__barraiserVoice")
                page.screenshot(path=str(ARTIFACTS / "browser-voice.png"), full_page=True)
                session = page.evaluate("() => JSON.parse(localStorage.getItem('barraiser.session') || 'null')")

                # the debrief: how the candidate spoke, against good ranges, and each recording to play back
                page.once("dialog", lambda d: d.accept())
                page.get_by_test_id("end").click()
                expect(page.get_by_test_id("speech")).to_be_visible(timeout=20_000)
                expect(page.get_by_test_id("speech-wpm")).to_be_visible()
                expect(page.get_by_test_id("recording")).to_have_count(2)
                expect(page.locator("[data-testid=recording] audio")).to_have_count(2)
                page.screenshot(path=str(ARTIFACTS / "browser-voice-debrief.png"), full_page=True)
            finally:
                browser.close()

        assert stats["framesSent"] > 100  # ~32 ms frames from the worklet
        assert stats["chunksReceived"] >= 2 and stats["player"]["chunks"] >= 2
        assert stats["player"]["played"] >= 1
        assert stats["player"]["pausedAt"] is not None and stats["player"]["stoppedAt"] is not None
        assert stats["timings"], "the server reports where the time went"
        # the page's own onset detector vs. the pause: how fast the interviewer went quiet (reported, bounded loosely)
        assert stats["pauseLatencyMs"], stats
        print(
            f"\n[voice e2e] barge-in: page onset -> playback paused {stats['pauseLatencyMs']} ms; timings {stats['timings']}"
        )

        assert session and session.get("session_id") and session.get("token"), session
        # the stored transcript: a spoken turn with its words, confidence, analytics and recording; the cut point
        sid, token = session["session_id"], session["token"]
        transcript = _get(f"{server.url}/api/sessions/{sid}/transcript?token={token}")
        spoken = [t for t in transcript["turns"] if t["role"] == "candidate"]
        assert len(spoken) == 2, transcript["turns"]
        first = spoken[0]
        assert first["source"] == "voice" and "learning curve" in first["text"]
        assert first["words"] and 0 < first["transcript_confidence"] <= 1 and first["speech"]["wpm"] > 0
        assert first["audio"]["id"] and first["audio"]["duration_s"] > 3
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            f"{server.url}/api/sessions/{sid}/audio/{first['audio']['id']}?token={token}", timeout=10
        ) as r:
            assert r.headers["content-type"] == "audio/wav" and r.read(4) == b"RIFF"
        cut = [t for t in transcript["turns"] if t.get("cut")]
        assert len(cut) == 1 and cut[0]["role"] == "interviewer" and cut[0]["cut"]["played_ms"] > 0, transcript["turns"]
        assert cut[0]["unplayed"], "the rest of the interviewer's turn, never heard, is kept apart"
    finally:
        server.stop()


def test_a_refused_microphone_falls_back_to_text(live_server):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)  # no fake microphone
        try:
            context = browser.new_context()  # and no permission: getUserMedia is refused
            page = context.new_page()
            page.goto(live_server.url)
            page.get_by_test_id("round-ml_breadth").click()
            page.get_by_test_id("level-L4").click()
            page.get_by_test_id("start").click()
            expect(page.get_by_test_id("status")).to_have_attribute("data-status", "awaiting_answer", timeout=15_000)
            page.get_by_test_id("mic").click()
            notice = page.get_by_test_id("voice-notice")
            expect(notice).to_be_visible(timeout=10_000)
            expect(notice).to_contain_text("typing")
            expect(page.get_by_test_id("voice")).to_have_attribute("data-state", "off")
            page.get_by_test_id("answer").fill("I would compare training and validation error on a learning curve.")
            page.get_by_test_id("send").click()
            expect(page.get_by_test_id("interviewer-turn")).to_have_count(2, timeout=10_000)
        finally:
            browser.close()
