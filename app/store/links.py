"""What a session is besides its round: a fork of another session's turn, a drill of one question, or a practice
round aimed at weak spots. One row per such session (plain interviews have none), in the sessions' database.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from app.store.tables import Tables

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
    """The links table on either database (app/store/tables.py)."""

    def __init__(self, tables: Tables):
        self._tables = tables

    async def setup(self) -> None:
        schema = _SCHEMA if self._tables.dialect == "sqlite" else _SCHEMA.replace(" REAL ", " DOUBLE PRECISION ")
        await self._tables.setup([schema, _INDEX])

    async def add(self, link: SessionLink) -> None:
        sql = (
            "INSERT INTO session_links (session_id, kind, source_session, source_turn, focus, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET kind = excluded.kind, "
            "source_session = excluded.source_session, source_turn = excluded.source_turn, "
            "focus = excluded.focus, created_at = excluded.created_at"
        )
        focus = json.dumps(link.focus) if link.focus else None
        params = (link.session_id, link.kind, link.source_session, link.source_turn, focus, time.time())
        await self._tables.write(sql, params)

    async def get(self, session_id: str) -> SessionLink:
        """The session's link; a plain interview (no row) is ``kind="interview"``."""
        row = await self._tables.fetchone(
            "SELECT kind, source_session, source_turn, focus FROM session_links WHERE session_id = ?", (session_id,)
        )
        if row is None:
            return SessionLink(session_id, "interview")
        return SessionLink(session_id, row[0], row[1], row[2], json.loads(row[3]) if row[3] else {})
