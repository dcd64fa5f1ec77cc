"""Structured outputs over any OpenAI-compatible server, and the errors the brain turns into clear messages.

``parse_structured`` asks for a pydantic model with ``chat.completions.parse`` (``json_schema``); a server that
rejects ``json_schema`` gets ``json_object`` with the schema in the prompt instead. Invalid or truncated output is
retried once, then raised as :class:`ModelOutputError`. Timeouts, 429 and 5xx are retried by the SDK (backoff with
jitter); when they persist they become :class:`ModelUnavailable`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import openai
from openai import AsyncOpenAI
from pydantic import BaseModel, ValidationError

from app.brains.base import ModelOutputError, ModelUnavailable

M = TypeVar("M", bound=BaseModel)
__all__ = ["ModelOutputError", "ModelUnavailable", "parse_structured", "stream_json", "Capabilities"]


_UNAVAILABLE = (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError,
                openai.InternalServerError)


def _raise_cassette_miss(exc: BaseException) -> None:
    """A replay miss hides behind the SDK's connection error; surface it as itself."""
    from app.llm.cassettes import CassetteMiss

    seen = exc
    while seen is not None:
        if isinstance(seen, CassetteMiss):
            raise seen
        seen = seen.__cause__ or seen.__context__


def unavailable(exc: Exception) -> bool:
    _raise_cassette_miss(exc)
    return isinstance(exc, _UNAVAILABLE) or (isinstance(exc, openai.APIStatusError) and exc.status_code >= 500)


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
    return ("Reply with only a JSON object that validates against this JSON schema, fields in this order:\n"
            + json.dumps(schema, separators=(",", ":")))


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


async def parse_structured(client: AsyncOpenAI, caps: Capabilities, *, model: str, messages: list[dict],
                           schema: type[M], max_tokens: int) -> tuple[M, Any]:
    """One validated instance of ``schema`` and the call's usage.

    Same request as the SDK's ``chat.completions.parse`` (a strict ``json_schema``), but the schema travels in
    ``extra_body`` (sent as is, not walked key by key) and the answer is validated here."""
    last_error: Exception | None = None
    for _attempt in range(2):
        try:
            resp = None
            if caps.json_schema:
                fmt = {"type": "json_schema",
                       "json_schema": {"name": schema.__name__, "strict": True, "schema": strict_schema(schema)}}
                try:
                    resp = await client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens,
                                                                temperature=0, extra_body={"response_format": fmt})
                except Exception as exc:
                    if not _rejects_json_schema(exc):
                        raise
                    caps.json_schema = False
            if resp is None:
                fallback = [{"role": "system", "content": schema_instruction(schema.model_json_schema())}, *messages]
                resp = await client.chat.completions.create(
                    model=model, messages=fallback, max_tokens=max_tokens, temperature=0,
                    extra_body={"response_format": json_object_format(schema.model_json_schema())})
            choice = resp.choices[0]
            if choice.finish_reason == "length":
                raise ModelOutputError("the model's output was truncated")
            if getattr(choice.message, "refusal", None):
                raise ModelOutputError(f"the model refused: {choice.message.refusal}")
            return schema.model_validate(json.loads(choice.message.content or "", strict=False)), resp.usage
        except (ValidationError, ValueError, ModelOutputError) as exc:
            last_error = exc
        except Exception as exc:
            if unavailable(exc):
                raise ModelUnavailable(f"{type(exc).__name__}: {exc}") from exc
            raise
    raise ModelOutputError(f"invalid structured output after one retry: {last_error}")


async def stream_json(client: AsyncOpenAI, caps: Capabilities, *, model: str, messages: list[dict], schema: dict,
                      name: str, max_tokens: int, usage_sink: list) -> AsyncIterator[str]:
    """Stream the raw content of a JSON response (``json_schema`` when supported, else ``json_object`` with the
    schema in the prompt). The usage, when the server reports it, is appended to ``usage_sink``.

    The SSE lines are parsed with ``json.loads`` rather than the SDK's typed chunks (about 30x cheaper per chunk),
    and the schema travels in ``extra_body``, which the SDK sends as is instead of walking it key by key (about
    4 ms a call); the request still goes through the SDK: retries, timeouts and error mapping are unchanged."""
    kwargs: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "temperature": 0.3, "stream": True}
    if caps.stream_usage:
        kwargs["stream_options"] = {"include_usage": True}
    raw = client.chat.completions.with_streaming_response
    try:
        response_cm = None
        if caps.json_schema:
            response_cm = raw.create(messages=messages, extra_body={"response_format": {
                "type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}}, **kwargs)
            try:
                response = await response_cm.__aenter__()
            except Exception as exc:
                if not _rejects_json_schema(exc):
                    raise
                caps.json_schema = False
                response_cm = None
        if response_cm is None:
            fallback = [{"role": "system", "content": schema_instruction(schema)}, *messages]
            response_cm = raw.create(messages=fallback, extra_body={"response_format": json_object_format(schema)},
                                     **kwargs)
            response = await response_cm.__aenter__()
        try:
            async for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                if chunk.get("error"):
                    raise ModelOutputError(f"the model stream reported an error: {chunk['error']}")
                if chunk.get("usage"):
                    usage_sink.append(chunk["usage"])
                for choice in chunk.get("choices") or ():
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        yield content
                    if choice.get("finish_reason") == "length":
                        raise ModelOutputError("the model's output was truncated")
        finally:
            await response_cm.__aexit__(None, None, None)  # release the connection even when the caller stops early
    except (ModelOutputError, ModelUnavailable):
        raise
    except json.JSONDecodeError as exc:
        raise ModelOutputError(f"the model stream was not valid server-sent events: {exc}") from exc
    except Exception as exc:
        if unavailable(exc):
            raise ModelUnavailable(f"{type(exc).__name__}: {exc}") from exc
        raise
