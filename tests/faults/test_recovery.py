"""Recovery that cannot get stuck: each state a crash can leave on disk mid-turn (issue 10, items 1 and 2) is built
deterministically from a real round's database, and a new server process's view of it (a fresh app on the file)
must resume: the reconnecting tab gets the pending interviewer turn, its answer is taken, nothing is lost or filed
twice. The states: the newest checkpoint lost after a turn (every task of the one before has its writes, so
``StateSnapshot.next`` is empty), the reply taken but not run, the reply spoken but not graded, graded but not spoken,
both done, and ``await_answer`` not yet run."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.server.app import create_app
from tests.wire import all_of, kind, recv, until

ANSWER = "High variance means the model overfits; I would compare training and validation error on a curve."
NEXT = "I would regularize, for example with L2, and get more data."
NULL_TASK = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(autouse=True)
def _shared_catalog(catalog, monkeypatch):
    monkeypatch.setattr("app.server.app.load_catalog", lambda *_: catalog)


def _app(db: Path, **overrides) -> TestClient:
    return TestClient(create_app(Settings(database_url=f"sqlite:///{db}", _env_file=None, **overrides)))


def _play(db: Path, answers: int) -> tuple[str, str]:
    """A round on ``db`` with every checkpoint kept: the opening turn and ``answers`` answered turns, graded."""
    with _app(db, prune_checkpoints=False) as client:
        body = client.post("/api/sessions", json={"round": "ml_breadth", "level": "L5"}).json()
        sid, token = body["session_id"], body["token"]
        with client.websocket_connect(f"/ws/sessions/{sid}?token={token}") as ws:
            done = until(ws, kind("interviewer_done"))[-1]
            for i in range(answers):
                ws.send_json({"type": "answer", "text": ANSWER, "answer_id": f"a{i}", "turn": done["index"]})
                frames = all_of(ws, kind("answer_received"), kind("turn_grade"), kind("interviewer_done"))
                done = [f for f in frames if f["type"] == "interviewer_done"][-1]
    return sid, token


def _steps(db: Path) -> dict[int, str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT checkpoint_id, json_extract(metadata, '$.step') FROM checkpoints").fetchall()
    return {step: cid for cid, step in rows}


def _cut(src: Path, dst: Path, keep_step: int, drop=lambda task, channel: False) -> None:
    """What was on disk when the process died: checkpoints after ``keep_step`` never written, and of that step's
    writes those ``drop`` names never written."""
    shutil.copy(src, dst)
    with sqlite3.connect(dst) as conn:
        steps = {
            step: cid
            for cid, step in conn.execute("SELECT checkpoint_id, json_extract(metadata, '$.step') FROM checkpoints")
        }
        for step, cid in steps.items():
            if step > keep_step:
                conn.execute("DELETE FROM checkpoints WHERE checkpoint_id = ?", (cid,))
                conn.execute("DELETE FROM writes WHERE checkpoint_id = ?", (cid,))
        kept = steps[keep_step]
        for task, channel in conn.execute(
            "SELECT task_id, channel FROM writes WHERE checkpoint_id = ?", (kept,)
        ).fetchall():
            if drop(task, channel):
                conn.execute(
                    "DELETE FROM writes WHERE checkpoint_id = ? AND task_id = ? AND channel = ?", (kept, task, channel)
                )


def _step_writing(db: Path, channel: str) -> int:
    """The (first) step whose checkpoint has a write on ``channel``: where the reply and the grade run (after
    ``await_answer`` and ``run_code``), found rather than counted so a new node does not shift the tests."""
    steps = _steps(db)
    with sqlite3.connect(db) as conn:
        for step in sorted(s for s in steps if s >= 0):  # step -1 is the input: it writes every channel
            if conn.execute(
                "SELECT 1 FROM writes WHERE checkpoint_id = ? AND channel = ?", (steps[step], channel)
            ).fetchone():
                return step
    raise AssertionError(f"no step writes {channel}")


def _task_writing(db: Path, step: int, channel: str) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT task_id FROM writes WHERE checkpoint_id = ? AND channel = ?", (_steps(db)[step], channel)
        ).fetchone()[0]


def _resume(db: Path, sid: str, token: str, pending: int, answered: list[str]) -> None:
    """A new process on ``db``: the tab reconnects, gets the pending turn within 5 s, answers it, gets the next."""
    with _app(db) as client, client.websocket_connect(f"/ws/sessions/{sid}?token={token}") as ws:
        state = recv(ws)
        assert state["type"] == "state"
        frames = until(ws, lambda f: f["type"] == "interviewer_done" and f["index"] == pending, timeout=5)
        assert not [f for f in frames if f["type"] == "error"], frames
        ws.send_json({"type": "answer", "text": NEXT, "answer_id": "next", "turn": pending})
        after = all_of(ws, kind("answer_received", answer_id="next"), kind("interviewer_done", index=pending + 2))
        assert not [f for f in after if f["type"] == "error"], after
        tr = client.get(f"/api/sessions/{sid}/transcript", params={"token": token}).json()
    ids = [t.get("answer_id") for t in tr["turns"] if t["role"] == "candidate"]
    assert ids == [*answered, "next"], ids  # each answer exactly once, in order
    assert [t["index"] for t in tr["turns"]] == list(range(len(tr["turns"])))


@pytest.fixture(scope="module")
def played(tmp_path_factory) -> dict[str, tuple[Path, str, str]]:
    root = tmp_path_factory.mktemp("played")
    opening, answered = root / "opening.db", root / "answered.db"
    return {"opening": (opening, *_play(opening, 0)), "answered": (answered, *_play(answered, 1))}


def test_newest_checkpoint_lost_after_the_opening_turn(played, tmp_path):
    """Issue item 1's reproduction: play the opening turn, delete the newest checkpoint and its writes. The
    checkpoint left has `respond` with all its writes, `next` is empty: it used to stay 'speaking' forever."""
    src, sid, token = played["opening"]
    db = tmp_path / "s.db"
    _cut(src, db, keep_step=0)
    _resume(db, sid, token, pending=0, answered=[])


def test_reply_taken_but_not_yet_run(played, tmp_path):
    """Only the answer (the resume value) reached the disk: the answer is run on, never lost or asked for again."""
    src, sid, token = played["answered"]
    db = tmp_path / "s.db"
    _cut(src, db, keep_step=1, drop=lambda task, ch: not (task == NULL_TASK or ch == "__interrupt__"))
    _resume(db, sid, token, pending=2, answered=["a0"])


def test_answered_with_every_write_but_no_next_checkpoint(played, tmp_path):
    src, sid, token = played["answered"]
    db = tmp_path / "s.db"
    _cut(src, db, keep_step=1)
    _resume(db, sid, token, pending=2, answered=["a0"])


def test_code_run_step_done_but_no_next_checkpoint(played, tmp_path):
    """``run_code`` (nothing to run on this question) finished with every write; the reply and grade never ran."""
    src, sid, token = played["answered"]
    db = tmp_path / "s.db"
    _cut(src, db, keep_step=_step_writing(src, "grades") - 1)
    _resume(db, sid, token, pending=2, answered=["a0"])


def test_reply_spoken_but_not_graded(played, tmp_path):
    """Issue item 2: only grade_turn re-runs; the tab used to get a turn_grade and never the interviewer's turn."""
    src, sid, token = played["answered"]
    db = tmp_path / "s.db"
    step = _step_writing(src, "grades")
    grader = _task_writing(src, step, "grades")
    _cut(src, db, keep_step=step, drop=lambda task, ch: task == grader)
    _resume(db, sid, token, pending=2, answered=["a0"])


def test_graded_but_reply_not_spoken(played, tmp_path):
    src, sid, token = played["answered"]
    db = tmp_path / "s.db"
    step = _step_writing(src, "grades")
    speaker = _task_writing(src, step, "turns")
    _cut(src, db, keep_step=step, drop=lambda task, ch: task == speaker)
    _resume(db, sid, token, pending=2, answered=["a0"])


def test_spoken_and_graded_but_no_next_checkpoint(played, tmp_path):
    src, sid, token = played["answered"]
    db = tmp_path / "s.db"
    _cut(src, db, keep_step=_step_writing(src, "grades"))
    _resume(db, sid, token, pending=2, answered=["a0"])


def test_waiting_step_saved_before_its_interrupt(played, tmp_path):
    src, sid, token = played["answered"]
    db = tmp_path / "s.db"
    _cut(src, db, keep_step=_step_writing(src, "grades") + 1, drop=lambda task, ch: ch == "__interrupt__")
    _resume(db, sid, token, pending=2, answered=["a0"])
