"""Which database stores the sessions: ``open_database(url)`` opens SQLite (``sqlite:///...``, the embedded
default) or PostgreSQL (``postgresql://...``, for several server processes) behind one shape, :class:`Storage`:
the graph's checkpointer (also the session driver's ``DurableWrites``), the session and link tables, and
``health()``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Protocol, TypeAlias

from app.store.checkpoints import WriteBehindSqliteSaver
from app.store.links import SessionLinks
from app.store.pads import PadStore
from app.store.sqlite import DatabaseState, SessionStore

if TYPE_CHECKING:
    from app.store.postgres import PostgresSaver

# what the round graph saves into: a LangGraph checkpointer that is also the session driver's ``DurableWrites``
Checkpointer: TypeAlias = "WriteBehindSqliteSaver | PostgresSaver"


class Storage(Protocol):
    @property
    def checkpointer(self) -> Checkpointer: ...

    @property
    def sessions(self) -> SessionStore: ...

    @property
    def links(self) -> SessionLinks: ...

    @property
    def pads(self) -> PadStore: ...

    def health(self) -> tuple[DatabaseState, str | None]: ...


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    if not is_postgres(url):
        return url
    from app.store.postgres import redact as redact_postgres

    return redact_postgres(url)


@asynccontextmanager
async def open_database(url: str, *, prune: bool = True, pool_size: int = 10) -> AsyncIterator[Storage]:
    """Open the storage named by ``url`` (see ``Settings.database_url``); :class:`StorageError` if it cannot be."""
    if is_postgres(url):
        from app.store.postgres import open_postgres_storage

        async with open_postgres_storage(url, prune=prune, pool_size=pool_size) as pg:
            yield pg
    else:
        from app.store.sqlite import open_storage

        async with open_storage(url.removeprefix("sqlite:///"), prune=prune) as lite:
            yield lite
