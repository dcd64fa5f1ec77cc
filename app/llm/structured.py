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


def json_object_format(schema: dict) -> dict:
    """``json_object`` plus the schema: servers such as llama.cpp's turn it into a grammar; others ignore it."""
    return {"type": "json_object", "schema": schema}


def schema_instruction(schema: dict) -> str:
    return ("Reply with only a JSON object that validates against this JSON schema, fields in this order:\n"
            + json.dumps(schema, separators=(",", ":")))


@dataclass
class Capabilities:
    """What this endpoint supports, learnt from its answers (shared by all calls of a brain)."""

    json_schema: bool = True
    stream_usage: bool = True


async def parse_structured(client: AsyncOpenAI, caps: Capabilities, *, model: str, messages: list[dict],
                           schema: type[M], max_tokens: int) -> tuple[M, Any]:
    """One validated instance of ``schema`` and the call's usage."""
    last_error: Exception | None = None
    for _attempt in range(2):
        try:
            if caps.json_schema:
                try:
                    resp = await client.chat.completions.parse(model=model, messages=messages, response_format=schema,
                                                                max_tokens=max_tokens, temperature=0)
                except Exception as exc:
                    if not _rejects_json_schema(exc):
                        raise
                    caps.json_schema = False
                else:
                    parsed = resp.choices[0].message.parsed
                    if parsed is None:
                        raise ModelOutputError(f"the model refused: {resp.choices[0].message.refusal}")
                    return parsed, resp.usage
            fallback = [{"role": "system", "content": schema_instruction(schema.model_json_schema())}, *messages]
            resp = await client.chat.completions.create(model=model, messages=fallback, max_tokens=max_tokens,
                                                        temperature=0,
                                                        response_format=json_object_format(schema.model_json_schema()))
            choice = resp.choices[0]
            if choice.finish_reason == "length":
                raise ModelOutputError("the model's output was truncated")
            return schema.model_validate_json(choice.message.content or ""), resp.usage
        except (ValidationError, ValueError, openai.LengthFinishReasonError, ModelOutputError) as exc:
            if unavailable(exc):
                raise ModelUnavailable(str(exc)) from exc
            last_error = exc
        except Exception as exc:
            if unavailable(exc):
                raise ModelUnavailable(f"{type(exc).__name__}: {exc}") from exc
            raise
    raise ModelOutputError(f"invalid structured output after one retry: {last_error}")


async def stream_json(client: AsyncOpenAI, caps: Capabilities, *, model: str, messages: list[dict], schema: dict,
                      name: str, max_tokens: int, usage_sink: list) -> AsyncIterator[str]:
    """Stream the raw content of a JSON response (``json_schema`` when supported, else ``json_object`` with the
    schema in the prompt). The usage, when the server reports it, is appended to ``usage_sink``."""
    kwargs: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "temperature": 0.3, "stream": True}
    if caps.stream_usage:
        kwargs["stream_options"] = {"include_usage": True}
    try:
        if caps.json_schema:
            try:
                stream = await client.chat.completions.create(
                    messages=messages, response_format={"type": "json_schema", "json_schema": {
                        "name": name, "strict": True, "schema": schema}}, **kwargs)
            except Exception as exc:
                if not _rejects_json_schema(exc):
                    raise
                caps.json_schema = False
        if not caps.json_schema:
            fallback = [{"role": "system", "content": schema_instruction(schema)}, *messages]
            stream = await client.chat.completions.create(messages=fallback, response_format=json_object_format(schema),
                                                          **kwargs)
        try:
            async for chunk in stream:
                if getattr(chunk, "usage", None):
                    usage_sink.append(chunk.usage)
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                if choice.delta and choice.delta.content:
                    yield choice.delta.content
                if choice.finish_reason == "length":
                    raise ModelOutputError("the model's output was truncated")
        finally:
            await stream.close()  # release the connection even when the caller stops early
    except (ModelOutputError, ModelUnavailable):
        raise
    except Exception as exc:
        if unavailable(exc):
            raise ModelUnavailable(f"{type(exc).__name__}: {exc}") from exc
        raise
