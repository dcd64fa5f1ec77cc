"""The round's nodes: small functions, one job each. The graph in graph.py wires them together.

Each node gets the run's services (brain, catalog, code runner) through LangGraph's runtime context and pushes
frames for the client (``InterviewerDelta``, ``InterviewerDone``, ``TurnGradeFrame``, ``RunResultFrame``,
``DebriefFrame``: app/core/frames.py) through the stream writer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from app.content.catalog import Catalog
from app.core.frames import (
    DebriefFrame,
    Frame,
    InterviewerDelta,
    InterviewerDone,
    Reply,
    RunResultFrame,
    TurnGradeFrame,
)
from app.core.grades import TurnGrade
from app.core.ports import Brain, BrainError, CodeRunner, Decision, Draft, Speech
from app.core.runs import RunRecord
from app.core.state import InterviewState, Turn
from app.core.view import RoundView
from app.grading.evidence import enforce_evidence
from app.grading.runs import code_in_answer, exercise_language, grade_from_run, merged_text
from app.interview import rules

_DELTA_CHARS = 24  # coalesce streamed pieces into frames of about this many characters...
_DELTA_SECONDS = 0.05  # ...but never hold words back longer than this

Write = Callable[[Frame], None]
# what a spoken answer adds to its candidate turn (app/core/state.py, app/server/voice.py)
_VOICE_FIELDS = frozenset(
    {"source", "transcript_confidence", "low_confidence", "words", "audio", "speech", "interjected", "cut"}
)


@dataclass(frozen=True)
class Services:
    """What the nodes need besides the state; passed as the run's context, never checkpointed."""

    brain: Brain
    catalog: Catalog
    runner: CodeRunner | None = None  # runs the candidate's code (app/sandbox/); None or disabled: nothing runs


def _view(state: InterviewState, runtime: Runtime[Services]) -> RoundView:
    return RoundView(state, runtime.context.catalog)


async def _speech_for(brain: Brain, view: RoundView, draft: Draft, decision: Decision) -> Speech:
    """The draft's words if the rules kept its move; otherwise (or if it has none) the brain's words for the
    decision the rules made."""
    if draft.speech is not None:
        if decision.move == draft.decision.move:
            return draft.speech
        await draft.speech.aclose()
    return brain.speak(view, decision)


async def _say(view: RoundView, decision: Decision, speech: Speech, write: Write) -> tuple[Turn, Decision]:
    """Stream the words of ``speech`` to the client; return the finished turn and the decision completed with
    what the end of the words told (key points seen, rationale)."""
    pieces: list[str] = []
    pending, last_flush = "", 0.0
    try:
        async for piece in speech.words():
            pieces.append(piece)
            pending += piece
            now = time.monotonic()
            # the first words go out at once; after that, pieces are coalesced into frames of a few words
            if last_flush == 0.0 or len(pending) >= _DELTA_CHARS or now - last_flush >= _DELTA_SECONDS:
                write(InterviewerDelta(text=pending))
                pending, last_flush = "", now
    finally:
        await speech.aclose()
    if pending:
        write(InterviewerDelta(text=pending))
    tail = speech.tail()
    decision = decision.model_copy(
        update={
            "covered": decision.covered if tail.covered is None else tail.covered,
            "rationale": tail.rationale or decision.rationale,
        }
    )
    thread = view.thread
    principle = decision.principle or (thread["principle"] if thread and decision.move == "lp_follow_up" else None)
    question_id = decision.question_id or view.technical_question_id
    turn = Turn(
        index=view.next_index,
        role="interviewer",
        text="".join(pieces).strip(),
        move=decision.move,
        principle=principle,
        question_id=question_id,
        key_point=decision.key_point,
        star_part=decision.star_part,
        failure_mode=decision.failure_mode,
        rationale=decision.rationale,
        at=time.time(),
    )
    if tail.usage:
        turn["usage"] = list(tail.usage)
    write(InterviewerDone.of(turn))
    return turn, decision


