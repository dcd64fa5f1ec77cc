"""Storage on SQLite: the LangGraph checkpointer (graph state, one thread per session) and the session table
(who may open which session). Both live in the file named by ``BARRAISER_DATABASE_URL``.

One writer: the checkpointer's connection writes everything (session rows go through its queue,
``execute_durably``), so creating a session never waits for SQLite's write lock behind the checkpoint writer; the
second connection only reads. ``DatabaseFile`` watches the file itself: deleted or replaced while the server runs,
writes stop with a clear error (they would go to a file nobody will ever open again) and ``health()`` says so.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from app.core.durability import StorageError
from app.core.vocabulary import SessionMode
from app.store.checkpoints import WriteBehindSqliteSaver
from app.store.links import SessionLinks
from app.store.pads import PadStore
from app.store.tables import SqliteTables, Tables

log = logging.getLogger(__name__)

DatabaseState = Literal["ok", "read_only", "failing", "missing"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL,
    round_id TEXT NOT NULL,
    level TEXT NOT NULL,
    brain TEXT NOT NULL,
    plan TEXT NOT NULL,
    created_at REAL NOT NULL,
    client_id TEXT,
    mode TEXT
)
"""
# columns added since the table's first version: a database made before gets them (old rows: NULL, i.e. the
# default; a NULL mode is practice, as every session was before exam mode)
_MIGRATIONS = {
    "client_id": "ALTER TABLE sessions ADD COLUMN client_id TEXT",
    "mode": "ALTER TABLE sessions ADD COLUMN mode TEXT",
}
_INDEX = "CREATE INDEX IF NOT EXISTS sessions_by_client ON sessions (client_id, created_at)"


@dataclass(frozen=True)
class SessionRecord:
    id: str
    round_id: str
    level: str
    brain: str
    plan: list[str]
    created_at: float
    mode: SessionMode = "practice"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    """Session rows: id, hashed access token, round, level, brain, mode and question plan, on either database
    (app/store/tables.py: reads on its connection, writes committed before they return)."""

    def __init__(self, tables: Tables):
        self._tables = tables

    async def setup(self) -> None:
        if self._tables.dialect == "sqlite":
            await self._tables.setup([_SCHEMA])
            columns = {row[1] for row in await self._tables.fetchall("PRAGMA table_info(sessions)")}
            missing = [statement for column, statement in _MIGRATIONS.items() if column not in columns]
            await self._tables.setup(missing + [_INDEX])
        else:
            await self._tables.setup([_SCHEMA.replace(" REAL ", " DOUBLE PRECISION "), _INDEX])

    async def recent(self, client_id: str, limit: int) -> list[str]:
        """The ids of this browser's most recent sessions, newest first."""
        rows = await self._tables.fetchall(
            "SELECT id FROM sessions WHERE client_id = ? ORDER BY created_at DESC LIMIT ?", (client_id, limit)
        )
        return [row[0] for row in rows]

    async def all_ids(self) -> list[str]:
        """Every session's id, oldest first."""
        return [row[0] for row in await self._tables.fetchall("SELECT id FROM sessions ORDER BY created_at")]

    async def create(
        self,
        round_id: str,
        level: str,
        brain: str,
        plan: list[str],
        client_id: str | None = None,
        mode: SessionMode = "practice",
    ) -> tuple[SessionRecord, str]:
        """A new session and its bearer token (returned once; only its hash is stored)."""
        record = SessionRecord(
            id=secrets.token_hex(16),
            round_id=round_id,
            level=level,
            brain=brain,
            plan=plan,
            created_at=time.time(),
            mode=mode,
        )
        token = secrets.token_urlsafe(24)
        sql = (
            "INSERT INTO sessions (id, token_sha256, round_id, level, brain, plan, created_at, client_id, mode) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        params = (
            record.id,
            _digest(token),
            round_id,
            level,
            brain,
            "\n".join(plan),
            record.created_at,
            client_id,
            mode,
        )
        await self._tables.write(sql, params)
        return record, token

    _COLUMNS = "id, round_id, level, brain, plan, created_at, mode"

    @staticmethod
    def _record(row: Sequence[Any]) -> SessionRecord:
        return SessionRecord(
            id=row[0],
            round_id=row[1],
            level=row[2],
            brain=row[3],
            plan=[p for p in row[4].split("\n") if p],
            created_at=row[5],
            mode="exam" if row[6] == "exam" else "practice",
        )

    async def get(self, session_id: str) -> SessionRecord | None:
        row = await self._tables.fetchone(f"SELECT {self._COLUMNS} FROM sessions WHERE id = ?", (session_id,))
        return None if row is None else self._record(row)

    async def authorize(self, session_id: str, token: str | None) -> SessionRecord | None:
        """The session if ``token`` opens it, else ``None`` (constant-time comparison; one query)."""
        if not token:
            return None
        row = await self._tables.fetchone(
            f"SELECT {self._COLUMNS}, token_sha256 FROM sessions WHERE id = ?", (session_id,)
        )
        if row is None or not hmac.compare_digest(row[7], _digest(token)):
            return None
        return self._record(row)


