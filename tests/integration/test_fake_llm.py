"""The fake OpenAI-compatible server (devtools/fake_llm/), driven by the real ``openai`` SDK over real HTTP on a
free loopback port: completions, streaming, structured outputs, scripted rules and injected faults."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from enum import StrEnum
from typing import Literal

import openai
import pydantic
import pytest
from pydantic import BaseModel, Field

from devtools.fake_llm.asgi import split_pieces
from devtools.fake_llm.harness import FakeLLM
from devtools.fake_llm.schema_instance import schema_instance
from devtools.fake_llm.script import ScriptError, validate_script

USER = [{"role": "user", "content": "Tell me about a time you disagreed with your manager."}]


class Vote(StrEnum):
    strong_no_hire = "strong_no_hire"
    inclined = "inclined"


class Evidence(BaseModel):
    quote: str = Field(min_length=3)
    weight: int = Field(ge=2, le=5)


class Grade(BaseModel):
    vote: Vote
    kind: Literal["technical", "lp"]
    confidence: float = Field(gt=0.5, le=1)
    evidence: list[Evidence] = Field(min_length=1)
    best: Evidence | None = None
    notes: list[str]
    follow_up: bool


class InterviewerTurn(BaseModel):
    say: str
    action: Literal["ask", "hint", "probe"]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
def llm(fake: FakeLLM) -> FakeLLM:
    fake.set_script({"rules": []})
    fake.reset()
    return fake


def client(fake: FakeLLM, **kwargs) -> openai.AsyncOpenAI:
    kwargs.setdefault("max_retries", 0)
    return openai.AsyncOpenAI(base_url=fake.base_url, api_key="x", **kwargs)


async def test_plain_completion_and_models(llm: FakeLLM):
    async with client(llm) as c:
        resp = await c.chat.completions.create(model="fake-model", messages=USER)
        models = await c.models.list()
    assert resp.choices[0].message.content == "This is the fake model."
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.prompt_tokens == (len(USER[0]["content"]) + 3) // 4
    assert resp.usage.completion_tokens == len(split_pieces("This is the fake model."))
    assert "fake-model" in [m.id for m in models.data]
    [logged] = llm.requests()
    assert logged["body"]["messages"] == USER and logged["rule"] is None


async def test_streaming_text_arrives_in_pieces(llm: FakeLLM):
    text = "Walk me through how you would size the experiment — ünïcödé 😀 included."
    llm.set_script({"rules": [{"respond": {"content": text}}]})
    async with client(llm) as c:
        stream = await c.chat.completions.create(model="m", messages=USER, stream=True)
        chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [ch.choices[0].delta.content for ch in chunks if ch.choices and ch.choices[0].delta.content]
    assert len(pieces) >= 5 and "".join(pieces) == text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(ch.usage is None for ch in chunks)


async def test_streaming_include_usage(llm: FakeLLM):
    async with client(llm) as c:
        stream = await c.chat.completions.create(
            model="m", messages=USER, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    pieces = [ch for ch in chunks if ch.choices and ch.choices[0].delta.content]
    assert last.usage.completion_tokens == len(pieces)
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert chunks[-2].choices[0].finish_reason == "stop"


async def test_json_schema_default_validates(llm: FakeLLM):
    async with client(llm) as c:
        resp = await c.chat.completions.parse(model="m", messages=USER, response_format=Grade)
    parsed = resp.choices[0].message.parsed
    assert isinstance(parsed, Grade)
    assert parsed.vote is Vote.strong_no_hire and parsed.kind == "technical"
    assert 0.5 < parsed.confidence <= 1 and len(parsed.evidence) == 1 and parsed.evidence[0].weight == 2
    # key order follows the schema's properties (callers stream-parse the JSON)
    assert list(json.loads(resp.choices[0].message.content)) == list(Grade.model_fields)
    assert llm.requests()[0]["body"]["response_format"]["json_schema"]["name"] == "Grade"


async def test_json_mode_default_and_schema_instance_edge_cases(llm: FakeLLM):
    async with client(llm) as c:
        resp = await c.chat.completions.create(model="m", messages=USER, response_format={"type": "json_object"})
    assert resp.choices[0].message.content == "{}"
    assert schema_instance({"type": ["null", "integer"], "exclusiveMinimum": 3, "exclusiveMaximum": 10}) == 4
    assert schema_instance({"type": "string", "nullable": True, "minLength": 5}) == "okkkk"
    assert schema_instance(
        {
            "allOf": [{"$ref": "#/definitions/A"}],
            "definitions": {"A": {"type": "object", "properties": {"b": {"const": 7}}, "required": ["b"]}},
        }
    ) == {"b": 7}
    with pytest.raises(ScriptError, match=r"rules\[0\].match: unknown key"):
        validate_script({"rules": [{"match": {"modle": "x"}}]})


async def test_scripted_json_respond(llm: FakeLLM):
    turn = {"say": "Why that metric?", "action": "probe"}
    llm.set_script({"rules": [{"match": {"schema": "InterviewerTurn"}, "respond": {"json": turn}}]})
    async with client(llm) as c:
        resp = await c.chat.completions.parse(model="m", messages=USER, response_format=InterviewerTurn)
    assert resp.choices[0].message.parsed == InterviewerTurn(**turn)
    assert resp.choices[0].message.content == json.dumps(turn)
    assert llm.requests()[0]["rule"] == 0


async def test_times_then_fall_through(llm: FakeLLM):
    llm.set_script(
        {
            "rules": [
                {"times": 2, "respond": {"content": "first"}},
                {"respond": {"content": "second"}},
            ]
        }
    )
    async with client(llm) as c:
        got = [(await c.chat.completions.create(model="m", messages=USER)).choices[0].message.content for _ in range(3)]
    assert got == ["first", "first", "second"]
    assert [r["rule"] for r in llm.requests()] == [0, 0, 1]
    llm.reset()  # counters reset too
    async with client(llm) as c:
        resp = await c.chat.completions.create(model="m", messages=USER)
    assert resp.choices[0].message.content == "first"


async def test_429_then_success_with_retries(llm: FakeLLM):
    llm.set_script({"rules": [{"times": 1, "fault": {"status": 429, "retry_after_s": 0.01}}]})
    async with client(llm, max_retries=2) as c:
        resp = await c.chat.completions.create(model="m", messages=USER)
    assert resp.choices[0].message.content == "This is the fake model."
    assert [r["rule"] for r in llm.requests()] == [0, None]


async def test_500_surfaces_without_retries(llm: FakeLLM):
    llm.set_script({"rules": [{"fault": {"status": 500}}]})
    async with client(llm) as c:
        with pytest.raises(openai.InternalServerError):
            await c.chat.completions.create(model="m", messages=USER)
    assert len(llm.requests()) == 1


async def test_hang_times_out(llm: FakeLLM):
    llm.set_script({"rules": [{"fault": {"hang_s": 5}}]})
    started = time.monotonic()
    async with client(llm, timeout=0.5) as c:
        with pytest.raises(openai.APITimeoutError):
            await c.chat.completions.create(model="m", messages=USER)
    assert time.monotonic() - started < 3


async def test_malformed_json_fails_parse(llm: FakeLLM):
    llm.set_script({"rules": [{"fault": {"malformed_json": True}}]})
    async with client(llm) as c:
        with pytest.raises(pydantic.ValidationError, match="Invalid JSON"):
            await c.chat.completions.parse(model="m", messages=USER, response_format=InterviewerTurn)


async def test_truncate_gives_length(llm: FakeLLM):
    llm.set_script(
        {
            "rules": [
                {"match": {"stream": False}, "fault": {"truncate": True}},
                {"match": {"stream": True}, "fault": {"truncate": True}},
            ]
        }
    )
    async with client(llm) as c:
        with pytest.raises(openai.LengthFinishReasonError):
            await c.chat.completions.parse(model="m", messages=USER, response_format=InterviewerTurn)
        stream = await c.chat.completions.create(model="m", messages=USER, stream=True)
        chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices[0].finish_reason == "length"
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert text and "This is the fake model.".startswith(text) and text != "This is the fake model."


async def test_disconnect_mid_stream(llm: FakeLLM):
    llm.set_script({"rules": [{"fault": {"disconnect": True}}]})
    received: list[str] = []
    async with client(llm) as c:
        with pytest.raises(openai.APIConnectionError):
            stream = await c.chat.completions.create(model="m", messages=USER, stream=True)
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    received.append(chunk.choices[0].delta.content)
        with pytest.raises(openai.APIConnectionError):  # non-streaming: the body stops halfway
            await c.chat.completions.create(model="m", messages=USER)
    assert received and "".join(received) != "This is the fake model."


async def test_ttft_delays_first_chunk(llm: FakeLLM):
    llm.set_script({"rules": [{"ttft_ms": 200, "tokens_per_s": 200, "respond": {"content": "x" * 40}}]})
    async with client(llm) as c:
        started = time.monotonic()
        stream = await c.chat.completions.create(model="m", messages=USER, stream=True)
        first_content_at = None
        count = 0
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content and first_content_at is None:
                first_content_at = time.monotonic()
            count += 1
        done_at = time.monotonic()
    assert first_content_at - started >= 0.18
    # 9 more pieces paced at 200/s after the first: the stream cannot end sooner (measured from the start, since a
    # busy client may read the first piece late and the rest in one burst)
    assert done_at - started >= 0.2 + 9 / 200 * 0.8
    assert count == 12  # role + first piece, 9 more pieces, the finish chunk


async def test_match_last_user_and_schema(llm: FakeLLM):
    llm.set_script(
        {
            "rules": [
                {
                    "match": {"schema": "InterviewerTurn", "last_user_contains": "overfit"},
                    "respond": {"json": {"say": "Tell me about a time a model overfit.", "action": "probe"}},
                },
                {
                    "match": {"schema": "InterviewerTurn"},
                    "respond": {"json": {"say": "Next question.", "action": "ask"}},
                },
                {"match": {"system_contains": "grader", "model": "grader-model"}, "respond": {"content": "graded"}},
            ]
        }
    )
    system = {"role": "system", "content": "You are the grader."}
    async with client(llm) as c:
        a = await c.chat.completions.parse(
            model="m",
            response_format=InterviewerTurn,
            messages=[
                {"role": "user", "content": "the model overfit"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "and then we shipped"},
            ],
        )
        b = await c.chat.completions.parse(
            model="m",
            response_format=InterviewerTurn,
            messages=[{"role": "user", "content": "the model overfit badly"}],
        )
        g = await c.chat.completions.create(model="grader-model", messages=[system, *USER])
        h = await c.chat.completions.create(model="other", messages=[system, *USER])
    assert a.choices[0].message.parsed.action == "ask"  # only the last user message counts
    assert b.choices[0].message.parsed.action == "probe"
    assert g.choices[0].message.content == "graded"
    assert h.choices[0].message.content == "This is the fake model."
    assert [r["rule"] for r in llm.requests()] == [1, 0, 2, None]
