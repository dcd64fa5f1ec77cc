"""``barraiser bench``: a tiny run against the real server and the fake LLM completes, reports sane numbers and
leaves no child process behind. (A benchmark, not a timed test: no latency thresholds here.)"""

from __future__ import annotations

import argparse
import json
import os

import pytest

from devtools.bench.cli import add_cli
from devtools.bench.run import (
    MOVE_CONTENT,
    UTTERANCE,
    bench_script,
    fake_first_byte_ms,
    percentile,
    think_times,
    utterance_offset,
)
from devtools.fake_llm.asgi import PIECE_CHARS
from devtools.fake_llm.script import validate_script
from devtools.postgres import unavailable

KEYS = {"sessions", "turns", "ttft_overhead_ms", "cpu_ms_per_turn", "turns_per_s", "rss_mb"}


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _bench(capsys, *argv: str) -> tuple[int, dict]:
    parser = argparse.ArgumentParser(prog="barraiser")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", *argv])
    code = args.handler(args, None)
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("brain", ["llm", "offline"])
def test_tiny_bench_reports_and_cleans_up(capsys, brain: str) -> None:
    code, report = _bench(
        capsys,
        "--sessions",
        "2",
        "--turns",
        "2",
        "--llm-ttft-ms",
        "5",
        "--llm-tokens-per-s",
        "2000",
        "--brain",
        brain,
        "--json",
    )
    assert code == 0, report.get("errors")
    assert KEYS <= set(report)
    assert report["sessions"] == 2 and report["turns"] == 4
    assert report["error_count"] == 0
    overhead = report["ttft_overhead_ms"]
    assert set(overhead) == {"p50", "p99"}
    assert 0 <= overhead["p50"] <= overhead["p99"] < 60_000
    assert report["cpu_ms_per_turn"] > 0
    assert report["turns_per_s"] > 0
    assert report["rss_mb"] > 10
    assert report["brain"] == brain
    assert report["grades"] == 2  # one answer per session, each graded
    assert report["db_bytes_per_turn"] > 1000  # every turn's checkpoints are stored
    assert report["floor_ms_per_turn"] > 0  # the floor of the same run, and the ratio against it
    assert report["cpu_over_floor"] == pytest.approx(report["cpu_ms_per_turn"] / report["floor_ms_per_turn"], rel=0.01)
    if brain == "llm":  # each round's calls after its answer: the reply and the grade, counted under prefix caching
        cache = report["prompt_cache"]
        assert cache["rounds"] == 2 and cache["calls_per_round"] == 2  # no line regenerated: each is new
        assert cache["calls_by_purpose"] == {"reply": 2, "grade": 2}
        assert 0 < cache["uncached_prompt_tokens_per_round"] <= cache["prompt_tokens_per_round"]
    pids = report["pids"]
    assert set(pids) == ({"server", "fake"} if brain == "llm" else {"server"})
    assert all(_gone(pid) for pid in pids.values()), pids


