"""The round's state: what the checkpointer saves after every step of the graph.

One LangGraph thread per interview session. ``turns`` and ``grades`` grow through reducers (the grader and
the interviewer write beside each other in the same step); everything else is replaced by the node that owns it.

The **thread stack** (``stack``) is how a pivot stays mid-discussion: the bottom entry is the technical question
under discussion; an LP probe or a failure probe is pushed on top of it, and ``return`` pops back to it.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from app.core.runs import RunDump
from app.core.vocabulary import LEVELS, Level, Phase, ThreadKind

# A grade as the state keeps it: a ``TurnGrade`` dump (``app.core.grades``); read it through ``RoundView.grades``.
GradeRecord = dict[str, Any]
# Token usage of one LLM call: purpose, model, prompt_tokens, completion_tokens (estimated: true when guessed).
CallUsage = dict[str, Any]


class Turn(TypedDict):
    index: int
    role: Literal["interviewer", "candidate"]
    text: str
    move: NotRequired[str]
    principle: NotRequired[str | None]
    question_id: NotRequired[str | None]
    key_point: NotRequired[str | None]  # interviewer: the key point a follow-up, hint or return aims at
    star_part: NotRequired[str | None]  # interviewer: the STAR part an LP follow-up asks for
    failure_mode: NotRequired[str | None]  # interviewer: the failure mode a failure probe digs into
    rationale: NotRequired[str]  # interviewer: why this move, as decided at the time
    thread: NotRequired[ThreadKind]
    answer_id: NotRequired[str]  # candidate: the client's id for the answer (docs/protocol.md, answer_received)
    at: NotRequired[float]
    usage: NotRequired[list[CallUsage]]  # token usage of the LLM calls behind an interviewer turn
    code: NotRequired[str]  # candidate: the code the page's editor attached to the answer (also quoted in ``text``)
    language: NotRequired[str]  # candidate: the language of ``code`` (sql, python)
    # a spoken candidate turn (app/voice, app/server/voice.py); absent on typed turns
    source: NotRequired[Literal["text", "voice"]]
    transcript_confidence: NotRequired[float]  # 0..1; graders abstain when ``low_confidence``
    low_confidence: NotRequired[bool]  # the transcription is too unsure to grade (below BARRAISER_VOICE_MIN_CONFIDENCE)
    words: NotRequired[list[list[Any]]]  # [word, start_s, end_s, probability] from the start of the turn's audio
    audio: NotRequired[dict[str, Any]]  # {id, duration_s, bytes} of the stored recording, or {stored: false, reason}
    speech: NotRequired[dict[str, Any]]  # speech analytics of the turn (app/voice/analytics.py)
    interjected: NotRequired[bool]  # the interviewer stepped in on a long answer
    cut: NotRequired[dict[str, Any]]  # the interviewer turn the candidate talked over: {turn, played_ms, played_text}


class Thread(TypedDict):
    kind: ThreadKind
    question_id: str | None  # technical: the question; lp / failure: the question they were pivoted from
    principle: str | None  # lp: the principle probed
    failure_mode: str | None  # failure: the failure mode being dug into (None = the opener)
    step: int  # failure: rung of the ladder reached
    covered: list[str]  # technical: key point ids seen; lp: STAR parts seen
    asked: list[str]  # follow-ups asked in this thread (key point ids, STAR parts, "hint:<n>", "clarify")
    answers: int  # candidate turns given in this thread


class InterviewState(TypedDict):
    session_id: str
    round_id: str
    level: Level
    started_at: float
    plan: list[str]  # the question order for this session
    turns: Annotated[list[Turn], operator.add]
    grades: Annotated[list[GradeRecord], operator.add]  # keyed by their `turn`
    runs: Annotated[list[RunDump], operator.add]  # the candidate's code as it ran, keyed by their `turn`
    stack: list[Thread]
    asked_questions: Annotated[list[str], operator.add]
    principles_probed: Annotated[list[str], operator.add]
    hints_used: int
    phase: Phase
    debrief: dict[str, Any] | None  # a ``Debrief`` dump, once the round has ended


def new_thread(
    kind: ThreadKind, question_id: str | None, principle: str | None = None, failure_mode: str | None = None
) -> Thread:
    return Thread(
        kind=kind,
        question_id=question_id,
        principle=principle,
        failure_mode=failure_mode,
        step=0,
        covered=[],
        asked=[],
        answers=0,
    )


def initial_state(session_id: str, round_id: str, level: str, plan: list[str], started_at: float) -> InterviewState:
    """The input that starts a session's graph."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; levels: {', '.join(LEVELS)}")
    return InterviewState(
        session_id=session_id,
        round_id=round_id,
        level=level,
        started_at=started_at,
        plan=plan,
        turns=[],
        grades=[],
        runs=[],
        stack=[],
        asked_questions=[],
        principles_probed=[],
        hints_used=0,
        phase="interviewing",
        debrief=None,
    )
