"""Cassettes: every LLM request/response of a session, recorded at the HTTP layer and replayable.

``RecordingTransport`` wraps the real transport and appends one JSON line per call to ``DIR/<session>.jsonl``
(streamed responses are recorded as they stream, so recording does not slow the first token).
``ReplayTransport`` serves those lines back, keyed by session, purpose (respond / grade / debrief), transcript turn
and attempt, so a recorded round replays call for call even after a prompt edit. A call with no recording is a
:class:`CassetteMiss` naming the session, purpose and turn, never a silent live call.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx2

from app.llm.context import CallContext, current_call

_KEEP_HEADERS = ("content-type",)


class CassetteMiss(RuntimeError):
    """Replay found no recorded response for a call."""


def _context() -> CallContext:
    ctx = current_call.get()
    return ctx or CallContext(session_id="unscoped", purpose="call", turn=-1)


def cassette_name(session_id: str) -> str:
    """The cassette file of a session: its id made safe as a file name, ``.jsonl``."""
    return ("".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in session_id) or "session") + ".jsonl"


class _RecordingStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, on_close: Callable[[bytes], None]):
        self.inner, self.on_close, self.body = inner, on_close, bytearray()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            self.body.extend(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()
        self.on_close(bytes(self.body))


class RecordingTransport(httpx2.AsyncBaseTransport):
    def __init__(self, directory: Path, inner: httpx2.AsyncBaseTransport | None = None):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.inner = inner or httpx2.AsyncHTTPTransport()
        self._lock = threading.Lock()
        self._started: set[str] = set()  # sessions whose cassette this recorder has begun (and so emptied)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        ctx = _context()
        body = json.loads(request.content or b"{}")
        response = await self.inner.handle_async_request(request)

        def write(content: bytes) -> None:
            entry = {
                "key": ctx.key,
                "session": ctx.session_id,
                "purpose": ctx.purpose,
                "turn": ctx.turn,
                "attempt": ctx.attempt,
                "request": body,
                "status": response.status_code,
                "headers": {k: v for k, v in response.headers.items() if k.lower() in _KEEP_HEADERS},
                "body": content.decode("utf-8", "replace"),
            }
            with self._lock:
                # re-recording a session replaces its old cassette instead of appending stale answers to it
                mode = "a" if ctx.session_id in self._started else "w"
                self._started.add(ctx.session_id)
                with (self.directory / cassette_name(ctx.session_id)).open(mode) as fh:
                    fh.write(json.dumps(entry) + "\n")

        assert isinstance(response.stream, httpx2.AsyncByteStream), "an async transport answers with an async stream"
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=_RecordingStream(response.stream, write),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


class ReplayTransport(httpx2.AsyncBaseTransport):
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._entries: dict[str, dict[str, list[dict]]] = {}
        self._cursor: dict[tuple[str, str], int] = defaultdict(int)

    def _load(self, session: str) -> dict[str, list[dict]]:
        if session not in self._entries:
            path = self.directory / cassette_name(session)
            by_key: dict[str, list[dict]] = defaultdict(list)
            if path.exists():
                for line in path.read_text().splitlines():
                    if line.strip():
                        entry = json.loads(line)
                        by_key[entry["key"]].append(entry)
            self._entries[session] = by_key
        return self._entries[session]

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        ctx = _context()
        recorded = self._load(ctx.session_id).get(ctx.key, [])
        i = self._cursor[(ctx.session_id, ctx.key)]
        if i >= len(recorded):
            raise CassetteMiss(
                f"no recorded {ctx.purpose} call for turn {ctx.turn} (attempt {ctx.attempt}) of "
                f"'{ctx.session_id}' in {self.directory}; record it again with --record"
            )
        self._cursor[(ctx.session_id, ctx.key)] = i + 1
        entry = recorded[i]
        return httpx2.Response(entry["status"], headers=entry["headers"], content=entry["body"].encode())
