"""Runs interview sessions for the server: one run at a time per session, frames streamed to the caller.

The graph's state lives in the checkpointer, so any connection (after a reload, or after a server restart)
picks a session up exactly where it was. Runs go through the session driver (app/interview/session.py), and what a
session needs next is decided by its ``recover()``: from the latest checkpoint's tasks and pending writes, so a
crash at any point of a turn leaves a session that either waits for an answer or is run on, never one that is stuck.

Answers are confirmed: ``answer()`` sends ``answer_received`` once the answer is on disk (the run's receipt), a
resend of an answer the round already has (same ``answer_id``) is confirmed again and never filed twice, and an
answer to a turn that is not the pending one is refused (:class:`StaleTurn`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot

from app.content.catalog import Catalog
from app.core.durability import StorageError
from app.core.frames import AnswerReceived, Frame, InterviewerDone, Reply, answer_reply
from app.core.state import initial_state
from app.interview.session import Point, RoundDriver, RoundRun
from app.interview.transcript import transcript_runs, transcript_turns
from app.server.exam import debrief_for, turns_for
from app.server.protocol import RoundRef, SessionStatus, StateFrame
from app.store.sqlite import SessionRecord

log = logging.getLogger(__name__)

Send = Callable[[Frame], Awaitable[None]]
Advanced = Literal["started", "recovered", "nothing"]


class NotAwaitingAnswer(Exception):
    """The session is not waiting for the candidate (the interviewer is speaking, or the round is over)."""

    def __init__(self, ended: bool):
        self.ended = ended


class StaleTurn(Exception):
    """An answer to an interviewer turn that is not the one waiting for an answer (its sender had not seen the
    newer turns): refused, never filed against a turn its sender did not see."""

    def __init__(self, answered: int, pending: int | None):
        super().__init__(f"answer to turn {answered}, but the turn waiting for an answer is {pending}")
        self.answered, self.pending = answered, pending


def _status(point: Point) -> SessionStatus:
    if point.standing == "ended":
        return "ended"
    return "awaiting_answer" if point.standing == "awaiting_answer" else "speaking"


class Interviews:
    def __init__(self, driver: RoundDriver):
        self.driver = driver
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # sessions whose last run (in this process) stopped at the answer interrupt, with the index of the turn
        # waiting for the answer when that run said it: a resume then needs no state read
        self._awaiting: dict[str, int | None] = {}

    @property
    def catalog(self) -> Catalog:
        return self.driver.services.catalog

    async def snapshot(self, session_id: str) -> StateSnapshot:
        return await self.driver.snapshot(session_id)

    async def point(self, session_id: str) -> Point:
        """Where the session stands (the driver's ``recover``: one state read)."""
        return await self.driver.recover(session_id)

    async def _stream(self, session_id: str, run: RoundRun, send: Send) -> None:
        self._awaiting.pop(session_id, None)
        last_done: int | None = None
        async for frame in run:
            if isinstance(frame, InterviewerDone):
                last_done = frame.index
            await send(frame)
        if run.awaiting_answer:
            self._awaiting[session_id] = last_done

    async def advance(
        self, record: SessionRecord, send: Send, caught_up: Callable[[], Awaitable[None]] | None = None
    ) -> Advanced:
        """Start the session if it is new, or run on a session a fault interrupted (whatever the point of the turn
        it stopped at). ``nothing`` when it waits for an answer or has ended. After a recovery run, ``caught_up``
        is awaited before any other run of the session may start (the tab gets the fresh state first)."""
        async with self._locks[record.id]:
            point = await self.point(record.id)
            if point.standing == "new":
                start = initial_state(record.id, record.round_id, record.level, record.plan, time.time())
                await self._stream(record.id, self.driver.start(record.id, start), send)
                return "started"
            if point.standing == "runnable":
                log.info("session %s: running on from its last checkpoint", record.id)
                await self._stream(record.id, self.driver.carry_on(record.id), send)
                if caught_up is not None:
                    await caught_up()
                return "recovered"
            return "nothing"

    async def answer(
        self,
        record: SessionRecord,
        text: str,
        answer_id: str | None,
        turn: int | None,
        send: Send,
        voice: dict[str, Any] | None = None,
        code: str | None = None,
        language: str | None = None,
    ) -> None:
        """File the candidate's answer against the pending interviewer turn; ``answer_received`` once it is on disk.
        Raises :class:`NotAwaitingAnswer`, :class:`StaleTurn`, or :class:`StorageError` when it could not be saved."""
        async with self._locks[record.id]:
            pending = self._awaiting.get(record.id)
            if pending is None or (turn is not None and turn != pending):
                point = await self.point(record.id)
                if answer_id is not None and (index := point.answer_index(answer_id)) is not None:
                    return await self._confirm_again(index, answer_id, send)
                if point.standing != "awaiting_answer":
                    raise NotAwaitingAnswer(ended=point.standing == "ended")
                pending = point.pending_turn
                if pending is None or (turn is not None and turn != pending):
                    raise StaleTurn(turn if turn is not None else -1, pending)
            run = self.driver.reply(record.id, answer_reply(text, answer_id, voice, code, language))
            receipt = asyncio.create_task(self._receipt(run, answer_id, pending, send))
            try:
                await self._stream(record.id, run, send)
            except BaseException:
                receipt.cancel()
                with contextlib.suppress(BaseException):
                    await receipt
                raise
            await receipt  # raises StorageError if the answer could not be saved

    async def _receipt(self, run: RoundRun, answer_id: str | None, turn: int, send: Send) -> None:
        assert run.received is not None
        try:
            await run.received
        except StorageError:
            raise  # taken, but not on disk: nothing may be claimed saved
        except BaseException:
            return  # the run never took the answer (it failed first): the run's own error says so
        await send(AnswerReceived(answer_id=answer_id, index=turn + 1, turn=turn))

    async def _confirm_again(self, index: int, answer_id: str, send: Send) -> None:
        """A resend of an answer the round already has: confirm it once it is on disk; nothing is filed twice."""
        durable = self.driver.durable
        if durable is not None:
            await durable.wait_durable(durable.mark())
        await send(AnswerReceived(answer_id=answer_id, index=index, turn=index - 1))

    async def find_answer(self, record: SessionRecord, answer_id: str, send: Send) -> bool:
        """If the round already has this answer, confirm it again (``answer_received``) and say True."""
        point = await self.point(record.id)
        index = point.answer_index(answer_id)
        if index is None:
            return False
        await self._confirm_again(index, answer_id, send)
        return True

    async def resume(self, record: SessionRecord, reply: Reply, send: Send) -> None:
        """Feed a reply (the end control) to the waiting graph."""
        async with self._locks[record.id]:
            if record.id not in self._awaiting:  # not known from this process's last run: read the state
                point = await self.point(record.id)
                if point.standing != "awaiting_answer":
                    raise NotAwaitingAnswer(ended=point.standing == "ended")
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
            self._awaiting.pop(record.id, None)  # the pending turn is read from the rewound state

    async def state_frame(
        self,
        record: SessionRecord,
        brain_label: str,
        max_answer_chars: int,
        pad_runs: list[dict[str, Any]] | None = None,
        execution: dict[str, Any] | None = None,
    ) -> StateFrame:
        point = await self.point(record.id)
        rnd = self.catalog.rounds[record.round_id]
        status = _status(point)
        ended = status == "ended"
        return StateFrame(
            session_id=record.id,
            mode=record.mode,
            status=status,
            level=record.level,
            round=RoundRef(id=rnd.id, title=rnd.title, duration_min=rnd.duration_min),
            brain=record.brain,
            brain_label=brain_label,
            turns=turns_for(transcript_turns(point.values), record.mode, ended),
            debrief=debrief_for(point.values, record.mode, ended),
            limits={"max_answer_chars": max_answer_chars},
            started_at=point.values.get("started_at"),
            runs=transcript_runs(point.values, pad_runs),
            execution=execution or {},
        )


class RateLimiter:
    """At most ``limit`` events per ``window_s`` per key (sliding window, in memory). Keys idle for a whole window
    are forgotten, so many keys cannot grow it without bound."""

    def __init__(self, limit: int, window_s: float = 60.0, max_keys: int = 10_000):
        self.limit, self.window_s, self.max_keys = limit, window_s, max_keys
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        if len(self._events) > self.max_keys:
            self._forget_idle(now)
        events = self._events[key]
        while events and now - events[0] > self.window_s:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, ev in self._events.items() if not ev or now - ev[-1] > self.window_s]:
            del self._events[key]


__all__ = ["Interviews", "NotAwaitingAnswer", "RateLimiter", "StaleTurn", "StorageError"]
