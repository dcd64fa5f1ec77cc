"""The Brain interface: what any interviewer brain (offline rules, LLM) must do.

A brain grades a candidate turn, decides the next move within the rules the graph hands it, speaks the
interviewer's words as a stream, and writes the debrief. The graph enforces the rules of the round
(app/interview/rules.py); a brain never changes state itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from pydantic import BaseModel, Field

from app.content.models import Move
from app.grading.models import Debrief, TurnGrade
from app.interview.view import RoundView


class BrainError(RuntimeError):
    """A brain could not do its job; ``code`` is the error code sent to the client."""

    code = "internal_error"


class ModelUnavailable(BrainError):
    """The model endpoint did not answer (after bounded retries)."""

    code = "model_unavailable"


class ModelOutputError(BrainError):
    """The model's structured output stayed invalid or truncated after one retry."""

    code = "model_output_invalid"


class Decision(BaseModel):
    """The interviewer's next move, typed. Stored (as the turn's move) on every interviewer turn."""

    move: Move
    question_id: str | None = Field(None, description="ask: the question to ask.")
    principle: str | None = Field(None, description="lp_pivot / lp_follow_up: the principle probed.")
    key_point: str | None = Field(None, description="follow_up / hint / return: the key point aimed at.")
    star_part: str | None = Field(None, description="lp_follow_up: the STAR part asked for.")
    failure_mode: str | None = Field(None, description="failure_probe: the failure mode dug into.")
    quote: str | None = Field(None, description="The candidate's own phrase the line quotes back.")
    covered: list[str] = Field(default_factory=list, description="Key points / STAR parts seen in the last answer.")
    rationale: str = ""
    usage: list[dict] = Field(default_factory=list, description="Token usage of the LLM calls behind this turn.")


class Constraints(BaseModel):
    """What the rules of the round allow for the next move (computed by the graph before the brain decides)."""

    allowed: list[Move]
    next_question_id: str | None = None
    forced: Move | None = Field(None, description="A move the rules impose (time is up, the round is over).")
    reason: str = ""


class Brain(Protocol):
    name: str  # "offline" | "llm"
    label: str  # shown in the page and /api/health

    async def grade(self, view: RoundView) -> TurnGrade:
        """Grade the last candidate turn of ``view`` against the rubric of the thread it answers."""
        ...

    async def decide(self, view: RoundView, constraints: Constraints) -> Decision:
        """Choose the next move among ``constraints.allowed``."""
        ...

    def speak(self, view: RoundView, decision: Decision) -> AsyncIterator[str]:
        """The interviewer's words for ``decision``, as a stream of text pieces."""
        ...

    async def debrief(self, view: RoundView) -> Debrief:
        """The Amazon-style debrief of the whole round, from the stored grades."""
        ...

    async def aclose(self) -> None:
        """Release what the brain holds open (connections); called once, when the server or the run stops."""
        ...
