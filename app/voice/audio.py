"""PCM helpers: the page sends int16 little-endian mono at 16 kHz; the pipeline works on float32 in [-1, 1]."""

from __future__ import annotations

import io
import struct
import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
FRAME_SAMPLES = 512  # 32 ms at 16 kHz: Silero VAD's window
FRAME_MS = FRAME_SAMPLES * 1000 / SAMPLE_RATE

# Interviewer audio to the page: a binary frame = this header + int16 LE mono PCM (docs/protocol.md)
AUDIO_MAGIC = b"BRA1"
AUDIO_HEADER = struct.Struct("<4sIII")  # magic, chunk sequence number, sample rate, interviewer turn index


class AudioFormatError(ValueError):
    """A binary frame that is not int16 PCM."""


def pcm16_to_float(data: bytes) -> np.ndarray:
    if not data:
        raise AudioFormatError("an empty audio frame")
    if len(data) % 2:
        raise AudioFormatError(f"int16 PCM needs an even number of bytes; got {len(data)}")
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Linear-interpolation resampling: good enough for speech fed to a recogniser or a test fixture."""
    if rate_in == rate_out or len(samples) == 0:
        return samples.astype(np.float32)
    n_out = int(round(len(samples) * rate_out / rate_in))
    x_out = np.arange(n_out) * (rate_in / rate_out)
    return np.interp(x_out, np.arange(len(samples)), samples).astype(np.float32)


def audio_frame(seq: int, sample_rate: int, turn: int, pcm: bytes) -> bytes:
    return AUDIO_HEADER.pack(AUDIO_MAGIC, seq, sample_rate, turn) + pcm


def parse_audio_frame(data: bytes) -> tuple[int, int, int, bytes]:
    """(seq, sample_rate, turn, pcm) of an interviewer audio frame."""
    magic, seq, rate, turn = AUDIO_HEADER.unpack_from(data)
    if magic != AUDIO_MAGIC:
        raise AudioFormatError("not an interviewer audio frame")
    return seq, rate, turn, data[AUDIO_HEADER.size :]


def wav_bytes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(float_to_pcm16(samples))
    return buf.getvalue()


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples and the sample rate of a 16-bit WAV (stereo is averaged)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise AudioFormatError(f"{path}: only 16-bit WAV is read")
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
        channels, rate = w.getnchannels(), w.getframerate()
    if channels > 1:
        raw = raw.reshape(-1, channels).mean(axis=1)
    return raw, rate
