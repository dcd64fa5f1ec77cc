"""Drives a session's round on the compiled graph: the one place that knows how a round is started, answered,
ended and recovered, and how its frames are read. The server, the eval runner, the benchmark and the tests all go
through :class:`RoundDriver`.

One LangGraph thread per session (thread id = session id). A run streams the frames the nodes write
(``stream_mode="custom"``) and notes whether it stopped at the answer interrupt.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, StateSnapshot

from app.core.frames import Frame, Reply, answer_reply, end_reply
from app.core.state import InterviewState
from app.interview.graph import RoundGraph
from app.interview.nodes import Services

Durability = Literal["sync", "async", "exit"]


class RoundRun:
    """One run of the graph for one session: iterate it for the frames, then read ``awaiting_answer``."""

    def __init__(self, driver: RoundDriver, thread_id: str, graph_input: Any):
        self.driver, self.thread_id, self.graph_input = driver, thread_id, graph_input
        self.awaiting_answer = False  # the run stopped at the answer interrupt (the candidate owes an answer)

    async def __aiter__(self) -> AsyncIterator[Frame]:
        d = self.driver
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

    async def frames(self) -> list[Frame]:
        """Run to the end and return every frame."""
        return [f async for f in self]


class RoundDriver:
    """Starts, answers, ends and recovers sessions' rounds on one compiled graph."""

    def __init__(self, graph: RoundGraph, services: Services, durability: Durability = "sync"):
        self.graph, self.services, self.durability = graph, services, durability

    @staticmethod
    def config(thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}}

    async def snapshot(self, thread_id: str) -> StateSnapshot:
        return await self.graph.aget_state(self.config(thread_id))

    def start(self, thread_id: str, state: InterviewState) -> RoundRun:
        """Open the round: the interviewer's first turn."""
        return RoundRun(self, thread_id, state)

    def answer(self, thread_id: str, text: str) -> RoundRun:
        """The candidate's answer to the pending interviewer turn: the reply and the answer's grade."""
        return self.reply(thread_id, answer_reply(text))

    def end(self, thread_id: str) -> RoundRun:
        """End the round now: the goodbye and the debrief."""
        return self.reply(thread_id, end_reply())

    def reply(self, thread_id: str, reply: Reply) -> RoundRun:
        return RoundRun(self, thread_id, Command(resume=reply))

    async def rewind(self, thread_id: str, checkpoint: RunnableConfig) -> None:
        """Take back what happened after ``checkpoint`` (a state where the round awaited an answer): the thread
        forks there and waits for an answer again. A spoken answer the candidate went on with after the
        interviewer had begun becomes one turn this way (app/server/voice.py)."""
        # a checkpoint's own pending writes would replay the old answer, so branch off it as if ``respond`` had
        # just finished there, then run up to the answer interrupt again
        await self.graph.aupdate_state(checkpoint, {"turns": []}, as_node="respond")
        async for _ in self.graph.astream(
            None, self.config(thread_id), context=self.services, stream_mode=["updates"], durability=self.durability
        ):
            pass

    def carry_on(self, thread_id: str) -> RoundRun:
        """Finish a run a fault interrupted (run the graph on with no new input)."""
        return RoundRun(self, thread_id, None)
