"""The candidate's pad, kept with the session: its content per question (so a reload or another device restores it)
and the runs made from it with the Run button (the runs of answers live in the graph state). Same database as the
sessions table (app/store/tables.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from app.core.runs import RunRecord
from app.store.tables import Tables

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS pads (
        session_id TEXT NOT NULL,
        question_id TEXT NOT NULL,
        language TEXT NOT NULL,
        code TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (session_id, question_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS pad_runs (
        session_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at REAL NOT NULL,
        run TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
    )
    """,
)


@dataclass(frozen=True)
class Pad:
    question_id: str
    language: str
    code: str
    updated_at: float


class PadStore:
    """The pad tables on either database (app/store/tables.py)."""

    def __init__(self, tables: Tables):
        self._tables = tables
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def setup(self) -> None:
        postgres = self._tables.dialect == "postgresql"
        await self._tables.setup([s.replace(" REAL ", " DOUBLE PRECISION ") if postgres else s for s in _SCHEMA])

    async def save(self, session_id: str, question_id: str, language: str, code: str) -> None:
        await self._tables.write(
            "INSERT INTO pads (session_id, question_id, language, code, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (session_id, question_id) DO UPDATE SET language = excluded.language, code = excluded.code, "
            "updated_at = excluded.updated_at",
            (session_id, question_id, language, code, time.time()),
        )

    async def get(self, session_id: str, question_id: str) -> Pad | None:
        row = await self._tables.fetchone(
            "SELECT question_id, language, code, updated_at FROM pads WHERE session_id = ? AND question_id = ?",
            (session_id, question_id),
        )
        return None if row is None else Pad(*row)

    async def add_run(self, session_id: str, build: Callable[[int], RunRecord], keep: bool = True) -> RunRecord:
        """Number the session's next pad run, build its record and (with ``keep``) store it: one at a time per
        session, so two tabs running at once never share a number."""
        async with self._locks[session_id]:
            row = await self._tables.fetchone("SELECT MAX(seq) FROM pad_runs WHERE session_id = ?", (session_id,))
            seq = 1 + (row[0] if row and row[0] is not None else 0)
            run = build(seq)
            if keep:
                await self._tables.write(
                    "INSERT INTO pad_runs (session_id, seq, at, run) VALUES (?, ?, ?, ?)",
                    (session_id, seq, run.at, run.model_dump_json()),
                )
        return run

    async def runs(self, session_id: str) -> list[RunRecord]:
        rows = await self._tables.fetchall("SELECT run FROM pad_runs WHERE session_id = ? ORDER BY seq", (session_id,))
        return [RunRecord.model_validate(json.loads(r[0])) for r in rows]
