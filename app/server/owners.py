"""Who owns a session: one live tab per session. The newest socket wins; the one it replaces is told it was taken
over (a ``session_taken_over`` frame, then close code 4001) and its page becomes read-only until the candidate
takes the session back there. Behind a small interface (:class:`Owners`): :class:`LocalOwners` is the in-process
registry (one server process); :class:`PostgresOwners` adds one live owner per session across server processes
sharing a PostgreSQL database (``barraiser serve --workers N``, several hosts).

Across processes: the process whose socket owns a session holds a PostgreSQL session-level advisory lock on it, on
one connection of its own (so a worker that dies, even by kill -9, lets go of all its sessions at once: its
connection closes). A socket landing on another worker asks for the lock; if it is held, that worker sends a
``NOTIFY`` naming the session, the holder tells its socket it was taken over, lets the run under way finish (its
checkpoints are saved) and unlocks, and the newcomer gets the lock. If the holder does not let go within
``takeover_s`` the newcomer is told the session is open elsewhere (the same ``session_taken_over`` frame), so two
workers never drive one session.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import weakref
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Protocol

from app.core.durability import StorageError

if TYPE_CHECKING:
    from psycopg import AsyncConnection

log = logging.getLogger(__name__)


class Owner(Protocol):
    """A session's live connection, as the registry sees it."""

    def taken_over(self) -> Awaitable[None]:
        """Another connection took the session: say so to the client and stop taking its frames."""
        ...


class HeldElsewhere(Exception):
    """Another server process holds the session and did not let go in time."""


class Owners(Protocol):
    async def claim(self, session_id: str, owner: Owner) -> Owner | None:
        """Make ``owner`` the session's owner; return the owner it replaced in this process, if any.
        :class:`HeldElsewhere` if another process keeps it; :class:`StorageError` if that cannot be settled."""
        ...

    async def release(self, session_id: str, owner: Owner) -> None:
        """``owner`` is gone and its run is over (no effect if it no longer owns the session)."""
        ...

    def owns(self, session_id: str, owner: Owner) -> bool: ...

    async def aclose(self) -> None: ...


class LocalOwners:
    """Owners of this process's sessions, in memory."""

    def __init__(self) -> None:
        self._owners: dict[str, Owner] = {}

    async def claim(self, session_id: str, owner: Owner) -> Owner | None:
        return self.take(session_id, owner)

    def take(self, session_id: str, owner: Owner) -> Owner | None:
        previous = self._owners.get(session_id)
        self._owners[session_id] = owner
        return previous if previous is not owner else None

    async def release(self, session_id: str, owner: Owner) -> None:
        self.drop(session_id, owner)

    def drop(self, session_id: str, owner: Owner) -> None:
        if self._owners.get(session_id) is owner:
            del self._owners[session_id]

    def owns(self, session_id: str, owner: Owner) -> bool:
        return self._owners.get(session_id) is owner

    def get(self, session_id: str) -> Owner | None:
        return self._owners.get(session_id)

    async def aclose(self) -> None:
        return None

    def __len__(self) -> int:
        return len(self._owners)


_ASK_AGAIN_S = 0.5
CHANNEL = "barraiser_owners"  # NOTIFY channel: the payload is the id of a session another worker asks for


def lock_key(session_id: str) -> int:
    """The session's advisory lock key: 64 bits of its SHA-256, as a signed bigint."""
    return int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:8], "big", signed=True)


