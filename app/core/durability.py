"""The storage port of a round: how the session driver learns that what it was given is on disk, and the error a
storage fault raises. The SQLite checkpointer (app/store/checkpoints.py) implements it; an in-memory checkpointer
(tests, evals) needs none: everything it holds counts as kept at once."""

from __future__ import annotations

from typing import Protocol

from app.core.vocabulary import ErrorCode


class StorageError(RuntimeError):
    """The database could not save (read-only, full, missing file, failing disk): nothing new may be claimed saved."""

    code: ErrorCode = ErrorCode.storage_unavailable


class DurableWrites(Protocol):
    """Positions in a write-behind log: ``mark()`` is where the last queued write is, ``wait_durable(mark)``
    returns once everything up to it is committed (or raises :class:`StorageError`); ``ready()`` raises
    :class:`StorageError` while writes cannot be made durable (no new run may start then)."""

    async def ready(self) -> None: ...

    def mark(self) -> int: ...

    async def wait_durable(self, mark: int) -> None: ...
