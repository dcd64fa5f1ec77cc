"""Disk faults (issue 10, item 4), on a real server process: a database that turns read-only or whose disk fills
up reports the failure honestly (storage_unavailable, never "your answer is saved"; no answer_received), keeps
serving reads (a reconnect gets the state and the pending interviewer turn, whether or not the rows of the turn
were on disk when it failed), /api/health says what is wrong and new sessions get a clear 503; once the disk is
back the kept answer goes through at once; a database file deleted while the server runs is detected; a server
that cannot open its database exits non-zero instead of hanging.

Read-only and full disks need a small tmpfs of their own, which only root can mount: otherwise these are skipped
and say so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from websockets.sync.client import connect

from app.config import PROJECT_ROOT
from tests.conftest import LiveServer

ANSWER = "High variance means the model overfits; I would compare training and validation error."


def _mount(path: Path, size: str) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)


@pytest.fixture
def tmpfs(tmp_path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("a read-only or full disk needs a tmpfs of its own, and mounting one needs root")
    where = tmp_path / "disk"
    where.mkdir()
    try:
        _mount(where, "8m")
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc}): read-only and full-disk tests skipped")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _frames(ws, until_type: str, limit: int = 500) -> list[dict]:
    seen = []
    for _ in range(limit):
        seen.append(json.loads(ws.recv(timeout=30)))
        if seen[-1]["type"] == until_type:
            return seen
    raise AssertionError(seen[-3:])


def _open_round(server: LiveServer) -> tuple[str, str, str]:
    body = httpx2.post(server.url + "/api/sessions", json={"round": "ml_breadth", "level": "L5"}).json()
    url = f"ws://127.0.0.1:{server.port}/ws/sessions/{body['session_id']}?token={body['token']}"
    with connect(url) as ws:
        _frames(ws, "interviewer_done")
    return body["session_id"], body["token"], url


def _answer_fails_honestly(server: LiveServer, url: str, sid: str, token: str, state: str) -> None:
    with connect(url) as ws:
        _frames(ws, "interviewer_done")
        ws.send(json.dumps({"type": "answer", "text": ANSWER, "answer_id": "a1", "turn": 0}))
        frames = _frames(ws, "error")
    error = frames[-1]
    assert error["code"] == "storage_unavailable", error
    assert "not confirmed saved" in error["message"] and "is saved" not in error["message"].replace(
        "not confirmed saved", ""
    )
    assert not [f for f in frames if f["type"] == "answer_received"]
    health = httpx2.get(server.url + "/api/health").json()
    assert health["status"] == "degraded" and health["database"]["state"] == state, health
    created = httpx2.post(server.url + "/api/sessions", json={"round": "ml_breadth", "level": "L5"})
    assert created.status_code == 503 and state in created.json()["detail"]
    # reads go on: the transcript, and a reconnect's state
    assert httpx2.get(server.url + f"/api/sessions/{sid}/transcript", params={"token": token}).status_code == 200
    with connect(url) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "state"


def test_a_database_that_turns_read_only(tmp_path, catalog, monkeypatch):
    """The database stops taking writes under a running server (SQLite says "attempt to write a readonly
    database"): the answer used to get internal_error saying "Your answer is saved"."""
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.server.app import create_app
    from tests.wire import kind, recv, until

    monkeypatch.setattr("app.server.app.load_catalog", lambda *_: catalog)
    with TestClient(create_app(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", _env_file=None))) as client:
        body = client.post("/api/sessions", json={"round": "ml_breadth", "level": "L5"}).json()
        sid, url = body["session_id"], f"/ws/sessions/{body['session_id']}?token={body['token']}"
        with client.websocket_connect(url) as ws:
            until(ws, kind("interviewer_done"))
            storage = client.app.state.bar.storage
            client.portal.call(storage.checkpointer.flush)
            client.portal.call(storage.checkpointer.conn.execute, "PRAGMA query_only = ON")  # read-only from now
            ws.send_json({"type": "answer", "text": ANSWER, "answer_id": "a1", "turn": 0})
            frames = until(ws, kind("error"))
            error = frames[-1]
            assert error["code"] == "storage_unavailable" and "readonly" in error["message"]
            assert "not confirmed saved" in error["message"]
            assert not [f for f in frames if f["type"] == "answer_received"]
        health = client.get("/api/health").json()
        assert health["status"] == "degraded" and health["database"]["state"] == "read_only", health
        created = client.post("/api/sessions", json={"round": "ml_breadth", "level": "L5"})
        assert created.status_code == 503 and "read_only" in created.json()["detail"]
        assert client.get(f"/api/sessions/{sid}/transcript", params={"token": body["token"]}).status_code == 200
        with client.websocket_connect(url) as ws:  # reads go on
            assert recv(ws)["type"] == "state"
        client.portal.call(storage.checkpointer.conn.execute, "PRAGMA query_only = OFF")  # writable again
        client.portal.call(storage.checkpointer.flush)  # the kept rows reach the disk: the database is ok again
        assert client.get("/api/health").json()["database"]["state"] == "ok"


def test_a_full_disk(tmpfs, tmp_path):
    server = LiveServer(tmpfs / "db.sqlite", tmp_path / "server.log").start()
    try:
        sid, token, url = _open_round(server)
        filler = tmpfs / "filler"
        with filler.open("wb") as f:  # fill the disk to the last byte
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        _answer_fails_honestly(server, url, sid, token, "failing")
        filler.unlink()  # the disk is back: the kept answer goes through on the next try, without waiting for
        with connect(url) as ws:  # the writer's backoff
            frames = _frames(ws, "interviewer_done")
            assert frames[0]["type"] == "state"
            # the page sends its unconfirmed answer again, for the turn it was given to: filed once, confirmed now
            ws.send(json.dumps({"type": "answer", "text": ANSWER, "answer_id": "a1", "turn": 0}))
            frames = _frames(ws, "answer_received")
            assert frames[-1]["answer_id"] == "a1"
        transcript = httpx2.get(server.url + f"/api/sessions/{sid}/transcript", params={"token": token}).json()
        assert [t.get("answer_id") for t in transcript["turns"] if t["role"] == "candidate"] == ["a1"]
        created = httpx2.post(server.url + "/api/sessions", json={"round": "ml_breadth", "level": "L5"})
        assert created.status_code == 201  # new sessions too, at once
    finally:
        server.stop()


def test_a_database_file_deleted_while_running_is_detected(tmp_path):
    db = tmp_path / "db.sqlite"
    server = LiveServer(db, tmp_path / "server.log").start()
    try:
        sid, token, url = _open_round(server)
        db.unlink()
        health = httpx2.get(server.url + "/api/health").json()
        assert health["database"]["state"] == "missing" and "deleted" in health["database"]["detail"]
        _answer_fails_honestly(server, url, sid, token, "missing")
    finally:
        server.stop()


def test_a_server_that_cannot_open_its_database_exits_non_zero(tmp_path):
    """Starting on a read-only database logged "startup failed. Exiting." and never exited."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    env = {**os.environ, "BARRAISER_DATABASE_URL": f"sqlite:///{blocker}/db.sqlite"}
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "0"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "cannot open the database" in proc.stderr and "did not start" in proc.stderr


def test_a_server_started_on_a_read_only_database_exits_non_zero(tmpfs):
    db = tmpfs / "db.sqlite"
    server_env = {**os.environ, "BARRAISER_DATABASE_URL": f"sqlite:///{db}"}
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio; from app.store.sqlite import open_storage\n"
            f"async def m():\n    async with open_storage({str(db)!r}): pass\nasyncio.run(m())",
        ],
        cwd=PROJECT_ROOT,
        check=True,
        timeout=60,
    )
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "0"],
        cwd=PROJECT_ROOT,
        env=server_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "cannot open the database" in proc.stderr
