"""The candidate's pad, kept with the session: its content per question (so a reload or another device restores it)
and the runs made from it with the Run button (the runs of answers live in the graph state). Same SQLite file as the
sessions table.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import aiosqlite

from app.core.runs import RunRecord
from app.store.checkpoints import WriteBehindSqliteSaver, execute_write

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
    """Reads go to ``conn``; writes go through ``writer`` (the checkpointer's queue, the file's one writer) when
    there is one, as the session table's do."""

    def __init__(self, conn: aiosqlite.Connection, writer: WriteBehindSqliteSaver | None = None):
        self._conn = conn
        self._writer = writer
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def setup(self) -> None:
        for statement in _SCHEMA:
            await self._conn.execute(statement)
        await self._conn.commit()

    async def save(self, session_id: str, question_id: str, language: str, code: str) -> None:
        await execute_write(
            self._conn,
            self._writer,
            "INSERT INTO pads (session_id, question_id, language, code, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (session_id, question_id) DO UPDATE SET language = excluded.language, code = excluded.code, "
            "updated_at = excluded.updated_at",
            (session_id, question_id, language, code, time.time()),
        )

    async def get(self, session_id: str, question_id: str) -> Pad | None:
        async with self._conn.execute(
            "SELECT question_id, language, code, updated_at FROM pads WHERE session_id = ? AND question_id = ?",
            (session_id, question_id),
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else Pad(*row)

    async def add_run(self, session_id: str, build: Callable[[int], RunRecord], keep: bool = True) -> RunRecord:
        """Number the session's next pad run, build its record and (with ``keep``) store it: one at a time per
        session, so two tabs running at once never share a number."""
        async with self._locks[session_id]:
            async with self._conn.execute("SELECT MAX(seq) FROM pad_runs WHERE session_id = ?", (session_id,)) as cur:
                row = await cur.fetchone()
            seq = 1 + (row[0] if row and row[0] is not None else 0)
            run = build(seq)
            if keep:
                await execute_write(
                    self._conn,
                    self._writer,
                    "INSERT INTO pad_runs (session_id, seq, at, run) VALUES (?, ?, ?, ?)",
                    (session_id, seq, run.at, run.model_dump_json()),
                )
        return run

    async def runs(self, session_id: str) -> list[RunRecord]:
        async with self._conn.execute(
            "SELECT run FROM pad_runs WHERE session_id = ? ORDER BY seq", (session_id,)
        ) as cur:
            rows = await cur.fetchall()
        return [RunRecord.model_validate(json.loads(r[0])) for r in rows]
