"""A real server process: restarting it loses nothing, and its log never holds a session token."""

from __future__ import annotations

import json

import httpx2
from websockets.sync.client import connect

from tests.conftest import LiveServer


def frames_until(ws, predicate, limit=500):
    seen = []
    for _ in range(limit):
        frame = json.loads(ws.recv(timeout=10))
        seen.append(frame)
        if predicate(frame):
            return seen
    raise AssertionError(f"predicate never held; last frames: {seen[-5:]}")


def is_done(frame):
    return frame["type"] == "interviewer_done"


def test_a_new_server_process_resumes_the_round(tmp_path, database_url):
    db, log = tmp_path / "restart.db", tmp_path / "server.log"
    env = {"BARRAISER_DATABASE_URL": database_url}  # a SQLite file or a PostgreSQL database
    first = LiveServer(db, log, env=env).start()
    try:
        created = httpx2.post(first.url + "/api/sessions", json={"round": "ml_breadth", "level": "L5"}).json()
        sid, token = created["session_id"], created["token"]
        with connect(first.url.replace("http", "ws") + f"/ws/sessions/{sid}?token={token}") as ws:
            opening = frames_until(ws, is_done)[-1]
            ws.send(json.dumps({"type": "answer", "text": "High variance means overfitting, so I'd regularize."}))
            frames = frames_until(ws, is_done)
            reply = frames[-1]
            # the grade may come after the reply; wait for it so the turn is fully stored
            if not any(f["type"] == "turn_grade" for f in frames):
                frames_until(ws, lambda f: f["type"] == "turn_grade")
    finally:
        first.stop()

    second = LiveServer(db, log, env=env).start()
    try:
        assert second.port != first.port or True
        with connect(second.url.replace("http", "ws") + f"/ws/sessions/{sid}?token={token}") as ws:
            state = json.loads(ws.recv(timeout=10))
            assert state["type"] == "state" and state["status"] == "awaiting_answer"
            texts = [t["text"] for t in state["turns"]]
            assert texts[0] == opening["text"] and texts[-1] == reply["text"]
            assert state["turns"][1]["role"] == "candidate" and "grade" in state["turns"][1]
            resent = json.loads(ws.recv(timeout=10))
            assert resent["type"] == "interviewer_done" and resent["text"] == reply["text"]
            ws.send(json.dumps({"type": "answer", "text": "I would compare training and validation error."}))
            after = frames_until(ws, is_done)[-1]
            assert after["index"] == reply["index"] + 2
        transcript = httpx2.get(
            second.url + f"/api/sessions/{sid}/transcript", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert [t["role"] for t in transcript["turns"]][:5] == [
            "interviewer",
            "candidate",
            "interviewer",
            "candidate",
            "interviewer",
        ]
    finally:
        second.stop()


def test_session_tokens_stay_out_of_the_server_log(tmp_path):
    log = tmp_path / "server.log"
    server = LiveServer(tmp_path / "tokens.db", log).start()
    try:
        created = httpx2.post(server.url + "/api/sessions", json={"round": "ml_breadth", "level": "L5"}).json()
        sid, token = created["session_id"], created["token"]
        with connect(server.url.replace("http", "ws") + f"/ws/sessions/{sid}?token={token}") as ws:
            frames_until(ws, is_done)
        assert httpx2.get(server.url + f"/api/sessions/{sid}/transcript", params={"token": token}).status_code == 200
    finally:
        server.stop()
    text = log.read_text(errors="replace")
    assert f"/ws/sessions/{sid}?token=[redacted]" in text and "/transcript?token=[redacted]" in text
    assert token not in text
