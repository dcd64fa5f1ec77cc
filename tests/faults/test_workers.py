"""Faults across server processes on one PostgreSQL database (issue 15, item 3), all on real ``barraiser serve``
processes and a throwaway PostgreSQL cluster, bounded in time:

- kill -9 the worker that owns a live session, 20 times at random instants of a turn: each time the session resumes
  on the other worker (the page reconnects there and resends what was not confirmed), with no confirmed answer lost
  and none filed twice;
- two workers racing for one session never both drive it: the newest socket wins across processes and the other is
  told it was taken over; sockets opened on both at once leave exactly one live;
- PostgreSQL restarted mid-round: the round goes on once it is back, nothing confirmed is lost.
- ``barraiser serve --workers 2`` serves sessions from both processes of one port.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from pathlib import Path

import httpx2
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from devtools.postgres import ThrowawayPostgres, unavailable
from devtools.processes import PORT, ChildServer
from tests.conftest import LiveServer
from tests.faults.test_kill9 import Page

pytestmark = pytest.mark.skipif(bool(unavailable()), reason=f"PostgreSQL cannot run here: {unavailable()}")

KILLS = 20


def _server(url: str, tmp_path: Path, name: str) -> LiveServer:
    env = {"BARRAISER_DATABASE_URL": url, "BARRAISER_STREAM_DELAY_MS": "3", "BARRAISER_OWNER_TAKEOVER_S": "5"}
    return LiveServer(tmp_path / "unused.db", tmp_path / f"{name}.log", env=env).start()


def _ws(server: LiveServer, session: dict) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/sessions/{session['session_id']}?token={session['token']}"


def _until(ws, wanted: str, timeout: float = 10.0) -> list[dict]:
    frames, deadline = [], time.monotonic() + timeout
    while True:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        frames.append(frame)
        if frame["type"] == wanted:
            return frames


def _resumes(server: LiveServer, session: dict) -> None:
    """Within 10 s the session waits for an answer again on ``server`` (or the round is over)."""
    with connect(_ws(server, session), open_timeout=10) as ws:
        deadline = time.monotonic() + 10
        frame = json.loads(ws.recv(timeout=10))
        while frame["type"] != "interviewer_done" and frame.get("status") != "ended":
            assert frame["type"] != "session_taken_over", "the dead worker still holds the session"
            assert time.monotonic() < deadline, "stuck: no pending turn within 10 s on the surviving worker"
            frame = json.loads(ws.recv(timeout=10))


def _transcript(server: LiveServer, session: dict) -> list[dict]:
    return httpx2.get(
        server.url + f"/api/sessions/{session['session_id']}/transcript", params={"token": session["token"]}
    ).json()["turns"]


def _check_answers(turns: list[dict], page: Page) -> list[str]:
    filed = [t.get("answer_id") for t in turns if t["role"] == "candidate"]
    assert len(filed) == len(set(filed)), f"an answer filed twice: {filed}"
    assert set(page.confirmed) <= set(filed), f"confirmed but lost: {set(page.confirmed) - set(filed)}"
    assert [t["index"] for t in turns] == list(range(len(turns)))
    return filed


def test_kill_9_the_owning_worker_and_the_session_resumes_on_the_other(postgres_url, tmp_path):
    rng = random.Random("workers-kill9")
    servers = [_server(postgres_url, tmp_path, "a"), _server(postgres_url, tmp_path, "b")]
    try:
        session = httpx2.post(servers[0].url + "/api/sessions", json={"round": "ml_breadth", "level": "L5"}).json()
        page, resumed = Page(""), 0
        for i in range(KILLS):
            owner, other = servers[i % 2], servers[(i + 1) % 2]
            page.url = _ws(owner, session)
            page.step(owner, kill_after_s=rng.uniform(0.005, 0.4))  # drives the round there, then kill -9
            _resumes(other, session)
            resumed += 1
            servers[i % 2] = _server(postgres_url, tmp_path, "a" if i % 2 == 0 else "b")  # a new worker
        turns = _transcript(servers[0], session)
    finally:
        for server in servers:
            server.stop()
    filed = _check_answers(turns, page)
    assert resumed == KILLS and len(page.confirmed) >= KILLS // 2  # the round really moved on between kills
    print(f"[workers kill9] {resumed}/{KILLS} resumed on the other worker, {len(filed)} filed, 0 lost, 0 duplicated")


def test_two_workers_racing_for_one_session_never_both_drive_it(postgres_url, tmp_path):
    a, b = _server(postgres_url, tmp_path, "a"), _server(postgres_url, tmp_path, "b")
    try:
        session = httpx2.post(a.url + "/api/sessions", json={"round": "ml_breadth", "level": "L5"}).json()
        with connect(_ws(a, session), open_timeout=10) as on_a:
            done = [f for f in _until(on_a, "interviewer_done") if f["type"] == "interviewer_done"][0]
            with connect(_ws(b, session), open_timeout=10) as on_b:  # the newest socket wins, across workers
                assert _until(on_a, "session_taken_over")[-1]["type"] == "session_taken_over"
                _until(on_b, "interviewer_done")
                answer = {
                    "type": "answer",
                    "text": "I would regularise and compare validation error.",
                    "answer_id": "b1",
                }
                on_b.send(json.dumps({**answer, "turn": done["index"]}))
                received = _until(on_b, "answer_received")[-1]
                assert received["answer_id"] == "b1"
                _until(on_b, "interviewer_done", timeout=20)
        # both at once, five times: exactly one socket stays live each time, and the round never forks
        for attempt in range(5):
            outcome: dict[str, str] = {}

            def open_on(name: str, server: LiveServer, outcome: dict[str, str]) -> None:
                """Watch the socket for 4 s: taken over (frame or close code 4001), or live with the pending turn."""
                seen, deadline = [], time.monotonic() + 4
                try:
                    with connect(_ws(server, session), open_timeout=10) as ws:
                        while time.monotonic() < deadline:
                            try:
                                seen.append(json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))["type"])
                            except TimeoutError:
                                break
                except ConnectionClosed:
                    pass
                if "session_taken_over" in seen:
                    outcome[name] = "taken"
                else:
                    outcome[name] = "live" if "interviewer_done" in seen else f"stuck: {seen}"

            threads = [threading.Thread(target=open_on, args=(n, s, outcome)) for n, s in (("a", a), ("b", b))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            assert sorted(outcome.values()) == ["live", "taken"], f"attempt {attempt}: {outcome}"
        turns = _transcript(b, session)
        assert [t["index"] for t in turns] == list(range(len(turns)))
        assert [t.get("answer_id") for t in turns if t["role"] == "candidate"] == ["b1"]
    finally:
        a.stop()
        b.stop()


def test_postgres_restarted_mid_round_loses_nothing_confirmed(tmp_path):
    with ThrowawayPostgres() as cluster:
        url = cluster.create_database()
        server = _server(url, tmp_path, "a")
        try:
            session = httpx2.post(server.url + "/api/sessions", json={"round": "ml_breadth", "level": "L5"}).json()
            page = Page(_ws(server, session))
            _drive(page, seconds=1.0)
            cluster.restart(mode="immediate")  # every connection drops, as in a crash of the database
            deadline = time.monotonic() + 30
            confirmed_before = len(page.confirmed)
            while len(page.confirmed) < confirmed_before + 2:  # the round goes on: two more answers confirmed
                assert time.monotonic() < deadline, "the round did not go on within 30 s of PostgreSQL's restart"
                try:
                    _drive(page, seconds=1.0)
                except AssertionError:
                    raise  # an internal_error, or a turn out of order: never expected
                except Exception:  # the database is still coming back: the socket was refused or dropped
                    time.sleep(0.2)
            turns = _transcript(server, session)
        finally:
            server.stop()
    _check_answers(turns, page)


def _drive(page: Page, seconds: float) -> None:
    """The page's behaviour for ``seconds`` on one socket, without killing anything."""

    class _NoKill:
        class proc:  # noqa: N801 - stands in for the process Page.step would kill
            @staticmethod
            def send_signal(sig: int) -> None:
                return None

            @staticmethod
            def wait(timeout: float) -> None:
                return None

        @staticmethod
        def stop() -> None:
            return None

    page.step(_NoKill, kill_after_s=seconds)  # type: ignore[arg-type]