async def respond(state: InterviewState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Decide the next move within the rules, then speak it."""
    view, brain = _view(state, runtime), runtime.context.brain
    allowed = rules.constraints(view)
    draft = await brain.decide(view, allowed)
    decision = rules.enforce(draft.decision, allowed, view)
    speech = await _speech_for(brain, view, draft, decision)
    turn, decision = await _say(view, decision, speech, get_stream_writer())
    return {"turns": [turn], **rules.apply(decision, view)}


def await_answer(state: InterviewState) -> dict[str, Any]:
    """Wait for the candidate (``interrupt``); resumed with a ``Reply`` (app/core/frames.py): the answer, or the
    control that ends the round."""
    reply: Reply = interrupt({"awaiting": "answer", "turn": state["turns"][-1]})
    if reply["type"] == "control":
        return {"phase": "ended"}
    thread = state["stack"][-1]["kind"] if state["stack"] else "technical"
    code, language = reply.get("code"), reply.get("language")
    text = merged_text(reply["text"], code, language)  # the editor's code is part of what the candidate said
    turn = Turn(index=len(state["turns"]), role="candidate", text=text, thread=thread, at=time.time())
    if code and code.strip():
        turn["code"], turn["language"] = code, language or ""
    for key, value in (reply.get("voice") or {}).items():  # a spoken answer: its transcription and recording
        if key in _VOICE_FIELDS and value is not None:
            turn[key] = value  # type: ignore[literal-required]  # keys checked against _VOICE_FIELDS
    if reply.get("answer_id"):
        turn["answer_id"] = reply["answer_id"]
    return {"turns": [turn]}


async def run_code(state: InterviewState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Run the code of the candidate's answer, on a SQL or Python question not solved yet; the reply and the grade
    both follow what it did."""
    view, runner = _view(state, runtime), runtime.context.runner
    answer, thread, question = view.last_answer, view.thread, view.question
    if runner is None or not runner.enabled or answer is None or thread is None or thread["kind"] != "technical":
        return {}
    language = exercise_language(question)
    solved = any(r.question_id == thread["question_id"] and r.status == "ok" for r in view.runs)
    code = code_in_answer(answer, question) if language and not solved else None
    if code is None:
        return {}
    if language == "sql":
        result: Any = await runner.run_sql(question, code)
    else:
        result = await runner.run_python(question, code)
    run = RunRecord(
        id=f"turn-{answer['index']}",
        source="answer",
        turn=answer["index"],
        question_id=thread["question_id"],
        code=code,
        at=time.time(),
        result=result,
    )
    get_stream_writer()(RunResultFrame(run=run))
    return {"runs": [run.model_dump(mode="json")]}


async def grade_turn(state: InterviewState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Grade the candidate's last turn; runs beside ``respond`` so the reply never waits for it."""
    view = _view(state, runtime)
    answer = view.last_answer
    assert answer is not None, "grade_turn runs right after an answer"
    await asyncio.sleep(0)  # let the reply's request go out first: the candidate waits for it, not for the grade
    if answer.get("low_confidence"):  # no grade from a garbled transcript: abstain and say why
        confidence = answer.get("transcript_confidence")
        grade = TurnGrade(
            turn=answer["index"],
            notes=[
                f"not graded: the spoken answer's transcription is low-confidence ({confidence}); "
                "the words may not be what was said, so no grade is given"
            ],
            question_id=view.thread["question_id"] if view.thread else None,
        )
        get_stream_writer()(TurnGradeFrame.of(grade))
        return {"grades": [grade.model_dump(mode="json")]}
    try:
        grade = await runtime.context.brain.grade(view)
    except BrainError as exc:  # never a made-up grade: record that this turn could not be graded
        grade = TurnGrade(
            turn=answer["index"],
            notes=[f"not graded: {exc}"],
            question_id=view.thread["question_id"] if view.thread else None,
        )
    grade = enforce_evidence(grade, answer["text"])
    grade = grade_from_run(grade, view.last_run, view.question)  # correctness from what the code did (both brains)
    get_stream_writer()(TurnGradeFrame.of(grade))
    return {"grades": [grade.model_dump(mode="json")]}


async def close_round(state: InterviewState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Say goodbye (unless already said) and write the debrief."""
    view, brain, write = _view(state, runtime), runtime.context.brain, get_stream_writer()
    update: dict[str, Any] = {"phase": "ended"}
    last = view.last_interviewer_turn
    if not (last and last.get("move") == "end" and state["turns"][-1] is last):
        goodbye = Decision(move="end", rationale="the round is over")
        turn, _ = await _say(view, goodbye, brain.speak(view, goodbye), write)
        update["turns"] = [turn]
        view = view.with_turn(turn)
    debrief = await brain.debrief(view)
    write(DebriefFrame.of(debrief))
    return {**update, "debrief": debrief.model_dump(mode="json")}


def after_reply(state: InterviewState) -> str:
    return "close_round" if state["turns"][-1].get("move") == "end" else "await_answer"


def after_answer(state: InterviewState) -> str:
    return "close_round" if state["phase"] == "ended" else "run_code"
