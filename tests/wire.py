"""Socket helpers for the reliability tests: timed receives on a TestClient socket (a test that would wait forever
fails instead), collecting frames until a predicate holds, and in-process apps on a given database."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio

Frame = dict[str, Any]


def recv(ws, timeout: float = 5.0) -> Frame:
    """The next frame of a ``TestClient`` socket, or ``TimeoutError`` after ``timeout`` seconds."""

    async def get():
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    message = ws.portal.call(get)
    ws._raise_on_close(message)
    return json.loads(message["text"])


def until(ws, predicate: Callable[[Frame], bool], timeout: float = 5.0, limit: int = 500) -> list[Frame]:
    """Frames up to and including the first that satisfies ``predicate`` (``TimeoutError`` if none comes)."""
    frames: list[Frame] = []
    for _ in range(limit):
        frames.append(recv(ws, timeout))
        if predicate(frames[-1]):
            return frames
    raise AssertionError(f"no matching frame within {limit} frames; last: {frames[-3:]}")


def kind(name: str, **fields) -> Callable[[Frame], bool]:
    return lambda f: f.get("type") == name and all(f.get(k) == v for k, v in fields.items())


def quiet(ws, timeout: float = 0.3) -> list[Frame]:
    """Whatever arrives within ``timeout`` (nothing else is expected)."""
    frames: list[Frame] = []
    try:
        while True:
            frames.append(recv(ws, timeout))
    except TimeoutError:
        return frames


def all_of(ws, *predicates: Callable[[Frame], bool], timeout: float = 5.0, limit: int = 500) -> list[Frame]:
    """Frames until every predicate has matched at least once, in any order."""
    frames: list[Frame] = []
    left = list(predicates)
    for _ in range(limit):
        frames.append(recv(ws, timeout))
        left = [p for p in left if not p(frames[-1])]
        if not left:
            return frames
    raise AssertionError(f"{len(left)} predicate(s) unmatched within {limit} frames; last: {frames[-3:]}")
