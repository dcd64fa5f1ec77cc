"""``barraiser bench --prompt-cost``: the LLM brain's prompt tokens per scripted round, and how many of them a provider
that caches prompt prefixes would still bill as uncached.

It runs ``devtools/bench/prompt_cost_round.yaml`` (20 answers of about 80 words; with ``--prompt-turns 40`` the same 20
again, each prefixed "Adding to my earlier point: ") through ``barraiser eval --brain llm`` against the project's
fake OpenAI-compatible server, scripted to follow the move schedule of ../shared/reference/prompt-cost.md
(``SCHEDULE``), and reads every request body from the fake's log. Tokens are o200k_base (gpt-4o, gpt-4o-mini) from
the ``bpe-openai`` package, which ships the vocabulary (no download). A prompt counts as in the OpenAI cookbook:
sum(3 + tokens(role) + tokens(content)) + 3. The caching rule (OpenAI's public rule): the longest token prefix a
request shares with any earlier request is cached when it is at least 1,024 tokens, in steps of 128 after that;
everything else is uncached. Two views: the messages only, and "schema first" (the structured-output schema counted
as a prefix of the messages, as OpenAI describes it).

The fake answers are scripted, not a model's: the prompt numbers are exact for these request bodies; the grades and
completions mean nothing. ``app_root`` runs another checkout's ``app`` (e.g. the code before a change) with the same
round and schedule, for before / after numbers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median
from typing import Any

import yaml

from devtools.fake_llm.harness import FakeLLM
from devtools.fake_llm.script import interviewer_turn

ROUND = Path(__file__).with_name("prompt_cost_round.yaml")
CACHE_MIN, CACHE_STEP = 1024, 128
AGAIN = "Adding to my earlier point: "

# the interviewer's move after answers 1..20 (the reference script's schedule); later answers get follow-ups
SCHEDULE = (
    ["follow_up"] * 2
    + ["lp_pivot", "lp_follow_up", "lp_follow_up", "return", "follow_up", "ask"]
    + ["follow_up"] * 3
    + ["ask", "follow_up", "lp_pivot", "lp_follow_up", "return"]
    + ["follow_up"] * 4
)
# one distinct, spoken-sounding line of about 40 words per reply (no key point stated, none said twice)
LINES = [
    "Thanks, that is a clear start. Before we go further, walk me through how you would actually tell the two "
    "situations apart on a real project, starting from the numbers you would look at first and why those numbers.",
    "Okay, let me push on that a little. Suppose the numbers you just described came back ambiguous and the gap "
    "was moderate rather than large. What would you do next, and what would change your mind either way?",
    "You mentioned walking a number back in front of a team, and I would like to hear more about that. Tell me "
    "about that situation from the start: what was going on, and what exactly was your part in it at the time?",
    "Thanks for setting that up. Now tell me what you personally did once you found the problem, step by step, "
    "and who you spoke to first. I am interested in your own actions here rather than what the team decided.",
    "That helps me follow it. So how did it turn out in the end? Give me whatever numbers you have, and tell me "
    "what you would do differently if you found yourself in the same situation again next quarter.",
    "Thanks, that is a complete picture of the story. Let us go back to the technical question where we left it "
    "a few minutes ago, and pick up the thread from where you were before we moved on to the project.",
    "Good. Staying with the same question for one more minute: which of those fixes would you reach for first on "
    "a tabular problem with a modest amount of data, and how would you know that it had actually worked?",
    "Alright, I think I have a good sense of how you approach that one. Let us move on to a related topic now, "
    "which is about regularization and how different penalties behave in practice.",
    "Thanks. Let me probe the practical side of that. If you had a few hundred features and many of them were "
    "strongly related to each other, how would each of those two choices behave, and what would you pick?",
    "Interesting. Can you give me another way of looking at the same two penalties, one that does not rely on "
    "the geometric picture? I am curious whether there is a probabilistic reading you find useful here.",
    "Makes sense. Before you fit anything with either penalty, is there anything you would do to the inputs "
    "first, and how would you choose the strength of the penalty on a real dataset with limited time?",
    "Great, thanks. I want to cover one more area in the time we have left, on classification metrics and how "
    "you reason about the trade-offs between the different kinds of mistakes a model can make.",
    "Thanks. Make that concrete for me with a system you have worked on. How did you pick the operating point "
    "there, and what did you report to the people who depended on it every day?",
    "You said you pushed back on the operations lead, and I would like to understand that better. Tell me the "
    "story from the beginning: what was at stake for each side, and what was your own role in it?",
    "Thanks. And what happened after you showed her the data? How did you two get to a decision, and what was "
    "the measurable result of it, say a few months later? Include any numbers you remember.",
    "Thank you, that is a useful story and I have what I need from it. Let us return to the metrics question we "
    "were on a few minutes ago, and pick it up from where you had left it before the story.",
    "Good. Now suppose the positive class is very rare, say well under one percent of the traffic. How would that "
    "change which curves or summary numbers you look at, and what would you report to the team?",
    "Okay. What if the rate of positives itself moves from one month to the next, for reasons that have nothing "
    "to do with the model? How would you read your metrics then, and what would you watch for?",
    "Let me widen it a little. Say the problem has many classes instead of two, some of them very rare. How "
    "would you summarise performance for a team that needs a single view of how the model is doing?",
    "Last one on this topic. You are launching a new model in a product that has never had one before. How would "
    "you choose the threshold on day one, and when would you revisit that choice after the launch?",
]
PRINCIPLES = ["Earn Trust", "Have Backbone; Disagree and Commit"]


def fake_script(turns: int) -> dict:
    """The fake's rules: forced moves first, then the schedule (each rule used once, in order), then follow-ups."""
    rules: list[dict] = [
        {
            "match": {"schema": "InterviewerTurn", "last_user_contains": "You must make the move 'end'"},
            "respond": {
                "json": interviewer_turn(
                    "end", "Thank you, that is all the time we have today. The recruiter will be in touch."
                )
            },
        },
        {
            "match": {"schema": "InterviewerTurn", "last_user_contains": "You must make the move 'ask'"},
            "times": 1,
            "respond": {
                "json": interviewer_turn("ask", "Hi, thanks for joining. I will ask a few machine learning questions.")
            },
        },
    ]
    pivots = iter(PRINCIPLES)
    for i, move in enumerate(SCHEDULE[:turns]):
        fields: dict[str, Any] = {}
        if move == "lp_pivot":
            fields["principle"] = next(pivots)
        elif move == "lp_follow_up":
            fields["star_part"] = "action" if SCHEDULE[i - 1] == "lp_pivot" else "result"
        rules.append(
            {
                "match": {"schema": "InterviewerTurn"},
                "times": 1,
                "respond": {"json": interviewer_turn(move, LINES[i], **fields)},
            }
        )
    later = [f"Thanks. Say more about point {n}: how would you check it on real data this week?" for n in range(40)]
    rules += [
        {"match": {"schema": "InterviewerTurn"}, "times": 1, "respond": {"json": interviewer_turn("follow_up", line)}}
        for line in later[: max(0, turns - len(SCHEDULE))]
    ]
    rules.append({"match": {"schema": "InterviewerTurn"}, "respond": {"json": interviewer_turn("follow_up", "Go on.")}})
    return {"rules": rules}


