"""Generated speech for the voice tests: the product's own synthesiser (hibari-tts) speaks the candidate's lines,
resampled to 16 kHz. Cached per process, so each sentence is synthesised once."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from app.voice.audio import FRAME_SAMPLES, SAMPLE_RATE, float_to_pcm16, resample


@lru_cache(maxsize=1)
def _voice():
    from hibari import Hibari

    return Hibari()


@lru_cache(maxsize=64)
def _say(text: str) -> bytes:
    tts = _voice()
    audio = resample(np.asarray(tts(text, seed=0), np.float32), int(tts.sample_rate), SAMPLE_RATE)
    return audio.tobytes()


def say(text: str) -> np.ndarray:
    """``text`` spoken, 16 kHz float32, without the synthesiser's own silent lead-in and tail (so the pauses a
    test asks for are the pauses the microphone plays)."""
    audio = np.frombuffer(_say(text), dtype=np.float32)
    loud = np.nonzero(np.abs(audio) > 0.01 * float(np.abs(audio).max()))[0]
    return audio[max(0, loud[0] - 160) : loud[-1] + 160].copy()  # 10 ms either side


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


def speech(*parts: str | float) -> np.ndarray:
    """Lines and pauses in order: ``speech(1.0, "I would look at the", 3.0, "conversion funnel.", 1.5)``."""
    return np.concatenate([silence(p) if isinstance(p, (int, float)) else say(p) for p in parts])


def frames(audio: np.ndarray, samples: int = FRAME_SAMPLES) -> list[bytes]:
    """int16 frames as the page's AudioWorklet sends them (512 samples = 32 ms)."""
    pcm = float_to_pcm16(audio)
    step = samples * 2
    return [pcm[i : i + step] for i in range(0, len(pcm), step) if len(pcm[i : i + step]) == step]
