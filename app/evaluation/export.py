"""``barraiser export SESSION_ID --scenario FILE``: a stored practice session becomes a regression scenario.

Its candidate turns become ``say``; its stored overall grades become golden ``grade``s, each with a
``# review:`` comment (they are the brain's grades, not the team's, until someone reviews them); the questions
it asked pin ``start.question`` (and, as a compatible extension, ``start.plan``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from app.core.vocabulary import Vote
from app.evaluation.sessions import asked_questions
from app.llm.cassettes import cassette_name


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _review(grade: dict | None) -> str:
    if grade is None:
        return "not graded (the grade had not been produced)"
    if grade.get("kind") == "closing":
        return "closing question: not graded, so no golden grade"
    overall = grade.get("overall")
    label = Vote(overall).name if overall is not None else "no evidence"
    evidence = grade.get("evidence") or []
    quote = f'; evidence: "{" ".join(evidence[0].split())[:80]}"' if evidence else ""
    return f"stored {label} ({grade.get('kind', 'technical')}{quote}) — confirm or correct"


def scenario_yaml(session_id: str, values: dict[str, Any], brain: str = "") -> str:
    """The scenario file for one stored session (its graph state ``values``)."""
    turns = values.get("turns", [])
    grades = {g["turn"]: g for g in values.get("grades", [])}
    asked = asked_questions(turns)
    sid = f"session-{session_id[:8]}"
    made = time.strftime("%Y-%m-%d", time.gmtime())
    description = f"exported practice session {session_id[:8]} ({values.get('round_id')}, {values.get('level')})"
    lines = [
        f"# Exported from session {session_id} on {made} by `barraiser export`.",
        f"# Golden grades below are the stored grades of the {brain or 'session'} brain: review every one",
        "# (the comment on each turn) before relying on this scenario, and add `expect` checks as needed.",
        f"id: {sid}",
        f"description: {_q(description)}",
        f"round: {values['round_id']}",
        f"level: {values['level']}",
        "tags: [exported]",
    ]
    if asked:
        lines += ["start:", f"  question: {asked[0]}"]
        if len(asked) > 1:
            lines.append(f"  plan: [{', '.join(asked)}]  # the questions the session asked, in order")
    lines.append("turns:")
    for t in turns:
        if t.get("role") != "candidate":
            continue
        grade = grades.get(t["index"])
        lines.append(f"  - say: {_q(t.get('text', ''))}")
        if grade is not None and grade.get("kind") != "closing":
            overall = grade.get("overall")
            lines.append(f"    grade: {'null' if overall is None else overall}  # review: {_review(grade)}")
        else:
            lines.append(f"    # review: {_review(grade)}")
    return "\n".join(lines) + "\n"


def copy_cassette(directory: Path, session_id: str, scenario_id: str) -> Path:
    """Copy a served session's cassette to the scenario's name (the runner's thread id is the scenario id, and
    replay finds a cassette by that id), pointing each entry at the new id."""
    source = directory / cassette_name(session_id)
    if not source.exists():
        raise FileNotFoundError(f"no cassette {source} (was the session served with --record {directory}?)")
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            entry["session"] = scenario_id
            lines.append(json.dumps(entry))
    target = directory / cassette_name(scenario_id)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target
