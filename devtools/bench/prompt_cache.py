"""Uncached prompt tokens under a provider's prefix caching, per round of ``barraiser bench``: what the LLM calls of
a round would be billed at the full input price.

The counting and the caching rule are ``devtools/bench/prompt_cost.py``'s (o200k_base tokens; a prefix shared with
an earlier call is cached from 1,024 tokens on, in 128-token steps). Here the calls are grouped by bench session,
each round alone (as if no other candidate warmed the cache), over its tagged calls: every call after its first
answer, replies and grades; the structured-output schema is counted apart.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from typing import Any

from devtools.bench.prompt_cost import count

_TAG = re.compile(r"\[bench s(-?\d+) a(\d+)\]")


def _text(body: dict) -> str:
    return " ".join(str(m.get("content") or "") for m in body.get("messages") or [])


def session_of(body: dict) -> int | None:
    """The bench session a request belongs to: the session of its highest-numbered answer tag (the opening call of
    a session carries none; the warm-up session is -1)."""
    found = [(int(s), int(a)) for s, a in _TAG.findall(_text(body))]
    return max(found, key=lambda x: x[1])[0] if found else None


def uncached_per_round(requests: list[dict]) -> dict[str, Any]:
    """Per session (round): calls, prompt tokens, cacheable and uncached ones (messages only) and schema tokens; the
    medians over the rounds."""
    by_session: dict[int, list[dict]] = defaultdict(list)
    for r in sorted(requests, key=lambda r: r.get("t", 0)):
        body = r.get("body") or {}
        session = session_of(body)
        if session is not None and session >= 0:  # the warm-up session is -1
            by_session[session].append({"body": body})
    rounds = []
    purposes: dict[str, int] = defaultdict(int)
    for calls in by_session.values():
        rows = count(calls)
        for r in rows:
            purposes[r["purpose"]] += 1
        rounds.append(
            {
                "calls": len(rows),
                "prompt": sum(r["prompt"] for r in rows),
                "cacheable": sum(r["cached_msgs"] for r in rows),
                "uncached": sum(r["uncached_msgs"] for r in rows),
                "schema": sum(r["schema"] for r in rows),
            }
        )
    if not rounds:
        return {"rounds": 0}
    return {
        "rounds": len(rounds),
        "calls_per_round": statistics.median(r["calls"] for r in rounds),
        "prompt_tokens_per_round": statistics.median(r["prompt"] for r in rounds),
        "uncached_prompt_tokens_per_round": statistics.median(r["uncached"] for r in rounds),
        "cacheable_share": round(sum(r["cacheable"] for r in rounds) / max(1, sum(r["prompt"] for r in rounds)), 3),
        "schema_tokens_per_round": statistics.median(r["schema"] for r in rounds),
        "calls_by_purpose": dict(purposes),  # over all rounds: reply, grade, debrief...
    }
