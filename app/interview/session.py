"""Drives a session's round on the compiled graph: the one place that knows how a round is started, answered,
ended and recovered, and how its frames are read. The server, the eval runner, the benchmark and the tests all go
through :class:`RoundDriver`.

One LangGraph thread per session (thread id = session id). A run streams the frames the nodes write
(``stream_mode="custom"``) and notes whether it stopped at the answer interrupt.

**Recovery** (:meth:`RoundDriver.recover`) decides from the latest checkpoint's tasks and pending writes, never from
``StateSnapshot.next`` alone: ``next`` leaves out tasks that already have their writes, so a crash between a step's
last write and the next checkpoint would look like "nothing to do" forever. A session is *runnable* when any task
of its latest checkpoint has no writes and no interrupt, has writes not yet applied, or is interrupted but already
answered (the reply is a pending write); running the graph on with no input (:meth:`RoundDriver.carry_on`) then
finishes it. It *awaits an answer* only when its one task is interrupted and nothing answered it.

**Storage faults.** A run does not start while the durable log refuses writes (``DurableWrites.ready``); a run
already under way when the disk fails goes on to its end in memory (its words are out), so a reconnect is served
what the candidate was told, and its receipt fails: nothing is claimed saved.

**Receipts.** A reply run knows when the reply is on disk: once the graph has taken it (the ``await_answer``
update), the position of the last queued write is marked and ``RoundRun.received`` completes when the durable log
(``DurableWrites``, the SQLite checkpointer) has committed up to it. The reply is a pending write of the interrupt's
checkpoint, queued before ``await_answer`` runs, so a committed receipt survives any crash: recovery runs it on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command, StateSnapshot

from app.core.durability import DurableWrites
from app.core.frames import Frame, Reply, answer_reply, end_reply
from app.core.state import InterviewState
from app.interview.graph import RoundGraph
from app.interview.nodes import Services

Durability = Literal["sync", "async", "exit"]
Standing = Literal["new", "runnable", "awaiting_answer", "ended"]

_RESUME, _NULL_TASK = "__resume__", "00000000-0000-0000-0000-000000000000"  # LangGraph's own names


@dataclass(frozen=True)
class Point:
    """Where a session's round stands, read from its latest checkpoint (see the module doc)."""

    standing: Standing
    values: dict[str, Any] = field(default_factory=dict)
    pending_turn: int | None = None  # awaiting_answer: the index of the interviewer turn waiting for its answer
    answered: Reply | None = None  # runnable: a reply the graph took but has not processed yet

    @property
    def turns(self) -> list[dict[str, Any]]:
        return list(self.values.get("turns") or [])

    def answer_index(self, answer_id: str) -> int | None:
        """The transcript index of the candidate turn that carries ``answer_id``, if the round has it."""
        for turn in self.turns:
            if turn.get("role") == "candidate" and turn.get("answer_id") == answer_id:
                return int(turn["index"])
        return None


class RoundRun:
    """One run of the graph for one session: iterate it for the frames, then read ``awaiting_answer``.
    For a reply run, ``received`` completes once the reply is durable (see the module doc)."""

    def __init__(self, driver: RoundDriver, thread_id: str, graph_input: Any, *, reply: bool = False):
        self.driver, self.thread_id, self.graph_input = driver, thread_id, graph_input
        self.awaiting_answer = False  # the run stopped at the answer interrupt (the candidate owes an answer)
        self.received: asyncio.Future[None] | None = None
        if reply:
            with contextlib.suppress(RuntimeError):  # no running loop: nobody can wait for a receipt anyway
                self.received = asyncio.get_running_loop().create_future()
        self._receipt: asyncio.Task[None] | None = None

    async def __aiter__(self) -> AsyncIterator[Frame]:
        d = self.driver
        try:
            if d.durable is not None:
                await d.durable.ready()  # no run starts while nothing it does could be saved
            async for mode, chunk in d.graph.astream(
                self.graph_input,
                d.config(self.thread_id),
                context=d.services,
                stream_mode=["custom", "updates"],
                durability=d.durability,
            ):
                if mode == "custom":
                    if not isinstance(chunk, Frame):  # nodes write frames only (app/core/frames.py)
                        raise TypeError(f"a node wrote {type(chunk).__name__}, not a Frame")
                    yield chunk
                elif "__interrupt__" in chunk:
                    self.awaiting_answer = True
                elif "await_answer" in chunk and self.received is not None and self._receipt is None:
                    self._receipt = asyncio.create_task(self._confirm(d.durable.mark() if d.durable else 0))
        except BaseException as exc:
            if self.received is not None and not self.received.done() and self._receipt is None:
                self.received.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
                self.received.exception()  # retrieved: nobody has to wait for it
            raise
        finally:
            if self.received is not None and not self.received.done() and self._receipt is None:
                self.received.cancel()  # the graph never took the reply

    async def _confirm(self, mark: int) -> None:
        assert self.received is not None
        try:
            if self.driver.durable is not None:
                await self.driver.durable.wait_durable(mark)
        except Exception as exc:
            if not self.received.done():
                self.received.set_exception(exc)
                self.received.exception()
            return
        if not self.received.done():
            self.received.set_result(None)

    async def frames(self) -> list[Frame]:
        """Run to the end and return every frame."""
        return [f async for f in self]