class PostgresOwners:
    """One live owner per session across the server processes on one PostgreSQL database (see the module doc)."""

    def __init__(self, url: str, *, takeover_s: float = 10.0, poll_s: float = 0.05):
        self.url, self.takeover_s, self.poll_s = url, takeover_s, poll_s
        self.local = LocalOwners()
        self._held: set[str] = set()  # sessions whose advisory lock this process holds
        self._claiming: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._conn: AsyncConnection | None = None  # holds the locks
        self._listen: AsyncConnection | None = None
        self._listener: asyncio.Task[None] | None = None
        self._sql = asyncio.Lock()  # one statement at a time on the lock connection

    async def start(self) -> PostgresOwners:
        import psycopg

        try:
            self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            self._listen = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            await self._listen.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            await self.aclose()
            raise StorageError(f"cannot open the session-owner connections to PostgreSQL: {exc}") from exc
        self._listener = asyncio.get_running_loop().create_task(self._listen_for_takeovers(), name="owner-listener")
        return self

    async def claim(self, session_id: str, owner: Owner) -> Owner | None:
        lock = self._claim_lock(session_id)
        async with lock:
            if session_id in self._held:
                return self.local.take(session_id, owner)
            deadline, asked = time.monotonic() + self.takeover_s, 0.0
            while not await self._try_lock(session_id):
                # the holder hears it and lets go once its run is over; asked again now and then, as a holder
                # that had only just taken the lock may not have listed its socket yet when the first one came
                if time.monotonic() - asked > _ASK_AGAIN_S:
                    await self._execute("SELECT pg_notify(%s, %s)", (CHANNEL, session_id))
                    asked = time.monotonic()
                if time.monotonic() > deadline:
                    raise HeldElsewhere(session_id)
                await asyncio.sleep(self.poll_s)
            self._held.add(session_id)
            return self.local.take(session_id, owner)

    async def release(self, session_id: str, owner: Owner) -> None:
        self.local.drop(session_id, owner)
        async with self._claim_lock(session_id):
            if session_id in self._held and self.local.get(session_id) is None:
                self._held.discard(session_id)
                try:
                    await self._execute("SELECT pg_advisory_unlock(%s)", (lock_key(session_id),))
                except StorageError as exc:  # the connection is gone, and with it every lock it held
                    log.warning("session %s: unlocking failed: %s", session_id, exc)

    def _claim_lock(self, session_id: str) -> asyncio.Lock:
        """One claim or release of a session at a time in this process (forgotten once nobody holds it)."""
        lock = self._claiming.get(session_id)
        if lock is None:
            lock = self._claiming[session_id] = asyncio.Lock()
        return lock

    def owns(self, session_id: str, owner: Owner) -> bool:
        return self.local.owns(session_id, owner)

    def held(self) -> set[str]:
        return set(self._held)

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        for conn in (self._listen, self._conn):
            if conn is not None:
                await conn.close()
        self._conn = self._listen = None

    async def _try_lock(self, session_id: str) -> bool:
        row = await self._execute("SELECT pg_try_advisory_lock(%s)", (lock_key(session_id),))
        return bool(row and row[0])

    async def _execute(self, sql: str, params: tuple) -> tuple | None:
        import psycopg

        async with self._sql:
            for attempt in (1, 2):  # a connection lost since the last statement is opened again once
                try:
                    if self._conn is None or self._conn.closed or self._conn.broken:
                        await self._reconnect()
                    assert self._conn is not None
                    cur = await self._conn.execute(sql, params)
                    return await cur.fetchone()
                except psycopg.OperationalError as exc:
                    if attempt == 2:
                        raise StorageError(f"PostgreSQL is unavailable for session ownership: {exc}") from exc
                except psycopg.Error as exc:
                    raise StorageError(f"PostgreSQL is unavailable for session ownership: {exc}") from exc
            return None  # pragma: no cover - the loop returns or raises

    async def _reconnect(self) -> None:
        """The lock connection was lost (PostgreSQL restarted): its locks went with it. Lock this process's
        sessions again; one another worker took meanwhile is no longer ours, and its socket is told so."""
        import psycopg

        if self._conn is not None:
            await self._conn.close()
        self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        for session_id in list(self._held):
            cur = await self._conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(session_id),))
            row = await cur.fetchone()
            if not (row and row[0]):
                self._held.discard(session_id)
                owner = self.local.get(session_id)
                if owner is not None:
                    self.local.drop(session_id, owner)
                    asyncio.ensure_future(owner.taken_over())

    async def _listen_for_takeovers(self) -> None:
        import psycopg

        while True:
            try:
                if self._listen is None or self._listen.closed:
                    self._listen = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
                    await self._listen.execute(f"LISTEN {CHANNEL}")
                async for note in self._listen.notifies():
                    owner = self.local.get(note.payload)
                    if owner is not None:  # another worker wants it: our socket steps down (release unlocks)
                        try:
                            await owner.taken_over()
                        except Exception:  # one socket's failure must not stop the listener
                            log.exception("session %s: stepping down failed", note.payload)
            except psycopg.Error as exc:  # PostgreSQL restarted: the locks went with the lock connection too
                log.warning("session-owner listener lost PostgreSQL (%s); reconnecting", exc)
                await asyncio.sleep(0.5)
                try:
                    async with self._sql:
                        await self._reconnect()
                except psycopg.Error as again:
                    log.warning("session-owner connection not back yet: %s", again)
