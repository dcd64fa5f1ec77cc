"""Runs interview sessions for the server: one run at a time per session, frames streamed to the caller.

The graph's state lives in the checkpointer, so any connection (after a reload, or after a server restart)
picks a session up exactly where it was. Runs go through the session driver (app/interview/session.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot

from app.content.catalog import Catalog
from app.core.frames import Frame, Reply
from app.core.state import initial_state
from app.interview.session import RoundDriver, RoundRun
from app.interview.transcript import transcript_runs, transcript_turns
from app.server.protocol import RoundRef, SessionStatus, StateFrame
from app.store.sqlite import SessionRecord

log = logging.getLogger(__name__)

Send = Callable[[Frame], Awaitable[None]]


class NotAwaitingAnswer(Exception):
    """The session is not waiting for the candidate (the interviewer is speaking, or the round is over)."""

    def __init__(self, ended: bool):
        self.ended = ended


class Interviews:
    def __init__(self, driver: RoundDriver):
        self.driver = driver
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # sessions whose last run (in this process) stopped at the answer interrupt: a resume needs no state read
        self._awaiting: set[str] = set()

    @property
    def catalog(self) -> Catalog:
        return self.driver.services.catalog

    async def snapshot(self, session_id: str) -> StateSnapshot:
        return await self.driver.snapshot(session_id)

    async def _stream(self, session_id: str, run: RoundRun, send: Send) -> None:
        self._awaiting.discard(session_id)
        async for frame in run:
            await send(frame)
        if run.awaiting_answer:
            self._awaiting.add(session_id)

    async def advance(self, record: SessionRecord, send: Send) -> bool:
        """Start the session if it is new, or finish a run a fault interrupted. False if nothing to do."""
        async with self._locks[record.id]:
            snap = await self.snapshot(record.id)
            if not snap.values:
                start = initial_state(record.id, record.round_id, record.level, record.plan, time.time())
                await self._stream(record.id, self.driver.start(record.id, start), send)
                return True
            if snap.next and not snap.interrupts:
                await self._stream(record.id, self.driver.carry_on(record.id), send)
                return True
            return False

    async def resume(self, record: SessionRecord, reply: Reply, send: Send) -> None:
        """Feed the candidate's reply (an answer or an end control) to the waiting graph."""
        async with self._locks[record.id]:
            if record.id not in self._awaiting:  # not known from this process's last run: read the state
                snap = await self.snapshot(record.id)
                if not snap.interrupts:
                    raise NotAwaitingAnswer(ended=not snap.next and snap.values.get("phase") == "ended")
            await self._stream(record.id, self.driver.reply(record.id, reply), send)

    async def checkpoint_awaiting(self, record: SessionRecord) -> RunnableConfig | None:
        """The checkpoint of the session's answer interrupt (to take an answer back later), if it awaits one."""
        async with self._locks[record.id]:
            snap = await self.snapshot(record.id)
            return snap.config if snap.interrupts else None

    async def retract(self, record: SessionRecord, checkpoint: RunnableConfig) -> None:
        """Take back the answer given at ``checkpoint`` and everything after it; the session awaits an answer."""
        async with self._locks[record.id]:
            await self.driver.rewind(record.id, checkpoint)
            self._awaiting.add(record.id)

    async def state_frame(
        self,
        record: SessionRecord,
        brain_label: str,
        max_answer_chars: int,
        pad_runs: list[dict[str, Any]] | None = None,
        execution: dict[str, Any] | None = None,
    ) -> StateFrame:
        snap = await self.snapshot(record.id)
        values = snap.values or {}
        rnd = self.catalog.rounds[record.round_id]
        status: SessionStatus
        if values.get("phase") == "ended" and not snap.next:
            status = "ended"
        elif snap.interrupts:
            status = "awaiting_answer"
        else:
            status = "speaking"
        return StateFrame(
            session_id=record.id,
            status=status,
            level=record.level,
            round=RoundRef(id=rnd.id, title=rnd.title, duration_min=rnd.duration_min),
            brain=record.brain,
            brain_label=brain_label,
            turns=transcript_turns(values),
            debrief=values.get("debrief"),
            limits={"max_answer_chars": max_answer_chars},
            runs=transcript_runs(values, pad_runs),
            execution=execution or {},
        )


class RateLimiter:
    """At most ``limit`` events per ``window_s`` per key (sliding window, in memory)."""

    def __init__(self, limit: int, window_s: float = 60.0):
        self.limit, self.window_s = limit, window_s
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        events = self._events[key]
        while events and now - events[0] > self.window_s:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True
