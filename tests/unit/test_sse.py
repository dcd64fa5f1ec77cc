"""Server-sent events from a chat-completions stream, however the network cuts them: every line ending the spec
allows, an event split at any byte, a last event without its newline, ``[DONE]``, usage and errors."""

from __future__ import annotations

import json

import pytest

from app.llm.errors import LLMOutputInvalid
from app.llm.structured import ReadPacing, _sse_content


class _Response:
    """Stands in for an open streamed response: yields the given reads."""

    def __init__(self, reads: list[bytes]):
        self.reads = reads

    async def aiter_bytes(self):
        for data in self.reads:
            yield data


def event(payload: dict | str) -> bytes:
    return b"data: " + (payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())


def content(text: str) -> bytes:
    return event({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})


async def read(reads: list[bytes], usage: list | None = None) -> str:
    return "".join([t async for t in _sse_content(_Response(reads), usage if usage is not None else [], ReadPacing())])


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
async def test_any_line_ending_and_any_cut_between_reads(eol):
    stream = content("Tell me ") + eol + eol + content('about "a time".') + eol + eol + event("[DONE]") + eol + eol
    for cut in range(1, len(stream)):
        assert await read([stream[:cut], stream[cut:]]) == 'Tell me about "a time".'


async def test_one_piece_per_read_and_nothing_after_done():
    reads = [content("a") + b"\n\n" + content("b") + b"\n\n", content("c") + b"\n\ndata: [DONE]\n\n" + content("x")]
    pieces = [t async for t in _sse_content(_Response(reads), [], ReadPacing())]
    assert pieces == ["ab", "c"]


async def test_a_last_event_without_its_newline_still_counts_and_usage_is_kept():
    usage: list = []
    final = event({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3}})
    assert await read([b": keep-alive comment\n\n" + content("end"), b"\n\n" + final], usage) == "end"
    assert usage == [{"prompt_tokens": 12, "completion_tokens": 3}]


async def test_errors_and_truncation_are_clear():
    with pytest.raises(LLMOutputInvalid, match="reported an error"):
        await read([event({"error": {"message": "overloaded"}}) + b"\n\n"])
    truncated = event({"choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": "length"}]})
    with pytest.raises(LLMOutputInvalid, match="truncated"):
        await read([truncated + b"\n\n"])
    with pytest.raises(json.JSONDecodeError):
        await read([b"data: {not json\n\n"])
