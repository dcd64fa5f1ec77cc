"""The write-behind checkpointer: the round graph runs on it, what it serves from memory is what SQLite holds,
nothing is lost on close, and a failing disk stops new runs instead of being ignored (a run under way finishes in
memory, so what the candidate was told can still be read)."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import aiosqlite
import pytest
from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint

from app.brains.offline import OfflineBrain
from app.core.frames import Frame, InterviewerDone
from app.core.state import initial_state
from app.interview.graph import build_graph
from app.interview.nodes import Services
from app.interview.session import RoundDriver
from app.store.checkpoints import CheckpointWriteError, WriteBehindSqliteSaver
from app.store.sqlite import open_storage

ANSWER = "High variance means the model overfits; compare train and validation error."
CONFIG = {"configurable": {"thread_id": "s1"}}


async def _play(graph, catalog, answers: int, thread: str = "s1") -> list[Frame]:
    driver = RoundDriver(graph, Services(brain=OfflineBrain(), catalog=catalog), durable=graph.checkpointer)
    start = initial_state(thread, "ml_breadth", "L5", ["ml-bias-variance", "ml-l1-vs-l2"], time.time())
    frames = await driver.start(thread, start).frames()
    for _ in range(answers):
        frames += await driver.answer(thread, ANSWER).frames()
    return frames


def _rows(path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


async def test_a_round_survives_closing_and_reopening(tmp_path, catalog):
    db = str(tmp_path / "db.sqlite")
    async with open_storage(db) as storage:
        graph = build_graph(storage.checkpointer)
        await _play(graph, catalog, answers=2)
        before = await graph.aget_state(CONFIG)
    assert _rows(db, "checkpoints") > 0 and _rows(db, "writes") > 0  # closing flushed the queue

    async with open_storage(db) as storage:  # a new process's view: nothing cached, all read from disk
        graph = build_graph(storage.checkpointer)
        after = await graph.aget_state(CONFIG)
        assert after.values == before.values and after.next == before.next == ("await_answer",)
        assert after.interrupts and after.config == before.config
        frames = await RoundDriver(graph, Services(brain=OfflineBrain(), catalog=catalog)).answer("s1", ANSWER).frames()
        assert [f for f in frames if isinstance(f, InterviewerDone)]  # and it carries on from there


async def test_memory_answers_what_the_disk_holds(tmp_path, catalog):
    db = str(tmp_path / "db.sqlite")
    async with open_storage(db) as storage:
        saver = storage.checkpointer
        graph = build_graph(saver)
        await _play(graph, catalog, answers=3)  # superseded checkpoints are pruned: one per interviewer turn is kept
        cached = await saver.aget_tuple(CONFIG)
        await saver.flush()
        from_disk = await super(WriteBehindSqliteSaver, saver).aget_tuple(CONFIG)  # the stock saver's read
        assert cached.config == from_disk.config and cached.parent_config == from_disk.parent_config
        assert cached.checkpoint == from_disk.checkpoint and cached.metadata == from_disk.metadata
        assert cached.pending_writes == from_disk.pending_writes and cached.pending_writes  # the interrupt
        # past checkpoints come from the disk, in order, newest first
        history = [c async for c in saver.alist(CONFIG)]
        assert history[0].config == cached.config and len(history) > 3
        past = await saver.aget_tuple(history[2].config)
        assert past.checkpoint["id"] == history[2].checkpoint["id"]
        # each read is a fresh copy: a caller changing it cannot change the next read
        cached.checkpoint["channel_values"]["turns"].clear()
        assert (await saver.aget_tuple(CONFIG)).checkpoint["channel_values"]["turns"]


async def test_writes_for_a_checkpoint_not_in_memory_fall_back_to_the_disk(tmp_path, catalog):
    db = str(tmp_path / "db.sqlite")
    async with open_storage(db) as storage:
        saver = storage.checkpointer
        await _play(build_graph(saver), catalog, answers=1)
        history = [c async for c in saver.alist(CONFIG)]
        older = history[1].config
        await saver.aput_writes(older, [("extra", "value")], task_id="late-task")
        latest = await saver.aget_tuple(CONFIG)  # no longer trusted from memory: read back from SQLite
        assert latest.config == history[0].config
        assert ("late-task", "extra", "value") in (await saver.aget_tuple(older)).pending_writes


async def test_a_failing_disk_stops_the_next_run(tmp_path, catalog):
    conn = await aiosqlite.connect(str(tmp_path / "db.sqlite"))
    saver = WriteBehindSqliteSaver(conn)
    await saver.setup()
    await conn.execute("DROP TABLE writes")  # every write from now on fails
    await conn.commit()
    graph = build_graph(saver)
    await _play(graph, catalog, answers=0)  # under way before the disk is seen failing: it finishes in memory
    with pytest.raises(CheckpointWriteError, match="saving checkpoints to SQLite failed"):
        await saver.flush()
    opened = await graph.aget_state(CONFIG)
    assert opened.interrupts and [t["role"] for t in opened.values["turns"]] == ["interviewer"]
    driver = RoundDriver(graph, Services(brain=OfflineBrain(), catalog=catalog), durable=saver)
    with pytest.raises(CheckpointWriteError, match="saving checkpoints to SQLite failed"):
        await driver.answer("s1", ANSWER).frames()
    assert (await graph.aget_state(CONFIG)).values == opened.values  # the answer was not taken
    with pytest.raises(CheckpointWriteError):
        await saver.aclose()
    await conn.close()


async def test_a_new_thread_is_read_from_disk_once(tmp_path, catalog, monkeypatch):
    """A new session's state is looked up several times before its first checkpoint: only the first goes to SQLite."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    disk_reads: list[str] = []
    stock_read = AsyncSqliteSaver.aget_tuple

    async def counted(self, config):
        disk_reads.append(config["configurable"]["thread_id"])
        return await stock_read(self, config)

    monkeypatch.setattr(AsyncSqliteSaver, "aget_tuple", counted)
    async with open_storage(str(tmp_path / "db.sqlite")) as storage:
        graph = build_graph(storage.checkpointer)
        assert (await graph.aget_state(CONFIG)).values == {}
        assert (await graph.aget_state(CONFIG)).values == {}
        await _play(graph, catalog, answers=1)
        assert (await graph.aget_state(CONFIG)).values["turns"]
    assert disk_reads == ["s1"]


