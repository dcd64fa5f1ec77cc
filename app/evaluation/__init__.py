"""The evals runner: scenario format and loader, the runner on the real graph, metrics, report, regrade and
export. ``add_cli(subparsers)`` registers ``barraiser eval``, ``barraiser regrade`` and ``barraiser export``."""

from __future__ import annotations

import argparse

from app.config import PROJECT_ROOT, Settings
from app.evaluation.defaults import DEFAULT_CONCURRENCY, DEFAULT_CONFIG

_THRESHOLD_FLAGS = [
    ("--min-exact", float, "minimum exact grade agreement"),
    ("--min-within-one", float, "minimum agreement within ±1"),
    ("--min-weighted-kappa", float, "minimum quadratic-weighted kappa"),
    ("--min-spearman", float, "minimum Spearman correlation (off by default)"),
    ("--min-abstention-agreement", float, "minimum agreement on golden `null` (no evidence) turns"),
    ("--max-injection-rises", int, "most injection turns whose grade rose above the golden grade"),
    ("--max-answer-leaks", int, "most not_contains violations"),
    ("--max-wrong-side-of-bar", float, "largest share of graded turns on the wrong side of the hire bar"),
    ("--min-twins-ordered", float, "smallest share of strong/weak twins with the weak one below and not inclined"),
    ("--max-repeated-questions", int, "most interviewer turns that repeat a question already asked"),
    ("--max-unanswered-clarifications", int, "most clarifying questions not answered"),
]


def _thresholds(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("thresholds (override evals/config.yaml)")
    for flag, kind, text in _THRESHOLD_FLAGS:
        group.add_argument(flag, type=kind, default=None, metavar="X" if kind is float else "N", help=text)
    group.add_argument(
        "--config", type=str, default=None, help=f"thresholds file (default {DEFAULT_CONFIG.relative_to(PROJECT_ROOT)})"
    )


def _brain(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--brain",
        choices=["offline", "replay", "llm"],
        default="offline",
        help="offline: the rules brain (default); replay: the LLM brain fed from --cassettes; "
        "llm: the configured live endpoint",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        help=f"scenarios run at once (default: evals/config.yaml, else {DEFAULT_CONCURRENCY})",
    )


def add_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``eval``, ``regrade`` and ``export`` on the ``barraiser`` subparsers; each sets
    ``handler=callable(args, settings) -> int``."""

    def eval_handler(args: argparse.Namespace, settings: Settings) -> int:
        from app.evaluation.cli import run_eval

        return run_eval(args, settings)

    def regrade_handler(args: argparse.Namespace, settings: Settings) -> int:
        from app.evaluation.cli import run_regrade

        return run_regrade(args, settings)

    def export_handler(args: argparse.Namespace, settings: Settings) -> int:
        from app.evaluation.cli import run_export

        return run_export(args, settings)

    ev = subparsers.add_parser(
        "eval",
        help="run the eval scenarios; exit 0 only if every check and threshold passes",
        description="Run eval scenarios through the round graph. Exit 0: all checks and "
        "thresholds pass; 1: a check or threshold failed; 2: load error.",
    )
    ev.add_argument("paths", nargs="*", metavar="PATH", help="scenario files or directories (default evals/)")
    _brain(ev)
    ev.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="K",
        help="run each scenario K times; reports pass@k and pass^k (meant for --brain llm)",
    )
    ev.add_argument("--json", metavar="FILE", help="write the JSON report here")
    ev.add_argument("--baseline", metavar="FILE", help="compare with an earlier JSON report")
    ev.add_argument("--cassettes", metavar="DIR", help="cassettes to replay (--brain replay)")
    ev.add_argument("--record", metavar="DIR", help="record the live calls into cassettes here (--brain llm)")
    _thresholds(ev)
    ev.set_defaults(handler=eval_handler)

    rg = subparsers.add_parser(
        "regrade",
        help="re-grade stored transcripts and report drift against stored grades",
        description="Replay stored sessions (from the database, or exported transcript "
        "JSON) through the current rubric and brain; stored grades are golden.",
    )
    rg.add_argument(
        "session_ids",
        nargs="*",
        metavar="SESSION_ID",
        help="sessions in the database (default: all, unless --export is given)",
    )
    rg.add_argument(
        "--export",
        dest="exports",
        action="append",
        default=[],
        metavar="FILE",
        help="an exported transcript JSON (GET /api/sessions/{id}/transcript); repeatable",
    )
    rg.add_argument("--json", metavar="FILE", help="write the JSON report here")
    _brain(rg)
    rg.add_argument("--cassettes", metavar="DIR", help="cassettes to replay (--brain replay; found by session id)")
    rg.add_argument("--record", metavar="DIR", help="record the live calls into cassettes here (--brain llm)")
    _thresholds(rg)
    rg.set_defaults(handler=regrade_handler)

    ex = subparsers.add_parser("export", help="turn a stored session into an eval scenario YAML")
    ex.add_argument("session_id", metavar="SESSION_ID")
    ex.add_argument("--scenario", required=True, metavar="FILE", help="the scenario file to write")
    ex.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    ex.add_argument(
        "--cassettes",
        metavar="DIR",
        help="the session's recording dir (`barraiser serve --record DIR`): copy its cassette to "
        "the scenario id in DIR so `eval --brain replay --cassettes DIR` replays it",
    )
    ex.set_defaults(handler=export_handler)
