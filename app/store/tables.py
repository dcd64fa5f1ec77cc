"""The app's own tables (sessions, session links) on either database, behind one small interface: :class:`Tables`
runs a query (``?`` placeholders, SQL both SQLite and PostgreSQL accept) and returns plain tuples, and runs a write
durably. :class:`SqliteTables` reads on its connection and writes through the checkpointer's queue (the file's one
writer); :class:`PostgresTables` uses the psycopg pool, each write committed before it returns."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, Protocol

import psycopg
from psycopg_pool import PoolTimeout

from app.core.durability import StorageError
from app.store.checkpoints import execute_write

if TYPE_CHECKING:
    import aiosqlite
    from psycopg import AsyncConnection
    from psycopg.rows import DictRow
    from psycopg_pool import AsyncConnectionPool

    from app.store.checkpoints import WriteBehindSqliteSaver

Dialect = Literal["sqlite", "postgresql"]


class Tables(Protocol):
    dialect: Dialect

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple | None: ...

    async def write(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one write statement and return once it is committed (:class:`StorageError` if it cannot be)."""
        ...

    async def setup(self, statements: Sequence[str]) -> None:
        """Run schema statements (idempotent ones: ``CREATE ... IF NOT EXISTS``) in one commit."""
        ...


class SqliteTables:
    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, writer: WriteBehindSqliteSaver | None = None):
        self.conn, self._writer = conn, writer

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return [tuple(row) for row in await cur.fetchall()]

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        async with self.conn.execute(sql, tuple(params)) as cur:
            row = await cur.fetchone()
        return None if row is None else tuple(row)

    async def write(self, sql: str, params: Sequence[Any] = ()) -> None:
        await execute_write(self.conn, self._writer, sql, tuple(params))

    async def setup(self, statements: Sequence[str]) -> None:
        for statement in statements:
            await self.conn.execute(statement)
        await self.conn.commit()


class PostgresUnavailable(StorageError):
    """PostgreSQL is down, unreachable or refuses the write; nothing new may be claimed saved."""


@asynccontextmanager
async def storage_errors() -> AsyncIterator[None]:
    """psycopg's connection and pool errors as :class:`PostgresUnavailable` (what the server reports)."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
        raise PostgresUnavailable(f"PostgreSQL is unavailable: {exc}") from exc


def to_pyformat(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (the app's statements hold no literal ``?`` or ``%``)."""
    return sql.replace("?", "%s")


class PostgresTables:
    dialect: Dialect = "postgresql"

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[DictRow]]):
        self.pool = pool

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        from psycopg.rows import tuple_row

        async with storage_errors(), self.pool.connection() as conn:
            cur = conn.cursor(row_factory=tuple_row)
            await cur.execute(to_pyformat(sql), tuple(params))
            return list(await cur.fetchall())

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def write(self, sql: str, params: Sequence[Any] = ()) -> None:
        async with storage_errors(), self.pool.connection() as conn:
            await conn.execute(to_pyformat(sql), tuple(params))  # autocommit: committed when it returns

    async def setup(self, statements: Sequence[str]) -> None:
        async with storage_errors(), self.pool.connection() as conn, conn.transaction():
            # one app process at a time creates the tables (several workers start together)
            await conn.execute("SELECT pg_advisory_xact_lock(7263540021)")
            for statement in statements:
                await conn.execute(statement)