def test_fake_first_byte_formula() -> None:
    validate_script(bench_script())
    text = MOVE_CONTENT["follow_up"]
    offset = utterance_offset(text)
    assert text[offset:].startswith(UTTERANCE[:20])
    assert fake_first_byte_ms(text, 200, 200) == pytest.approx(200 + (offset // PIECE_CHARS) * 5.0)
    assert fake_first_byte_ms(text, 50, 0) == 50  # unthrottled: the TTFT alone
    assert len(UTTERANCE.split()) in range(35, 46)


def test_percentile() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile(list(map(float, range(101))), 99) == pytest.approx(99.0)
    assert percentile([5.0], 99) == 5.0


def test_floor_reports_what_langgraph_and_the_openai_client_alone_cost(capsys) -> None:
    code, report = _bench(capsys, "--floor", "--sessions", "3", "--turns", "2", "--json")
    assert code == 0
    assert report["langgraph_ms_per_turn"] > 0 and report["openai_client_ms_per_turn"] > 0
    assert report["floor_ms_per_turn"] == pytest.approx(
        report["langgraph_ms_per_turn"] + report["openai_client_ms_per_turn"], abs=0.002
    )
    assert len(report["runs"]["langgraph"]) == len(report["runs"]["openai_client"]) == 5


def test_grading_bench_times_real_grades_cold(catalog) -> None:
    from app.config import PROJECT_ROOT
    from devtools.bench.grading import human, run_grading_bench

    report = run_grading_bench(catalog, PROJECT_ROOT / "tests" / "fixtures" / "evals" / "pass", repeats=2)
    assert report["answers"] >= 3 and report["repeats"] == 2
    cpu = report["cpu_ms_per_grade"]
    assert 0 < cpu["p50"] <= cpu["p90"] <= cpu["p99"]
    assert report["goal_ms"] == 2.0 and isinstance(report["meets_goal"], bool)
    assert "CPU per grade" in human(report)


def test_prompt_cost_rule_and_counting() -> None:
    """The caching rule (nothing below 1,024 shared tokens, then 128-token steps) and the cookbook prompt count."""
    from devtools.bench.prompt_cost import _cacheable, count

    assert [_cacheable(n) for n in (0, 1023, 1024, 1151, 1152, 5000)] == [0, 0, 1024, 1024, 1152, 4992]
    long = "word " * 1500
    first = {"body": {"messages": [{"role": "system", "content": long}, {"role": "user", "content": "a"}]}}
    second = {"body": {"messages": [{"role": "system", "content": long}, {"role": "user", "content": "b c d"}]}}
    a, b = count([first, second])
    assert a["cached_msgs"] == 0 and a["uncached_msgs"] == a["prompt"]
    assert b["shared_msgs"] >= 1500 and b["cached_msgs"] % 128 == 0 and b["cached_msgs"] >= 1024
    assert b["uncached_msgs"] == b["prompt"] - b["cached_msgs"]


def test_prompt_cost_bench_follows_its_schedule_and_reports_uncached_tokens(capsys) -> None:
    """A 6-answer scripted round through the LLM brain and the fake: every scheduled move is made, every prompt is
    counted, and the turns' calls find most of their prompt cached."""
    code, report = _bench(capsys, "--prompt-cost", "--prompt-turns", "6", "--json")
    after = report["after"]
    assert code == 0 and report["before"] is None
    assert after["answered"] == 6 and after["schedule_followed"], after["moves"]
    every = after["msgs"]["everything"]
    assert every["prompt"] == every["cached"] + every["uncached"] and every["cached"] > every["uncached"] > 0
    assert after["calls"]["in_round"] == 12  # a reply and a grade per answer


@pytest.mark.skipif(bool(unavailable()), reason=f"PostgreSQL cannot run here: {unavailable()}")
def test_bench_with_think_time_two_workers_and_postgresql(capsys) -> None:
    code, report = _bench(
        capsys,
        *("--sessions", "3", "--turns", "3", "--llm-ttft-ms", "5", "--llm-tokens-per-s", "2000"),
        *("--think-s", "0.3", "--workers", "2", "--database", "postgresql", "--no-floor", "--json"),
    )
    assert code == 0, report.get("errors")
    assert report["turns"] == 9 and report["error_count"] == 0 and report["grades"] == 6
    assert report["settings"] | {"think_s": 0.3, "workers": 2, "database": "postgresql"} == report["settings"]
    assert report["db_bytes_per_turn"] > 1000
    assert report["wall_s"] >= 2 * 0.3 * 0.5  # two answers per session, each after some thinking
    assert "rss_kb_per_live_session" in report
    assert "floor_ms_per_turn" not in report
    assert all(_gone(pid) for pid in report["pids"].values())


def test_bench_refuses_workers_on_sqlite(capsys) -> None:
    parser = argparse.ArgumentParser(prog="barraiser")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", "--workers", "2"])
    assert args.handler(args, None) == 2
    assert "--workers needs --database postgresql" in capsys.readouterr().err


def test_think_times_are_log_normal_around_the_mean() -> None:
    draws = [x for x, _ in zip(think_times(20.0, seed=1), range(4000), strict=False)]
    assert sum(draws) / len(draws) == pytest.approx(20.0, rel=0.05)
    assert min(draws) > 0 and max(draws) < 200 and len(set(draws)) == len(draws)
    assert sorted(draws)[len(draws) // 2] < 20.0  # log-normal: the median is below the mean
    assert next(think_times(0.0, seed=1)) == 0.0
