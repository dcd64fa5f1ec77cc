"""Re-answer a candidate turn: fork the session at the checkpoint just before it.

LangGraph keeps every checkpoint of a thread. The round waited for candidate turn ``n`` in the checkpoint whose
next task is ``await_answer`` and whose last turn is the interviewer's turn ``n - 1``. A fork copies that checkpoint
into a new thread (the new thread's first checkpoint, metadata ``source: "fork"``), then runs the new thread up to
the answer interrupt, so it waits for a new answer exactly where the original did. The original thread is only
read, never written.

Two values of the copy are the fork's own: ``session_id`` (the new session) and ``started_at``, moved so that the
time already spent when the answer was awaited is the time spent now (the round's time budget goes on from there,
not from the original start days ago).
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import copy_checkpoint
from langgraph.types import StateSnapshot

from app.interview.session import RoundDriver


class ForkError(ValueError):
    """The session has no checkpoint at which the round waited for that turn."""


async def checkpoint_before(driver: RoundDriver, thread_id: str, turn: int) -> StateSnapshot | None:
    """The state in which the round waited for candidate turn ``turn`` (newest such checkpoint), or None."""
    async for snap in driver.graph.aget_state_history(driver.config(thread_id)):
        turns = (snap.values or {}).get("turns", [])
        if snap.next == ("await_answer",) and len(turns) == turn and turns and turns[-1]["role"] == "interviewer":
            return snap
    return None


async def fork_round(driver: RoundDriver, source: str, turn: int, target: str, now: float) -> StateSnapshot:
    """Copy ``source`` at the checkpoint before candidate turn ``turn`` into the new thread ``target`` and run it
    to the answer interrupt. Returns the fork's state (awaiting the answer). :class:`ForkError` if there is no such
    checkpoint (not a candidate turn of this session)."""
    snap = await checkpoint_before(driver, source, turn)
    saver = driver.graph.checkpointer
    if snap is None or saver is None or isinstance(saver, bool):
        raise ForkError(f"session {source} has no checkpoint before turn {turn}")
    found = await saver.aget_tuple(snap.config)
    if found is None:  # pragma: no cover - the history just listed it
        raise ForkError(f"checkpoint {snap.config} vanished")
    checkpoint = copy_checkpoint(found.checkpoint)
    values: dict[str, Any] = checkpoint["channel_values"]
    started = float(values.get("started_at") or now)
    last_at = values["turns"][-1].get("at") or started
    values["session_id"] = target
    values["started_at"] = now - max(0.0, float(last_at) - started)
    metadata: dict[str, Any] = {
        **found.metadata,
        "source": "fork",
        "forked_from": {"thread_id": source, "checkpoint_id": checkpoint["id"], "turn": turn},
    }
    config = {"configurable": {"thread_id": target, "checkpoint_ns": ""}}
    # every channel's version is new to the target thread (savers that store channels apart need them all)
    await saver.aput(config, checkpoint, metadata, dict(checkpoint["channel_versions"]))  # type: ignore[arg-type]
    await driver.carry_on(target).frames()  # await_answer runs and interrupts: no frames, the fork now waits
    return await driver.snapshot(target)
