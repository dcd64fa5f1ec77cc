"""The replay suite's cassette recorder: re-record ``evals/cassettes/`` from the project's fake LLM, scripted by
``evals/replay/fake-script.json``.

    .venv/bin/python -m devtools.record_replay              # every scenario in evals/replay/ -> evals/cassettes/
    .venv/bin/python -m devtools.record_replay --check      # ... then replay them offline and show the result
    .venv/bin/python -m devtools.record_replay evals/replay/causal-peeking-hint.yaml   # just some scenarios

It starts ``barraiser fake-llm --script evals/replay/fake-script.json`` on a free loopback port, runs
``barraiser eval PATHS --brain llm --record TMP`` against it (BARRAISER_LLM_BASE_URL pointing at the fake), and,
only if every scenario passed and every model call matched a scripted rule, moves the new cassettes into
``--out`` (replacing those scenarios' old cassettes: a recorder appends, so stale lines must not survive).

To record a real model instead, do not use this recorder: see evals/replay/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from app.config import PROJECT_ROOT
from devtools.fake_llm.harness import FakeLLM

REPLAY = PROJECT_ROOT / "evals" / "replay"

LLM_ENV = (
    "BARRAISER_LLM_BASE_URL",
    "BARRAISER_LLM_API_KEY",
    "BARRAISER_LLM_MODEL",
    "BARRAISER_GRADER_MODEL",
    "BARRAISER_BRAIN",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
)


def _eval(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "eval", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _unmatched(requests: list[dict]) -> list[str]:
    out = []
    for req in requests:
        if req.get("rule") is None:
            body = req.get("body") or {}
            fmt = (body.get("response_format") or {}).get("json_schema", {}).get("name", "?")
            users = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
            tail = " ".join((users[-1] if users else "")[-300:].split())
            out.append(f"  {fmt}: ...{tail}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.record_replay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths",
        nargs="*",
        default=[str(REPLAY.relative_to(PROJECT_ROOT))],
        help="scenario files or directories (default evals/replay)",
    )
    parser.add_argument("--script", default=str(REPLAY / "fake-script.json"), help="the fake LLM's script")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "evals" / "cassettes"), help="cassette directory")
    parser.add_argument("--check", action="store_true", help="replay the new cassettes offline afterwards")
    parser.add_argument(
        "--force", action="store_true", help="keep the cassettes even if a scenario failed while recording"
    )
    args = parser.parse_args(argv)

    env = {k: v for k, v in os.environ.items() if k not in LLM_ENV}
    out = Path(args.out).resolve()
    with tempfile.TemporaryDirectory(prefix="barraiser-record-") as tmp, FakeLLM(Path(args.script)) as fake:
        rec, report = Path(tmp) / "cassettes", Path(tmp) / "report.json"
        live_env = {
            **env,
            "BARRAISER_LLM_BASE_URL": fake.base_url,
            "BARRAISER_LLM_API_KEY": "fake",
            "BARRAISER_LLM_MODEL": "fake-interviewer",
            "BARRAISER_GRADER_MODEL": "fake-grader",
            "BARRAISER_LLM_MAX_RETRIES": "0",
        }
        proc = _eval([*args.paths, "--brain", "llm", "--record", str(rec), "--json", str(report)], live_env)
        print(proc.stdout, end="")
        print(proc.stderr, end="", file=sys.stderr)
        unmatched = _unmatched(fake.requests())
        if unmatched:
            print(
                f"\n{len(unmatched)} model call(s) matched no rule of {args.script} (the fake answered with a "
                "schema default); add rules for them:\n" + "\n".join(unmatched),
                file=sys.stderr,
            )
            return 1
        if proc.returncode != 0 and not args.force:
            print(
                f"\nrecording run exited {proc.returncode}: cassettes NOT written (use --force to keep them)",
                file=sys.stderr,
            )
            return proc.returncode
        ids = [r["id"] for r in json.loads(report.read_text())["results"]]
        out.mkdir(parents=True, exist_ok=True)
        for sid in ids:
            (out / f"{sid}.jsonl").unlink(missing_ok=True)
        written = sorted(rec.glob("*.jsonl"))
        for f in written:
            shutil.move(str(f), out / f.name)
        print(f"\nwrote {len(written)} cassette(s) to {out}: {', '.join(f.name for f in written)}")
    if args.check:
        proc = _eval([*args.paths, "--brain", "replay", "--cassettes", str(out)], env)
        print(proc.stdout, end="")
        print(proc.stderr, end="", file=sys.stderr)
        return proc.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
