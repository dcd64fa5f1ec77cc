"""Structured outputs over any OpenAI-compatible server, and the errors the brain turns into clear messages.

``parse_structured`` asks for a pydantic model with the request ``chat.completions.parse`` sends (a strict
``json_schema``); a server that rejects ``json_schema`` gets ``json_object`` with the schema in the prompt instead.
``stream_json`` streams such a response's raw content. Both go through the SDK's ``client.post`` (its retries,
timeouts and error mapping) and read the answer as plain JSON / server-sent events. Invalid or truncated output is
retried once, then raised as :class:`~app.llm.errors.LLMOutputInvalid`. Timeouts, 429 and 5xx are retried by the SDK (backoff with
jitter); when they persist they become :class:`LLMUnavailable`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import httpx2
import openai
from openai import AsyncOpenAI
from pydantic import BaseModel, ValidationError

from app.llm.errors import LLMOutputInvalid, LLMUnavailable

M = TypeVar("M", bound=BaseModel)


_UNAVAILABLE = (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)


def _raise_cassette_miss(exc: BaseException) -> None:
    """A replay miss hides behind the SDK's connection error; surface it as itself."""
    from app.llm.cassettes import CassetteMiss

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, CassetteMiss):
            raise seen
        seen = seen.__cause__ or seen.__context__


def unavailable(exc: Exception) -> bool:
    """The endpoint is down or went away: the SDK's connection errors, 429 and 5xx, and a transport error while a
    response streams (the connection dropped mid-stream: httpx2's ``ReadError``, ``RemoteProtocolError``...)."""
    _raise_cassette_miss(exc)
    return isinstance(exc, (*_UNAVAILABLE, httpx2.TransportError)) or (
        isinstance(exc, openai.APIStatusError) and exc.status_code >= 500
    )


def _rejects_json_schema(exc: Exception) -> bool:
    """The server does not speak ``json_schema`` (some, like llama-cpp-python's, answer 500 with a validation
    message naming the field instead of 400)."""
    if isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError | openai.NotFoundError):
        return True
    return isinstance(exc, openai.APIStatusError) and ("json_schema" in str(exc) or "response_format" in str(exc))


_MAX_STRING = 600  # characters: keeps a small model from rambling inside one field until it runs out of tokens


def _bounded(schema: Any) -> Any:
    """The schema with a ``maxLength`` on every string (strict ``json_schema`` mode does not need it)."""
    if isinstance(schema, dict):
        out = {k: _bounded(v) for k, v in schema.items()}
        if out.get("type") == "string" and "enum" not in out:
            out.setdefault("maxLength", _MAX_STRING)
        return out
    if isinstance(schema, list):
        return [_bounded(v) for v in schema]
    return schema


def json_object_format(schema: dict) -> dict:
    """``json_object`` plus the schema: servers such as llama.cpp's turn it into a grammar; others ignore it."""
    return {"type": "json_object", "schema": _bounded(schema)}


def schema_instruction(schema: dict) -> str:
    return (
        "Reply with only a JSON object that validates against this JSON schema, fields in this order:\n"
        + json.dumps(schema, separators=(",", ":"))
    )


def with_schema_instruction(messages: list[dict], schema: dict) -> list[dict]:
    """The messages with the schema instruction appended to the last one: at the end, so calls that share a
    conversation still share its prefix (a leading system message would differ between purposes)."""
    if not messages:
        return [{"role": "user", "content": schema_instruction(schema)}]
    last = messages[-1]
    return [*messages[:-1], {**last, "content": f"{last['content']}\n\n{schema_instruction(schema)}"}]


@dataclass
class Capabilities:
    """What this endpoint supports, learnt from its answers (shared by all calls of a brain)."""

    json_schema: bool = True
    stream_usage: bool = True


@lru_cache(maxsize=64)
def strict_schema(model: type[BaseModel]) -> dict:
    """The strict JSON schema the SDK's ``parse`` would send for ``model`` (computed once per model)."""
    try:
        from openai.lib._pydantic import to_strict_json_schema
    except ImportError:  # the helper is private to the SDK; without it, send pydantic's schema
        return model.model_json_schema()
    return to_strict_json_schema(model)


async def _post(client: AsyncOpenAI, body: dict, *, stream: bool) -> Any:
    """POST ``/chat/completions`` through the SDK's request path (base URL, auth, timeouts, retries with backoff and
    jitter, error mapping) but without its typed layer: the body goes out as built here, the answer comes back raw
    (``bytes``, or the open ``httpx2.Response`` of a stream). The typed layer walked every message key by key and
    built a model per streamed chunk, which was most of the server's CPU per turn (docs/performance.md)."""
    return await client.post(
        "/chat/completions", body=body, cast_to=httpx2.Response if stream else bytes, stream=stream
    )


def _json_schema_format(name: str, schema: dict) -> dict:
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}


