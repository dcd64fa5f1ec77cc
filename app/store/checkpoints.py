"""The graph's checkpointer: LangGraph's ``AsyncSqliteSaver``, with the latest checkpoint of each live session held
in memory and the SQLite writes group-committed in the background.

Why: every turn the graph saves several checkpoints and reads the latest one back. Done one by one on the SQLite
thread that was about 3.5 ms of CPU per turn, mostly thread hops and commits (``barraiser bench``). Here:

- ``aput`` / ``aput_writes`` serialise exactly what the stock saver would, keep the latest checkpoint of the thread
  (and its pending writes) in memory, and queue the rows; they return without waiting for the disk.
- One background task writes whatever is queued in one transaction, in the order it was queued (group commit), and
  starts again as soon as more arrives: no timer, so a lone write is on disk a thread hop later.
- ``aget_tuple`` for a thread's latest checkpoint is served from memory (deserialised afresh each time, so callers
  never share objects). Anything else (a past checkpoint, a thread not in memory) is read from SQLite as the stock
  saver does, after the queue has drained if that thread still has rows in it; ``alist`` always drains first.
- A disk read of a thread only fills the cache if nothing changed that thread while the read was in flight.
- ``flush()`` drains the queue; ``open_storage`` calls it on shutdown, so a stopped server loses nothing. A crash
  loses what is queued or in flight: the last few milliseconds, as with ``durability="async"``.
- A failed commit is rolled back and its rows go back to the head of the queue; the writer retries with backoff.
  Until a commit succeeds, ``ready()`` raises :class:`CheckpointWriteError` (after trying the queue once more at
  once: the disk may be back before the next retry), and the session driver calls it before every run: no new run
  starts without durability. A run already under way when the disk fails is not cut short: its words are out, so
  its checkpoints are still taken into memory (and queued), and a reconnect is served exactly what the candidate
  was told (reads go on). Nothing is claimed saved until it is committed (``wait_durable``).
- Durability on demand: every queued row has a position; ``mark()`` is the position of the last row queued so far and
  ``wait_durable(mark)`` returns once every row up to it is committed (or raises :class:`CheckpointWriteError` if the
  commit failed). The server confirms an answer (``answer_received``) only after that.
- One writer: ``execute_durably`` queues another statement (the session table's rows) behind the checkpoints and
  waits for its commit, so nothing else in the process competes with the writer for SQLite's write lock.
- Pruning: a new checkpoint supersedes its parent, which is deleted (with its writes) in the same ordered queue
  unless it is a checkpoint the round stopped at, waiting for an answer (it has an ``__interrupt__`` write): those
  are kept, one per interviewer turn, for replay and re-answering. The newest checkpoint is always kept.
- Checkpoint blobs above ``compress_min_bytes`` are stored zlib-compressed (type ``msgpack+zlib``); both kinds load.
- ``guard`` (optional) is called before each commit and raises if the database file is gone or replaced.

The cache assumes this process is the only writer of these threads (one server process per database).
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.checkpoint.sqlite.utils import load_pending_writes

from app.core.durability import StorageError

log = logging.getLogger(__name__)

_PUT_CHECKPOINT = (
    "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, "
    "type, checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_PUT_WRITE = (
    "INSERT OR {conflict} INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, "
    "channel, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_REPLACE_WRITE, _IGNORE_WRITE = _PUT_WRITE.format(conflict="REPLACE"), _PUT_WRITE.format(conflict="IGNORE")
# A superseded checkpoint goes, with its writes, unless the round stopped there for an answer (an interviewer turn)
_KEPT = (
    "EXISTS (SELECT 1 FROM writes AS w WHERE w.thread_id = ? AND w.checkpoint_ns = ? AND w.checkpoint_id = ? "
    "AND w.channel = '__interrupt__')"
)
_PRUNE_CHECKPOINT = (
    f"DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ? AND NOT {_KEPT}"
)
_PRUNE_WRITES = f"DELETE FROM writes WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ? AND NOT {_KEPT}"
_OTHER = ("", "__other__")  # the queue key of rows that belong to no thread (the session table's)
_ZLIB = "+zlib"


_RETRY_FIRST_S, _RETRY_MAX_S = 0.1, 5.0  # backoff of the background writer after a failed commit


class CheckpointWriteError(StorageError):
    """Checkpoints could not be saved to SQLite (the rows are kept and retried); until a save succeeds, new
    checkpoints are refused, so the graph stops rather than run undurably."""


class CompressingSerializer(JsonPlusSerializer):
    """LangGraph's serializer, with large blobs zlib-compressed (type ``<type>+zlib``); plain blobs load too."""

    def __init__(self, *, min_bytes: int = 1024, level: int = 3):
        super().__init__()
        self.min_bytes, self.level = min_bytes, level

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return self.compress(super().dumps_typed(obj))

    def compress(self, typed: tuple[str, bytes]) -> tuple[str, bytes]:
        type_, data = typed
        if len(data) < self.min_bytes or type_.endswith(_ZLIB):
            return typed
        return type_ + _ZLIB, zlib.compress(data, self.level)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        type_, blob = data
        if type_.endswith(_ZLIB):
            return super().loads_typed((type_.removesuffix(_ZLIB), zlib.decompress(blob)))
        return super().loads_typed(data)

    def plain_dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return super().dumps_typed(obj)


