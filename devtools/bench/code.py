"""``barraiser bench --code``: what running the candidate's code costs (docs/performance.md).

- **SQL run time**: every bank SQL question's reference solution through ``SqlSandbox.run_sync`` (a fresh read-only
  copy of the seeded data, the authorizer, the limits, the comparison with the reference), ``--repeat`` times each.
  Goal: at most 50 ms p50.
- **Python start-to-result**: a trivial function through ``PythonSandbox.run`` (a sandboxed child process from spawn
  to parsed result), sequentially and two at a time; and every bank reference solution with its hidden tests once.
  Goal: at most 400 ms p50 for the trivial function on 2 cores.

Numbers are reported, not asserted: this machine is shared and noisy.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from app.config import PROJECT_ROOT
from app.content.catalog import load_catalog
from app.sandbox.python import PythonSandbox, detect_backend
from app.sandbox.sql import SqlSandbox

TRIVIAL = "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n"


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 2) if xs else 0.0


def _stats(xs: list[float]) -> dict[str, float]:
    return {"n": len(xs), "p50_ms": _pct(xs, 0.5), "p95_ms": _pct(xs, 0.95), "max_ms": round(max(xs), 2) if xs else 0.0}


def run_code_bench(repeat: int = 20, backend: str = "auto", bank: bool = True) -> dict[str, Any]:
    catalog = load_catalog(PROJECT_ROOT / "rubrics", PROJECT_ROOT / "prompts")
    sql = SqlSandbox()
    questions = [q for q in catalog.questions.values() if q.sql is not None]
    for q in questions:  # seeds are built once per question, at first use: not part of a run's time
        sql.tables(q)
    sql_times, failures = [], []
    for _ in range(repeat):
        for q in questions:
            started = time.perf_counter()
            result = sql.run_sync(q, q.sql.solution_sql)  # type: ignore[union-attr]
            sql_times.append((time.perf_counter() - started) * 1000)
            if result.status != "ok":
                failures.append(q.id)

    py = PythonSandbox(backend=backend)

    async def python_runs() -> tuple[list[float], list[float], list[float], list[str]]:
        seq, par, banked, bad = [], [], [], []
        await py.run(None, TRIVIAL)  # warm the page cache
        for _ in range(repeat):
            started = time.perf_counter()
            r = await py.run(None, TRIVIAL)
            seq.append((time.perf_counter() - started) * 1000)
            if r.status != "ok" or r.stdout.strip() != "5":
                bad.append("trivial")
        for _ in range(max(1, repeat // 2)):
            started = time.perf_counter()
            pair = await asyncio.gather(py.run(None, TRIVIAL), py.run(None, TRIVIAL))
            elapsed = (time.perf_counter() - started) * 1000
            par += [elapsed] * len(pair)
        if bank:
            for q in catalog.questions.values():
                if q.python is None:
                    continue
                started = time.perf_counter()
                r = await py.run(q, q.python.solution)
                banked.append((time.perf_counter() - started) * 1000)
                if r.status != "ok":
                    bad.append(q.id)
        return seq, par, banked, bad

    seq, par, banked, bad = asyncio.run(python_runs())
    return {
        "cores": os.cpu_count(),
        "sandbox": py.backend,
        "available": _available(),
        "sql": {**_stats(sql_times), "questions": len(questions), "goal_p50_ms": 50, "failures": sorted(set(failures))},
        "python_trivial": {**_stats(seq), "goal_p50_ms": 400},
        "python_trivial_two_at_once": _stats(par),
        "python_bank": {**_stats(banked), "questions": len(banked)},
        "python_failures": sorted(set(bad)),
    }


def _available() -> list[str]:
    found = []
    for name in ("bwrap", "unshare", "rlimits"):
        try:
            if detect_backend(name)[0] == name:
                found.append(name)
        except RuntimeError:
            pass
    return found


def human(report: dict[str, Any]) -> str:
    s, p, pp, pb = report["sql"], report["python_trivial"], report["python_trivial_two_at_once"], report["python_bank"]
    lines = [
        f"code runs on {report['cores']} cores; Python isolated by {report['sandbox']} "
        f"(available here: {', '.join(report['available'])})",
        f"SQL, {s['questions']} bank questions x {s['n'] // max(s['questions'], 1)}: p50 {s['p50_ms']} ms, "
        f"p95 {s['p95_ms']} ms, max {s['max_ms']} ms (goal p50 <= {s['goal_p50_ms']} ms)",
        f"Python, a trivial function, start to result: p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms "
        f"(goal p50 <= {p['goal_p50_ms']} ms); two at once: p50 {pp['p50_ms']} ms",
        f"Python, the {pb['questions']} bank reference solutions with their hidden tests: p50 {pb['p50_ms']} ms, "
        f"max {pb['max_ms']} ms",
    ]
    if s["failures"] or report["python_failures"]:
        lines.append(f"FAILED: {s['failures'] + report['python_failures']}")
    return "\n".join(lines)
