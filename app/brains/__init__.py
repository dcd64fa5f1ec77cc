"""Interviewer brains, chosen by ``BARRAISER_BRAIN``."""

from __future__ import annotations

from app.brains.base import Brain
from app.config import Settings


class BrainUnavailable(RuntimeError):
    """The configured brain cannot run here."""


def make_brain(settings: Settings) -> Brain:
    if settings.brain == "offline":
        from app.brains.offline import OfflineBrain

        return OfflineBrain(stream_delay_s=settings.stream_delay_ms / 1000)
    raise BrainUnavailable(
        "BARRAISER_BRAIN=llm is not available in this version yet; unset it to use the offline rules brain."
    )
