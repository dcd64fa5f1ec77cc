"""The OpenAI-compatible voice adapters against a scripted transport: the requests they make
(``/audio/transcriptions`` with a WAV and word timestamps, ``/audio/speech`` asking for PCM) and how they read the
answers (words, a confidence from the segments, int16 audio)."""

from __future__ import annotations

import json

import httpx2
import numpy as np

from app.voice.stt import OpenAITranscriber
from app.voice.tts import OpenAISpeech


def client(handler) -> httpx2.Client:
    return httpx2.Client(transport=httpx2.MockTransport(handler))


def test_transcriptions_send_a_wav_and_read_words_and_confidence():
    seen = {}

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen["url"] = str(request.url)
        seen["auth"] = request.headers.get("authorization")
        seen["body"] = request.read()
        return httpx2.Response(
            200,
            json={
                "text": " We cut latency by forty percent.",
                "words": [{"word": "We", "start": 0.1, "end": 0.3}, {"word": "cut", "start": 0.3, "end": 0.6}],
                "segments": [{"avg_logprob": -0.1, "no_speech_prob": 0.02}],
            },
        )

    stt = OpenAITranscriber("http://stt.test/v1", "sk-test", "whisper-1", http_client=client(handler))
    t = stt.transcribe(np.zeros(16000, np.float32))
    assert seen["url"] == "http://stt.test/v1/audio/transcriptions" and seen["auth"] == "Bearer sk-test"
    body = seen["body"]
    assert b"RIFF" in body and b'name="model"' in body and b"whisper-1" in body
    assert b"verbose_json" in body and b"word" in body
    assert t.text == "We cut latency by forty percent." and [w.word for w in t.words] == ["We", "cut"]
    assert t.duration_s == 1.0 and abs(t.confidence - round(np.exp(-0.1) * 0.98, 3)) < 1e-6


def test_speech_asks_for_pcm_and_reads_int16():
    seen = {}

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen["url"] = str(request.url)
        seen["json"] = json.loads(request.read())
        return httpx2.Response(200, content=np.array([0, 16384, -32768], "<i2").tobytes() + b"\x01")

    tts = OpenAISpeech("http://tts.test/v1", None, "gpt-4o-mini-tts", "alloy", http_client=client(handler))
    audio = tts.synthesize("Thanks, that makes sense.")
    assert seen["url"] == "http://tts.test/v1/audio/speech"
    assert seen["json"] == {
        "input": "Thanks, that makes sense.",
        "model": "gpt-4o-mini-tts",
        "voice": "alloy",
        "response_format": "pcm",
    }
    assert tts.sample_rate == 24000 and list(audio) == [0.0, 0.5, -1.0]  # a stray odd byte is ignored
