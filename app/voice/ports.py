"""The pipeline's interfaces. Adapters (vad.py, stt.py, tts.py) implement them; stack.py picks them by settings.

All three are synchronous and CPU-bound: callers run them in the voice executor (stack.py), never on the loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class VoiceUnavailable(RuntimeError):
    """A model or package of the voice stack is missing or failed to load; the message says which and how to fix."""


class VoiceActivity(Protocol):
    """One stream's voice activity detector: call ``probability`` on consecutive 512-sample frames at 16 kHz."""

    def probability(self, frame: np.ndarray) -> float: ...

    def reset(self) -> None: ...


@dataclass(frozen=True)
class Word:
    word: str
    start: float  # seconds from the start of the utterance
    end: float
    probability: float


@dataclass(frozen=True)
class Transcript:
    text: str
    words: list[Word] = field(default_factory=list)
    confidence: float = 1.0  # 0..1: mean word probability, lowered when the model thinks there is no speech
    no_speech_prob: float = 0.0
    duration_s: float = 0.0


def words_until(transcript: Transcript, end_s: float) -> Transcript:
    """Drop words that start after ``end_s`` (where the VAD heard speech end): Whisper sometimes "hears" a word
    in the trailing silence ("... the data quality. And"), which would make a finished sentence look unfinished."""
    kept = [w for w in transcript.words if w.start < end_s]
    if len(kept) == len(transcript.words) or not transcript.words:
        return transcript
    return Transcript(
        text=" ".join(w.word for w in kept),
        words=kept,
        confidence=transcript.confidence,
        no_speech_prob=transcript.no_speech_prob,
        duration_s=transcript.duration_s,
    )


def joined(first: Transcript, second: Transcript, offset_s: float) -> Transcript:
    """``second`` (recognised from audio starting ``offset_s`` into the turn) after ``first``."""
    words = [*first.words, *(Word(w.word, w.start + offset_s, w.end + offset_s, w.probability) for w in second.words)]
    n1, n2 = max(1, len(first.words)), max(1, len(second.words))
    head, tail = first.text.strip(), second.text.strip()
    if head.endswith(".") and tail[:1].islower():  # the pause made Whisper end the sentence; the words go on
        head = head[:-1] + ","
    return Transcript(
        text=" ".join(t for t in (head, tail) if t),
        words=words,
        confidence=round((first.confidence * n1 + second.confidence * n2) / (n1 + n2), 3),
        no_speech_prob=min(first.no_speech_prob, second.no_speech_prob),
        duration_s=offset_s + second.duration_s,
    )


class Transcriber(Protocol):
    name: str

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """16 kHz mono float32 → text with word timings and a confidence."""
        ...


class Synthesizer(Protocol):
    name: str
    sample_rate: int

    def synthesize(self, text: str) -> np.ndarray:
        """One sentence → mono float32 audio at ``sample_rate``."""
        ...
