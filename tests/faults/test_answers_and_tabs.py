"""Confirmed answers and one live tab per session (issue 10, items 3 and 6): ``answer_received`` only once the
answer is on disk (a copy of the database taken at that instant, opened as a new process would, has it), a resend
with the same id is confirmed again and never filed twice, an answer to a turn its sender did not see is refused
with the current state, and a second socket takes the session over (the first is told and closed with 4001)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.config import Settings
from app.server.app import create_app
from tests.wire import all_of, kind, quiet, recv, until

ANSWER = "High variance means the model overfits; I would compare training and validation error on a curve."


@pytest.fixture(autouse=True)
def _shared_catalog(catalog, monkeypatch):
    monkeypatch.setattr("app.server.app.load_catalog", lambda *_: catalog)


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "db.sqlite"


@pytest.fixture
def client(db):
    with TestClient(create_app(Settings(database_url=f"sqlite:///{db}", _env_file=None))) as c:
        yield c


def _session(client) -> tuple[str, str]:
    body = client.post("/api/sessions", json={"round": "ml_breadth", "level": "L5"}).json()
    return body["session_id"], f"/ws/sessions/{body['session_id']}?token={body['token']}"


def _candidates(client, sid: str) -> list[dict]:
    point = client.portal.call(client.app.state.bar.interviews.point, sid)
    return [t for t in point.turns if t["role"] == "candidate"]


def test_answer_received_means_the_answer_is_on_disk(client, db, tmp_path):
    sid, url = _session(client)
    with client.websocket_connect(url) as ws:
        done = until(ws, kind("interviewer_done"))[-1]
        ws.send_json({"type": "answer", "text": ANSWER, "answer_id": "one", "turn": done["index"]})
        frames = until(ws, kind("answer_received"))
        # the instant the receipt is read, the process "dies": what is on disk is all a restart has
        crash = tmp_path / "crash.db"
        with sqlite3.connect(db) as src, sqlite3.connect(crash) as dst:
            src.backup(dst)  # a consistent copy of the committed database (the WAL included)
        if not any(f["type"] == "interviewer_done" for f in frames):
            until(ws, kind("interviewer_done", index=2))
    assert frames[-1] == {"type": "answer_received", "answer_id": "one", "index": 1, "turn": 0}
    with TestClient(create_app(Settings(database_url=f"sqlite:///{crash}", _env_file=None))) as restarted:
        with restarted.websocket_connect(url) as ws:
            assert recv(ws)["type"] == "state"
            until(ws, kind("interviewer_done", index=2), timeout=5)  # the answer is there, and the round goes on
        assert [t["answer_id"] for t in _candidates(restarted, sid)] == ["one"]


def test_a_resend_with_the_same_id_is_confirmed_and_never_filed_twice(client):
    sid, url = _session(client)
    with client.websocket_connect(url) as ws:
        until(ws, kind("interviewer_done"))
        ws.send_json({"type": "answer", "text": ANSWER, "answer_id": "same", "turn": 0})
        all_of(ws, kind("answer_received"), kind("interviewer_done", index=2), kind("turn_grade"))
    with client.websocket_connect(url) as ws:  # a reload that never saw the receipt sends it again
        until(ws, kind("interviewer_done", index=2))
        ws.send_json({"type": "answer", "text": ANSWER, "answer_id": "same", "turn": 0})
        again = recv(ws)
        assert again == {"type": "answer_received", "answer_id": "same", "index": 1, "turn": 0}
        assert quiet(ws) == []  # no new turn: nothing was filed
    assert [t["answer_id"] for t in _candidates(client, sid)] == ["same"]


def test_an_answer_to_a_turn_its_sender_did_not_see_is_refused_with_the_state(client):
    sid, url = _session(client)
    with client.websocket_connect(url) as ws:
        until(ws, kind("interviewer_done"))
        ws.send_json({"type": "answer", "text": ANSWER, "answer_id": "first", "turn": 0})
        all_of(ws, kind("answer_received"), kind("interviewer_done", index=2), kind("turn_grade"))
        ws.send_json({"type": "answer", "text": "an answer to the first question", "answer_id": "late", "turn": 0})
        frames = all_of(ws, kind("error"), kind("state"), kind("interviewer_done", index=2))
        error = [f for f in frames if f["type"] == "error"][0]
        assert error["code"] == "stale_turn" and "turn 0" in error["message"] and "turn 2" in error["message"]
    assert [t["answer_id"] for t in _candidates(client, sid)] == ["first"]


def test_answers_without_id_or_turn_still_work(client):
    sid, url = _session(client)
    with client.websocket_connect(url) as ws:
        until(ws, kind("interviewer_done"))
        ws.send_json({"type": "answer", "text": ANSWER})
        frames = all_of(ws, kind("answer_received"), kind("interviewer_done", index=2))
    assert [f for f in frames if f["type"] == "answer_received"][0]["answer_id"] is None


def test_a_second_tab_takes_the_session_over_and_the_first_is_told(client):
    """Issue item 6: the stale tab's answer used to be filed against a question it never saw, and the other tab
    never learned of the new turns. Now the newest socket owns the session, the first is told and closed (4001),
    and an answer for a turn the sender did not see is refused."""
    sid, url = _session(client)
    with client.websocket_connect(url) as first:
        until(first, kind("interviewer_done"))
        with client.websocket_connect(url) as second:
            taken = recv(first)
            assert taken["type"] == "session_taken_over" and "another tab" in taken["message"]
            with pytest.raises(WebSocketDisconnect) as closed:
                recv(first)
            assert closed.value.code == 4001
            until(second, kind("interviewer_done", index=0))
            second.send_json({"type": "answer", "text": ANSWER, "answer_id": "b1", "turn": 0})
            all_of(second, kind("answer_received"), kind("interviewer_done", index=2), kind("turn_grade"))
        with client.websocket_connect(url) as third:  # the first tab taking it back sees the new turns...
            state = recv(third)
            assert [t["index"] for t in state["turns"]] == [0, 1, 2]
            until(third, kind("interviewer_done", index=2))
            # ...and its answer typed for question 0 is refused, never filed against question 2
            third.send_json({"type": "answer", "text": "for question 0", "answer_id": "a1", "turn": 0})
            frames = all_of(third, kind("error", code="stale_turn"), kind("state"))
    assert [t["answer_id"] for t in _candidates(client, sid)] == ["b1"]
    assert frames


def test_two_parallel_sockets_share_one_frame_budget(tmp_path, catalog):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", _env_file=None, max_frames_per_minute=4)
    with TestClient(create_app(settings)) as client:
        _, url = _session(client)
        codes = []
        for _ in range(3):  # reconnecting, or opening another socket, does not reset the budget
            with client.websocket_connect(url) as ws:
                until(ws, kind("interviewer_done"))
                for _ in range(2):
                    ws.send_json({"type": "nope"})
                    codes.append(recv(ws)["code"])
        assert codes.count("unknown_type") == 4 and codes.count("rate_limited") == 2
