"""Stored sessions as eval cases: from the SQLite database (graph state) or from an exported transcript JSON
(``GET /api/sessions/{id}/transcript``). Used by ``regrade`` and ``export``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.content.catalog import Catalog
from app.evaluation.scenarios import Case, Scenario
from app.interview.graph import build_graph
from app.interview.session import RoundDriver
from app.store.database import open_database, redact
from app.store.sqlite import SessionRecord


class SessionError(Exception):
    pass


@dataclass(frozen=True)
class StoredSession:
    record: SessionRecord | None  # None: the graph has state for it but the sessions table has no row
    values: dict[str, Any]  # the graph state


async def load_sessions(database: str, session_ids: list[str]) -> dict[str, StoredSession]:
    """Each session's row and graph state, read through the store (all sessions if ``session_ids`` is empty).
    ``database``: a SQLite path, or a ``sqlite:///`` / ``postgresql://`` URL (``Settings.database_url``)."""
    url = database if "://" in database else f"sqlite:///{database}"
    sqlite_path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
    if sqlite_path is not None and sqlite_path != ":memory:" and not Path(sqlite_path).exists():
        raise SessionError(f"no database at {sqlite_path} (set BARRAISER_DATABASE_URL)")
    where = sqlite_path or redact(url)
    out: dict[str, StoredSession] = {}
    missing: list[str] = []
    async with open_database(url) as storage:
        ids = session_ids or await storage.sessions.all_ids()
        graph = build_graph(storage.checkpointer)
        for sid in ids:
            snap = await graph.aget_state(RoundDriver.config(sid))
            if not snap.values:
                missing.append(sid)
            else:
                out[sid] = StoredSession(await storage.sessions.get(sid), dict(snap.values))
    if missing:
        raise SessionError(f"no stored session {', '.join(missing)} in {where}")
    return out


def asked_questions(turns: list[dict]) -> list[str]:
    """The questions the interviewer asked, in order (the session's plan up to where it got)."""
    return list(
        dict.fromkeys(
            t["question_id"]
            for t in turns
            if t.get("role") == "interviewer" and t.get("move") == "ask" and t.get("question_id")
        )
    )


def _golden(grade: dict | None) -> tuple[bool, int | None]:
    """(has a golden, golden): closing-question turns are not graded, so they carry no golden grade."""
    if grade is None or grade.get("kind") == "closing":
        return False, None
    return True, grade.get("overall")


def case_from_turns(
    case_id: str,
    round_id: str,
    level: str,
    turns: list[dict],
    grades: dict[int, dict],
    plan: list[str],
    source: str,
    catalog: Catalog,
    expect_moves: bool = True,
) -> Case:
    """A case that replays the candidate turns with the stored grades as golden grades and, when
    ``expect_moves``, the stored reply moves as expectations (so behaviour drift shows up as failed checks)."""
    if round_id not in catalog.rounds:
        raise SessionError(f"{source}: unknown round {round_id!r}")
    spec_turns: list[dict[str, Any]] = []
    for i, t in enumerate(turns):
        if t.get("role") != "candidate":
            continue
        item: dict[str, Any] = {"say": t.get("text", "")}
        has, golden = _golden(grades.get(t["index"]))
        if has:
            item["grade"] = golden
        reply = next((r for r in turns[i + 1 :] if r.get("role") == "interviewer"), None)
        if expect_moves and reply is not None and reply.get("move"):
            item["expect"] = {"move": [reply["move"]]}
        spec_turns.append(item)
    if not spec_turns:
        raise SessionError(f"{source}: the session has no candidate turns to regrade")
    try:
        scenario = Scenario.model_validate(
            {
                "id": case_id,
                "round": round_id,
                "level": level,
                "turns": spec_turns,
                "description": f"replay of {source}",
            },
            context={"catalog": catalog},
        )
    except ValidationError as exc:
        raise SessionError(f"{source}: {exc}") from exc
    return Case(scenario=scenario, path=source, plan=tuple(plan), meta={"source": source})


def case_from_state(sid: str, values: dict, catalog: Catalog) -> Case:
    grades = {g["turn"]: g for g in values.get("grades", [])}
    return case_from_turns(
        sid,
        values["round_id"],
        values["level"],
        values.get("turns", []),
        grades,
        list(values.get("plan") or []),
        f"session {sid}",
        catalog,
    )


def case_from_export(path: Path, catalog: Catalog) -> Case:
    """A case from an exported transcript JSON. The export has no plan: the questions asked (its ``ask``
    turns, in order) pin the plan as far as the session got; past that the catalog's plan for the session id
    is used, so a replay that asks *more* questions than the original may ask different ones."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SessionError(f"{path}: cannot read the transcript: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("turns"), list) or "round" not in data:
        raise SessionError(f"{path}: not a transcript export (needs round, level and turns)")
    turns = data["turns"]
    sid = str(data.get("session_id") or path.stem)
    level = data.get("level", "L5")
    asked = asked_questions(turns)
    if data["round"] in catalog.rounds:
        asked = [q for q in asked if q in catalog.questions]
        plan = asked + catalog.plan_questions(data["round"], level, seed=sid, exclude=set(asked))
    else:
        plan = asked
    grades = {t["index"]: t["grade"] for t in turns if t.get("role") == "candidate" and t.get("grade")}
    return case_from_turns(sid, data["round"], level, turns, grades, plan, str(path), catalog)
