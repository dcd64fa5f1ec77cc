"""The benchmark's command line: ``barraiser bench`` (registered through the ``barraiser.commands`` entry point) and
``python -m devtools.bench.cli``, with the same flags (docs/performance.md). ``--floor`` runs ``floor.py`` and
``--code`` runs ``code.py`` instead of ``run.py``; each is imported only when the command runs."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any


def _positive(kind):
    def parse(value: str):
        x = kind(value)
        if not (x >= 0 and math.isfinite(x)):
            raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
        return x

    return parse


def _run_args(args: argparse.Namespace, settings: Any = None) -> int:
    if args.sessions < 1 or args.turns < 1:
        print("--sessions and --turns must be >= 1", file=sys.stderr)
        return 2
    if args.code:
        from devtools.bench.code import human as code_human
        from devtools.bench.code import run_code_bench

        report = run_code_bench(repeat=args.repeat, backend=args.sandbox, bank=not args.no_bank)
        print(json.dumps(report, indent=2) if args.json else code_human(report), flush=True)
        return 1 if report["sql"]["failures"] or report["python_failures"] else 0
    if args.voice:
        from devtools.bench.voice import human as voice_human
        from devtools.bench.voice import run_voice_bench

        log = None if args.json else (lambda msg: print(msg, file=sys.stderr, flush=True))
        try:
            report = run_voice_bench(
                args.voice_lengths, args.voice_repeats, args.voice_sessions, log=log, with_wer=not args.voice_no_wer
            )
        except (RuntimeError, OSError) as exc:
            print(f"bench failed: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(report, indent=2) if args.json else voice_human(report), flush=True)
        return 0
    if args.prompt_cost:
        from devtools.bench.prompt_cost import human as prompt_human
        from devtools.bench.prompt_cost import run_prompt_cost

        try:
            before = run_prompt_cost(args.prompt_turns, Path(args.prompt_before)) if args.prompt_before else None
            report = run_prompt_cost(args.prompt_turns)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            print(f"bench failed: {exc}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps({"after": report, "before": before}, indent=2), flush=True)
        else:
            print(prompt_human(report, before), flush=True)
        return 0
    if args.grading:
        from app.config import PROJECT_ROOT, Settings
        from app.content.catalog import load_catalog
        from devtools.bench.grading import human as grading_human
        from devtools.bench.grading import run_grading_bench

        cfg = settings or Settings()
        catalog = load_catalog(cfg.rubrics_dir, cfg.prompts_dir)
        report = run_grading_bench(catalog, PROJECT_ROOT / "evals" / "scenarios", repeats=args.grading_repeats)
        print(json.dumps(report, indent=2) if args.json else grading_human(report), flush=True)
        return 0
    if args.floor:
        from devtools.bench.floor import human, run_floor

        report = run_floor(min(args.sessions, 50), args.turns)
        print(json.dumps(report, indent=2) if args.json else human(report), flush=True)
        return 0
    from devtools.bench.run import human, run_bench

    log = None if args.json else (lambda msg: print(msg, file=sys.stderr, flush=True))
    if args.workers > 1 and args.database == "sqlite":
        print("--workers needs --database postgresql (or a postgresql:// URL)", file=sys.stderr)
        return 2
    floor = None
    if not args.no_floor:  # the floor of the same machine, in the same run, before the load
        from devtools.bench.floor import run_floor

        if log:
            log("measuring the floor (LangGraph + openai client alone)")
        floor = run_floor(min(args.sessions, 50), args.turns, repeats=3)
    try:
        report = run_bench(
            args.sessions,
            args.turns,
            args.llm_ttft_ms,
            args.llm_tokens_per_s,
            args.brain,
            args.round,
            args.level,
            args.frame_timeout_s,
            log=log,
            server_profile=args.server_profile,
            think_s=args.think_s,
            workers=args.workers,
            database=args.database,
        )
    except (RuntimeError, OSError) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    if floor is not None:
        report["floor_ms_per_turn"] = floor["floor_ms_per_turn"]
        report["cpu_over_floor"] = (
            round(report["cpu_ms_per_turn"] / floor["floor_ms_per_turn"], 2) if report["cpu_ms_per_turn"] else None
        )
        report["floor"] = floor
    print(json.dumps(report, indent=2) if args.json else human(report), flush=True)
    return 1 if report["error_count"] else 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """Register ``barraiser bench``; its handler is called as ``handler(args, settings)`` like the others."""
    parser = subparsers.add_parser(
        "bench",
        help="benchmark the server: N concurrent WebSocket sessions against the fake LLM",
        description="Starts the server and the fake LLM on loopback, drives N concurrent sessions and reports the "
        "server-added latency to the first interviewer token, CPU per turn, turns/s and peak RSS "
        "(docs/performance.md).",
    )
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions (default 20)")
    parser.add_argument("--turns", type=int, default=5, help="interviewer turns per session (default 5)")
    parser.add_argument(
        "--llm-ttft-ms",
        type=_positive(float),
        default=200.0,
        help="the fake LLM's time to first token, ms (default 200)",
    )
    parser.add_argument(
        "--llm-tokens-per-s",
        type=_positive(float),
        default=200.0,
        help="the fake LLM's streamed pieces per second, 0 = unthrottled (default 200)",
    )
    parser.add_argument(
        "--brain",
        choices=["llm", "offline"],
        default="llm",
        help="llm: the LLM brain on the fake (default); offline: the rules brain, no fake",
    )
    parser.add_argument("--round", default="ml_breadth", help="round id (default ml_breadth)")
    parser.add_argument("--level", default="L5", help="level (default L5)")
    parser.add_argument("--frame-timeout-s", type=float, default=120.0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--think-s",
        type=_positive(float),
        default=0.0,
        metavar="MEAN",
        help="mean think time before each answer, drawn log-normal per answer (default 0: saturation)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (barraiser serve --workers N; needs PostgreSQL)"
    )
    parser.add_argument(
        "--database",
        default="sqlite",
        help="sqlite (a temporary file, default), postgresql (a throwaway cluster) or a postgresql:// URL of an "
        "empty database",
    )
    parser.add_argument(
        "--no-floor", action="store_true", help="skip measuring the floor in the same run (no floor ratio)"
    )
    parser.add_argument(
        "--server-profile",
        type=Path,
        metavar="FILE",
        default=None,
        help="run the server under cProfile and write its stats to FILE (slows the server)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="instead, measure in this process what LangGraph and the openai client alone cost per "
        "turn, with no interview work (devtools/bench/floor.py)",
    )
    parser.add_argument(
        "--code",
        action="store_true",
        help="instead, measure running the candidate's code: SQL run time on the bank's data and Python "
        "start-to-result in the sandbox (devtools/bench/code.py)",
    )
    parser.add_argument("--repeat", type=int, default=20, help="--code: runs of each measurement (default 20)")
    parser.add_argument(
        "--sandbox",
        choices=["auto", "bwrap", "unshare", "rlimits"],
        default="auto",
        help="--code: the Python isolation",
    )
    parser.add_argument("--no-bank", action="store_true", help="--code: skip the bank's Python reference solutions")
    parser.add_argument(
        "--voice",
        action="store_true",
        help="instead, the voice benchmark: end of a spoken answer to the first interviewer audio byte, offline "
        "brain, real models (devtools/bench/voice.py)",
    )
    parser.add_argument(
        "--voice-lengths",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[4, 6, 12],
        help="--voice: answer lengths in seconds, of 4, 6, 12 (default 4,6,12)",
    )
    parser.add_argument("--voice-repeats", type=int, default=5, help="--voice: answers of each length (default 5)")
    parser.add_argument(
        "--voice-sessions",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[1, 2, 4, 8],
        help="--voice: concurrent sessions to try, two 6 s answers each (default 1,2,4,8)",
    )
    parser.add_argument(
        "--voice-no-wer", action="store_true", help="--voice: skip the trimmed-vs-30 s word error rate comparison"
    )
    parser.add_argument(
        "--grading",
        action="store_true",
        help="instead, the offline grader's CPU per grade over the eval suite's answers (devtools/bench/grading.py)",
    )
    parser.add_argument("--grading-repeats", type=int, default=5, help="--grading: grades per answer (default 5)")
    parser.add_argument(
        "--prompt-cost",
        action="store_true",
        help="instead, the LLM brain's prompt tokens on a scripted round and what stays uncached under provider "
        "prefix caching (devtools/bench/prompt_cost.py)",
    )
    parser.add_argument("--prompt-turns", type=int, default=20, help="--prompt-cost: answers in the round (default 20)")
    parser.add_argument(
        "--prompt-before",
        metavar="DIR",
        help="--prompt-cost: also run the same round on the checkout in DIR (e.g. a worktree of the old code) and "
        "report the ratios",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=_run_args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench.cli")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    return args.handler(args, None)


if __name__ == "__main__":
    sys.exit(main())
