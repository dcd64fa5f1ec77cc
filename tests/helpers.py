"""Helpers shared by the tests: a round driven through the session driver, frames as their wire JSON."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Checkpointer

from app.content.catalog import Catalog
from app.core.ports import Brain
from app.core.state import initial_state
from app.interview.graph import build_graph
from app.interview.nodes import Services
from app.interview.session import RoundDriver, RoundRun


class Round:
    """One session's round (in memory unless a checkpointer is given), driven like the server drives it."""

    def __init__(
        self,
        brain: Brain,
        catalog: Catalog,
        *,
        round_id: str = "ml_breadth",
        level: str = "L5",
        plan: Sequence[str] = ("ml-bias-variance", "ml-l1-vs-l2"),
        session: str = "s1",
        checkpointer: Checkpointer = None,
    ):
        self.driver = RoundDriver(build_graph(checkpointer or InMemorySaver()), Services(brain=brain, catalog=catalog))
        self.session = session
        self.start = initial_state(session, round_id, level, list(plan), time.time())
        self.graph, self.config = self.driver.graph, RoundDriver.config(session)

    @staticmethod
    async def _wire(run: RoundRun) -> list[dict[str, Any]]:
        return [f.wire() async for f in run]

    async def open(self) -> list[dict[str, Any]]:
        return await self._wire(self.driver.start(self.session, self.start))

    async def answer(self, text: str) -> list[dict[str, Any]]:
        return await self._wire(self.driver.answer(self.session, text))

    async def end(self) -> list[dict[str, Any]]:
        return await self._wire(self.driver.end(self.session))

    async def values(self) -> dict[str, Any]:
        return (await self.driver.snapshot(self.session)).values


def done(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``interviewer_done`` frames among ``frames``."""
    return [f for f in frames if f["type"] == "interviewer_done"]
