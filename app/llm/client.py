"""The OpenAI-compatible client, built from settings. Retries (timeouts, 429, 5xx, with exponential backoff and
jitter) are the SDK's own, bounded by ``BARRAISER_LLM_MAX_RETRIES``.

Live calls go over the SDK's aiohttp transport (``openai[aiohttp]``, ``DefaultAioHttpClient``): under many
concurrent streams it costs far less CPU than the default HTTPX transport (docs/performance.md). An explicit
transport (cassette recording or replay, app/llm/cassettes.py) replaces it.
"""

from __future__ import annotations

import httpx2
from openai import AsyncOpenAI, DefaultAioHttpClient

from app.config import Settings

_LIMITS = httpx2.Limits(max_connections=200, max_keepalive_connections=50)


def make_client(settings: Settings, transport: httpx2.AsyncBaseTransport | None = None) -> AsyncOpenAI:
    if not settings.llm_base_url and transport is None:
        raise ValueError("the LLM brain needs BARRAISER_LLM_BASE_URL (or OPENAI_BASE_URL)")
    timeout = httpx2.Timeout(settings.llm_timeout_s, connect=min(5.0, settings.llm_timeout_s))
    http_client = DefaultAioHttpClient(transport=transport, timeout=timeout, limits=_LIMITS)
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return AsyncOpenAI(
        base_url=settings.llm_base_url or "http://replay.invalid/v1",
        api_key=key,
        timeout=timeout,
        max_retries=settings.llm_max_retries,
        http_client=http_client,
    )
