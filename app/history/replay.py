"""The graded replay of a session: every turn of the transcript with what it was about, when it happened and how
it was graded, plus the names the page needs to show it (question titles, key points, topics).

The same document is the JSON export (``format: barraiser-replay``); it is a superset of the transcript
(docs/protocol.md), so ``barraiser regrade --export`` reads it too. Everything is read from the graph state; nothing
is recomputed.

- Interviewer turns keep their move and what it aimed at (key point, principle, STAR part, failure mode) with the
  rationale recorded when the move was decided, and ``at``.
- Candidate turns carry their full grade (criteria with verbatim evidence, covered / missed, what the turn was
  judged against, confidence), the question and principle of the thread they answered, and a ``timing``: seconds
  from the end of the interviewer's turn to the answer (thinking and typing), and the answer's length.
- Every turn with a time has ``clock_s``: seconds since its round started. A fork's turns before the fork point
  keep the original round's clock; from the fork point on, the fork's own (its ``started_at`` was moved so the time
  already spent carries over), and the re-answer's think time counts from when the fork was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.content.catalog import Catalog
from app.core.vocabulary import SessionMode
from app.interview.transcript import transcript_runs, transcript_turns

REPLAY_FORMAT: Literal["barraiser-replay"] = "barraiser-replay"
REPLAY_VERSION = 1


class KeyPointRef(BaseModel):
    id: str
    text: str = Field(description="What a strong answer says (shown after the answer, as in the debrief's drills).")


class QuestionRef(BaseModel):
    id: str
    title: str
    kind: str
    topics: list[str] = Field(description="Topic names.")
    key_points: list[KeyPointRef]


class ForkRef(BaseModel):
    session_id: str
    turn: int = Field(description="The candidate turn re-answered (its index is the same in both sessions).")
    original: dict[str, Any] | None = Field(
        None, description="The original answer at that turn: {text, at, grade}, so the two can be compared."
    )


class Timing(BaseModel):
    think_s: float | None = Field(
        None, description="Seconds from the end of the interviewer's turn to the answer (thinking and typing)."
    )
    chars: int
    words: int


class Replay(BaseModel):
    format: Literal["barraiser-replay"] = REPLAY_FORMAT
    version: int = REPLAY_VERSION
    session_id: str
    kind: str = Field("interview", description="interview, fork, drill or practice.")
    round: str
    round_title: str
    duration_min: int
    level: str
    brain: str
    mode: SessionMode = Field(
        "practice", description="exam: grades, principles and aims are left out until the round has ended."
    )
    status: Literal["ended", "in_progress"]
    created_at: float = Field(description="When the session was created (seconds since the epoch).")
    started_at: float | None = Field(None, description="When the round started (the round clock's zero).")
    ended_at: float | None = None
    forked_from: ForkRef | None = None
    focus: dict[str, Any] = Field(default_factory=dict, description="practice: what the plan aimed at.")
    turns: list[dict[str, Any]]
    runs: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Every run of the candidate's code, oldest first: with an answer (its `turn`) or from the pad.",
    )
    questions: dict[str, QuestionRef]
    debrief: dict[str, Any] | None = None


def _words(text: str) -> int:
    return len(text.split())


@dataclass(frozen=True)
class ForkPoint:
    """Where a fork took over from its original: the re-answered turn, when the fork was made, and when the
    original round started (its clock for the turns before ``turn``)."""

    turn: int
    made_at: float
    original_started_at: float | None


def _seconds(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) else None


def replay_turns(values: dict[str, Any], fork: ForkPoint | None = None) -> list[dict[str, Any]]:
    """The transcript's turns, each with its thread context and round clock; candidate turns with their full grade
    and timing."""
    stored = values.get("turns", [])
    started = _seconds(values.get("started_at"))
    grades = {g["turn"]: g for g in values.get("grades", [])}
    out: list[dict[str, Any]] = []
    last_interviewer: dict[str, Any] | None = None
    for raw, turn in zip(stored, transcript_turns(values), strict=True):
        item: dict[str, Any] = dict(turn)
        at = _seconds(raw.get("at"))
        zero = fork.original_started_at if fork is not None and raw["index"] < fork.turn else started
        if at is not None and zero is not None:
            item["clock_s"] = round(max(0.0, at - zero), 1)
        if raw["role"] == "interviewer":
            last_interviewer = raw
        else:
            grade = grades.get(raw["index"])
            if grade is not None:
                item["grade"] = {k: v for k, v in grade.items() if k not in ("turn", "usage")}
                if grade.get("usage"):
                    item["grade"]["usage"] = grade["usage"]
            asked = last_interviewer or {}
            item["thread"] = raw.get("thread", "technical")
            item["question_id"] = (grade or {}).get("question_id") or asked.get("question_id")
            principle = (grade or {}).get("principle") or (asked.get("principle") if item["thread"] == "lp" else None)
            if principle:
                item["principle"] = principle
            think = None
            asked_at = _seconds(asked.get("at"))
            if fork is not None and raw["index"] == fork.turn and asked_at is not None:
                asked_at = max(asked_at, fork.made_at)  # the question was seen again when the fork was made
            if at is not None and asked_at is not None:
                think = round(max(0.0, at - asked_at), 1)
            item["timing"] = Timing(think_s=think, chars=len(raw["text"]), words=_words(raw["text"])).model_dump()
        out.append(item)
    return out


def question_refs(catalog: Catalog, question_ids: list[str]) -> dict[str, QuestionRef]:
    refs: dict[str, QuestionRef] = {}
    for qid in dict.fromkeys(question_ids):
        q = catalog.questions.get(qid)
        if q is None:
            continue
        refs[qid] = QuestionRef(
            id=q.id,
            title=q.title,
            kind=q.kind,
            topics=[catalog.topics.get(t, t) for t in q.topics],
            key_points=[KeyPointRef(id=k.id, text=k.text) for k in q.rubric.key_points],
        )
    return refs


def is_ended(values: dict[str, Any], pending: tuple[str, ...]) -> bool:
    return values.get("phase") == "ended" and not pending


def build_replay(
    *,
    session_id: str,
    values: dict[str, Any],
    pending: tuple[str, ...],
    catalog: Catalog,
    round_id: str,
    level: str,
    brain: str,
    created_at: float,
    kind: str = "interview",
    forked_from: ForkRef | None = None,
    original_started_at: float | None = None,
    focus: dict[str, Any] | None = None,
    pad_runs: list[dict[str, Any]] | None = None,
    mode: SessionMode = "practice",
) -> Replay:
    """The replay of one session from its graph state ``values`` (``pending``: the snapshot's next tasks). A fork
    names its origin (``forked_from``) and the original round's start; ``pad_runs``: the runs from the pad's Run
    button (app/store/pads.py), beside the answers' runs in the state."""
    rnd = catalog.rounds.get(round_id)
    fork = ForkPoint(forked_from.turn, created_at, original_started_at) if forked_from else None
    turns = replay_turns(values, fork)
    ended = is_ended(values, pending)
    asked = [str(t["question_id"]) for t in turns if t.get("question_id")]
    last_at = next((t["at"] for t in reversed(turns) if isinstance(t.get("at"), int | float)), None)
    return Replay(
        session_id=session_id,
        kind=kind,
        round=round_id,
        round_title=rnd.title if rnd else round_id,
        duration_min=rnd.duration_min if rnd else 0,
        level=level,
        brain=brain,
        mode=mode,
        status="ended" if ended else "in_progress",
        created_at=created_at,
        started_at=values.get("started_at"),
        ended_at=last_at if ended else None,
        forked_from=forked_from,
        focus=focus or {},
        turns=turns,
        runs=transcript_runs(values, pad_runs),
        questions=question_refs(catalog, asked),
        debrief=values.get("debrief"),
    )


def turn_summary(values: dict[str, Any], index: int) -> dict[str, Any] | None:
    """One candidate turn of a session, for comparing with a retry: {text, at, grade} (grade None if not graded)."""
    turns = values.get("turns", [])
    if not (0 <= index < len(turns)) or turns[index]["role"] != "candidate":
        return None
    grade = next((g for g in values.get("grades", []) if g["turn"] == index), None)
    t = turns[index]
    return {
        "text": t["text"],
        "at": t.get("at"),
        "grade": {k: v for k, v in grade.items() if k not in ("turn", "usage")} if grade else None,
    }