async def test_a_disk_that_fails_for_a_while_loses_nothing(tmp_path, catalog):
    """A failed commit is rolled back and retried; meanwhile new runs are refused (reads go on, from memory); once
    the disk takes the rows again, everything queued is on it and the round goes on at once, without waiting for
    the writer's backoff."""
    db = str(tmp_path / "db.sqlite")
    async with open_storage(db) as storage:
        saver, conn = storage.checkpointer, storage.checkpointer.conn
        graph = build_graph(saver)
        driver = RoundDriver(graph, Services(brain=OfflineBrain(), catalog=catalog), durable=saver)
        await _play(graph, catalog, answers=0)
        await saver.flush()
        await conn.execute("ALTER TABLE writes RENAME TO writes_away")  # the disk stops taking writes
        await conn.commit()
        await _play(graph, catalog, answers=0, thread="s2")  # under way before the disk is seen failing: in memory
        with pytest.raises(CheckpointWriteError):
            await saver.flush()
        before = await graph.aget_state(CONFIG)
        with pytest.raises(CheckpointWriteError):  # no new run starts: nothing it did could be saved
            await driver.answer("s1", ANSWER).frames()
        after = await graph.aget_state(CONFIG)
        assert after.values == before.values and after.interrupts  # nothing was taken; still waiting for the answer
        second = await graph.aget_state({"configurable": {"thread_id": "s2"}})
        assert second.interrupts and second.values["turns"]  # the run under way is served from memory
        await conn.execute("ALTER TABLE writes_away RENAME TO writes")  # the disk is back
        await conn.commit()
        assert saver.error is not None  # the background writer has not retried yet: the next run tries at once
        frames = await driver.answer("s1", ANSWER).frames()
        assert [f for f in frames if isinstance(f, InterviewerDone)]
        in_memory = await saver.aget_tuple(CONFIG)
    async with open_storage(db) as storage:  # what a new process sees is what the old one served
        on_disk = await storage.checkpointer.aget_tuple(CONFIG)
    assert on_disk.checkpoint == in_memory.checkpoint and on_disk.pending_writes == in_memory.pending_writes


async def test_a_read_racing_a_write_never_caches_the_older_checkpoint(tmp_path):
    db = str(tmp_path / "db.sqlite")
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    async with open_storage(db) as storage:
        first = empty_checkpoint()
        saved = await storage.checkpointer.aput(config, first, {"source": "input", "step": -1, "parents": {}}, {})
    async with open_storage(db) as storage:  # nothing cached: the next read goes to disk
        saver = storage.checkpointer
        reader = asyncio.create_task(saver.aget_tuple(config))  # e.g. a second tab's state read
        await asyncio.sleep(0)  # the reader now waits on SQLite...
        second = create_checkpoint(first, None, 0)
        await saver.aput(saved, second, {"source": "loop", "step": 0, "parents": {}}, {})  # ...the round moves on
        assert (await reader).checkpoint["id"] == second["id"]
        assert (await saver.aget_tuple(config)).checkpoint["id"] == second["id"]
        metadata = (await saver.aget_tuple(config)).metadata
        metadata["step"] = -99  # a caller changing what it got cannot change the next read
        assert (await saver.aget_tuple(config)).metadata["step"] == 0


async def test_a_read_racing_a_delete_never_caches_the_deleted_thread(tmp_path):
    config = {"configurable": {"thread_id": "gone", "checkpoint_ns": ""}}
    async with open_storage(str(tmp_path / "db.sqlite")) as storage:
        saver = storage.checkpointer
        await saver.aput(config, empty_checkpoint(), {"source": "input", "step": -1, "parents": {}}, {})
        await saver.flush()
        saver._latest.clear()  # as after a restart: the next read goes to disk
        reader = asyncio.create_task(saver.aget_tuple(config))
        await asyncio.sleep(0)  # the reader now waits on SQLite...
        await saver.adelete_thread("gone")  # ...while the thread is deleted
        await reader
        assert await saver.aget_tuple(config) is None
        assert not saver._changes  # no read in flight: nothing is tracked
