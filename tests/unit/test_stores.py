"""Both storage back ends (app/store/database.py), SQLite and PostgreSQL, run the same tests: a round survives
closing and reopening the database; the session, link and pad tables keep what they are given; pruning keeps the
checkpoint of every interviewer turn (replay, re-answer) and the newest, and nothing those need is gone; a
PostgreSQL database that is down is a clear StorageError."""

from __future__ import annotations

import sqlite3
import time

import psycopg
import pytest

from app.brains.offline import OfflineBrain
from app.core.durability import StorageError
from app.core.frames import InterviewerDone
from app.core.runs import RunRecord
from app.core.state import initial_state
from app.interview.graph import build_graph
from app.interview.nodes import Services
from app.interview.session import RoundDriver
from app.store.database import open_database
from app.store.links import SessionLink

ANSWER = "High variance means the model overfits; compare train and validation error."
PLAN = ["ml-bias-variance", "ml-l1-vs-l2"]


def _driver(storage, catalog) -> RoundDriver:
    graph = build_graph(storage.checkpointer)
    return RoundDriver(graph, Services(brain=OfflineBrain(), catalog=catalog), durable=storage.checkpointer)


async def _play(driver: RoundDriver, thread: str, answers: int) -> None:
    await driver.start(thread, initial_state(thread, "ml_breadth", "L5", PLAN, time.time())).frames()
    for _ in range(answers):
        await driver.answer(thread, ANSWER).frames()


def _count(url: str, table: str) -> int:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
        assert row is not None
        return row[0]


async def test_a_round_survives_closing_and_reopening(database_url, catalog):
    async with open_database(database_url) as storage:
        driver = _driver(storage, catalog)
        await _play(driver, "s1", answers=2)
        before = await driver.snapshot("s1")
    async with open_database(database_url) as storage:  # a new process's view
        driver = _driver(storage, catalog)
        after = await driver.snapshot("s1")
        assert after.values == before.values and after.next == before.next == ("await_answer",)
        assert after.interrupts and after.config == before.config
        frames = await driver.answer("s1", ANSWER).frames()
        assert [f for f in frames if isinstance(f, InterviewerDone)]  # and it carries on from there
        assert (await driver.recover("s1")).standing == "awaiting_answer"


async def test_session_link_and_pad_tables(database_url):
    async with open_database(database_url) as storage:
        record, token = await storage.sessions.create("ml_breadth", "L5", "offline", PLAN, client_id="browser-1")
        other, _ = await storage.sessions.create("coding", "L4", "offline", ["py-two-sum"], client_id="browser-1")
        await storage.sessions.create("coding", "L4", "offline", ["py-two-sum"], client_id="browser-2")
        assert (await storage.sessions.authorize(record.id, token)) == record
        assert await storage.sessions.authorize(record.id, token + "x") is None
        assert await storage.sessions.authorize(record.id, None) is None
        assert await storage.sessions.authorize("no-such-session", token) is None
        assert await storage.sessions.recent("browser-1", 5) == [other.id, record.id]
        assert len(await storage.sessions.all_ids()) == 3

        assert (await storage.links.get(record.id)).kind == "interview"
        await storage.links.add(SessionLink(other.id, "fork", source_session=record.id, source_turn=3))
        await storage.links.add(SessionLink(other.id, "practice", focus={"topics": ["sql"]}))  # replaces
        assert await storage.links.get(other.id) == SessionLink(other.id, "practice", focus={"topics": ["sql"]})

        await storage.pads.save(record.id, "q1", "python", "print(1)")
        await storage.pads.save(record.id, "q1", "python", "print(2)")  # replaces
        pad = await storage.pads.get(record.id, "q1")
        assert pad is not None and pad.code == "print(2)" and pad.updated_at == pytest.approx(time.time(), abs=60)

        def build(seq: int) -> RunRecord:
            return RunRecord.model_validate(
                {
                    "id": f"pad-{seq}",
                    "source": "pad",
                    "code": "print(1)",
                    "at": time.time(),
                    "result": {"language": "python", "status": "ok", "summary": "ran", "stdout": "1\n"},
                }
            )

        first, second = await storage.pads.add_run(record.id, build), await storage.pads.add_run(record.id, build)
        assert [r.id for r in await storage.pads.runs(record.id)] == [first.id, second.id] == ["pad-1", "pad-2"]
    async with open_database(database_url) as storage:  # all of it was committed
        assert (await storage.sessions.get(record.id)) == record
        assert len(await storage.pads.runs(record.id)) == 2


@pytest.mark.parametrize("prune", [True, False])
async def test_pruning_keeps_every_interviewer_turn_and_the_newest(database_url, catalog, prune):
    async with open_database(database_url, prune=prune) as storage:
        driver = _driver(storage, catalog)
        await _play(driver, "s1", answers=3)
        history = [s async for s in driver.graph.aget_state_history(driver.config("s1"))]
        waits = [s for s in history if s.next == ("await_answer",)]
        assert len(waits) == 4  # the opening question and three follow-ups, each replayable
        for snap in waits:  # every kept checkpoint loads whole (its channel blobs are all there)
            again = await driver.graph.aget_state(snap.config)
            assert again.values == snap.values and len(again.values["turns"]) % 2 == 1
        if prune:
            assert len(history) == len(waits)  # the newest waits for an answer too
        else:
            assert len(history) > 2 * len(waits)
    checkpoints = _count(database_url, "checkpoints")
    assert (checkpoints == 4) if prune else (checkpoints > 8)


async def test_a_postgres_database_that_is_down_is_a_storage_error(postgres_cluster, catalog):
    url = postgres_cluster.create_database()
    async with open_database(url) as storage:
        driver = _driver(storage, catalog)
        await _play(driver, "s1", answers=1)
        with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:  # the database goes away
            dbname = url.rsplit("/", 1)[1]
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (dbname,),
            )
            admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        try:
            with pytest.raises(StorageError):
                await driver.answer("s1", ANSWER).frames()
            assert storage.health()[0] == "failing"
        finally:
            with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
        await driver.answer("s1", ANSWER).frames()  # back: the pool reconnects and the round goes on
        assert storage.health() == ("ok", None)


async def test_an_unreachable_postgres_fails_to_open_with_the_reason():
    from devtools.processes import free_port

    with pytest.raises(StorageError, match="cannot open the database postgresql://nobody@127.0.0.1"):
        async with open_database(f"postgresql://nobody:secret@127.0.0.1:{free_port()}/x", pool_size=1):
            pass
