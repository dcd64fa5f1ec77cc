"""A soak of the real server: ``python -m devtools.soak [--sessions N] [--duration-s S] [--think-s A B] [--json]``.

Starts ``barraiser serve`` (offline brain) on a free loopback port with a fresh database, then runs N clients for
S seconds. Each client creates a session (``POST /api/sessions``), plays turns on its WebSocket with a random think
time in [A, B] seconds before each answer (answers carry ids; ``answer_received`` is awaited), and after 2-5 turns
starts a new session: sessions are created throughout the run while the checkpoint writer commits. Reports HTTP
statuses (500s above all), WebSocket errors, turns, first-word latency after an answer, the database's bytes per
turn and the server's peak RSS. Bounded in time; traffic goes to 127.0.0.1 only; the server is always stopped."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx2
import websockets

from devtools.processes import PORT, ChildServer

ANSWER = "High variance means the model overfits; I would compare training and validation error on a learning curve."


def _rss_peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


async def _client(base: str, port: int, until: float, think: tuple[float, float], rng: random.Random, out: dict):
    async with httpx2.AsyncClient(base_url=base, timeout=30) as http:
        while time.monotonic() < until:
            resp = await http.post("/api/sessions", json={"round": "ml_breadth", "level": "L5"})
            out["http"][resp.status_code] += 1
            if resp.status_code != 201:
                await asyncio.sleep(rng.uniform(*think))
                continue
            body = resp.json()
            url = f"ws://127.0.0.1:{port}/ws/sessions/{body['session_id']}?token={body['token']}"
            try:
                async with websockets.connect(url, open_timeout=30, max_size=None) as ws:
                    turns, n, frame = rng.randint(2, 5), 0, None

                    async def read() -> dict:
                        got = json.loads(await asyncio.wait_for(ws.recv(), 60))
                        if got["type"] == "error":
                            out["ws_errors"][got["code"]] += 1
                        elif got["type"] == "answer_received":
                            out["confirmed"] += 1
                        return got

                    while n < turns and time.monotonic() < until:
                        while frame is None or frame["type"] != "interviewer_done":
                            frame = await read()
                        if frame["move"] == "end":
                            break
                        await asyncio.sleep(rng.uniform(*think))
                        n += 1
                        sent = time.perf_counter()
                        await ws.send(
                            json.dumps({"type": "answer", "text": ANSWER, "answer_id": f"t{n}", "turn": frame["index"]})
                        )
                        first = None
                        while True:
                            frame = await read()
                            if first is None and frame["type"] == "interviewer_delta":
                                first = time.perf_counter() - sent
                                out["first_word_ms"].append(first * 1000)
                            if frame["type"] == "interviewer_done":
                                out["turns"] += 1
                                break
                    try:  # the last receipt may still be on its way
                        while True:
                            await asyncio.wait_for(read(), 0.5)
                    except TimeoutError:
                        pass
            except (TimeoutError, OSError, websockets.WebSocketException) as exc:
                out["ws_errors"][type(exc).__name__] += 1


def soak(sessions: int, duration_s: float, think: tuple[float, float], seed: int = 10) -> dict:
    work = Path(tempfile.mkdtemp(prefix="barraiser-soak-"))
    db = work / "soak.db"
    server = ChildServer(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", PORT],
        env={
            **__import__("os").environ,
            "BARRAISER_DATABASE_URL": f"sqlite:///{db}",
            "BARRAISER_MAX_SESSIONS_PER_MINUTE": "1000000",
            "BARRAISER_MAX_FRAMES_PER_MINUTE": "1000000",
        },
        log_path=work / "server.log",
        ready_url=f"http://127.0.0.1:{PORT}/api/health",
        name="soak-server",
    ).start()
    out: dict = {"http": Counter(), "ws_errors": Counter(), "turns": 0, "confirmed": 0, "first_word_ms": []}
    try:
        base = f"http://127.0.0.1:{server.port}"
        until = time.monotonic() + duration_s
        rng = random.Random(seed)

        async def run() -> None:
            await asyncio.gather(
                *(_client(base, server.port, until, think, random.Random(rng.random()), out) for _ in range(sessions))
            )

        asyncio.run(run())
        rss_kb = _rss_peak_kb(server.pid) if server.pid else 0
    finally:
        server.stop()
    with sqlite3.connect(db) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = pages * conn.execute("PRAGMA page_size").fetchone()[0]
    lat = sorted(out["first_word_ms"])
    return {
        "sessions": sessions,
        "duration_s": duration_s,
        "http": dict(out["http"]),
        "http_500": out["http"].get(500, 0),
        "ws_errors": dict(out["ws_errors"]),
        "turns": out["turns"],
        "answers_confirmed": out["confirmed"],
        "first_word_ms_p50": round(statistics.median(lat), 1) if lat else None,
        "first_word_ms_p99": round(lat[int(len(lat) * 0.99) - 1], 1) if lat else None,
        "db_bytes_per_turn": round(size / out["turns"]) if out["turns"] else None,
        "server_rss_peak_mb": round(rss_kb / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--duration-s", type=float, default=300.0)
    parser.add_argument("--think-s", type=float, nargs=2, default=(2.0, 10.0), metavar=("MIN", "MAX"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = soak(args.sessions, args.duration_s, tuple(args.think_s))
    print(json.dumps(report, indent=None if args.json else 2))
    return 1 if report["http_500"] else 0


if __name__ == "__main__":
    sys.exit(main())
