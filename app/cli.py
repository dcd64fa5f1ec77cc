"""The ``barraiser`` command: ``serve`` runs the app; ``bank lint`` / ``bank stats`` check the content; ``eval``,
``regrade`` and ``export`` come from ``app.evaluation``; further sub-commands from installed distributions through
the ``barraiser.commands`` entry-point group (the developer tools add ``fake-llm`` and ``bench``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config import Settings

if TYPE_CHECKING:
    from app.content.catalog import Catalog

COMMANDS_GROUP = "barraiser.commands"  # entry points adding sub-commands: functions add_cli(subparsers)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.brains import BrainUnavailable
    from app.content.catalog import ContentError
    from app.server.app import create_app
    from app.server.runtime import tune_gc_for_serving

    if args.record:
        settings = settings.model_copy(update={"record_dir": args.record})
    try:
        application = create_app(settings)
    except ContentError as exc:
        print("The interview content does not validate:\n" + str(exc), file=sys.stderr)
        return 2
    except BrainUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return 2
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    proxies = settings.trusted_proxy_list
    options: dict[str, Any] = dict(
        host=host,
        port=port,
        ws_max_size=settings.max_frame_bytes * 4,
        ws_per_message_deflate=False,  # frames are small; compressing each costs more CPU than it saves
        log_level="info",
        timeout_graceful_shutdown=5,
        # X-Forwarded-For is believed only from the configured proxies (uvicorn trusts loopback by default)
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or [],
    )
    if args.workers > 1:
        return _serve_workers(args.workers, settings, options, application.state.brain_label)
    tune_gc_for_serving()
    print(f"Bar Raiser on http://{host}:{port} (brain: {application.state.brain_label})", flush=True)
    server = uvicorn.Server(uvicorn.Config(application, **options))
    try:
        server.run()
    except SystemExit:  # uvicorn exits on its own when the app's startup fails
        pass
    if not server.started:
        print(
            "barraiser serve: the server did not start (see the error above; e.g. the database is read-only, "
            "missing its folder, or not a database)",
            file=sys.stderr,
        )
        return 3
    return 0


def _serve_workers(workers: int, settings: Settings, options: dict[str, Any], brain_label: str) -> int:
    """N uvicorn worker processes on one listening socket, each building the app from the environment
    (``app.server.runtime:worker_app``); any worker serves any session, PostgreSQL settles which one drives it."""
    import os

    import uvicorn

    from app.store.database import is_postgres

    if not is_postgres(settings.database_url):
        print(
            "barraiser serve --workers needs a PostgreSQL database (BARRAISER_DATABASE_URL=postgresql://...): "
            "a SQLite file takes one server process",
            file=sys.stderr,
        )
        return 2
    if settings.record_dir is not None:  # the workers read their settings from the environment
        os.environ["BARRAISER_RECORD_DIR"] = str(settings.record_dir)
    print(
        f"Bar Raiser on http://{options['host']}:{options['port']} (brain: {brain_label}, {workers} workers)",
        flush=True,
    )
    uvicorn.run("app.server.runtime:worker_app", factory=True, workers=workers, **options)
    return 0


def _bank(args: argparse.Namespace, settings: Settings) -> int:
    from app.content.catalog import ContentError, load_catalog

    try:
        catalog = load_catalog(settings.rubrics_dir, settings.prompts_dir)
    except ContentError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s)", file=sys.stderr)
        return 1
    if args.bank_command == "check":
        return _check_claims(catalog, args.question, args.text)
    if args.bank_command == "lint":
        print(
            f"ok: {len(catalog.questions)} questions, {len(catalog.rounds)} rounds, "
            f"{len(catalog.principles)} principles, {len(catalog.failure_ladder.modes)} failure modes"
        )
        return 0
    rounds: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for q in catalog.questions.values():
        rounds.update(q.rounds)
        topics.update(q.topics)
        levels.update(q.levels)
        kinds[q.kind] += 1
    bridges = Counter(b.principle for q in catalog.questions.values() for b in q.lp_bridges)
    stats: dict[str, Any] = {
        "questions": len(catalog.questions),
        "rounds": dict(sorted(rounds.items())),
        "topics": dict(sorted(topics.items())),
        "levels": dict(sorted(levels.items())),
        "kinds": dict(sorted(kinds.items())),
        "principles": {
            p.name: {"probes": len(p.probes), "trigger_cues": len(p.trigger_cues), "bridges": bridges.get(p.name, 0)}
            for p in catalog.principles.values()
        },
        "failure_modes": len(catalog.failure_ladder.modes),
    }
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(f"{stats['questions']} questions")
        for section in ("rounds", "levels", "kinds"):
            print(f"{section}: " + ", ".join(f"{k} {v}" for k, v in stats[section].items()))
        print("principles: " + ", ".join(f"{k} ({v['probes']} probes)" for k, v in stats["principles"].items()))
    return 0


def _check_claims(catalog: Catalog, question_id: str, text: str) -> int:
    """What the claim matcher reads in ``text`` for each key point of a question (for content authors)."""
    from app.grading.claims import clauses, read_key_point
    from app.grading.cues import Text

    question = catalog.questions.get(question_id)
    if question is None:
        print(f"unknown question {question_id!r}; see `barraiser bank stats` or rubrics/questions/", file=sys.stderr)
        return 2
    answer = Text(sys.stdin.read() if text == "-" else text)
    parts = clauses(answer)
    for kp in question.rubric.key_points:
        reading = read_key_point(answer, kp, parts)
        where = ""
        if reading.span is not None:
            start, end = answer.original_span(*reading.span)
            where = f'  "{answer.original[start:end].strip()}"'
        claim = f" [{reading.hit.claim.id}]" if reading.hit else ""
        print(f"{kp.id:28} {reading.state.value:22}{claim}{where}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="barraiser", description="Bar Raiser: Amazon DS mock interviewer.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the web app")
    serve.add_argument("--host", help="interface to bind (default BARRAISER_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default BARRAISER_PORT or 8000; 0 = any free port)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (default 1; more than one needs a postgresql:// database)",
    )
    serve.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        help="write every LLM request/response to cassettes in DIR (one file per session)",
    )
    serve.set_defaults(handler=_serve)
    bank = sub.add_parser("bank", help="check the question bank and content")
    bank_sub = bank.add_subparsers(dest="bank_command", required=True)
    bank_sub.add_parser("lint", help="validate rubrics/ and prompts/; print file: field: reason per problem")
    check = bank_sub.add_parser(
        "check", help="show what the grader reads in an answer: each key point stated, mentioned, wrong or absent"
    )
    check.add_argument("question", help="a question id")
    check.add_argument("text", help="the answer text, or - to read it from standard input")
    stats = bank_sub.add_parser("stats", help="counts per round, topic, level and principle")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    bank.set_defaults(handler=_bank)

    from app.evaluation import add_cli as add_evaluation

    add_evaluation(sub)
    add_plugin_commands(sub)
    return parser


def add_plugin_commands(subparsers: argparse._SubParsersAction) -> None:
    """Sub-commands that other installed distributions declare in the ``barraiser.commands`` entry-point group (the
    developer tools, ``devtools/pyproject.toml``, declare ``fake-llm`` and ``bench``). Each entry point names a
    function ``add_cli(subparsers)`` that adds its parser and sets ``handler``, called as ``handler(args,
    settings)``. One that fails to load is reported on stderr and skipped, so the product's own commands still run."""
    for entry_point in entry_points(group=COMMANDS_GROUP):
        try:
            entry_point.load()(subparsers)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take `barraiser serve` down
            print(
                f"barraiser: skipping the {entry_point.name!r} command ({entry_point.value}): "
                f"{type(exc).__name__}: {exc}",
                file=sys.stderr,
            )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args, Settings())


if __name__ == "__main__":
    sys.exit(main())
