"""Speech analytics of one spoken turn, from the recogniser's word timings and the VAD's speech frames.

Good ranges (shown in the debrief, frontend/js/voice/analytics.js): 120–160 words a minute, under 3 fillers a
minute, pauses over 2 s are rare, first word within 1–5 s of the question (a short think is fine, and said
aloud is better), and in a technical round the candidate talks about 60–75 % of the time.
"""

from __future__ import annotations

import re
from typing import Any

from app.voice.ports import Transcript

FILLER_WORDS = frozenset({"um", "uh", "erm", "er", "ah", "hmm", "mm", "like", "basically", "actually", "literally"})
FILLER_PHRASES = ("you know", "i mean", "kind of", "sort of")
LONG_PAUSE_S = 2.0


def fillers(text: str) -> dict[str, int]:
    """Filler words and phrases by count. "like" and friends are counted as Whisper writes them; Whisper tends to
    leave "um" and "uh" out, so these counts are a lower bound."""
    lowered = " " + re.sub(r"[^a-z' ]+", " ", text.lower()) + " "
    counts: dict[str, int] = {}
    for phrase in FILLER_PHRASES:
        n = lowered.count(f" {phrase} ")
        if n:
            counts[phrase] = n
            lowered = lowered.replace(f" {phrase} ", " ")
    for word in lowered.split():
        if word in FILLER_WORDS:
            counts[word] = counts.get(word, 0) + 1
    return counts


def turn_speech(
    transcript: Transcript,
    *,
    speech_s: float,
    audio_s: float,
    first_word_after_s: float | None,
    interviewer_s: float,
) -> dict[str, Any]:
    """The ``speech`` field of a spoken candidate turn."""
    words = transcript.words
    n_words = len(words) if words else len(transcript.text.split())
    span = (words[-1].end - words[0].start) if len(words) >= 2 else speech_s
    gaps = [b.start - a.end for a, b in zip(words, words[1:], strict=False)]
    long_pauses = [round(g, 2) for g in gaps if g >= LONG_PAUSE_S]
    filler_counts = fillers(transcript.text)
    minutes = max(span, 1e-6) / 60
    return {
        "words": n_words,
        "wpm": round(n_words / minutes) if span > 0 else None,
        "fillers": sum(filler_counts.values()),
        "filler_words": filler_counts,
        "fillers_per_min": round(sum(filler_counts.values()) / minutes, 1) if span > 0 else None,
        "long_pauses": len(long_pauses),
        "longest_pause_s": max(gaps, default=0.0) and round(max(gaps), 2),
        "speech_s": round(speech_s, 2),
        "audio_s": round(audio_s, 2),
        "first_word_after_s": None if first_word_after_s is None else round(first_word_after_s, 2),
        "interviewer_s": round(interviewer_s, 2),
    }