@dataclass
class _Latest:
    """A thread's newest checkpoint, serialised as the database holds it, with its pending writes."""

    checkpoint_id: str
    parent_id: str | None
    checkpoint: tuple[str, bytes]
    metadata: bytes  # as stored: JSON, decoded afresh for each caller
    # (task_id, idx) -> the row ``load_pending_writes`` reads: task_id, channel, type, value, task_path, idx
    writes: dict[tuple[str, int], tuple] = field(default_factory=dict)


class WriteBehindSqliteSaver(AsyncSqliteSaver):
    """``AsyncSqliteSaver`` with in-memory latest checkpoints and group-committed writes (see the module doc)."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        max_cached_threads: int = 2_000,
        prune: bool = True,
        compress_min_bytes: int = 1024,
        guard: Callable[[], None] | None = None,
    ):
        self._codec = CompressingSerializer(min_bytes=compress_min_bytes)
        super().__init__(conn, serde=self._codec)
        self.max_cached_threads = max_cached_threads
        self.prune_superseded, self.guard = prune, guard
        self._queued_rows = 0  # rows ever queued: a row's position is its number in this count
        self._committed_rows = 0  # rows ever committed (always a prefix of the queue's order)
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []  # (position, done once it is committed)
        self._latest: OrderedDict[tuple[str, str], _Latest | None] = OrderedDict()  # None: known to be empty
        # (sql, params, thread key) in the order they must reach the disk
        self._queue: list[tuple[str, tuple, tuple[str, str]]] = []
        self._unsaved: Counter[tuple[str, str]] = Counter()  # rows queued or being written, per thread
        # changes per thread while disk reads are in flight (cleared when none is): a read only fills the cache
        # if its thread did not change meanwhile
        self._changes: Counter[tuple[str, str]] = Counter()
        self._reads_in_flight = 0
        self._wake = asyncio.Event()
        self._drain_lock = asyncio.Lock()  # one drainer at a time keeps the queue's order on disk
        self._writer: asyncio.Task | None = None
        self._error: BaseException | None = None

    # -- reads -----------------------------------------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        key = _thread_key(config)
        wanted = get_checkpoint_id(config)
        if key in self._latest:
            latest = self._latest[key]
            if latest is None:  # a thread this process has seen to be empty, and has not written to since
                return None
            if wanted is None or wanted == latest.checkpoint_id:
                self._latest.move_to_end(key)
                return self._tuple(key, latest)
        if self._unsaved[key]:  # the disk is behind for this thread: catch it up first
            await self.flush()
        self._reads_in_flight += 1
        try:
            changes = self._changes.setdefault(key, 0)  # listed, so that adelete_thread can mark it too
            found = await super().aget_tuple(config)
            changed = self._changes[key] != changes
        finally:
            self._reads_in_flight -= 1
            if not self._reads_in_flight:
                self._changes.clear()
        if changed:  # written or deleted while we read: what we read may be stale
            return await self.aget_tuple(config) if wanted is None else found
        if found is None and wanted is None:
            self._remember(key, None)  # a new session: its next reads (before its first checkpoint) are free
        elif found is not None and wanted is None and not found.pending_writes:
            self._remember(key, self._from_tuple(found))  # with pending writes it is cached at its next aput
        return found

    async def alist(self, config: RunnableConfig | None, **kwargs: Any) -> AsyncIterator[CheckpointTuple]:
        await self.flush()
        async for item in super().alist(config, **kwargs):
            yield item

    async def aget_delta_channel_history(self, **kwargs: Any) -> Any:
        await self.flush()
        return await super().aget_delta_channel_history(**kwargs)

    # -- writes ----------------------------------------------------------------------------------------------

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        thread_id, ns = _thread_key(config)
        serialized = self._codec.plain_dumps_typed(checkpoint)  # memory keeps it plain: read back without inflating
        stored = self._codec.compress(serialized)
        full_metadata = get_checkpoint_metadata(config, metadata)
        parent_id = config["configurable"].get("checkpoint_id")
        metadata_json = json.dumps(full_metadata, ensure_ascii=False).encode("utf-8", "ignore")
        self._enqueue(
            _PUT_CHECKPOINT, (thread_id, ns, checkpoint["id"], parent_id, stored[0], stored[1], metadata_json)
        )
        if self.prune_superseded and parent_id and parent_id != checkpoint["id"]:
            superseded = (thread_id, ns, parent_id, thread_id, ns, parent_id)
            self._enqueue(_PRUNE_CHECKPOINT, superseded)
            self._enqueue(_PRUNE_WRITES, superseded)
        key = (thread_id, ns)
        previous = self._latest.get(key)
        # the same checkpoint saved again keeps its pending writes, as the writes table does
        writes = previous.writes if previous is not None and previous.checkpoint_id == checkpoint["id"] else {}
        self._remember(key, _Latest(checkpoint["id"], parent_id, serialized, metadata_json, writes))
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint["id"]}}

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        key = _thread_key(config)
        checkpoint_id = str(config["configurable"]["checkpoint_id"])
        replace = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        latest = self._latest.get(key)
        if key in self._latest and (latest is None or latest.checkpoint_id != checkpoint_id):
            self._latest.pop(key)  # writes for a checkpoint we do not hold: read this thread from disk next time
            latest = None
        for idx, (channel, value) in enumerate(writes):
            idx = WRITES_IDX_MAP.get(channel, idx)
            type_, blob = self.serde.dumps_typed(value)
            self._enqueue(
                _REPLACE_WRITE if replace else _IGNORE_WRITE,
                (key[0], key[1], checkpoint_id, task_id, task_path, idx, channel, type_, blob),
            )
            if latest is not None and (replace or (task_id, idx) not in latest.writes):
                latest.writes[(task_id, idx)] = (task_id, channel, type_, blob, task_path, idx)

    async def adelete_thread(self, thread_id: str) -> None:
        await self.flush()
        await super().adelete_thread(thread_id)
        for key in [k for k in self._latest if k[0] == str(thread_id)]:
            self._latest.pop(key)
        if self._reads_in_flight:  # a read in flight must not cache what was just deleted
            for key in [k for k in self._changes if k[0] == str(thread_id)]:
                self._changes[key] += 1

    def mark(self) -> int:
        """The position of the last row queued so far (see ``wait_durable``)."""
        return self._queued_rows

    async def ready(self) -> None:
        """Return if new writes can be made durable; :class:`CheckpointWriteError` while the writer is failing.
        A failing writer is tried once more at once (the background writer may be waiting out its backoff while
        the disk is already back)."""
        if self._error is not None:
            await self.flush()

    async def wait_durable(self, mark: int) -> None:
        """Return once every row queued up to ``mark`` is committed; :class:`CheckpointWriteError` if the writer is
        failing (the rows stay queued and are retried, but nothing may be claimed saved until they are)."""
        if self._committed_rows >= mark:
            return
        await self.ready()
        if self._committed_rows >= mark:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((mark, waiter))
        self._kick()
        await waiter

    async def execute_durably(self, sql: str, params: tuple) -> None:
        """Run one write statement through the checkpoint writer (the only writer of the file) and wait for its
        commit; :class:`CheckpointWriteError` if it cannot be committed."""
        await self.ready()
        self._enqueue(sql, params, key=_OTHER)
        await self.wait_durable(self.mark())

    @property
    def error(self) -> BaseException | None:
        """Why the last commit failed, while the writer is failing; None when healthy."""
        return self._error

    async def flush(self) -> None:
        """Wait until every queued row is committed; :class:`CheckpointWriteError` if the disk refuses them."""
        try:
            await self._drain()
        except Exception as exc:
            raise CheckpointWriteError(f"saving checkpoints to SQLite failed: {exc}") from exc
        self._raise_if_failed()

    async def aclose(self) -> None:
        """Flush and stop the background writer."""
        try:
            await self.flush()
        finally:
            if self._writer is not None:
                self._writer.cancel()
                await asyncio.gather(self._writer, return_exceptions=True)
                self._writer = None

    # -- internals -------------------------------------------------------------------------------------------

    def _enqueue(self, sql: str, params: tuple, key: tuple[str, str] | None = None) -> None:
        key = key or (params[0], params[1])  # the checkpoint statements start with thread_id, checkpoint_ns
        self._queue.append((sql, params, key))
        self._queued_rows += 1
        self._unsaved[key] += 1
        if self._reads_in_flight:
            self._changes[key] += 1
        self._kick()

    def _kick(self) -> None:
        """Make sure the background writer runs and will look at the queue."""
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_behind(), name="checkpoint-writer")
        self._wake.set()

    async def _write_behind(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._drain()
                failures = 0
            except Exception:  # the rows are back in the queue and _error is set: retry with backoff
                log.exception("saving checkpoints to SQLite failed; retrying")
                failures += 1
                await asyncio.sleep(min(_RETRY_MAX_S, _RETRY_FIRST_S * 2 ** (failures - 1)))
                self._wake.set()

    async def _drain(self) -> None:
        """Commit the queue, batch by batch. A batch that fails is rolled back and put back at the head of the
        queue, and ``_error`` is set so that new checkpoints are refused until a later drain succeeds."""
        async with self._drain_lock:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    if self.guard is not None:
                        self.guard()
                    await self.setup()
                    async with self.lock:
                        try:
                            start = 0
                            for end in range(1, len(batch) + 1):  # one executemany per run of one statement
                                if end == len(batch) or batch[end][0] != batch[start][0]:
                                    await self.conn.executemany(
                                        batch[start][0], [params for _, params, _ in batch[start:end]]
                                    )
                                    start = end
                            await self.conn.commit()
                        except BaseException:
                            await self.conn.rollback()
                            raise
                except BaseException as exc:
                    self._queue[:0] = batch  # nothing is lost: the rows go first next time
                    if isinstance(exc, Exception):
                        self._error = exc
                        self._fail_waiters(exc)
                        self._kick()  # the background writer retries, with backoff, until the disk takes them
                    raise
                self._error = None
                self._committed_rows += len(batch)
                self._wake_waiters()
                self._unsaved.subtract(key for _, _, key in batch)
                self._unsaved = +self._unsaved  # drop the threads with nothing left to write

    def _wake_waiters(self) -> None:
        done = self._committed_rows
        still: list[tuple[int, asyncio.Future[None]]] = []
        for mark, waiter in self._waiters:
            if mark <= done:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                still.append((mark, waiter))
        self._waiters = still

    def _fail_waiters(self, exc: Exception) -> None:
        """Whoever waits for rows that did not make it is told now (the rows stay queued and are retried)."""
        waiters, self._waiters = self._waiters, []
        for _, waiter in waiters:
            if not waiter.done():
                waiter.set_exception(CheckpointWriteError(f"saving to SQLite failed: {exc}"))

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise CheckpointWriteError(f"saving checkpoints to SQLite failed: {self._error}") from self._error

    def _remember(self, key: tuple[str, str], latest: _Latest | None) -> None:
        self._latest[key] = latest
        self._latest.move_to_end(key)
        if len(self._latest) > self.max_cached_threads:
            # the least recently used threads go first, but never one whose rows are not all on disk yet: reading
            # it back would wait for the disk (and fail while the disk refuses writes)
            excess, victims = len(self._latest) - self.max_cached_threads, []
            for old in self._latest:
                if not self._unsaved[old]:
                    victims.append(old)
                    if len(victims) == excess:
                        break
            for old in victims:
                del self._latest[old]

    def _tuple(self, key: tuple[str, str], latest: _Latest) -> CheckpointTuple:
        thread_id, ns = key
        parent: RunnableConfig | None = (
            {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": latest.parent_id}}
            if latest.parent_id
            else None
        )
        return CheckpointTuple(
            {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": latest.checkpoint_id}},
            self.serde.loads_typed(latest.checkpoint),
            json.loads(latest.metadata),
            parent,
            load_pending_writes(latest.writes.values(), self.serde),
        )

    def _from_tuple(self, found: CheckpointTuple) -> _Latest:
        parent_id = found.parent_config["configurable"]["checkpoint_id"] if found.parent_config else None
        return _Latest(
            found.config["configurable"]["checkpoint_id"],
            parent_id,
            self._codec.plain_dumps_typed(found.checkpoint),
            json.dumps(found.metadata).encode(),
        )


def _thread_key(config: RunnableConfig) -> tuple[str, str]:
    configurable = config["configurable"]
    return str(configurable["thread_id"]), str(configurable.get("checkpoint_ns", ""))


async def execute_write(
    conn: aiosqlite.Connection, writer: WriteBehindSqliteSaver | None, sql: str, params: tuple
) -> None:
    """One write of a table kept beside the checkpoints (sessions, links, pads): through ``writer``, the file's one
    writer, when there is one (a file database), else on ``conn`` (``:memory:``, where both are one connection)."""
    if writer is not None:
        await writer.execute_durably(sql, params)
    else:
        await conn.execute(sql, params)
        await conn.commit()
