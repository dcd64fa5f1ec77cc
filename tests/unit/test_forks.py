"""Forks on the checkpointer (app/history/forks.py): a fork is a new thread whose first checkpoint is a copy of
the one in which the original waited for the chosen answer; the original thread is never written; the fork waits
for a new answer there, grades it, goes on, and survives a restart. Run on the product's savers (the write-behind
SQLite one and the PostgreSQL one) and on LangGraph's in-memory saver."""

from __future__ import annotations

import time

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from app.brains.offline import OfflineBrain
from app.core.frames import InterviewerDone, TurnGradeFrame
from app.core.state import initial_state
from app.history.forks import ForkError, checkpoint_before, fork_round
from app.interview.graph import build_graph
from app.interview.nodes import Services
from app.interview.session import RoundDriver
from app.store.database import open_database

FIRST = "High variance means overfitting, so I would add more features to fix it."
SECOND = "I think it depends on the model."
AGAIN = (
    "Bias is error from wrong assumptions, so the model underfits; variance is sensitivity to the training sample. "
    "I compare training and validation error on a learning curve: a large gap means variance."
)


async def _round(driver: RoundDriver, started_at: float) -> None:
    start = initial_state("s1", "ml_breadth", "L5", ["ml-bias-variance", "ml-l1-vs-l2"], started_at)
    await driver.start("s1", start).frames()
    await driver.answer("s1", FIRST).frames()
    await driver.answer("s1", SECOND).frames()


async def _history(driver: RoundDriver, thread: str) -> list[tuple[str, int]]:
    return [
        (s.config["configurable"]["checkpoint_id"], len(s.values.get("turns", [])))
        async for s in driver.graph.aget_state_history(driver.config(thread))
    ]


async def _check_fork(driver: RoundDriver) -> None:
    started = time.time() - 600  # the original started ten minutes ago
    await _round(driver, started)
    original = await driver.snapshot("s1")
    history = await _history(driver, "s1")

    waited = await checkpoint_before(driver, "s1", 3)
    assert waited is not None and waited.next == ("await_answer",)
    assert [t["index"] for t in waited.values["turns"]] == [0, 1, 2]

    now = time.time()
    fork = await fork_round(driver, "s1", 3, "f1", now)
    assert fork.interrupts and fork.next == ("await_answer",)  # waiting for the new answer
    assert fork.values["turns"] == waited.values["turns"] and fork.values["grades"] == waited.values["grades"]
    assert fork.values["session_id"] == "f1"
    elapsed = waited.values["turns"][-1]["at"] - started
    assert fork.values["started_at"] == pytest.approx(now - elapsed)  # the time spent goes on from the fork

    # the fork's first checkpoint is the copy, marked as a fork of that checkpoint
    fork_history = [s async for s in driver.graph.aget_state_history(driver.config("f1"))]
    first = fork_history[-1]
    assert first.config["configurable"]["checkpoint_id"] == waited.config["configurable"]["checkpoint_id"]
    assert first.metadata["source"] == "fork"
    assert first.metadata["forked_from"] == {
        "thread_id": "s1",
        "checkpoint_id": waited.config["configurable"]["checkpoint_id"],
        "turn": 3,
    }
    assert first.parent_config is None

    frames = await driver.answer("f1", AGAIN).frames()
    grades = [f for f in frames if isinstance(f, TurnGradeFrame)]
    assert [g.turn for g in grades] == [3] and grades[0].overall is not None
    assert any(isinstance(f, InterviewerDone) and f.index == 4 for f in frames)
    forked = await driver.snapshot("f1")
    assert forked.values["turns"][3]["text"] == AGAIN

    # the original is exactly as it was: same checkpoints, same state
    assert await _history(driver, "s1") == history
    after = await driver.snapshot("s1")
    assert after.values == original.values and after.config == original.config


async def test_a_fork_on_the_stored_saver_survives_a_restart(database_url, catalog):
    db = database_url
    async with open_database(db) as storage:
        driver = RoundDriver(build_graph(storage.checkpointer), Services(brain=OfflineBrain(), catalog=catalog))
        await _check_fork(driver)
        forked = await driver.snapshot("f1")
    async with open_database(db) as storage:  # read back from the database
        driver = RoundDriver(build_graph(storage.checkpointer), Services(brain=OfflineBrain(), catalog=catalog))
        again = await driver.snapshot("f1")
        assert again.values == forked.values and again.next == forked.next == ("await_answer",)
        frames = await driver.answer("f1", FIRST).frames()
        assert any(isinstance(f, TurnGradeFrame) and f.turn == 5 for f in frames)


async def test_a_fork_on_the_memory_saver(catalog):
    driver = RoundDriver(build_graph(InMemorySaver()), Services(brain=OfflineBrain(), catalog=catalog))
    await _check_fork(driver)


async def test_the_first_answer_can_be_forked_and_a_question_cannot(catalog):
    driver = RoundDriver(build_graph(InMemorySaver()), Services(brain=OfflineBrain(), catalog=catalog))
    await _round(driver, time.time())
    fork = await fork_round(driver, "s1", 1, "f1", time.time())
    assert [t["role"] for t in fork.values["turns"]] == ["interviewer"] and fork.values["grades"] == []
    for turn in (0, 2, 7):
        with pytest.raises(ForkError):
            await fork_round(driver, "s1", turn, f"x{turn}", time.time())
    assert await _history(driver, "x0") == []  # nothing was written for a refused fork