def scenario(turns: int, folder: Path) -> Path:
    data = yaml.safe_load(ROUND.read_text())
    says = [t["say"] for t in data["turns"]]
    data["turns"] = [
        {"say": says[i % len(says)] if i < len(says) else AGAIN + says[i % len(says)]} for i in range(turns)
    ]
    path = folder / "prompt-cost-round.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# ---------------------------------------------------------------------------------------------- counting


def _encoding():
    import bpe_openai

    return bpe_openai.get_encoding("o200k_base")


def _purpose(body: dict) -> str:
    fmt = body.get("response_format") or {}
    name = (fmt.get("json_schema") or {}).get("name") or ""
    return {"InterviewerTurn": "reply", "GradeOut": "grade", "DebriefText": "debrief"}.get(name, name or "other")


def _schema(body: dict) -> dict | None:
    fmt = body.get("response_format") or {}
    return (fmt.get("json_schema") or {}).get("schema")


def count(requests: list[dict], enc: Any = None) -> list[dict]:
    """Per request, in the order the server received them: purpose, prompt tokens (messages; schema), and the
    cacheable tokens under the caching rule for the messages only and for schema first."""
    enc = enc or _encoding()
    seqs: dict[str, list[list[int]]] = {"msgs": [], "schema_first": []}
    out = []
    for req in requests:
        body = req["body"]
        tokens: list[int] = []
        prompt = 3
        for m in body.get("messages", []):
            content = m.get("content") or ""
            if not isinstance(content, str):
                content = json.dumps(content)
            role, text = enc.encode(m["role"]), enc.encode(content)
            prompt += 3 + len(role) + len(text)
            tokens += [-1, *role, -2, *text, -3]
        schema = _schema(body)
        schema_tokens = enc.encode(json.dumps(schema, separators=(",", ":"))) if schema else []
        row = {"purpose": _purpose(body), "prompt": prompt, "schema": len(schema_tokens)}
        for view, seq in (("msgs", tokens), ("schema_first", [*schema_tokens, -4, *tokens])):
            shared = max((_common(seq, earlier) for earlier in seqs[view]), default=0)
            total = prompt + (len(schema_tokens) if view == "schema_first" else 0)
            row[f"shared_{view}"] = shared
            row[f"cached_{view}"] = min(_cacheable(shared), total)
            row[f"uncached_{view}"] = total - row[f"cached_{view}"]
            seqs[view].append(seq)
        out.append(row)
    return out


