"""Voice over the interview socket, in process, with the real models: spoken answers become turns with their
transcription, and every bad case gets a clear error and loses nothing.

Audio is streamed at about 1.8x real time (the server drops more than 3x); the turn-taker counts frames, not
seconds, so the outcome does not depend on the machine's speed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.server.app import create_app
from app.voice.audio import SAMPLE_RATE
from tests.voice.speech import frames, speech

PACE = 0.032 / 1.8


class VoiceClient:
    """A socket with a reader thread: frames land in a list as they come; tests wait for what they expect."""

    def __init__(self, client: TestClient, ws):
        self.client, self.ws = client, ws
        self.frames: list[dict] = []
        self.binary = 0
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while True:
            try:
                message = self.ws.receive()
            except Exception:
                return
            if message["type"] == "websocket.close":
                return
            with self.changed:
                if message.get("bytes") is not None:
                    self.binary += 1
                elif message.get("text"):
                    self.frames.append(json.loads(message["text"]))
                self.changed.notify_all()

    def wait(self, predicate: Callable[[dict], bool], timeout: float = 30.0, start: int = 0) -> dict:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for f in self.frames[start:]:
                    if predicate(f):
                        return f
                left = deadline - time.monotonic()
                assert left > 0, f"timed out; frames: {[f['type'] for f in self.frames]}"
                self.changed.wait(left)

    def send(self, frame: dict) -> None:
        self.ws.send_text(json.dumps(frame))

    def stream(self, audio: np.ndarray) -> None:
        t0 = time.monotonic()
        for i, f in enumerate(frames(audio)):
            self.ws.send_bytes(f)
            time.sleep(max(0.0, t0 + (i + 1) * PACE - time.monotonic()))

    def errors(self) -> list[str]:
        return [f["code"] for f in self.frames if f["type"] == "error"]


def is_(kind: str, **fields) -> Callable[[dict], bool]:
    return lambda f: f["type"] == kind and all(f.get(k) == v for k, v in fields.items())


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Callable[..., tuple[TestClient, VoiceClient, str, str]]]:
    opened = []

    def open_session(**overrides) -> tuple[TestClient, VoiceClient, str, str]:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'voice.db'}",
            voice_audio_dir=tmp_path / "audio",
            _env_file=None,
            **overrides,
        )
        client = TestClient(create_app(settings))
        client.__enter__()
        created = client.post("/api/sessions", json={"round": "ml_breadth", "level": "L5"}).json()
        sid, token = created["session_id"], created["token"]
        ctx = client.websocket_connect(f"/ws/sessions/{sid}?token={token}")
        ws = ctx.__enter__()
        vc = VoiceClient(client, ws)
        opened.append((client, ctx))
        vc.wait(is_("interviewer_done"))
        return client, vc, sid, token

    yield open_session
    for client, ctx in opened:
        ctx.__exit__(None, None, None)
        client.__exit__(None, None, None)


def transcript(client: TestClient, sid: str, token: str) -> dict:
    return client.get(f"/api/sessions/{sid}/transcript", params={"token": token}).json()


def candidates(client: TestClient, sid: str, token: str) -> list[dict]:
    return [t for t in transcript(client, sid, token)["turns"] if t["role"] == "candidate"]


def test_audio_before_voice_is_started_is_refused_and_the_session_goes_on(make):
    client, vc, sid, token = make()
    vc.ws.send_bytes(b"\x00\x00" * 512)
    error = vc.wait(is_("error"))
    assert error["code"] == "voice_not_started" and "start" in error["message"]
    vc.send({"type": "answer", "text": "I would compare training and validation error on a learning curve."})
    vc.wait(lambda f: f["type"] == "interviewer_done" and f["index"] == 2)
    assert candidates(client, sid, token)[0]["text"].startswith("I would compare")


def test_bad_audio_frames_are_refused_one_by_one_and_the_spoken_turn_survives(make):
    client, vc, sid, token = make()
    vc.send({"type": "voice", "action": "start"})
    vc.wait(is_("voice_status", state="listening"))
    audio = speech(0.5, "I would compare training and validation error on a learning curve.", 1.2)
    chunks = frames(audio)
    half = len(chunks) // 2
    for f in chunks[:half]:
        vc.ws.send_bytes(f)
        time.sleep(PACE)
    vc.ws.send_bytes(b"\x01\x02\x03")  # odd length: not int16
    vc.ws.send_bytes(b"\x00" * 40_000)  # over the 32000-byte limit
    vc.send({"type": "voice", "action": "sideways"})  # an unknown action
    for f in chunks[half:]:
        vc.ws.send_bytes(f)
        time.sleep(PACE)
    vc.stream(np.zeros(SAMPLE_RATE, np.float32))  # the microphone stays open
    vc.wait(lambda f: f["type"] == "interviewer_done" and f["index"] == 2)
    assert set(vc.errors()) == {"audio_invalid", "frame_too_large", "invalid_frame"}
    turn = candidates(client, sid, token)[0]
    assert "learning curve" in turn["text"] and turn["source"] == "voice"


def test_a_spoken_answer_is_a_turn_with_its_transcription_and_is_heard_back(make, tmp_path):
    client, vc, sid, token = make()
    vc.send({"type": "voice", "action": "start"})
    status = vc.wait(is_("voice_status", state="listening"))
    assert "faster-whisper" in status["stt"] and "hibari" in status["tts"]
    vc.stream(speech(0.5, "We rebuilt the payment service and cut latency by forty percent.", 1.5))
    final = vc.wait(is_("caption", final=True))
    assert "payment service" in final["text"]
    vc.wait(lambda f: f["type"] == "interviewer_done" and f["index"] == 2)
    chunk = vc.wait(is_("audio_chunk"))
    assert chunk["sample_rate"] == 24000 and chunk["samples"] > 0 and chunk["text"]
    timing = vc.wait(is_("voice_timing"))
    assert timing["total_ms"] > 0 and timing["wait_ms"] >= 400
    deadline = time.monotonic() + 10
    while vc.binary == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert vc.binary >= 1
    turn = candidates(client, sid, token)[0]
    assert turn["source"] == "voice" and turn["words"][0][0] == "We" and 0.5 < turn["transcript_confidence"] <= 1
    assert turn["speech"]["words"] >= 10 and turn["speech"]["wpm"] > 60
    assert turn["low_confidence"] is False
    wav = client.get(f"/api/sessions/{sid}/audio/{turn['audio']['id']}", params={"token": token})
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
    assert client.get(f"/api/sessions/{sid}/audio/{turn['audio']['id']}", params={"token": "wrong"}).status_code == 401
    health = client.get("/api/health").json()["voice"]
    assert set(health["loaded"]) == {"vad", "stt", "tts"} and health["enabled"]


def test_a_three_second_pause_mid_sentence_does_not_end_the_turn(make):
    client, vc, sid, token = make()
    vc.send({"type": "voice", "action": "start"})
    vc.wait(is_("voice_status", state="listening"))
    vc.stream(speech(0.5, "I would start by looking at the", 3.0, "conversion funnel, and then the data quality.", 1.5))
    vc.wait(lambda f: f["type"] == "interviewer_done" and f["index"] == 2, timeout=40)
    assert any(f["type"] == "voice_status" and f["state"] == "holding" for f in vc.frames), "the page was told"
    turns = candidates(client, sid, token)
    assert len(turns) == 1
    assert "looking at the" in turns[0]["text"] and "funnel" in turns[0]["text"], turns[0]["text"]


def test_going_on_right_after_the_turn_ended_makes_one_turn(make):
    client, vc, sid, token = make(voice_resume_window_ms=3000)
    vc.send({"type": "voice", "action": "start"})
    vc.wait(is_("voice_status", state="listening"))
    vc.stream(speech(0.5, "First I would check the data for leakage.", 1.2))
    vc.wait(lambda f: f["type"] == "interviewer_done" and f["index"] == 2)  # the interviewer has begun
    mark = len(vc.frames)
    vc.stream(speech("And then I would retrain the model with the new features.", 1.5))
    vc.wait(is_("audio_stop"), start=mark)  # the interviewer stops
    vc.wait(is_("state"), start=mark)  # the answer was taken back: the page gets the whole state again
    vc.wait(lambda f: f["type"] == "interviewer_done" and f["index"] == 2, start=mark + 1, timeout=40)
    turns = candidates(client, sid, token)
    assert len(turns) == 1, turns
    assert "leakage" in turns[0]["text"] and "retrain" in turns[0]["text"]
    assert len([t for t in transcript(client, sid, token)["turns"] if t["role"] == "interviewer"]) == 2


def test_a_low_confidence_transcription_is_kept_but_not_graded(make):
    client, vc, sid, token = make(voice_min_confidence=0.999)
    vc.send({"type": "voice", "action": "start"})
    vc.wait(is_("voice_status", state="listening"))
    vc.stream(speech(0.5, "Precision is the share of predicted positives that are correct.", 1.2))
    grade = vc.wait(is_("turn_grade"))
    assert grade["overall"] is None and any("low-confidence" in n for n in grade["notes"])
    turn = candidates(client, sid, token)[0]
    assert turn["low_confidence"] is True and "Precision" in turn["text"]


def test_a_missing_model_is_a_clear_error_and_text_still_works(make, tmp_path):
    empty = tmp_path / "no-model"
    empty.mkdir()
    client, vc, sid, token = make(voice_stt_model_dir=empty)
    vc.send({"type": "voice", "action": "start"})
    error = vc.wait(is_("error"))
    assert error["code"] == "voice_unavailable" and "model.bin is missing" in error["message"]
    assert client.get("/api/health").json()["voice"]["errors"]["stt"]
    vc.ws.send_bytes(b"\x00\x00" * 512)
    assert vc.wait(lambda f: f["type"] == "error" and f["code"] == "voice_not_started")
    vc.send({"type": "answer", "text": "I would regularize the model."})
    vc.wait(lambda f: f["type"] == "interviewer_done" and f["index"] == 2)


def test_voice_turned_off(make):
    client, vc, sid, token = make(voice_enabled=False)
    vc.send({"type": "voice", "action": "start"})
    assert vc.wait(is_("error"))["code"] == "audio_not_supported"
    vc.ws.send_bytes(b"\x00\x00" * 512)
    vc.wait(lambda f: f["type"] == "error" and len(vc.errors()) == 2)
    assert vc.errors() == ["audio_not_supported", "audio_not_supported"]


def test_an_audio_flood_is_dropped_with_a_clear_error(make):
    client, vc, sid, token = make()
    vc.send({"type": "voice", "action": "start"})
    vc.wait(is_("voice_status", state="listening"))
    for f in frames(np.zeros(8 * SAMPLE_RATE, np.float32)):  # 8 s of audio at once: far over 3x real time
        vc.ws.send_bytes(f)
    error = vc.wait(lambda f: f["type"] == "error" and f["code"] == "rate_limited")
    assert "real time" in error["message"]
    vc.send({"type": "answer", "text": "I would regularize the model."})  # the session is intact
    vc.wait(lambda f: f["type"] == "interviewer_done" and f["index"] == 2)


def test_push_to_talk_counts_only_while_held(make):
    client, vc, sid, token = make()
    vc.send({"type": "voice", "action": "start", "push_to_talk": True})
    assert vc.wait(is_("voice_status", state="listening"))["push_to_talk"] is True
    vc.stream(speech(0.3, "This is said with the key up and must not become an answer.", 1.5))
    assert not any(f["type"] == "caption" for f in vc.frames)
    vc.send({"type": "voice", "action": "ptt_down"})
    vc.stream(speech(0.2, "Precision is the share of predicted positives that are correct.", 0.3))
    vc.send({"type": "voice", "action": "ptt_up"})
    vc.stream(np.zeros(SAMPLE_RATE, np.float32))
    final = vc.wait(is_("caption", final=True))
    assert "Precision" in final["text"] and "key up" not in final["text"]
    vc.wait(lambda f: f["type"] == "interviewer_done" and f["index"] == 2)
    assert candidates(client, sid, token)[0]["text"] == final["text"]
