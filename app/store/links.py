"""What a session is besides its round: a fork of another session's turn, a drill of one question, or a practice
round aimed at weak spots. One row per such session (plain interviews have none), in the sessions' SQLite file.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import aiosqlite

from app.store.checkpoints import WriteBehindSqliteSaver, execute_write

SessionKind = Literal["interview", "fork", "drill", "practice"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS session_links (
    session_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    source_session TEXT,
    source_turn INTEGER,
    focus TEXT,
    created_at REAL NOT NULL
)
"""
_INDEX = "CREATE INDEX IF NOT EXISTS session_links_by_source ON session_links (source_session)"


@dataclass(frozen=True)
class SessionLink:
    session_id: str
    kind: SessionKind
    source_session: str | None = None  # fork: the session it was forked from
    source_turn: int | None = None  # fork: the candidate turn re-answered
    focus: dict[str, Any] = field(default_factory=dict)  # practice: what the plan aims at


class SessionLinks:
    """Reads go to ``conn``; writes go through ``writer`` (the checkpointer's queue, the file's one writer) when
    there is one, as the session table's do."""

    def __init__(self, conn: aiosqlite.Connection, writer: WriteBehindSqliteSaver | None = None):
        self._conn = conn
        self._writer = writer

    async def setup(self) -> None:
        await self._conn.execute(_SCHEMA)
        await self._conn.execute(_INDEX)
        await self._conn.commit()

    async def add(self, link: SessionLink) -> None:
        sql = (
            "INSERT OR REPLACE INTO session_links (session_id, kind, source_session, source_turn, focus, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        focus = json.dumps(link.focus) if link.focus else None
        params = (link.session_id, link.kind, link.source_session, link.source_turn, focus, time.time())
        await execute_write(self._conn, self._writer, sql, params)

    async def get(self, session_id: str) -> SessionLink:
        """The session's link; a plain interview (no row) is ``kind="interview"``."""
        async with self._conn.execute(
            "SELECT kind, source_session, source_turn, focus FROM session_links WHERE session_id = ?", (session_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return SessionLink(session_id, "interview")
        return SessionLink(session_id, row[0], row[1], row[2], json.loads(row[3]) if row[3] else {})
