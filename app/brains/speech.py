"""Speech from a text known in advance: the words streamed one by one (optionally paced, for a typing effect)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from app.core.ports import SpeechTail


class TextSpeech:
    """A ``Speech`` (app/core/ports.py) of a fixed text, word by word."""

    def __init__(self, text: str, delay_s: float = 0.0, tail: SpeechTail | None = None):
        self.text, self.delay_s = text, delay_s
        self._tail = tail or SpeechTail()

    async def words(self) -> AsyncIterator[str]:
        words = self.text.split(" ")
        for i, word in enumerate(words):
            yield word if i == len(words) - 1 else word + " "
            if self.delay_s:
                await asyncio.sleep(self.delay_s)

    def tail(self) -> SpeechTail:
        return self._tail

    async def aclose(self) -> None:
        """Nothing to release."""