class RoundDriver:
    """Starts, answers, ends and recovers sessions' rounds on one compiled graph. ``durable``: the checkpointer's
    durable log, when it writes behind (None: what the checkpointer holds is kept as soon as it is put)."""

    def __init__(
        self,
        graph: RoundGraph,
        services: Services,
        durability: Durability = "sync",
        durable: DurableWrites | None = None,
    ):
        self.graph, self.services, self.durability, self.durable = graph, services, durability, durable

    @staticmethod
    def config(thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}}

    async def snapshot(self, thread_id: str) -> StateSnapshot:
        return await self.graph.aget_state(self.config(thread_id))

    async def recover(self, thread_id: str) -> Point:
        """Where the session stands, from its latest checkpoint's tasks and pending writes (module doc)."""
        snap = await self.snapshot(thread_id)
        values = dict(snap.values or {})
        if not values:
            return Point("new")
        if not snap.tasks:
            return Point("ended", values)
        saver = self.graph.checkpointer
        found = await saver.aget_tuple(self.config(thread_id)) if isinstance(saver, BaseCheckpointSaver) else None
        pending = list(found.pending_writes or []) if found is not None else []
        answered: Reply | None = None
        for task_id, channel, value in pending:
            if channel == _RESUME and (task_id == _NULL_TASK or any(t.id == task_id for t in snap.tasks)):
                if isinstance(value, dict) and value.get("type") in ("answer", "control"):
                    answered = cast(Reply, value)
        interrupted = [t for t in snap.tasks if t.interrupts]
        if interrupted and answered is None and all(t.interrupts or t.result is not None for t in snap.tasks):
            last = values.get("turns", [])[-1:] or [{}]
            index = last[0].get("index") if last[0].get("role") == "interviewer" else None
            return Point("awaiting_answer", values, pending_turn=index)
        return Point("runnable", values, answered=answered)

    def start(self, thread_id: str, state: InterviewState) -> RoundRun:
        """Open the round: the interviewer's first turn."""
        return RoundRun(self, thread_id, state)

    def answer(self, thread_id: str, text: str, answer_id: str | None = None) -> RoundRun:
        """The candidate's answer to the pending interviewer turn: the reply and the answer's grade."""
        return self.reply(thread_id, answer_reply(text, answer_id))

    def end(self, thread_id: str) -> RoundRun:
        """End the round now: the goodbye and the debrief."""
        return self.reply(thread_id, end_reply())

    def reply(self, thread_id: str, reply: Reply) -> RoundRun:
        return RoundRun(self, thread_id, Command(resume=reply), reply=True)

    async def rewind(self, thread_id: str, checkpoint: RunnableConfig) -> None:
        """Take back what happened after ``checkpoint`` (a state where the round awaited an answer): the thread
        forks there and waits for an answer again. A spoken answer the candidate went on with after the
        interviewer had begun becomes one turn this way (app/server/voice.py)."""
        # a checkpoint's own pending writes would replay the old answer, so branch off it as if ``respond`` had
        # just finished there, then run up to the answer interrupt again
        if self.durable is not None:
            await self.durable.ready()
        await self.graph.aupdate_state(checkpoint, {"turns": []}, as_node="respond")
        async for _ in self.graph.astream(
            None, self.config(thread_id), context=self.services, stream_mode=["updates"], durability=self.durability
        ):
            pass

    def carry_on(self, thread_id: str) -> RoundRun:
        """Finish a run a fault interrupted (run the graph on with no new input)."""
        return RoundRun(self, thread_id, None)


async def cancel_quietly(task: asyncio.Task[Any] | None) -> None:
    """Cancel a helper task and wait for it, whatever it raised."""
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
