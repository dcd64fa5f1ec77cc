"""The fake LLM's command line: ``barraiser fake-llm`` (registered through the ``barraiser.commands`` entry point)
and ``python -m devtools.fake_llm.cli``, with the same flags (docs/fake-llm.md)."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port, printed on start)")
    parser.add_argument(
        "--ttft-ms",
        type=float,
        default=None,
        help="delay before the first streamed token, ms (overrides the script's defaults)",
    )
    parser.add_argument(
        "--tokens-per-s",
        type=float,
        default=None,
        help="streamed pieces per second, 0 = unthrottled (overrides the script's defaults)",
    )
    parser.add_argument("--script", default=None, help="rules file, YAML or JSON (see docs/fake-llm.md)")


def _run_args(args: argparse.Namespace, settings: Any = None) -> int:
    for flag in ("ttft_ms", "tokens_per_s"):
        value = getattr(args, flag)
        if value is not None and (value < 0 or not math.isfinite(value)):
            print(f"--{flag.replace('_', '-')} must be >= 0", file=sys.stderr)
            return 2
    from devtools.fake_llm.asgi import run
    from devtools.fake_llm.script import ScriptError, load_script_file

    try:
        script = load_script_file(args.script) if args.script else None
    except (OSError, ScriptError) as exc:
        print(f"fake-llm: bad script: {exc}", file=sys.stderr)
        return 2
    try:
        return run(args.host, args.port, script, args.ttft_ms, args.tokens_per_s)
    except OSError as exc:
        print(f"fake-llm: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2


def add_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``barraiser fake-llm`` on the ``barraiser`` sub-command parsers; its handler is called as
    ``handler(args, settings)`` like the others."""
    parser = subparsers.add_parser("fake-llm", help="serve a scripted fake OpenAI-compatible LLM (tests, benchmark)")
    _add_arguments(parser)
    parser.set_defaults(handler=_run_args)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.fake_llm.cli",
        description="Scripted fake OpenAI-compatible LLM server (docs/fake-llm.md).",
    )
    _add_arguments(parser)
    return _run_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
