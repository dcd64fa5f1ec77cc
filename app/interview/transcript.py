"""The graded transcript of a session, read from the graph state: turns with their grades attached."""

from __future__ import annotations

from typing import Any

_TURN_FIELDS = ("index", "role", "text", "move", "principle", "question_id", "usage")


def transcript_turns(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Turns in order; each candidate turn carries its grade once the grader has produced it."""
    grades = {g["turn"]: g for g in values.get("grades", [])}
    turns = []
    for t in values.get("turns", []):
        turn = {k: t[k] for k in _TURN_FIELDS if t.get(k) is not None}
        if t["role"] == "candidate" and t["index"] in grades:
            g = grades[t["index"]]
            turn["grade"] = {
                k: g.get(k)
                for k in ("overall", "overall_label", "criteria", "evidence", "notes", "kind", "principle", "usage")
            }
        turns.append(turn)
    return turns


def pending_interviewer_turn(values: dict[str, Any]) -> dict[str, Any] | None:
    """The interviewer turn the candidate has not answered yet, if any."""
    turns = values.get("turns", [])
    if turns and turns[-1]["role"] == "interviewer" and values.get("phase") != "ended":
        return turns[-1]
    return None
