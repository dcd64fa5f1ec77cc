"""``barraiser bench --grading``: the offline grader's CPU per grade.

Every answer of the eval suite's opening turns (the hand-written and the blind-written scenarios: real candidate
wording, 30 to 400 words) is graded by the offline brain against its question, as the round's first answer, in this
process. Each answer is graded ``repeats`` times, cold (the claim matcher's per-answer cache cleared first; the
compiled phrase patterns stay, as in a running server); the report gives the median, p90 and p99 CPU time (process time)
per grade over all answers, the median per answer length band, and the goal (issue 11: at most 2 ms a grade).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from app.brains.offline.grader import OfflineGrader
from app.content.catalog import Catalog
from app.core.state import Turn, initial_state, new_thread
from app.core.view import RoundView
from app.evaluation.scenarios import load_cases
from app.grading.claims import clear_answer_cache

GOAL_MS = 2.0
_BANDS = ((0, 60), (60, 150), (150, 10_000))  # answer length in words


def _view(catalog: Catalog, round_id: str, level: str, question_id: str, answer: str) -> RoundView:
    state = initial_state("bench", round_id, level, [question_id], time.time())
    state["turns"] = [
        Turn(index=0, role="interviewer", text="q", move="ask", question_id=question_id),
        Turn(index=1, role="candidate", text=answer),
    ]
    state["asked_questions"] = [question_id]
    state["stack"] = [new_thread("technical", question_id)]
    return RoundView(state, catalog)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_grading_bench(catalog: Catalog, scenarios: Path, repeats: int = 5) -> dict[str, Any]:
    """Grade every opening answer of the scenarios under ``scenarios`` ``repeats`` times; CPU per grade."""
    grader = OfflineGrader()
    views = []
    for case in load_cases([scenarios], catalog):
        sc = case.scenario
        question = sc.start.question if sc.start else None
        if question and sc.turns:
            views.append(_view(catalog, sc.round, sc.level, question, sc.turns[0].say))
    per_answer: list[tuple[int, float]] = []
    for view in views:
        answer = view.last_answer
        assert answer is not None
        samples = []
        for _ in range(repeats):
            clear_answer_cache()  # each grade cold: nothing read of this answer before
            start = time.process_time()
            grader.grade(view)
            samples.append((time.process_time() - start) * 1000)
        per_answer.append((len(answer["text"].split()), statistics.median(samples)))
    ms = [m for _, m in per_answer]
    bands = {
        f"{lo}-{hi if hi < 10_000 else ''} words".replace("- ", "+ "): statistics.median(v)
        for lo, hi in _BANDS
        if (v := [m for w, m in per_answer if lo <= w < hi])
    }
    return {
        "answers": len(per_answer),
        "repeats": repeats,
        "cpu_ms_per_grade": {"p50": statistics.median(ms), "p90": _quantile(ms, 0.9), "p99": _quantile(ms, 0.99)},
        "by_length": bands,
        "goal_ms": GOAL_MS,
        "meets_goal": statistics.median(ms) <= GOAL_MS,
    }


def human(report: dict[str, Any]) -> str:
    cpu = report["cpu_ms_per_grade"]
    lines = [
        f"offline grading: {report['answers']} answers x{report['repeats']}",
        f"  CPU per grade: p50 {cpu['p50']:.2f} ms, p90 {cpu['p90']:.2f} ms, p99 {cpu['p99']:.2f} ms "
        f"(goal: p50 <= {report['goal_ms']:.1f} ms: {'met' if report['meets_goal'] else 'NOT met'})",
    ]
    lines += [f"  {band}: p50 {ms:.2f} ms" for band, ms in report["by_length"].items()]
    return "\n".join(lines)
