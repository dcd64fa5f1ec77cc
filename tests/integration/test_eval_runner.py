"""The evals runner end to end on the offline brain: the fixture scenarios (tests/fixtures/evals/), exit codes,
the JSON report, --baseline, regrade from a database filled by a real session, and export round-trips."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT, Settings
from app.evaluation import add_cli
from app.evaluation.scenarios import load_cases

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "evals"
PASS, FAIL = FIXTURES / "pass", FIXTURES / "fail"


@pytest.fixture(autouse=True)
def _shared_catalog(catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reuse the session's catalog instead of parsing rubrics/ again for every command."""
    monkeypatch.setattr("app.content.catalog.load_catalog", lambda *_: catalog)
    monkeypatch.setattr("app.server.app.load_catalog", lambda *_: catalog)


def barraiser(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="barraiser")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.handler(args, settings)


def report(path: Path) -> dict:
    return json.loads(path.read_text())


# ----------------------------------------------------------------------------- eval


def test_passing_fixtures_exit_0_with_a_stable_report(settings, tmp_path: Path, capsys) -> None:
    out = tmp_path / "report.json"
    assert barraiser(settings, "eval", str(PASS), "--json", str(out)) == 0
    text = capsys.readouterr().out
    assert "fixture-ml-breadth-pivot" in text and "HOLDOUT" in text and "PASS" in text
    data = report(out)
    assert data["scenarios"] == 4 and data["holdout"]["scenarios"] == 1
    assert data["checks"]["passed"] == data["checks"]["total"] > 0
    assert set(data["grades"]) >= {"n", "exact", "within_one", "weighted_kappa", "spearman", "abstention"}
    assert data["grades"]["exact"] == 1.0 and data["grades"]["abstention"]["agreement"] == 1.0
    assert data["injection"] == {"scenarios": 1, "grade_rises": 0} and data["answer_leaks"] == 0
    assert data["brain"] == "offline" and data["duration_s"] > 0 and data["passed"] is True
    results = {r["id"]: r for r in data["results"]}
    pivot = results["fixture-ml-breadth-pivot"]
    assert pivot["passed"] and pivot["failures"] == []
    first = pivot["turns"][0]
    assert set(first) >= {"index", "say", "reply_move", "reply_principle", "reply_text", "golden", "predicted"}
    assert first["index"] == 1 and first["reply_move"] == "follow_up"
    assert first["golden"] == 2 and first["predicted"] == 2
    second = pivot["turns"][1]
    assert second["reply_move"] == "lp_pivot" and second["reply_principle"] == "Earn Trust"
    assert second["golden"] == 3 and second["predicted"] == 3 and not second["off_script"]
    assert results["fixture-holdout-strong-bias-variance"]["holdout"] is True


