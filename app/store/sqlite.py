"""Storage on SQLite: the LangGraph checkpointer (graph state, one thread per session) and the session table
(who may open which session). Both live in the file named by ``BARRAISER_DATABASE_URL``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from app.store.checkpoints import WriteBehindSqliteSaver
from app.store.pads import PadStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL,
    round_id TEXT NOT NULL,
    level TEXT NOT NULL,
    brain TEXT NOT NULL,
    plan TEXT NOT NULL,
    created_at REAL NOT NULL,
    client_id TEXT
)
"""
_MIGRATIONS = ["ALTER TABLE sessions ADD COLUMN client_id TEXT"]
_INDEX = "CREATE INDEX IF NOT EXISTS sessions_by_client ON sessions (client_id, created_at)"


@dataclass(frozen=True)
class SessionRecord:
    id: str
    round_id: str
    level: str
    brain: str
    plan: list[str]
    created_at: float


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    """Session rows: id, hashed access token, round, level, brain and question plan."""

    def __init__(self, conn: aiosqlite.Connection):
        self._conn = conn

    async def setup(self) -> None:
        await self._conn.execute(_SCHEMA)
        async with self._conn.execute("PRAGMA table_info(sessions)") as cur:
            columns = {row[1] for row in await cur.fetchall()}
        if "client_id" not in columns:
            for statement in _MIGRATIONS:
                await self._conn.execute(statement)
        await self._conn.execute(_INDEX)
        await self._conn.commit()

    async def recent(self, client_id: str, limit: int) -> list[str]:
        """The ids of this browser's most recent sessions, newest first."""
        async with self._conn.execute(
            "SELECT id FROM sessions WHERE client_id = ? ORDER BY created_at DESC LIMIT ?", (client_id, limit)
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def all_ids(self) -> list[str]:
        """Every session's id, oldest first."""
        async with self._conn.execute("SELECT id FROM sessions ORDER BY created_at") as cur:
            return [row[0] for row in await cur.fetchall()]

    async def create(
        self, round_id: str, level: str, brain: str, plan: list[str], client_id: str | None = None
    ) -> tuple[SessionRecord, str]:
        """A new session and its bearer token (returned once; only its hash is stored)."""
        record = SessionRecord(
            id=secrets.token_hex(16), round_id=round_id, level=level, brain=brain, plan=plan, created_at=time.time()
        )
        token = secrets.token_urlsafe(24)
        await self._conn.execute(
            "INSERT INTO sessions (id, token_sha256, round_id, level, brain, plan, created_at, client_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (record.id, _digest(token), round_id, level, brain, "\n".join(plan), record.created_at, client_id),
        )
        await self._conn.commit()
        return record, token

    _COLUMNS = "id, round_id, level, brain, plan, created_at"

    @staticmethod
    def _record(row: Sequence[Any]) -> SessionRecord:
        return SessionRecord(
            id=row[0],
            round_id=row[1],
            level=row[2],
            brain=row[3],
            plan=[p for p in row[4].split("\n") if p],
            created_at=row[5],
        )

    async def get(self, session_id: str) -> SessionRecord | None:
        async with self._conn.execute(f"SELECT {self._COLUMNS} FROM sessions WHERE id = ?", (session_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else self._record(row)

    async def authorize(self, session_id: str, token: str | None) -> SessionRecord | None:
        """The session if ``token`` opens it, else ``None`` (constant-time comparison; one query)."""
        if not token:
            return None
        async with self._conn.execute(
            f"SELECT {self._COLUMNS}, token_sha256 FROM sessions WHERE id = ?", (session_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None or not hmac.compare_digest(row[6], _digest(token)):
            return None
        return self._record(row)


@dataclass
class Storage:
    checkpointer: WriteBehindSqliteSaver
    sessions: SessionStore
    pads: PadStore  # the candidate's pad and its runs (app/store/pads.py)


async def _connect(path: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path)
    if path != ":memory:":
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: survives a crash of the app
    await conn.execute("PRAGMA busy_timeout=5000")
    return conn


@asynccontextmanager
async def open_storage(sqlite_path: str) -> AsyncIterator[Storage]:
    """Open the checkpointer and the session store on one SQLite file (created if missing)."""
    if sqlite_path != ":memory:":
        Path(sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    graph_conn = await _connect(sqlite_path)
    session_conn = graph_conn if sqlite_path == ":memory:" else await _connect(sqlite_path)
    saver = WriteBehindSqliteSaver(graph_conn)
    try:
        await saver.setup()
        sessions = SessionStore(session_conn)
        await sessions.setup()
        pads = PadStore(session_conn)
        await pads.setup()
        yield Storage(checkpointer=saver, sessions=sessions, pads=pads)
    finally:
        try:
            await saver.aclose()  # the queued checkpoint rows reach the disk before the connection closes
        finally:
            if session_conn is not graph_conn:
                await session_conn.close()
            await graph_conn.close()