def test_serve_with_two_workers_serves_sessions_from_both(postgres_url, tmp_path):
    server = ChildServer(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", PORT, "--workers", "2"],
        env={**_clean_env(), "BARRAISER_DATABASE_URL": postgres_url},
        log_path=tmp_path / "workers.log",
        ready_url=f"http://127.0.0.1:{PORT}/api/health",
        name="workers",
        timeout_s=60,
    ).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        pids = set()
        for _ in range(40):
            pids.add(httpx2.get(base + "/api/health", headers={"Connection": "close"}).json().get("worker"))
        session = httpx2.post(base + "/api/sessions", json={"round": "ml_breadth", "level": "L5"}).json()
        for _ in range(3):  # whichever worker each socket lands on, it resumes the one session
            with connect(
                f"ws://127.0.0.1:{server.port}/ws/sessions/{session['session_id']}?token={session['token']}"
            ) as ws:
                _until(ws, "interviewer_done")
    finally:
        server.stop()
    assert len(pids - {None}) == 2, f"requests were served by {pids}"


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("BARRAISER_", "OPENAI_"))}


def test_serve_with_workers_refuses_sqlite(tmp_path):
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "0", "--workers", "2"],
        env={**_clean_env(), "BARRAISER_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "needs a PostgreSQL database" in done.stderr