def test_the_issue_example_passes(settings, tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(
        "id: one\nround: ml_breadth\nstart:\n  question: ml-bias-variance\nturns:\n"
        '  - say: "High variance means the model overfits; I would compare training and validation error on a '
        'learning curve and regularize."\n    expect:\n      move: [follow_up]\n'
        '  - say: "If training error is low but validation error is much higher, the model overfit: that is high '
        'variance, so I would regularize or get more data."\n    expect:\n      move: [lp_pivot]\n'
        "      principle: [Earn Trust]\n"
    )
    assert barraiser(settings, "eval", str(path)) == 0


def test_failing_fixture_exits_1_naming_file_line_and_reason(settings, tmp_path: Path, capsys) -> None:
    out = tmp_path / "report.json"
    assert barraiser(settings, "eval", str(FAIL), "--json", str(out)) == 1
    text = capsys.readouterr().out
    assert "FAIL" in text
    [result] = report(out)["results"]
    assert not result["passed"]
    failures = "\n".join(result["failures"])
    assert "wrong_expectations.yaml:7: turn 1: expect.move: reply move 'hint' not in ['lp_pivot']" in failures
    assert "expect.not_contains: reply contains ['held-out data']" in failures
    assert "wrong_expectations.yaml:13: expect_round.moves_include: missing ['failure_probe']" in failures
    assert "expect_round.debrief_vote" in failures
    assert report(out)["answer_leaks"] == 1


def test_round_ending_early_is_a_failure(settings, tmp_path: Path, capsys) -> None:
    path = tmp_path / "long.yaml"
    path.write_text("id: long\nround: recruiter_screen\nturns:\n" + '  - say: "not sure, maybe."\n' * 30)
    assert barraiser(settings, "eval", str(path)) == 1
    assert "round ended after" in capsys.readouterr().out


def test_thresholds_fail_the_run_and_flags_override_them(settings, tmp_path: Path, capsys) -> None:
    path = tmp_path / "graded.yaml"
    path.write_text(
        "id: graded\nround: ml_breadth\nstart:\n  question: ml-bias-variance\nturns:\n"
        '  - say: "Bias, variance, regularization, overfitting, underfitting."\n    grade: 4\n'
    )
    assert barraiser(settings, "eval", str(path)) == 1  # predicted 2: exact 0 < 0.5
    assert "FAIL  grades.exact" in capsys.readouterr().out
    assert (
        barraiser(
            settings,
            "eval",
            str(path),
            *("--min-exact", "0", "--min-within-one", "0", "--min-weighted-kappa", "-1"),
            *("--max-wrong-side-of-bar", "1"),
        )
        == 0
    )


def test_load_errors_exit_2(settings, tmp_path: Path, capsys) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: b\nround: ml_breadth\nturns:\n  - say: x\n    expect:\n      move: [pivot]\n")
    assert barraiser(settings, "eval", str(path)) == 2
    err = capsys.readouterr().err
    assert "broken.yaml:6:" in err and "unknown move 'pivot'" in err


def test_unavailable_llm_brain_exits_2_with_its_message(settings, monkeypatch, capsys) -> None:
    from app import brains

    def unavailable(*_args, **_kwargs):
        raise brains.BrainUnavailable("the LLM brain is not configured")

    monkeypatch.setattr(brains, "make_brain", unavailable)
    assert barraiser(settings, "eval", str(PASS), "--brain", "llm") == 2
    assert "cannot start the llm brain" in capsys.readouterr().err
    assert barraiser(settings, "eval", str(PASS), "--brain", "replay") == 2  # default cassettes: evals/cassettes
    err = capsys.readouterr().err
    assert "cannot start the replay brain" in err or "needs --cassettes" in err


def test_repeat_reports_pass_at_k(settings, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert barraiser(settings, "eval", str(PASS / "dont_know.yaml"), "--repeat", "3", "--json", str(out)) == 0
    data = report(out)
    assert data["pass_k"] == {"k": 3, "pass_at_k": 1.0, "pass_hat_k": 1.0}
    assert len(data["results"][0]["runs"]) == 3 and data["repeat"] == 3


def test_baseline_lists_flips_with_mcnemar_and_bootstrap(settings, tmp_path: Path, capsys) -> None:
    suite = tmp_path / "suite"
    shutil.copytree(PASS, suite)
    base = tmp_path / "base.json"
    assert barraiser(settings, "eval", str(suite), "--json", str(base)) == 0
    pivot = suite / "ml_breadth_pivot.yaml"
    pivot.write_text(pivot.read_text().replace("move: [return]", "move: [follow_up]").replace("grade: 4", "grade: 2"))
    out = tmp_path / "now.json"
    capsys.readouterr()
    assert barraiser(settings, "eval", str(suite), "--json", str(out), "--baseline", str(base)) == 1
    text = capsys.readouterr().out
    assert "pass -> fail: fixture-ml-breadth-pivot: turn 3 expect.move" in text
    cmp = report(out)["baseline"]
    assert cmp["paired"] == 5 and cmp["only_current"] == [] and cmp["only_baseline"] == []
    assert cmp["flips"] == [
        {"id": "fixture-ml-breadth-pivot", "check": "turn 3 expect.move", "from": "pass", "to": "fail"}
    ]
    assert cmp["mcnemar"] == {"pass_to_fail": 1, "fail_to_pass": 0, "p_value": 1.0}
    delta = cmp["exact_delta"]
    assert delta["baseline"] == 1.0 and delta["current"] == pytest.approx(6 / 7) and delta["delta"] < 0
    lo, hi = delta["ci95"]
    assert lo <= delta["delta"] <= hi <= 0
    # same inputs, same interval (fixed seed)
    again = tmp_path / "again.json"
    barraiser(settings, "eval", str(suite), "--json", str(again), "--baseline", str(base))
    assert report(again)["baseline"]["exact_delta"]["ci95"] == delta["ci95"]


def test_sixty_scenarios_run_concurrently_and_report_their_duration(settings, tmp_path: Path) -> None:
    """60 scenarios (the fixtures x12) in one run. Speed is measured by the report's duration_s (see the README),
    not asserted here: this machine is shared and noisy."""
    suite = tmp_path / "bench"
    suite.mkdir()
    files = sorted(PASS.rglob("*.yaml"))
    for i in range(60 // len(files)):
        for f in files:
            text = f.read_text()
            (suite / f"{f.stem}-{i}.yaml").write_text(
                text.replace("\nid: ", "\nid: ", 1).replace(
                    f"id: {load_cases([f], None)[0].id}", f"id: {load_cases([f], None)[0].id}-{i}"
                )
            )
    out = tmp_path / "bench.json"
    assert barraiser(settings, "eval", str(suite), "--json", str(out)) == 0
    data = report(out)
    assert data["scenarios"] == 60 and data["duration_s"] > 0


# ----------------------------------------------------------------------------- regrade and export

STRONG = (
    "High variance means the model overfits; I would compare training and validation error on a learning "
    "curve and regularize."
)
STORY = (
    "At my previous job our churn model overfit. I was responsible for it. I built a time-based split; as a "
    "result the gap fell from 12% to 2%. I learned to check leakage first."
)
ANSWERS = [STRONG, STORY, "I don't know.", "L1 gives sparse weights because of the corners of the diamond."]


def _drive_session(client) -> tuple[str, str]:
    """A real round through the API and the WebSocket: a few answers, then an end control."""
    body = client.post(
        "/api/sessions", json={"round": "ml_breadth", "level": "L5", "question": "ml-bias-variance"}
    ).json()
    sid, token = body["session_id"], body["token"]
    with client.websocket_connect(f"/ws/sessions/{sid}?token={token}") as ws:
        assert ws.receive_json()["type"] == "state"
        _until(ws, lambda f: f["type"] == "interviewer_done")
        for text in ANSWERS:
            ws.send_json({"type": "answer", "text": text})
            frames = _until(ws, lambda f: f["type"] == "interviewer_done")
            index = frames[-1]["index"] - 1
            if not any(f["type"] == "turn_grade" for f in frames):
                _until(ws, lambda f, index=index: f["type"] == "turn_grade" and f["turn"] == index)
        ws.send_json({"type": "control", "action": "end"})
        _until(ws, lambda f: f["type"] == "debrief")
    _settle(client, sid)
    return sid, token


def _until(ws, predicate, limit: int = 2000) -> list[dict]:
    frames = []
    for _ in range(limit):
        frames.append(ws.receive_json())
        if predicate(frames[-1]):
            return frames
    raise AssertionError(f"no matching frame; last {frames[-3:]}")


def _settle(client, sid: str) -> None:
    interviews = client.app.state.bar.interviews
    for _ in range(500):
        snap = client.portal.call(interviews.snapshot, sid)
        if snap.values and not snap.next:
            return
        time.sleep(0.01)
    raise AssertionError("the session did not settle")


def test_regrade_from_the_database_and_from_an_exported_transcript(client, settings, tmp_path: Path, capsys) -> None:
    sid, token = _drive_session(client)
    out = tmp_path / "regrade.json"
    assert barraiser(settings, "regrade", sid, "--json", str(out)) == 0
    data = report(out)
    [result] = data["results"]
    assert result["id"] == sid and len(result["turns"]) == len(ANSWERS)
    graded = [t for t in result["turns"] if t["golden_set"]]
    assert graded and all(t["predicted"] == t["golden"] for t in graded)  # same brain, same rubric: no drift
    assert result["passed"], result["failures"]  # and the same replies
    assert data["grades"]["exact"] == 1.0

    # every session when none is named
    assert barraiser(settings, "regrade", "--json", str(out)) == 0
    assert [r["id"] for r in report(out)["results"]] == [sid]

    exported = tmp_path / "transcript.json"
    resp = client.get(f"/api/sessions/{sid}/transcript", headers={"Authorization": f"Bearer {token}"})
    exported.write_text(resp.text)
    assert barraiser(settings, "regrade", "--export", str(exported), "--json", str(out)) == 0
    [from_json] = report(out)["results"]
    assert [t["predicted"] for t in from_json["turns"]] == [t["predicted"] for t in result["turns"]]

    capsys.readouterr()
    assert barraiser(settings, "regrade", "nope") == 2
    assert "no stored session nope" in capsys.readouterr().err


def test_regrade_reports_drift_when_the_rubric_changes(client, settings, tmp_path: Path, monkeypatch) -> None:
    sid, _ = _drive_session(client)
    from app.brains.offline import OfflineBrain

    original = OfflineBrain.grade

    async def harsher(self, view):
        grade = await original(self, view)
        return grade.model_copy(update={"overall": 1}) if grade.overall else grade

    monkeypatch.setattr(OfflineBrain, "grade", harsher)
    out = tmp_path / "drift.json"
    assert barraiser(settings, "regrade", sid, "--json", str(out)) == 1
    assert report(out)["grades"]["exact"] < 1.0


def test_export_round_trip(client, settings, tmp_path: Path, catalog, capsys) -> None:
    sid, _ = _drive_session(client)
    scenario = tmp_path / "exported" / "session.yaml"
    assert barraiser(settings, "export", sid, "--scenario", str(scenario)) == 0
    text = scenario.read_text()
    assert text.count("# review:") == len(ANSWERS) and f"id: session-{sid[:8]}" in text
    [case] = load_cases([scenario], catalog)
    assert case.scenario.round == "ml_breadth" and case.scenario.level == "L5"
    assert [t.say for t in case.scenario.turns] == ANSWERS
    assert case.scenario.start.question == case.full_plan(catalog)[0]
    out = tmp_path / "run.json"
    assert barraiser(settings, "eval", str(scenario), "--json", str(out), "--min-abstention-agreement", "0") == 0
    [result] = report(out)["results"]
    assert all(t["predicted"] == t["golden"] for t in result["turns"] if t["golden_set"])
    assert barraiser(settings, "export", sid, "--scenario", str(scenario)) == 2  # exists: needs --force
    assert barraiser(settings, "export", sid, "--scenario", str(scenario), "--force") == 0


# ----------------------------------------------------------------------------- the LLM brain: record, then replay


def _llm_turn(move: str, utterance: str, **fields) -> dict:
    head = {k: fields.get(k) for k in ("principle", "key_point", "star_part", "failure_mode", "quote")}
    return {"move": move, **head, "utterance": utterance, "covered": fields.get("covered", []), "rationale": "test"}


LLM_RULES = [
    {
        "match": {"schema": "InterviewerTurn", "last_user_contains": "You must make the move 'end'"},
        "respond": {"json": _llm_turn("end", "Thank you, that is the end of our interview.")},
    },
    {
        "match": {"schema": "InterviewerTurn", "last_user_contains": "Allowed moves now: ask."},
        "respond": {"json": _llm_turn("ask", "Hello, let's begin.")},
    },
    {
        "match": {"schema": "InterviewerTurn", "last_user_contains": "learning curve and regularize."},
        "respond": {
            "json": _llm_turn(
                "lp_pivot",
                'You said "the model overfits". Tell me about a time a model of yours overfit.',
                principle="Earn Trust",
                quote="the model overfits",
            )
        },
    },
    {
        "match": {"schema": "InterviewerTurn"},
        "respond": {"json": _llm_turn("follow_up", "What would you check first?", key_point="diagnosis")},
    },
    {
        "match": {"schema": "GradeOut"},
        "respond": {
            "json": {
                "criteria": [{"id": "correctness", "level": 3, "evidence": ["the model overfits"]}],
                "overall": 3,
                "notes": ["scripted"],
            }
        },
    },
    {
        "match": {"schema": "DebriefText"},
        "respond": {"json": {"summary": "ok", "practice_plan": ["Practise STAR."], "principle_feedback": []}},
    },
]


def test_llm_run_records_cassettes_that_replay_offline(tmp_path: Path) -> None:
    harness = pytest.importorskip("devtools.fake_llm.harness")
    scenario = tmp_path / "llm.yaml"
    scenario.write_text(
        "id: llm-pivot\nround: ml_breadth\nstart:\n  question: ml-bias-variance\nturns:\n"
        '  - say: "High variance means the model overfits; I would compare training and validation error on a '
        'learning curve and regularize."\n    grade: 3\n    expect:\n      move: [lp_pivot]\n'
        "      principle: [Earn Trust]\n"
    )
    cassettes = tmp_path / "cassettes"
    live, replayed = tmp_path / "live.json", tmp_path / "replay.json"
    with harness.FakeLLM({"rules": LLM_RULES}) as fake:
        settings = Settings(
            _env_file=None,
            llm_base_url=fake.base_url,
            llm_model="m",
            llm_max_retries=0,
            llm_timeout_s=5,
            database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        )
        assert (
            barraiser(
                settings, "eval", str(scenario), "--brain", "llm", "--record", str(cassettes), "--json", str(live)
            )
            == 0
        )
    assert (cassettes / "llm-pivot.jsonl").exists()
    offline_settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert (
        barraiser(
            offline_settings,
            "eval",
            str(scenario),
            "--brain",
            "replay",
            "--cassettes",
            str(cassettes),
            "--json",
            str(replayed),
        )
        == 0
    )
    assert report(replayed)["results"][0]["turns"] == report(live)["results"][0]["turns"]
    assert report(replayed)["brain"] == "replay"

    # a scenario that was never recorded fails clearly, naming the scenario and turn, and never calls out
    other = tmp_path / "other.yaml"
    other.write_text(scenario.read_text().replace("id: llm-pivot", "id: never-recorded"))
    out = tmp_path / "miss.json"
    assert (
        barraiser(
            offline_settings, "eval", str(other), "--brain", "replay", "--cassettes", str(cassettes), "--json", str(out)
        )
        == 1
    )
    assert "never-recorded" in report(out)["results"][0]["failures"][0]
