"""The round's nodes: small functions, one job each. The graph in graph.py wires them together.

Each node gets the run's services (brain, catalog) through LangGraph's runtime context and pushes frames for
the client (``interviewer_delta``, ``interviewer_done``, ``turn_grade``, ``debrief``) through the stream writer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from app.brains.base import Brain, BrainError, Decision
from app.content.catalog import Catalog
from app.grading.evidence import enforce_evidence
from app.grading.models import TurnGrade
from app.interview import rules
from app.interview.state import InterviewState, Turn
from app.interview.view import RoundView

_DELTA_CHARS = 24  # coalesce streamed pieces into frames of about this many characters...
_DELTA_SECONDS = 0.05  # ...but never hold words back longer than this


@dataclass(frozen=True)
class Services:
    """What the nodes need besides the state; passed as the run's context, never checkpointed."""

    brain: Brain
    catalog: Catalog


def _view(state: InterviewState, runtime: Runtime[Services]) -> RoundView:
    return RoundView(state, runtime.context.catalog)


async def _say(view: RoundView, brain: Brain, decision: Decision, write: Callable[[dict], None]) -> Turn:
    """Stream the interviewer's words for ``decision`` to the client and return the finished turn."""
    pieces: list[str] = []
    stream: AsyncIterator[str] = brain.speak(view, decision)
    pending, last_flush = "", 0.0
    async for piece in stream:
        pieces.append(piece)
        pending += piece
        now = time.monotonic()
        # the first words go out at once; after that, pieces are coalesced into frames of a few words
        if last_flush == 0.0 or len(pending) >= _DELTA_CHARS or now - last_flush >= _DELTA_SECONDS:
            write({"type": "interviewer_delta", "text": pending})
            pending, last_flush = "", now
    if pending:
        write({"type": "interviewer_delta", "text": pending})
    thread = view.thread
    principle = decision.principle or (thread["principle"] if thread and decision.move == "lp_follow_up" else None)
    question_id = decision.question_id or (view.technical_thread or {}).get("question_id")
    turn = Turn(
        index=view.next_index,
        role="interviewer",
        text="".join(pieces).strip(),
        move=decision.move,
        principle=principle,
        question_id=question_id,
        at=time.time(),
    )
    if decision.usage:
        turn["usage"] = decision.usage
    write({"type": "interviewer_done", **turn})
    return turn


async def respond(state: InterviewState, runtime: Runtime[Services]) -> dict:
    """Decide the next move within the rules, then speak it."""
    view, brain = _view(state, runtime), runtime.context.brain
    allowed = rules.constraints(view)
    decision = rules.enforce(await brain.decide(view, allowed), allowed, view)
    turn = await _say(view, brain, decision, get_stream_writer())
    return {"turns": [turn], **rules.apply(decision, view)}


def await_answer(state: InterviewState) -> dict:
    """Wait for the candidate (``interrupt``); resumed with ``Command(resume={"type": "answer", "text": ...})``
    or ``{"type": "control", "action": "end"}``."""
    reply = interrupt({"awaiting": "answer", "turn": state["turns"][-1]})
    if reply.get("type") == "control":
        return {"phase": "ended"}
    thread = state["stack"][-1]["kind"] if state["stack"] else "technical"
    turn = Turn(index=len(state["turns"]), role="candidate", text=reply["text"], thread=thread, at=time.time())
    return {"turns": [turn]}


async def grade_turn(state: InterviewState, runtime: Runtime[Services]) -> dict:
    """Grade the candidate's last turn; runs beside ``respond`` so the reply never waits for it."""
    view = _view(state, runtime)
    answer = view.last_answer
    await asyncio.sleep(0)  # let the reply's request go out first: the candidate waits for it, not for the grade
    try:
        grade = await runtime.context.brain.grade(view)
    except BrainError as exc:  # never a made-up grade: record that this turn could not be graded
        grade = TurnGrade(
            turn=answer["index"], notes=[f"not graded: {exc}"], question_id=(view.thread or {}).get("question_id")
        )
    grade = enforce_evidence(grade, answer["text"])
    frame = grade.model_dump(mode="json")
    get_stream_writer()({"type": "turn_grade", **frame})
    return {"grades": [frame]}


async def close_round(state: InterviewState, runtime: Runtime[Services]) -> dict:
    """Say goodbye (unless already said) and write the debrief."""
    view, brain, write = _view(state, runtime), runtime.context.brain, get_stream_writer()
    update: dict = {"phase": "ended"}
    last = view.last_interviewer_turn
    if not (last and last.get("move") == "end" and state["turns"][-1] is last):
        turn = await _say(view, brain, Decision(move="end", rationale="the round is over"), write)
        update["turns"] = [turn]
        view = RoundView({**state, "turns": state["turns"] + [turn]}, view.catalog)  # type: ignore[typeddict-item]
    debrief = (await brain.debrief(view)).model_dump(mode="json")
    write({"type": "debrief", **debrief})
    return {**update, "debrief": debrief}


def after_reply(state: InterviewState) -> str:
    return "close_round" if state["turns"][-1].get("move") == "end" else "await_answer"


def after_answer(state: InterviewState) -> str | list[str]:
    return "close_round" if state["phase"] == "ended" else ["grade_turn", "respond"]
