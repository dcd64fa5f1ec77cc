"""The ports of a round: what any interviewer brain (offline rules, LLM) must do, and the values it exchanges
with the graph.

A turn goes: the graph computes :class:`Constraints` (what the rules allow) → ``Brain.decide`` returns a
:class:`Draft` (a frozen :class:`Decision`, and for a brain that decides and speaks in one model call, the words
already on their way) → the graph enforces the rules on the decision → the graph speaks it: the draft's
:class:`Speech` if the rules kept its move, else ``Brain.speak(view, enforced_decision)`` → once the words are out,
``Speech.tail()`` tells what only the end of the turn knows (key points seen, rationale, token usage). Nothing is
parked on the brain between calls and nothing is mutated in place. ``grade`` runs beside all this; ``debrief``
closes the round. A brain never changes state itself; the rules live in app/interview/rules.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field

from app.core.grades import Debrief, TurnGrade
from app.core.runs import PythonRun, SqlRun
from app.core.state import CallUsage
from app.core.view import RoundView
from app.core.vocabulary import ErrorCode, Move, Tactic

if TYPE_CHECKING:  # the content models sit above the core; a runner only reads the question's exercise
    from app.content.models import Question


class BrainError(RuntimeError):
    """A brain could not do its job; ``code`` is the error code sent to the client."""

    code: ErrorCode = ErrorCode.internal_error


class ModelUnavailable(BrainError):
    """The model endpoint did not answer (after bounded retries)."""

    code = ErrorCode.model_unavailable


class ModelOutputError(BrainError):
    """The model's structured output stayed invalid or truncated after one retry."""

    code = ErrorCode.model_output_invalid


class Decision(BaseModel):
    """The interviewer's next move, typed and frozen. Stored (as the turn's move) on every interviewer turn."""

    model_config = ConfigDict(frozen=True)

    move: Move
    question_id: str | None = Field(None, description="ask: the question to ask.")
    principle: str | None = Field(None, description="lp_pivot / lp_follow_up: the principle probed.")
    key_point: str | None = Field(None, description="follow_up / hint / return: the key point aimed at.")
    star_part: str | None = Field(None, description="lp_follow_up: the STAR part asked for.")
    failure_mode: str | None = Field(None, description="failure_probe: the failure mode dug into.")
    quote: str | None = Field(None, description="The candidate's own phrase the line quotes back.")
    tactic: Tactic | None = Field(None, description="How the move is played (a probe, a push, moving on...).")
    claim: str | None = Field(None, description="probe_misconception: the id of the wrong claim probed.")
    rung: int | None = Field(None, ge=0, description="failure_probe: the rung of the failure ladder asked.")
    run_probe: str | None = Field(
        None, description="follow_run: what the candidate's run got wrong (a diff kind, a failing test) or 'ok'."
    )
    covered: tuple[str, ...] = Field((), description="Key points / STAR parts seen in the last answer.")
    rationale: str = ""


class Constraints(BaseModel):
    """What the rules of the round allow for the next move (computed by the graph before the brain decides)."""

    model_config = ConfigDict(frozen=True)

    allowed: list[Move]
    next_question_id: str | None = None
    forced: Move | None = Field(None, description="A move the rules impose (time is up, the round is over).")
    reason: str = ""


class SpeechTail(BaseModel):
    """What only the end of a spoken turn knows (an LLM writes these fields after the words)."""

    model_config = ConfigDict(frozen=True)

    covered: tuple[str, ...] | None = Field(None, description="Key points / STAR parts seen; None: keep the draft's.")
    rationale: str | None = None
    usage: tuple[CallUsage, ...] = Field((), description="Token usage of the LLM calls behind this turn.")


class Speech(Protocol):
    """The words of one interviewer turn, as a stream; ``tail()`` once the stream is exhausted."""

    def words(self) -> AsyncIterator[str]: ...

    def tail(self) -> SpeechTail: ...

    async def aclose(self) -> None:
        """Stop early and release what the stream holds (an open model response)."""
        ...


@dataclass(frozen=True)
class Draft:
    """A brain's decision, and the words for it if they are already on their way (decided and spoken in one
    model call). The graph uses ``speech`` only if the rules keep the decision's move."""

    decision: Decision
    speech: Speech | None = None


class Brain(Protocol):
    name: str  # "offline" | "llm"
    label: str  # shown in the page and /api/health

    async def grade(self, view: RoundView) -> TurnGrade:
        """Grade the last candidate turn of ``view`` against the rubric of the thread it answers."""
        ...

    async def decide(self, view: RoundView, constraints: Constraints) -> Draft:
        """Choose the next move among ``constraints.allowed``."""
        ...

    def speak(self, view: RoundView, decision: Decision) -> Speech:
        """The interviewer's words for ``decision`` (a decision the rules may have changed from the draft's)."""
        ...

    async def debrief(self, view: RoundView) -> Debrief:
        """The Amazon-style debrief of the whole round, from the stored grades."""
        ...

    async def aclose(self) -> None:
        """Release what the brain holds open (connections); called once, when the server or the run stops."""
        ...


class CodeRunner(Protocol):
    """Runs the candidate's code for a question, isolated from the server (app/sandbox/). A question without an
    exercise of that language gets a scratch run (``checked`` false): the code runs, nothing is compared."""

    name: str  # what isolates Python runs: "bwrap", "unshare", "rlimits"; "off" when execution is switched off
    enabled: bool

    async def run_sql(self, question: Question | None, query: str) -> SqlRun:
        """Run ``query`` on a fresh read-only copy of the question's seeded data; compare with the reference."""
        ...

    async def run_python(self, question: Question | None, code: str) -> PythonRun:
        """Run ``code`` in a sandboxed child process, then the question's hidden tests against it."""
        ...

    def tables(self, question: Question) -> list[dict[str, object]]:
        """The question's tables and their columns (what the pad shows; the schema is not the answer)."""
        ...