def _common(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _cacheable(shared: int) -> int:
    return 0 if shared < CACHE_MIN else CACHE_MIN + (shared - CACHE_MIN) // CACHE_STEP * CACHE_STEP


# ---------------------------------------------------------------------------------------------- the run


def run_prompt_cost(turns: int = 20, app_root: Path | None = None) -> dict:
    """Run the scripted round and count its prompts; ``app_root`` is the checkout whose ``app`` runs (default ours)."""
    from app.config import PROJECT_ROOT

    root = Path(app_root or PROJECT_ROOT)
    with tempfile.TemporaryDirectory() as tmp, FakeLLM(fake_script(turns)) as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BARRAISER_", "OPENAI_"))}
        env.update(
            BARRAISER_LLM_BASE_URL=fake.base_url,
            BARRAISER_LLM_API_KEY="bench",
            BARRAISER_LLM_MODEL="gpt-4o-mini",
            BARRAISER_DATABASE_URL=f"sqlite:///{Path(tmp) / 'bench.db'}",
            PYTHONPATH=str(root),
        )
        report_file = Path(tmp) / "eval.json"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "app.cli",
                "eval",
                str(scenario(turns, Path(tmp))),
                "--brain",
                "llm",
                "--json",
                str(report_file),
            ],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if not report_file.exists():
            raise RuntimeError(f"the eval run failed ({proc.returncode}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        result = json.loads(report_file.read_text())["results"][0]
        requests = fake.requests()
    rows = count(requests)
    return summarise(rows, result, turns)


def summarise(rows: list[dict], result: dict, turns: int) -> dict:
    replies = [i for i, r in enumerate(rows) if r["purpose"] == "reply"]
    # the turns' calls: every reply but the opening one and the closing one, and every grade
    inner = set(replies[1:-1]) | {i for i, r in enumerate(rows) if r["purpose"] == "grade"}
    in_round = [r for i, r in enumerate(rows) if i in inner]
    moves = [t.get("reply_move") for t in result.get("turns", [])]

    def total(part: list[dict], key: str) -> int:
        return sum(r[key] for r in part)

    report: dict[str, Any] = {
        "turns": turns,
        "answered": len(result.get("turns", [])),
        "moves": moves,
        "schedule_followed": moves[: len(SCHEDULE)] == SCHEDULE[: min(turns, len(SCHEDULE))],
        "calls": {"all": len(rows), "in_round": len(in_round)},
    }
    for view in ("msgs", "schema_first"):
        extra = "schema" if view == "schema_first" else None
        block = {}
        for name, part in (
            ("interviewer", [r for r in in_round if r["purpose"] == "reply"]),
            ("grader", [r for r in in_round if r["purpose"] == "grade"]),
            ("everything", in_round),
            ("whole_interview", rows),
        ):
            prompt = total(part, "prompt") + (total(part, extra) if extra else 0)
            cached, uncached = total(part, f"cached_{view}"), total(part, f"uncached_{view}")
            block[name] = {
                "prompt": prompt,
                "cached": cached,
                "uncached": uncached,
                # what a provider bills, in prompt-token equivalents, when cached tokens cost 50 % or 10 %
                "billed_at_50": round(uncached + cached * 0.5),
                "billed_at_10": round(uncached + cached * 0.1),
            }
        report[view] = block
    sizes = [r["prompt"] + r["schema"] for r in in_round if r["purpose"] == "reply"]
    report["reply_prompt"] = {
        "first": sizes[0] if sizes else None,
        "median": median(sizes) if sizes else None,
        "max_first_20": max(sizes[:20]) if sizes else None,
        "max_after_20": max(sizes[20:]) if len(sizes) > 20 else None,
    }
    report["rows"] = rows
    return report


def human(report: dict, before: dict | None = None) -> str:
    lines = [
        f"prompt cost: {report['answered']} answers, {report['calls']['all']} calls "
        f"({report['calls']['in_round']} in the turns), schedule followed: {report['schedule_followed']}",
        "tokens are o200k_base; cached = the prefix shared with an earlier request, >= 1,024 tokens in 128-token steps",
    ]
    if before is not None:
        lines.append(
            f"before: {before['answered']} answers, {before['calls']['all']} calls, schedule followed: "
            f"{before['schedule_followed']}"
        )
    for view, label in (("msgs", "messages only"), ("schema_first", "schema as a prefix")):
        lines.append(f"  {label}:")
        for name in ("interviewer", "grader", "everything", "whole_interview"):
            b = report[view][name]
            was = ""
            if before is not None:
                w = before[view][name]
                was = (
                    f"   (before: prompt {w['prompt']:,}, uncached {w['uncached']:,}, billed {w['billed_at_50']:,}/"
                    f"{w['billed_at_10']:,}; uncached now {b['uncached'] / max(1, w['uncached']):.2f}x)"
                )
            lines.append(
                f"    {name:16} prompt {b['prompt']:>7,}  cached {b['cached']:>7,}  uncached {b['uncached']:>7,}  "
                f"billed at 50%/10% {b['billed_at_50']:>7,}/{b['billed_at_10']:>7,}{was}"
            )
    rp = report["reply_prompt"]
    lines.append(
        f"  reply prompt (with schema): first {rp['first']}, median {rp['median']}, max turns 1-20 {rp['max_first_20']}, after 20 {rp['max_after_20']}"
    )
    return "\n".join(lines)
