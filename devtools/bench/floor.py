"""The floor behind ``barraiser bench --floor``: what the fixed parts of the stack cost per turn before Bar Raiser
does any work.

A turn always runs the round graph on LangGraph with a checkpointer and makes two calls with the ``openai`` client
(the reply, streamed, and the grade). Both are measured here alone, in this process, with nothing of the interview
in them, so ``cpu_ms_per_turn`` from ``barraiser bench`` can be read against a floor:

- ``langgraph_ms_per_turn``: a graph of the round's shape (``respond`` -> ``await_answer`` (interrupt) ->
  ``grade`` beside ``respond``), whose nodes only return a turn and stream 8 custom frames, on the in-memory
  checkpointer with ``durability="sync"``; ``sessions`` threads concurrently, ``turns`` resumes each.
- ``openai_client_ms_per_turn``: ``AsyncOpenAI`` built by ``app.llm.client.make_client`` (the server's transport and
  limits) posting one streamed and one plain chat completion per turn to the fake LLM (no delay, short answers),
  reading the stream's bytes and nothing more.

CPU is this process's ``time.process_time()``; each figure is the median of ``repeats`` runs. The fake runs in its
own process and is not counted.
"""

from __future__ import annotations

import asyncio
import gc
import operator
import statistics
import time
from typing import Annotated, TypedDict

import httpx2
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from app.config import Settings
from app.llm.client import make_client
from app.server.runtime import tune_gc_for_serving
from devtools.fake_llm.harness import FakeLLM


class _State(TypedDict):
    turns: Annotated[list, operator.add]
    grades: Annotated[list, operator.add]


async def _respond(state: _State) -> dict:
    write = get_stream_writer()
    for _ in range(8):
        write({"type": "interviewer_delta", "text": "word"})
    return {"turns": [{"role": "interviewer", "text": "question"}]}


def _await_answer(state: _State) -> dict:
    return {"turns": [{"role": "candidate", "text": interrupt({"awaiting": "answer"})}]}


async def _grade(state: _State) -> dict:
    return {"grades": [{"overall": None}]}


def _floor_graph():
    graph = StateGraph(_State)
    graph.add_node("respond", _respond)
    graph.add_node("await_answer", _await_answer)
    graph.add_node("grade", _grade)
    graph.add_edge(START, "respond")
    graph.add_edge("respond", "await_answer")
    graph.add_conditional_edges("await_answer", lambda _: ["grade", "respond"], ["grade", "respond"])
    graph.add_edge("grade", END)
    return graph.compile(checkpointer=InMemorySaver())


async def langgraph_ms_per_turn(sessions: int, turns: int) -> float:
    graph = _floor_graph()

    async def session(thread: str) -> None:
        config = {"configurable": {"thread_id": thread}}
        async for _ in graph.astream({"turns": [], "grades": []}, config, stream_mode="custom", durability="sync"):
            pass
        for _ in range(turns - 1):
            async for _ in graph.astream(Command(resume="an answer"), config, stream_mode="custom", durability="sync"):
                pass

    await session("warm-up")
    start = time.process_time()
    await asyncio.gather(*(session(f"t{i}") for i in range(sessions)))
    return (time.process_time() - start) * 1000 / (sessions * turns)


async def openai_client_ms_per_turn(base_url: str, turns: int, concurrency: int) -> float:
    client = make_client(Settings(_env_file=None, llm_base_url=base_url, llm_max_retries=0))
    messages = [{"role": "system", "content": "You are the interviewer."}, {"role": "user", "content": "Go on."}]
    gate = asyncio.Semaphore(concurrency)

    async def turn() -> None:
        async with gate:
            response = await client.post(
                "/chat/completions",
                cast_to=httpx2.Response,
                stream=True,
                body={"model": "floor", "messages": messages, "stream": True},
            )
            try:
                async for _ in response.aiter_bytes():
                    pass
            finally:
                await response.aclose()
            await client.post("/chat/completions", cast_to=bytes, body={"model": "floor", "messages": messages})

    try:
        await asyncio.gather(*(turn() for _ in range(concurrency)))  # warm-up: connections, lazy imports
        start = time.process_time()
        await asyncio.gather(*(turn() for _ in range(turns)))
        return (time.process_time() - start) * 1000 / turns
    finally:
        await client.close()


def run_floor(sessions: int = 50, turns: int = 5, repeats: int = 5) -> dict:
    """The floor report (see the module doc)."""
    threshold = gc.get_threshold()
    tune_gc_for_serving()  # as the server runs
    graph_runs, client_runs = [], []
    try:
        with FakeLLM(
            {"rules": [{"match": {}, "respond": {"content": '{"ok": true}'}}]}, ttft_ms=0, tokens_per_s=0
        ) as fake:
            for _ in range(repeats):
                graph_runs.append(asyncio.run(langgraph_ms_per_turn(sessions, turns)))
                client_runs.append(asyncio.run(openai_client_ms_per_turn(fake.base_url, sessions * turns, sessions)))
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    graph_ms, client_ms = statistics.median(graph_runs), statistics.median(client_runs)
    return {
        "langgraph_ms_per_turn": round(graph_ms, 3),
        "openai_client_ms_per_turn": round(client_ms, 3),
        "floor_ms_per_turn": round(graph_ms + client_ms, 3),
        "runs": {"langgraph": [round(x, 3) for x in graph_runs], "openai_client": [round(x, 3) for x in client_runs]},
        "settings": {"sessions": sessions, "turns": turns, "repeats": repeats},
    }


def human(report: dict) -> str:
    s = report["settings"]
    return "\n".join(
        [
            f"floor of the fixed stack per turn (no interview work; CPU of this process; median of {s['repeats']} runs, "
            f"{s['sessions']} sessions x {s['turns']} turns):",
            f"  LangGraph (round-shaped graph, no-op nodes, in-memory checkpointer): "
            f"{report['langgraph_ms_per_turn']} ms",
            f"  openai client (one streamed + one plain chat completion, loopback): "
            f"{report['openai_client_ms_per_turn']} ms",
            f"  together: {report['floor_ms_per_turn']} ms",
        ]
    )
