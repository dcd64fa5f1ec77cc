"""Errors of the model transport: what went wrong talking to an OpenAI-compatible endpoint. The LLM brain maps them to
brain errors (app/core/ports.py), which carry the code a client sees."""

from __future__ import annotations


class LLMError(RuntimeError):
    """A call to the model failed."""


class LLMUnavailable(LLMError):
    """The endpoint did not answer (timeouts, connection errors, 429 or 5xx after the SDK's bounded retries)."""


class LLMOutputInvalid(LLMError):
    """The model's output was not the JSON asked for, was truncated, or the stream reported an error."""
