"""Storage on PostgreSQL (``BARRAISER_DATABASE_URL=postgresql://...``): LangGraph's ``AsyncPostgresSaver`` on a
psycopg 3 connection pool for the graph's checkpoints, and the session tables (app/store/tables.py) in the same
database. Several server processes (``barraiser serve --workers N``, or several hosts) share one database; who
drives a session is settled by app/server/owners.py (``PostgresOwners``).

Every write is committed before the saver returns, so what the session driver is told is on disk is (``mark`` /
``wait_durable`` have nothing to wait for). Nothing is cached in memory: another process may have moved the session
on since, and reading the latest checkpoint is one indexed query.

Pruning, as on SQLite: a new checkpoint supersedes its parent, which is deleted with its writes unless the round
stopped there for an answer (an ``__interrupt__`` write): those are kept, one per interviewer turn, for replay and
re-answering. Channel blobs that only the deleted checkpoint used go with it (one statement). Blobs above
``compress_min_bytes`` are zlib-compressed, as on SQLite.

A database that is down or refuses writes raises :class:`PostgresUnavailable` (a :class:`StorageError`): the socket
says the session could not be saved and no answer is confirmed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from app.core.durability import StorageError
from app.store.checkpoints import CompressingSerializer
from app.store.links import SessionLinks
from app.store.pads import PadStore
from app.store.sqlite import DatabaseState, SessionStore
from app.store.tables import PostgresTables, PostgresUnavailable, storage_errors

log = logging.getLogger(__name__)

# one statement: the superseded checkpoint goes (unless the round waited there for an answer), with its writes and
# the channel blobs no other checkpoint of the thread refers to (a data-modifying CTE sees the rows as they were
# before the statement, hence "checkpoint_id <> parent")
_PRUNE = """
WITH kept AS (
    SELECT EXISTS (
        SELECT 1 FROM checkpoint_writes WHERE thread_id = %(t)s AND checkpoint_ns = %(ns)s
        AND checkpoint_id = %(p)s AND channel = '__interrupt__'
    ) AS k
), gone AS (
    DELETE FROM checkpoints WHERE thread_id = %(t)s AND checkpoint_ns = %(ns)s AND checkpoint_id = %(p)s
    AND NOT (SELECT k FROM kept) RETURNING checkpoint
), gone_writes AS (
    DELETE FROM checkpoint_writes WHERE thread_id = %(t)s AND checkpoint_ns = %(ns)s AND checkpoint_id = %(p)s
    AND NOT (SELECT k FROM kept)
)
DELETE FROM checkpoint_blobs b USING gone g, jsonb_each_text(g.checkpoint -> 'channel_versions') v
WHERE b.thread_id = %(t)s AND b.checkpoint_ns = %(ns)s AND b.channel = v.key AND b.version = v.value
AND NOT EXISTS (
    SELECT 1 FROM checkpoints c WHERE c.thread_id = %(t)s AND c.checkpoint_ns = %(ns)s AND c.checkpoint_id <> %(p)s
    AND c.checkpoint -> 'channel_versions' ->> b.channel = b.version
)
"""


_MIGRATION_LOCK = 7263540020  # advisory lock key: one process at a time migrates


class PostgresSaver(AsyncPostgresSaver):
    """``AsyncPostgresSaver`` with pruning, compressed blobs, storage errors as :class:`StorageError` and the
    ``DurableWrites`` port (every write is committed when it returns)."""

    def __init__(
        self,
        pool: AsyncConnectionPool[psycopg.AsyncConnection[DictRow]],
        *,
        prune: bool = True,
        compress_min_bytes: int = 1024,
    ):
        super().__init__(pool, serde=CompressingSerializer(min_bytes=compress_min_bytes))
        self.prune_superseded = prune
        self.error: BaseException | None = None  # the last failure, until a write succeeds again

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        async with self._errors():
            return await super().aget_tuple(config)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        parent = config["configurable"].get("checkpoint_id")
        async with self._errors():
            saved = await super().aput(config, checkpoint, metadata, new_versions)
            if self.prune_superseded and parent and parent != checkpoint["id"]:
                configurable = config["configurable"]
                params = {"t": str(configurable["thread_id"]), "ns": configurable.get("checkpoint_ns", ""), "p": parent}
                async with self._cursor() as cur:
                    await cur.execute(_PRUNE, params)
            self.error = None
        return saved

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        async with self._errors():
            await super().aput_writes(config, writes, task_id, task_path)
            self.error = None

    @asynccontextmanager
    async def _errors(self) -> AsyncIterator[None]:
        try:
            async with storage_errors():
                yield
        except PostgresUnavailable as exc:
            self.error = exc
            raise

    # the DurableWrites port: committed on return, nothing to wait for
    async def ready(self) -> None:
        return None

    def mark(self) -> int:
        return 0

    async def wait_durable(self, mark: int) -> None:
        return None

    async def flush(self) -> None:
        return None


@dataclass
class PostgresStorage:
    checkpointer: PostgresSaver
    sessions: SessionStore
    links: SessionLinks
    pads: PadStore
    pool: AsyncConnectionPool[psycopg.AsyncConnection[DictRow]]
    url: str

    def health(self) -> tuple[DatabaseState, str | None]:
        """``failing`` while the last write failed (the database is down or refuses writes), else ``ok``."""
        if self.checkpointer.error is not None:
            return "failing", str(self.checkpointer.error)
        return "ok", None


def redact(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    return (
        f"postgresql://{info.get('user', '')}@{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
    )


@asynccontextmanager
async def open_postgres_storage(
    url: str, *, prune: bool = True, pool_size: int = 10, connect_timeout_s: float = 10.0
) -> AsyncIterator[PostgresStorage]:
    """Open the pool, set the tables up (LangGraph's migrations, then the session tables) and yield the storage; a
    database that cannot be reached or set up raises :class:`StorageError` with the reason, and nothing is left
    open."""
    pool: AsyncConnectionPool[psycopg.AsyncConnection[DictRow]] = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=pool_size,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        open=False,
        timeout=connect_timeout_s,
        name="barraiser",
    )
    try:
        await pool.open(wait=True, timeout=connect_timeout_s)
        saver = PostgresSaver(pool, prune=prune)
        async with storage_errors(), pool.connection() as conn:
            # several workers start together: one at a time runs the migrations (some of which, CREATE INDEX
            # CONCURRENTLY, cannot run in a transaction: a session lock, not a transaction's)
            await conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
            try:
                await PostgresSaver(conn, prune=prune).setup()  # type: ignore[arg-type]
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
        tables = PostgresTables(pool)
        sessions, links, pads = SessionStore(tables), SessionLinks(tables), PadStore(tables)
        for table in (sessions, links, pads):
            await table.setup()
    except (psycopg.Error, StorageError, OSError) as exc:
        await pool.close()
        raise StorageError(f"cannot open the database {redact(url)}: {exc}") from exc
    except BaseException:
        await pool.close()
        raise
    try:
        yield PostgresStorage(checkpointer=saver, sessions=sessions, links=links, pads=pads, pool=pool, url=url)
    finally:
        await pool.close()
