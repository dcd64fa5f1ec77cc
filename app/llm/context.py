"""What an LLM call is for: set by the brain around each call, read by cassettes and usage records.

A cassette entry is keyed by session, purpose (``respond``, ``grade``, ``debrief``) and transcript turn, so a
recorded round replays call for call even after a prompt edit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class CallContext:
    session_id: str
    purpose: str
    turn: int
    attempt: int = 0

    @property
    def key(self) -> str:
        return f"{self.purpose}@{self.turn}#{self.attempt}"


current_call: ContextVar[CallContext | None] = ContextVar("barraiser_llm_call", default=None)


@contextmanager
def llm_call(session_id: str, purpose: str, turn: int, attempt: int = 0) -> Iterator[None]:
    token = current_call.set(CallContext(session_id, purpose, turn, attempt))
    try:
        yield
    finally:
        current_call.reset(token)
