"""Exam mode: what the server keeps to itself until the round has ended. The one place that decides it.

In an exam-mode session (``SessionRecord.mode``), until the round has ended, nothing that leaves the server names a
grade, a level, a Leadership Principle or what a move aimed at: a real interviewer never says which principle is
being probed. Grades are still computed and stored exactly as in practice mode; only what is sent changes. Once the
round has ended everything is shown (debrief, replay, transcript, state frame).

Hidden until the end, on every turn (socket frames, ``state`` frame, REST transcript, replay):

- the grade (``grade``; ``turn_grade`` frames are not sent at all);
- ``principle`` (the principle probed), ``rationale`` (why the move: it names principles, key points and
  misconceptions), ``key_point`` (the rubric key point a follow-up aims at) and ``thread`` (``lp``: a principle
  probe);
- a move that says "lp": ``lp_pivot`` goes out as ``ask`` and ``lp_follow_up`` as ``follow_up`` (what the
  candidate hears them as); every other move is kept (the page needs ``end`` and ``wrap_up``).

Kept: the words, the indexes, ``question_id`` (the page's code pad follows it), ``star_part`` and ``failure_mode``
(they name no principle nor level), timings and the candidate's own fields. The replay also leaves out the key
points of the questions asked (what a strong answer says) and a fork's original grade.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from app.core.frames import Frame, InterviewerDone, TurnGradeFrame
from app.core.vocabulary import SessionMode
from app.history.replay import Replay

HIDDEN_TURN_FIELDS = ("grade", "principle", "rationale", "key_point", "thread")
NEUTRAL_MOVES = {"lp_pivot": "ask", "lp_follow_up": "follow_up"}

T = TypeVar("T", bound=Mapping[str, Any])


def withholds(mode: SessionMode, ended: bool) -> bool:
    """Whether grades and aims are held back now: an exam-mode session whose round has not ended."""
    return mode == "exam" and not ended


def redact_turn(turn: T) -> T:
    """A turn (transcript, replay or ``interviewer_done`` dump) without what names a grade, a principle or an aim."""
    out: dict[str, Any] = {k: v for k, v in turn.items() if k not in HIDDEN_TURN_FIELDS}
    move = out.get("move")
    if isinstance(move, str) and move in NEUTRAL_MOVES:
        out["move"] = NEUTRAL_MOVES[move]
    return out  # type: ignore[return-value]  # the same keys minus hidden ones: still a T for its readers


def turns_for(turns: Iterable[T], mode: SessionMode, ended: bool) -> list[T]:
    """The turns as this session may see them now."""
    return [redact_turn(t) for t in turns] if withholds(mode, ended) else list(turns)


def debrief_for(values: Mapping[str, Any], mode: SessionMode, ended: bool) -> dict[str, Any] | None:
    """The session's debrief as it may be sent now (``None`` before an exam round has ended)."""
    return None if withholds(mode, ended) else values.get("debrief")


def frame_for(frame: Frame, mode: SessionMode, ended: bool) -> Frame | None:
    """The frame as this session may see it now; ``None``: not sent (a grade in exam mode)."""
    if not withholds(mode, ended):
        return frame
    if isinstance(frame, TurnGradeFrame):
        return None
    if isinstance(frame, InterviewerDone):
        return InterviewerDone.model_validate(redact_turn(frame.model_dump()))
    return frame


def values_for(values: dict[str, Any], mode: SessionMode, ended: bool) -> dict[str, Any]:
    """A session's graph state as summaries and progress may read it now: no grades nor debrief in an exam-mode
    round still running (its questions still count, so they are not asked again)."""
    if not withholds(mode, ended):
        return values
    return {**values, "grades": [], "debrief": None}


def replay_for(replay: Replay, mode: SessionMode) -> Replay:
    """The replay as this session may see it now: an exam-mode round still running has its turns redacted, no key
    points of its questions and no original grade of a fork."""
    if not withholds(mode, replay.status == "ended"):
        return replay
    forked_from = replay.forked_from
    if forked_from is not None and forked_from.original is not None:
        forked_from = forked_from.model_copy(update={"original": {**forked_from.original, "grade": None}})
    return replay.model_copy(
        update={
            "turns": turns_for(replay.turns, mode, ended=False),
            "questions": {k: q.model_copy(update={"key_points": []}) for k, q in replay.questions.items()},
            "forked_from": forked_from,
            "debrief": None,
        }
    )
