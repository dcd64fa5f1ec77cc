"""The replay suite runs in CI: `barraiser eval evals/replay --brain replay --cassettes evals/cassettes` feeds the
LLM brain from recorded cassettes, with no model endpoint configured, and must pass every check. A scenario whose
calls were never recorded fails with an error naming the scenario and the turn (never a live call), and the
recorder (devtools/record_replay.py) still regenerates cassettes that replay green."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from app.config import PROJECT_ROOT

REPLAY = PROJECT_ROOT / "evals" / "replay"
CASSETTES = PROJECT_ROOT / "evals" / "cassettes"
NO_ENDPOINT = (
    "BARRAISER_LLM_BASE_URL",
    "OPENAI_BASE_URL",
    "BARRAISER_LLM_API_KEY",
    "OPENAI_API_KEY",
    "BARRAISER_BRAIN",
)


def offline_env() -> dict:
    """The environment without any LLM endpoint: a replay must not need one."""
    return {k: v for k, v in os.environ.items() if k not in NO_ENDPOINT}


def run_eval(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "eval", *argv],
        cwd=PROJECT_ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def scenario_ids() -> list[str]:
    ids = []
    for f in sorted(REPLAY.glob("*.yaml")):
        m = re.search(r"^id:\s*(\S+)", f.read_text(), re.MULTILINE)
        assert m, f"{f}: no id"
        ids.append(m.group(1))
    return ids


def test_every_replay_scenario_has_a_cassette() -> None:
    ids = scenario_ids()
    assert len(ids) >= 5
    missing = [i for i in ids if not (CASSETTES / f"{i}.jsonl").is_file()]
    assert not missing, f"no cassette for {missing}: run `.venv/bin/python -m devtools.record_replay --check`"


def test_replay_suite_passes_without_an_llm_endpoint(tmp_path: Path) -> None:
    out = tmp_path / "replay.json"
    proc = run_eval("evals/replay", "--brain", "replay", "--cassettes", "evals/cassettes", "--json", str(out))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["brain"] == "replay" and data["passed"] is True
    assert data["scenarios"] == data["scenarios_passed"] == len(scenario_ids())
    assert data["checks"]["passed"] == data["checks"]["total"] > 0
    assert all(r["passed"] and not r["failures"] for r in data["results"])
    # the scripted grader agrees with the golden grades once its quotes are verified ...
    assert data["grades"]["n"] >= 15 and data["grades"]["exact"] == 1.0
    # ... and the injection scenario's fabricated quotes are dropped: no grade rises, the abstention holds
    assert data["injection"] == {"scenarios": 1, "grade_rises": 0}
    assert data["grades"]["abstention"] == {"n": 1, "agreement": 1.0}
    assert data["answer_leaks"] == 0
    moves = {r["id"]: r["moves"] for r in data["results"]}
    assert {"lp_pivot", "return"} <= set(moves["replay-ml-bias-variance-earn-trust"])
    assert "failure_probe" in moves["replay-proj-walkthrough-failure-probe"]
    injection = next(r for r in data["results"] if r["id"] == "replay-ml-auc-injection")
    assert [t["predicted"] for t in injection["turns"]] == [None, 1, 3]  # the grader said 4 on the first two


def test_unrecorded_calls_fail_naming_scenario_and_turn(tmp_path: Path) -> None:
    """A copy of a scenario under a new id has no cassette: it fails at the opening (turn 0). The same scenario
    with one candidate turn more than was recorded replays up to that turn, then names it. Never a live call."""
    source = (REPLAY / "causal-peeking-hint.yaml").read_text()
    (tmp_path / "unrecorded.yaml").write_text(
        re.sub(r"^id:.*$", "id: replay-never-recorded", source, count=1, flags=re.MULTILINE)
    )
    extra = '  - say: "I would also add a guardrail metric that can stop the test for harm."\n'
    (tmp_path / "extended.yaml").write_text(source.replace("expect_round:", extra + "expect_round:", 1))
    out = tmp_path / "report.json"
    proc = run_eval(str(tmp_path), "--brain", "replay", "--cassettes", "evals/cassettes", "--json", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    results = {r["id"]: r for r in json.loads(out.read_text())["results"]}
    assert not any(r["passed"] for r in results.values())

    missing = "\n".join(results["replay-never-recorded"]["failures"])
    assert "CassetteMiss: no recorded respond call for turn 0 (attempt 0) of 'replay-never-recorded'" in missing
    assert "record it again with --record" in missing
    assert "replay-never-recorded" in proc.stdout and "no recorded respond call for turn 0" in proc.stdout

    # the opening is turn 0; three answers and replies are turns 1-6; the new answer is turn 7, its reply turn 8
    extended = "\n".join(results["replay-causal-peeking-hint"]["failures"])
    assert re.search(
        r"no recorded (grade call for turn 7|respond call for turn 8) \(attempt 0\) of "
        r"'replay-causal-peeking-hint'",
        extended,
    ), extended


def test_the_recorder_regenerates_cassettes_that_replay_green(tmp_path: Path) -> None:
    """devtools/record_replay.py: the fake LLM scripted by fake-script.json, `eval --brain llm --record`, then a replay."""
    out = tmp_path / "cassettes"
    proc = subprocess.run(
        [sys.executable, "-m", "devtools.record_replay", "--out", str(out), "--check"],
        cwd=PROJECT_ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert sorted(p.stem for p in out.glob("*.jsonl")) == sorted(scenario_ids())
    assert "brain replay" in proc.stdout and "matched no rule" not in proc.stderr
    keys = [json.loads(line)["key"] for line in (out / "replay-ml-auc-injection.jsonl").read_text().splitlines()]
    assert keys.count("respond@0#0") == 1 and "grade@1#0" in keys and any(k.startswith("debrief@") for k in keys)