class DatabaseMissing(StorageError):
    """The database file was deleted or replaced while the server runs."""


class DatabaseFile:
    """The database file as opened: ``check()`` raises :class:`DatabaseMissing` once it is deleted or replaced
    (SQLite would go on writing to the unlinked file, and every session would be lost at the next start)."""

    def __init__(self, path: str):
        self.path = path
        self.identity = self._identity()

    def _identity(self) -> tuple[int, int] | None:
        if self.path == ":memory:":
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def check(self) -> None:
        if self.path != ":memory:" and (self.identity is None or self._identity() != self.identity):
            raise DatabaseMissing(
                f"the database file {self.path} was deleted or replaced while the server was running; nothing more "
                "can be saved to it. Stop the server, restore the file from a backup if you have one, and restart."
            )

    def writable(self) -> bool:
        if self.path == ":memory:":
            return True
        folder = os.path.dirname(os.path.abspath(self.path))
        return os.access(self.path, os.W_OK) and os.access(folder, os.W_OK)


@dataclass
class Storage:
    checkpointer: WriteBehindSqliteSaver
    sessions: SessionStore
    file: DatabaseFile
    links: SessionLinks  # forks, drills and practice rounds (app/store/links.py)
    pads: PadStore  # the candidate's pad and its runs (app/store/pads.py)

    def health(self) -> tuple[DatabaseState, str | None]:
        """The database's state, and why when it is not ok: ``missing`` (the file went away), ``read_only``,
        ``failing`` (the last commit failed: a full disk, an I/O error), else ``ok``."""
        try:
            self.file.check()
        except DatabaseMissing as exc:
            return "missing", str(exc)
        error = self.checkpointer.error
        if error is not None:
            text = str(error)
            return ("read_only" if "readonly" in text.replace("-", "") else "failing"), text
        if not self.file.writable():
            return "read_only", f"{self.file.path} (or its folder) is not writable"
        return "ok", None


async def _connect(path: str, *, read_only: bool = False) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path)
    try:
        if path != ":memory:" and not read_only:
            # incremental auto-vacuum lets pruned pages go back to the file system; it only takes on a new file
            await conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: survives a crash of the app
        await conn.execute("PRAGMA busy_timeout=5000")
    except BaseException:
        await conn.close()  # a connection left open keeps its thread, and the process, alive
        raise
    return conn


@asynccontextmanager
async def open_storage(sqlite_path: str, *, prune: bool = True) -> AsyncIterator[Storage]:
    """Open the checkpointer and the session store on one SQLite file (created if missing). A database that cannot
    be opened or set up (read-only, missing folder, not a database) raises :class:`StorageError` with the reason,
    and nothing is left open."""
    conns: list[aiosqlite.Connection] = []
    try:
        if sqlite_path != ":memory:":
            Path(sqlite_path).parent.mkdir(parents=True, exist_ok=True)
        conns.append(await _connect(sqlite_path))
        graph_conn = conns[0]
        if sqlite_path == ":memory:":
            session_conn = graph_conn
        else:
            conns.append(await _connect(sqlite_path, read_only=True))
            session_conn = conns[1]
        file = DatabaseFile(sqlite_path)
        saver = WriteBehindSqliteSaver(graph_conn, guard=file.check, prune=prune)
        await saver.setup()
        tables = SqliteTables(session_conn, writer=saver if session_conn is not graph_conn else None)
        sessions = SessionStore(tables)
        await sessions.setup()
        links = SessionLinks(tables)
        await links.setup()
        pads = PadStore(tables)
        await pads.setup()
    except (sqlite3.Error, OSError) as exc:
        for conn in reversed(conns):
            await conn.close()
        raise StorageError(f"cannot open the database {sqlite_path}: {exc}") from exc
    except BaseException:
        for conn in reversed(conns):
            await conn.close()
        raise
    try:
        yield Storage(checkpointer=saver, sessions=sessions, file=file, links=links, pads=pads)
    finally:
        try:
            await saver.aclose()  # the queued checkpoint rows reach the disk before the connection closes
        except StorageError as exc:
            log.error("checkpoints still queued at shutdown could not be saved: %s", exc)
            raise
        finally:
            for conn in reversed(conns):
                await conn.close()
