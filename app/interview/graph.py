"""The round graph, assembled. It reads like its diagram:

    START ─> respond ─> await_answer ─> run_code ──┬─> grade_turn ─> END   (grading runs beside the reply)
                ^                                  └─> respond ─> ...
                └────────────────── (loop) ─────────────┘
    respond ── move == end ──> close_round ─> END
    await_answer ── control: end ──> close_round

``respond`` decides the next move within the rules and streams it; ``await_answer`` interrupts until the
candidate answers; ``run_code`` runs the answer's code on a SQL or Python question (nothing otherwise), so that
the reply and the grade can follow what it did; ``grade_turn`` grades the answer in parallel with the next
``respond``; ``close_round`` writes the debrief.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from app.core.state import InterviewState
from app.interview.nodes import (
    Services,
    after_answer,
    after_reply,
    await_answer,
    close_round,
    grade_turn,
    respond,
    run_code,
)

RoundGraph = CompiledStateGraph[InterviewState, Services, InterviewState, InterviewState]


def build_graph(checkpointer: Checkpointer) -> RoundGraph:
    graph = StateGraph(InterviewState, context_schema=Services)
    graph.add_node("respond", respond)
    graph.add_node("await_answer", await_answer)
    graph.add_node("run_code", run_code)
    graph.add_node("grade_turn", grade_turn)
    graph.add_node("close_round", close_round)

    graph.add_edge(START, "respond")
    graph.add_conditional_edges("respond", after_reply, ["await_answer", "close_round"])
    graph.add_conditional_edges("await_answer", after_answer, ["run_code", "close_round"])
    graph.add_edge("run_code", "grade_turn")
    graph.add_edge("run_code", "respond")
    graph.add_edge("grade_turn", END)
    graph.add_edge("close_round", END)
    return graph.compile(checkpointer=checkpointer)
