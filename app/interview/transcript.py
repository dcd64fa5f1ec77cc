"""The graded transcript of a session, read from the graph state: turns with their grades attached.

The same shape goes out in the REST transcript, the socket's ``state`` frame and exports (docs/protocol.md).
"""

from __future__ import annotations

from typing import (
    Any,
    Literal,
    NotRequired,  # pydantic validates these on Python < 3.12
    cast,
)

from typing_extensions import TypedDict

from app.core.state import CallUsage

_TURN_FIELDS = (
    "index",
    "role",
    "text",
    "move",
    "principle",
    "question_id",
    "key_point",
    "star_part",
    "failure_mode",
    "rationale",
    "at",
    "usage",
    "code",
    "language",
    "source",
    "transcript_confidence",
    "low_confidence",
    "words",
    "audio",
    "speech",
    "interjected",
    "answer_id",
)
_GRADE_FIELDS = (
    "overall",
    "overall_label",
    "criteria",
    "evidence",
    "notes",
    "kind",
    "principle",
    "confidence",
    "usage",
)


class GradeSummary(TypedDict):
    """The part of a ``TurnGrade`` a transcript shows."""

    overall: int | None
    overall_label: str | None
    criteria: list[dict[str, Any]]  # CriterionGrade dumps: id, name, level, label, evidence
    evidence: list[str]
    notes: list[str]
    kind: str | None
    principle: str | None
    confidence: str | None  # high, medium, low (shown as tentative); None when there is no grade
    usage: list[CallUsage] | None


class TranscriptTurn(TypedDict):
    index: int
    role: Literal["interviewer", "candidate"]
    text: str
    move: NotRequired[str]
    principle: NotRequired[str]
    question_id: NotRequired[str]
    key_point: NotRequired[str]
    star_part: NotRequired[str]
    failure_mode: NotRequired[str]
    rationale: NotRequired[str]
    at: NotRequired[float]  # when the turn was complete (seconds since the epoch)
    usage: NotRequired[list[CallUsage]]
    answer_id: NotRequired[str]  # candidate turns: the client's id for the answer
    code: NotRequired[str]  # candidate: the code the editor attached (also quoted in ``text``)
    language: NotRequired[str]
    grade: NotRequired[GradeSummary]  # candidate turns, once graded
    # spoken candidate turns (docs/protocol.md, "Voice")
    source: NotRequired[str]
    transcript_confidence: NotRequired[float]
    low_confidence: NotRequired[bool]
    words: NotRequired[list[list[Any]]]
    audio: NotRequired[dict[str, Any]]
    speech: NotRequired[dict[str, Any]]
    interjected: NotRequired[bool]
    # an interviewer turn the candidate talked over: only what was played stays in ``text``
    cut: NotRequired[dict[str, Any]]
    unplayed: NotRequired[str]


def transcript_turns(values: dict[str, Any]) -> list[TranscriptTurn]:
    """Turns in order; each candidate turn carries its grade once the grader has produced it."""
    grades = {g["turn"]: g for g in values.get("grades", [])}
    # cut points: a spoken answer that talked over the interviewer says how much of that turn was played
    cuts = {t["cut"]["turn"]: t["cut"] for t in values.get("turns", []) if isinstance(t.get("cut"), dict)}
    turns: list[TranscriptTurn] = []
    for t in values.get("turns", []):
        turn: dict[str, Any] = {k: t[k] for k in _TURN_FIELDS if t.get(k) is not None}
        if t["role"] == "candidate" and t["index"] in grades:
            g = grades[t["index"]]
            turn["grade"] = {k: g.get(k) for k in _GRADE_FIELDS}
        cut = cuts.get(t["index"]) if t["role"] == "interviewer" else None
        if cut is not None and isinstance(cut.get("played_text"), str):
            played = cut["played_text"]
            turn["cut"] = {"played_ms": cut.get("played_ms"), "played_text": played}
            turn["text"], turn["unplayed"] = (
                played,
                t["text"][len(played) :].strip() if t["text"].startswith(played) else t["text"],
            )
        turns.append(cast(TranscriptTurn, turn))  # built key by key from the stored turn
    return turns


def transcript_runs(values: dict[str, Any], pad_runs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Every run of the candidate's code in the session, oldest first: the answers' runs (graph state) and the
    pad's (app/store/pads.py), as ``RunRecord`` dumps."""
    runs = [*values.get("runs", []), *(pad_runs or [])]
    return sorted(runs, key=lambda r: r.get("at") or 0)
