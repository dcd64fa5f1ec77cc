"""The bench's prompt-cache figures per round (devtools/bench/prompt_cache.py): calls grouped by bench session, the
warm-up and untagged calls left out, counted with devtools/bench/prompt_cost.py's tokens and caching rule."""

from __future__ import annotations

from devtools.bench.prompt_cache import session_of, uncached_per_round
from devtools.bench.prompt_cost import count


def _request(t: float, system: str, user: str, schema: dict | None = None) -> dict:
    body: dict = {"messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}
    if schema:
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "X", "schema": schema}}
    return {"t": t, "body": body}


def test_uncached_tokens_per_round():
    stable = " ".join(f"rule{i}" for i in range(1500))  # well over 1,024 tokens
    requests = [
        _request(1, stable, "first answer [bench s0 a1]", {"type": "object"}),
        _request(2, stable, "second answer [bench s0 a1] [bench s0 a2]"),
        _request(3, "short system", "no cache here [bench s1 a1]"),
        _request(4, stable, "warm-up [bench s-1 a1]"),  # the warm-up session does not count
        _request(5, stable, "an opening call carries no tag"),
    ]
    assert session_of(requests[1]["body"]) == 0 and session_of(requests[3]["body"]) == -1
    assert session_of(requests[4]["body"]) is None
    report = uncached_per_round(requests)
    assert report["rounds"] == 2 and report["calls_per_round"] == 1.5
    session0 = count(requests[:2])
    session1 = count(requests[2:3])
    assert session0[1]["cached_msgs"] >= 1024 and session1[0]["cached_msgs"] == 0  # the stable prefix is cached
    uncached = [sum(r["uncached_msgs"] for r in s) for s in (session0, session1)]
    assert report["uncached_prompt_tokens_per_round"] == sum(uncached) / 2  # the median of the two rounds
    assert report["schema_tokens_per_round"] == session0[0]["schema"] / 2