async def parse_structured(
    client: AsyncOpenAI,
    caps: Capabilities,
    *,
    model: str,
    messages: list[dict],
    schema: type[M],
    max_tokens: int,
    temperature: float = 0.0,
) -> tuple[M, Any]:
    """One validated instance of ``schema`` and the call's usage.

    The request ``chat.completions.parse`` would send (a strict ``json_schema``); the answer is validated here."""
    last_error: Exception | None = None
    body = {"model": model, "max_tokens": max_tokens, "temperature": temperature}
    for _attempt in range(2):
        try:
            raw = None
            if caps.json_schema:
                try:
                    raw = await _post(
                        client,
                        {
                            **body,
                            "messages": messages,
                            "response_format": _json_schema_format(schema.__name__, strict_schema(schema)),
                        },
                        stream=False,
                    )
                except Exception as exc:
                    if not _rejects_json_schema(exc):
                        raise
                    caps.json_schema = False
            if raw is None:
                fallback = with_schema_instruction(messages, schema.model_json_schema())
                raw = await _post(
                    client,
                    {**body, "messages": fallback, "response_format": json_object_format(schema.model_json_schema())},
                    stream=False,
                )
            answer = json.loads(raw)
            if not isinstance(answer, dict):
                raise LLMOutputInvalid(f"the model's answer is not a JSON object: {str(answer)[:200]}")
            choice = (answer.get("choices") or [None])[0]
            if not isinstance(choice, dict):
                raise LLMOutputInvalid(f"the model's answer has no choices: {str(answer)[:200]}")
            if choice.get("finish_reason") == "length":
                raise LLMOutputInvalid("the model's output was truncated")
            message = choice.get("message") or {}
            if message.get("refusal"):
                raise LLMOutputInvalid(f"the model refused: {message['refusal']}")
            return schema.model_validate(json.loads(message.get("content") or "", strict=False)), answer.get("usage")
        except (ValidationError, ValueError, LLMOutputInvalid) as exc:
            last_error = exc
        except Exception as exc:
            if unavailable(exc):
                raise LLMUnavailable(f"{type(exc).__name__}: {exc}") from exc
            raise
    raise LLMOutputInvalid(f"invalid structured output after one retry: {last_error}")


@dataclass
class ReadPacing:
    """How often a stream is read. 0 = every chunk as it lands (for the first words); a positive interval lets
    the pieces that arrive meanwhile pile up in the socket buffer and be handled in one read, one frame."""

    interval_s: float = 0.0


async def stream_json(
    client: AsyncOpenAI,
    caps: Capabilities,
    *,
    model: str,
    messages: list[dict],
    schema: dict,
    name: str,
    max_tokens: int,
    usage_sink: list[Any],
    pacing: ReadPacing | None = None,
    grammar: dict | None = None,
) -> AsyncGenerator[str, None]:
    """Stream the raw content of a JSON response (``json_schema`` when supported, else ``json_object`` with the
    schema in the prompt), one string per network read. The usage, when the server reports it, is appended to
    ``usage_sink``; ``pacing`` (which the caller may change while reading) spaces the reads out. ``grammar`` is a
    narrower schema for the ``json_object`` fallback only (llama.cpp turns it into a grammar; it costs no prompt
    tokens), e.g. this turn's allowed moves, where the prompt and ``json_schema`` keep the stable ``schema``."""
    body: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "temperature": 0.3, "stream": True}
    if caps.stream_usage:
        body["stream_options"] = {"include_usage": True}
    try:
        response = None
        if caps.json_schema:
            try:
                response = await _post(
                    client,
                    {**body, "messages": messages, "response_format": _json_schema_format(name, schema)},
                    stream=True,
                )
            except Exception as exc:
                if not _rejects_json_schema(exc):
                    raise
                caps.json_schema = False
        if response is None:
            fallback = with_schema_instruction(messages, schema)
            response = await _post(
                client,
                {**body, "messages": fallback, "response_format": json_object_format(grammar or schema)},
                stream=True,
            )
        try:
            async for text in _sse_content(response, usage_sink, pacing or ReadPacing()):
                yield text
        finally:
            await response.aclose()  # release the connection even when the caller stops early
    except (LLMOutputInvalid, LLMUnavailable):
        raise
    except json.JSONDecodeError as exc:
        raise LLMOutputInvalid(f"the model stream was not valid server-sent events: {exc}") from exc
    except Exception as exc:
        if unavailable(exc):
            raise LLMUnavailable(f"{type(exc).__name__}: {exc}") from exc
        raise


async def _sse_content(response: httpx2.Response, usage_sink: list, pacing: ReadPacing) -> AsyncIterator[str]:
    """The ``delta.content`` of a chat-completions event stream, joined per network read."""
    buffer = b""
    async for data in response.aiter_bytes():
        # SSE lines end in \n, \r\n or \r; a \r\n cut between two reads only adds an empty line, which is ignored
        *lines, buffer = (buffer + data).replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        text, done = _sse_lines(lines, usage_sink)
        if text:
            yield text
        if done:
            return
        if pacing.interval_s > 0:
            await asyncio.sleep(pacing.interval_s)
    text, _ = _sse_lines([buffer], usage_sink)  # a last event without its newline
    if text:
        yield text


def _sse_lines(lines: list[bytes], usage_sink: list) -> tuple[str, bool]:
    """The content carried by these event-stream lines, and whether ``[DONE]`` was among them."""
    pieces: list[str] = []
    for line in lines:
        if not line.startswith(b"data:"):
            continue
        payload = line[5:].strip()
        if payload == b"[DONE]":
            return "".join(pieces), True
        chunk = json.loads(payload)
        if chunk.get("error"):
            raise LLMOutputInvalid(f"the model stream reported an error: {chunk['error']}")
        if chunk.get("usage"):
            usage_sink.append(chunk["usage"])
        for choice in chunk.get("choices") or ():
            content = (choice.get("delta") or {}).get("content")
            if content:
                pieces.append(content)
            if choice.get("finish_reason") == "length":
                raise LLMOutputInvalid("the model's output was truncated")
    return "".join(pieces), False
