"""Interviewer brains, chosen by ``BARRAISER_BRAIN``: the offline rules brain, or the LLM brain on any
OpenAI-compatible endpoint (live, recording cassettes, or replaying them)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from app.config import Settings
from app.core.ports import Brain


class BrainUnavailable(RuntimeError):
    """The configured brain cannot run here (with the reason)."""


def make_brain(settings: Settings, mode: Literal["live", "replay"] = "live", cassettes: Path | None = None) -> Brain:
    """The brain the settings ask for. ``mode="replay"`` feeds the LLM brain from recorded ``cassettes``."""
    if settings.brain == "offline" and mode == "live":
        from app.brains.offline import OfflineBrain

        return OfflineBrain(stream_delay_s=settings.stream_delay_ms / 1000)

    from app.brains.llm import LLMBrain
    from app.content.catalog import ContentError
    from app.content.prompts import load_prompts
    from app.llm.cassettes import RecordingTransport, ReplayTransport
    from app.llm.client import make_client

    try:
        prompts = load_prompts(settings.prompts_dir)
    except ContentError as exc:
        raise BrainUnavailable(f"the LLM prompts do not validate:\n{exc}") from exc
    if mode == "replay":
        if cassettes is None or not Path(cassettes).is_dir():
            raise BrainUnavailable(f"replay needs a cassette directory; {cassettes} is not one")
        replay = settings.model_copy(update={"llm_max_retries": 0})
        return LLMBrain(replay, prompts, make_client(replay, ReplayTransport(Path(cassettes))))
    if not settings.llm_base_url:
        raise BrainUnavailable(
            "BARRAISER_BRAIN=llm needs BARRAISER_LLM_BASE_URL (or OPENAI_BASE_URL); "
            "see the README section 'Using a real LLM'."
        )
    transport = RecordingTransport(settings.record_dir) if settings.record_dir else None
    return LLMBrain(settings, prompts, make_client(settings, transport))
