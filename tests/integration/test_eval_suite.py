"""The recorded-transcript regression suite runs in CI: `barraiser eval` over evals/ with the offline brain must
pass every check and meet the thresholds in evals/config.yaml, so a prompt, rubric or rule change that breaks
interviewer behaviour or grading fails the build."""

from __future__ import annotations

import json
import subprocess
import sys

from app.config import PROJECT_ROOT


def test_offline_eval_suite_passes(tmp_path):
    report = tmp_path / "eval.json"
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "eval", "--brain", "offline", "--json", str(report)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=1200,  # ~1,200 scenarios: about a minute on an idle 2-core machine
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    data = json.loads(report.read_text())
    assert data["scenarios"] >= 900  # the hand-written scenarios and the blind-written ones
    assert data["checks"]["passed"] == data["checks"]["total"]
    assert data["injection"]["grade_rises"] == 0 and data["answer_leaks"] == 0
    assert data["repeated_questions"] == 0 and data["unanswered_clarifications"] == 0
    assert data["holdout"]["scenarios"] >= 200  # reported separately, never gating
