"""``barraiser bench --code``'s small run: the report has the SQL and Python medians and the goals; every bank
reference solution passes on the way. Numbers are reported (docs/performance.md), not asserted."""

from __future__ import annotations

import json
import subprocess
import sys

from app.config import PROJECT_ROOT


def test_a_small_code_bench_reports_sql_and_python_medians() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "bench", "--code", "--repeat", "2", "--json"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["sql"]["questions"] >= 25 and report["sql"]["n"] == 2 * report["sql"]["questions"]
    assert report["sql"]["failures"] == [] and report["python_failures"] == []
    assert report["python_trivial"]["n"] == 2 and report["python_trivial"]["p50_ms"] > 0
    assert report["python_bank"]["questions"] >= 16
    assert report["sql"]["goal_p50_ms"] == 50 and report["python_trivial"]["goal_p50_ms"] == 400
    assert report["sandbox"] in report["available"]
