"""The bench's prompt-cache arithmetic (devtools/bench/prompt_cache.py): real o200k_base tokens, OpenAI's caching
rule (nothing below 1,024 shared tokens, then 128-token steps), per session, the schema counted apart."""

from __future__ import annotations

from devtools.bench.prompt_cache import cacheable, o200k, session_of, uncached_per_round


def test_o200k_tokens_are_the_real_ones():
    enc = o200k()
    assert enc.encode_ordinary("hello world") == [24912, 2375]  # o200k_base ids
    assert (
        enc.decode(enc.encode_ordinary("Tell me about a time you disagreed.")) == "Tell me about a time you disagreed."
    )


def test_caching_rule():
    assert [cacheable(n) for n in (0, 1023, 1024, 1151, 1152, 5000)] == [0, 0, 1024, 1024, 1152, 4992]


def _request(t: float, system: str, user: str, schema: dict | None = None) -> dict:
    body = {"messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}
    if schema:
        body["response_format"] = schema
    return {"t": t, "body": body}


def test_uncached_tokens_per_round():
    enc = o200k()
    stable = " ".join(f"rule{i}" for i in range(1500))  # well over 1,024 tokens
    requests = [
        _request(1, stable, "first answer [bench s0 a1]", {"type": "json_schema"}),
        _request(2, stable, "second answer [bench s0 a1] [bench s0 a2]"),
        _request(3, "short system", "no cache here [bench s1 a1]"),
        _request(4, stable, "warm-up [bench s-1 a1]"),  # the warm-up session does not count
        _request(5, stable, "an opening call carries no tag"),
    ]
    assert session_of(requests[1]["body"]) == 0 and session_of(requests[4]["body"]) is None
    report = uncached_per_round(requests)
    assert report["rounds"] == 2
    first = len(enc.encode_ordinary("system\n" + stable + "\nuser\nfirst answer [bench s0 a1]\n"))
    second = len(enc.encode_ordinary("system\n" + stable + "\nuser\nsecond answer [bench s0 a1] [bench s0 a2]\n"))
    shared = len(enc.encode_ordinary("system\n" + stable + "\nuser\n"))
    # session 0: the second call shares the stable prefix (rounded down to 128s); session 1 shares nothing
    session0 = first + second - shared // 128 * 128
    session1 = len(enc.encode_ordinary("system\nshort system\nuser\nno cache here [bench s1 a1]\n"))
    assert report["uncached_prompt_tokens_per_round"] == (session0 + session1) / 2  # the median of the two rounds
    assert report["schema_tokens_per_round"] == len(enc.encode_ordinary('{"type": "json_schema"}')) / 2
