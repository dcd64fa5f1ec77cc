"""The eval suite end to end with ``--brain llm`` against the project's fake OpenAI-compatible server.

    .venv/bin/python -m devtools.eval_llm_fake [PATH ...] [--json FILE]     # default: the whole suite

It starts the fake with ``SCRIPT`` (a forced move is made as asked; in a Leadership Principles or failure-case probe
the probe goes on; otherwise a follow-up, each line numbered so no two are the same) and runs ``barraiser eval PATHS
--brain llm`` against it. The fake is not a model: its grades are the schema's minimal instance, with no evidence,
so every grade abstains and the grade metrics measure nothing; what the run shows is that every scenario runs
through the LLM brain (prompts, streaming, the rules' checks, the word checks, grading, the debrief) and what the
move, leak and repeat metrics say of the scripted lines.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from app.config import PROJECT_ROOT
from app.core.vocabulary import MOVES
from devtools.fake_llm.harness import FakeLLM
from devtools.fake_llm.script import interviewer_turn


def script(lines: int = 400) -> dict:
    rules: list[dict] = []
    for move in MOVES:
        rules.append(
            {
                "match": {"schema": "InterviewerTurn", "last_user_contains": f"You must make the move '{move}'"},
                "respond": {"json": interviewer_turn(move, "Thank you." if move == "end" else "Let us go on.")},
            }
        )
    rules.append(
        {
            "match": {"schema": "InterviewerTurn", "last_user_contains": "Suspended for a Leadership Principles probe"},
            "respond": {
                "json": {**interviewer_turn("lp_follow_up", "And what did you do yourself?"), "star_part": "action"}
            },
        }
    )
    rules.append(
        {
            "match": {"schema": "InterviewerTurn", "last_user_contains": "Suspended for a failure-case probe"},
            "respond": {"json": interviewer_turn("failure_probe", "What was the root cause?")},
        }
    )
    rules += [
        {
            "match": {"schema": "InterviewerTurn"},
            "times": 1,
            "respond": {
                "json": interviewer_turn("follow_up", f"Tell me more about that, point number {n} of the follow-ups.")
            },
        }
        for n in range(1, lines + 1)
    ]
    rules.append({"match": {"schema": "InterviewerTurn"}, "respond": {"json": interviewer_turn("follow_up", "Go on.")}})
    return {"rules": rules}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.eval_llm_fake")
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    paths = args.paths  # none: every scenario folder (evals/scenarios, evals/holdout), as `barraiser eval` does
    with FakeLLM(script()) as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BARRAISER_", "OPENAI_"))}
        env.update(BARRAISER_LLM_BASE_URL=fake.base_url, BARRAISER_LLM_API_KEY="fake", BARRAISER_LLM_MODEL="fake")
        cmd = [sys.executable, "-m", "app.cli", "eval", *paths, "--brain", "llm"]
        if args.json:
            cmd += ["--json", args.json]
        proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, timeout=3600)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
