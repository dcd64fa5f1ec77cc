"""Contract tests of exam mode (docs/protocol.md, "Exam and practice mode"): until an exam-mode round has ended no
grade, level, principle or aim leaves the server (socket frames, state frame, transcript, replay, summaries,
progress); grades are still computed and stored; once the round has ended everything is shown. Practice mode sends
them as the round goes. In-process, offline brain, a temporary SQLite database; the old-database migration too."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.vocabulary import PRINCIPLE_NAMES
from app.store.sqlite import open_storage
from tests.integration import test_api_ws
from tests.integration.test_api_ws import collect_all, collect_until, first, is_type, settle, ws_url

# the contract tests' fixtures: an in-process app on a temporary database, sharing the session's catalog
_shared_catalog = test_api_ws._shared_catalog
client = test_api_ws.client

# ML breadth on bias and variance: a follow-up, then an Earn Trust pivot, then a return (tests/fixtures/evals)
PIVOT_ROUND = {"round": "ml_breadth", "question": "ml-bias-variance"}
ANSWERS = [
    "High variance means the model overfits; I would compare training and validation error on a learning curve and "
    "regularize.",
    "Expected error is bias squared plus variance plus noise. If training error is low but validation error is much "
    "higher, the model overfit, so I would regularize, get more data or stop early.",
    "At my previous job our churn model overfit. I was responsible for it. I built a time-based split; as a result "
    "the gap fell from 12% to 2%. I learned to check leakage first.",
]
# a bar raiser story (the failure ladder follows)
STORY = (
    "At my last job the PM wanted to launch a churn model that I thought leaked future data. I pushed back: I "
    "rebuilt the validation with a time-based split, showed the AUC fell from 0.91 to 0.71, and we delayed the "
    "launch by two weeks. I owned the fix, added a feature timestamp check to our pipeline, and since then no "
    "leaked feature has shipped. I learned to check the split before I trust a number."
)
# what may never appear as a key of anything sent before the end (at any depth), nor as a move
HIDDEN_KEYS = {"grade", "principle", "rationale", "key_point", "thread", "overall", "criteria"}
LP_MOVES = {"lp_pivot", "lp_follow_up"}


def create(client: TestClient, round_id: str = "bar_raiser", **extra: Any) -> dict:
    resp = client.post("/api/sessions", json={"round": round_id, "level": "L5"} | extra)
    assert resp.status_code == 201, resp.text
    return resp.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def leaks(doc: Any, path: str = "") -> list[str]:
    """Where ``doc`` names a grade, principle or aim: hidden keys, LP moves, or a principle's name as a value
    (the interviewer's and candidate's words are left out: they are the conversation itself)."""
    found: list[str] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in HIDDEN_KEYS:
                found.append(f"{path}.{k}")
            elif k == "move" and v in LP_MOVES:
                found.append(f"{path}.move={v}")
            elif k != "text":
                found += leaks(v, f"{path}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            found += leaks(v, f"{path}[{i}]")
    elif isinstance(doc, str) and doc in PRINCIPLE_NAMES:
        found.append(f"{path}={doc}")
    return found


def play(ws, answers: list[str]) -> list[dict]:
    """The opening turn, then each answer and the interviewer's reply: every frame the socket sent."""
    frames = collect_until(ws, is_type("interviewer_done"))
    for text in answers:
        pending = (
            frames[-1]
            if frames[-1]["type"] == "interviewer_done"
            else first(reversed(frames), is_type("interviewer_done"))
        )
        ws.send_json({"type": "answer", "text": text, "turn": pending["index"]})
        frames += collect_until(ws, is_type("interviewer_done"))
    return frames


def end_round(ws) -> list[dict]:
    ws.send_json({"type": "control", "action": "end"})
    return collect_all(ws, is_type("interviewer_done", move="end"), is_type("debrief"))


def stored_grades(client: TestClient, sid: str) -> list[dict]:
    return settle(client, sid).values.get("grades", [])


def test_rounds_say_their_default_mode(client: TestClient) -> None:
    rounds = {r["id"]: r for r in client.get("/api/rounds").json()["rounds"]}
    assert rounds["bar_raiser"]["default_mode"] == "exam"
    assert {r["default_mode"] for rid, r in rounds.items() if rid != "bar_raiser"} == {"practice"}


def test_mode_defaults_and_choices(client: TestClient) -> None:
    assert create(client)["mode"] == "exam"  # the bar raiser's default
    assert create(client, mode="practice")["mode"] == "practice"
    assert create(client, "ml_breadth")["mode"] == "practice"
    assert create(client, "ml_breadth", mode="exam")["mode"] == "exam"
    qid = client.get("/api/rounds/bar_raiser/questions?level=L5").json()["questions"][0]["id"]
    assert create(client, question=qid, drill=True)["mode"] == "practice"  # a drill is practice unless asked
    resp = client.post("/api/sessions", json={"round": "bar_raiser", "level": "L5", "mode": "quiz"})
    assert resp.status_code == 422 and "mode" in resp.text


def test_the_bar_raiser_in_exam_mode_by_default_sends_no_grade_nor_aim(client: TestClient) -> None:
    body = create(client)
    sid, token = body["session_id"], body["token"]
    with client.websocket_connect(ws_url(sid, token)) as ws:
        assert ws.receive_json()["mode"] == "exam"
        frames = play(ws, [STORY, "I did the analysis myself and presented it to the director."])
    assert not [f for f in frames if f["type"] == "turn_grade"]
    assert not [(f["type"], leak) for f in frames for leak in leaks(f)]
    values = settle(client, sid).values
    assert len(values["grades"]) == 2  # graded all the same
    assert all(t.get("rationale") for t in values["turns"] if t["role"] == "interviewer")  # stored, not sent


def test_exam_mode_sends_no_grade_nor_principle_until_the_end(client: TestClient) -> None:
    body = create(client, **PIVOT_ROUND, mode="exam")
    sid, token = body["session_id"], body["token"]
    with client.websocket_connect(ws_url(sid, token)) as ws:
        state = ws.receive_json()
        assert state["type"] == "state" and state["mode"] == "exam"
        frames = play(ws, ANSWERS)
    assert not [f for f in frames if f["type"] == "turn_grade"]
    assert not [(f["type"], leak) for f in frames for leak in leaks(f)]
    # the grades are computed and stored all the same, principles included
    grades = stored_grades(client, sid)
    assert len(grades) == len(ANSWERS)
    values = settle(client, sid).values
    assert values["principles_probed"] == ["Earn Trust"]
    assert any(t.get("move") in LP_MOVES for t in values["turns"])

    with client.websocket_connect(ws_url(sid, token)) as ws:  # a reconnect: the state frame hides them too
        state = ws.receive_json()
        assert state["mode"] == "exam" and state["status"] == "awaiting_answer"
        assert leaks(state["turns"]) == [] and state["debrief"] is None
        pending = ws.receive_json()
        assert pending["type"] == "interviewer_done" and leaks(pending) == []

    tr = client.get(f"/api/sessions/{sid}/transcript", headers=bearer(token)).json()
    assert tr["mode"] == "exam" and tr["status"] == "in_progress"
    assert leaks(tr["turns"]) == [] and tr["debrief"] is None
    replay = client.get(f"/api/sessions/{sid}/replay", headers=bearer(token)).json()
    assert replay["mode"] == "exam" and leaks(replay["turns"]) == []
    assert all(q["key_points"] == [] for q in replay["questions"].values())
    keys = {"sessions": [{"session_id": sid, "token": token}]}
    summary = client.post("/api/sessions/lookup", json=keys).json()["sessions"][0]
    assert summary["mode"] == "exam" and summary["mean_level"] is None and summary["graded"] == 0
    progress = client.post("/api/progress", json=keys).json()
    assert progress["graded_answers"] == 0 and progress["series"] == [] and progress["weakest"] == []

    # the end: the debrief, and from now on everything
    with client.websocket_connect(ws_url(sid, token)) as ws:
        ws.receive_json()
        collect_until(ws, is_type("interviewer_done"))
        frames = end_round(ws)
    debrief = first(frames, is_type("debrief"))
    assert debrief["turns_graded"] >= 1 and debrief["principles"]
    settle(client, sid)
    tr = client.get(f"/api/sessions/{sid}/transcript", headers=bearer(token)).json()
    assert tr["status"] == "ended" and tr["debrief"]["vote"] == debrief["vote"]
    graded = [t for t in tr["turns"] if t["role"] == "candidate" and "grade" in t]
    assert len(graded) == len(ANSWERS)
    assert any(t.get("move") in LP_MOVES and t.get("principle") in PRINCIPLE_NAMES for t in tr["turns"])
    assert all(t.get("rationale") for t in tr["turns"] if t["role"] == "interviewer")
    replay = client.get(f"/api/sessions/{sid}/replay", headers=bearer(token)).json()
    assert replay["status"] == "ended" and sum("grade" in t for t in replay["turns"]) == len(ANSWERS)
    assert any(q["key_points"] for q in replay["questions"].values())
    with client.websocket_connect(ws_url(sid, token)) as ws:
        state = ws.receive_json()
        assert state["status"] == "ended" and state["debrief"]["vote"] == debrief["vote"]
        assert sum("grade" in t for t in state["turns"]) == len(ANSWERS)
    summary = client.post("/api/sessions/lookup", json=keys).json()["sessions"][0]
    assert summary["graded"] >= 1 and summary["vote"] == debrief["vote"]


def test_practice_mode_sends_grades_and_principles_live(client: TestClient) -> None:
    body = create(client, **PIVOT_ROUND)
    sid, token = body["session_id"], body["token"]
    with client.websocket_connect(ws_url(sid, token)) as ws:
        assert ws.receive_json()["mode"] == "practice"
        frames = play(ws, ANSWERS)
        graded = {f["turn"] for f in frames if f["type"] == "turn_grade"}
    grades = stored_grades(client, sid)
    assert len(grades) == len(ANSWERS)
    assert graded and graded <= {g["turn"] for g in grades}
    done = [f for f in frames if f["type"] == "interviewer_done"]
    assert any(f["move"] in LP_MOVES and f.get("principle") in PRINCIPLE_NAMES for f in done), done
    tr = client.get(f"/api/sessions/{sid}/transcript", headers=bearer(token)).json()
    assert tr["mode"] == "practice" and sum("grade" in t for t in tr["turns"]) == len(ANSWERS)


def test_exam_mode_on_another_round_and_its_forks(client: TestClient) -> None:
    body = create(client, "ml_breadth", mode="exam")
    sid, token = body["session_id"], body["token"]
    with client.websocket_connect(ws_url(sid, token)) as ws:
        ws.receive_json()
        frames = play(ws, ["I would compare training and validation error to see whether it overfits."])
    assert not [f for f in frames if f["type"] == "turn_grade"] and leaks(frames) == []
    assert len(stored_grades(client, sid)) == 1
    # a retry copies the grades before it: one of an exam round still running is in exam mode too
    refused = client.post(f"/api/sessions/{sid}/fork", json={"turn": 1, "mode": "practice"}, headers=bearer(token))
    assert refused.status_code == 422 and "exam" in refused.json()["detail"]
    fork = client.post(f"/api/sessions/{sid}/fork", json={"turn": 1}, headers=bearer(token))
    assert fork.status_code == 201, fork.text
    assert fork.json()["mode"] == "exam"
    replay = client.get(f"/api/sessions/{fork.json()['session_id']}/replay", headers=bearer(fork.json()["token"]))
    assert replay.json()["mode"] == "exam" and leaks(replay.json()["turns"]) == []
    assert replay.json()["forked_from"]["original"]["grade"] is None
    # once the round has ended, a retry is practice: the new grade shows beside the old one
    with client.websocket_connect(ws_url(sid, token)) as ws:
        ws.receive_json()
        collect_until(ws, is_type("interviewer_done"))
        end_round(ws)
    settle(client, sid)
    fork = client.post(f"/api/sessions/{sid}/fork", json={"turn": 1}, headers=bearer(token))
    assert fork.status_code == 201, fork.text
    assert fork.json()["mode"] == "practice"
    replay = client.get(f"/api/sessions/{fork.json()['session_id']}/replay", headers=bearer(fork.json()["token"]))
    assert replay.json()["mode"] == "practice" and replay.json()["forked_from"]["original"]["grade"] is not None


OLD_SCHEMA = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL, round_id TEXT NOT NULL, level TEXT NOT NULL,
    brain TEXT NOT NULL, plan TEXT NOT NULL, created_at REAL NOT NULL, client_id TEXT
)
"""


@pytest.mark.parametrize("with_client_id", [True, False])
def test_an_old_database_gets_the_mode_column(tmp_path: Path, with_client_id: bool) -> None:
    """A database file from before exam mode (and one from before client_id): the columns are added, its sessions
    read as practice (what they were), new ones keep their mode."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        schema = OLD_SCHEMA if with_client_id else OLD_SCHEMA.replace(", client_id TEXT", "")
        conn.execute(schema)
        conn.execute(
            "INSERT INTO sessions (id, token_sha256, round_id, level, brain, plan, created_at) "
            "VALUES ('old', 'x', 'bar_raiser', 'L5', 'offline', 'q1\nq2', 1.0)"
        )

    async def check() -> None:
        async with open_storage(str(path)) as storage:
            old = await storage.sessions.get("old")
            assert old is not None and old.mode == "practice" and old.plan == ["q1", "q2"]
            record, token = await storage.sessions.create("bar_raiser", "L5", "offline", ["q1"], "browser", "exam")
            assert record.mode == "exam"
        async with open_storage(str(path)) as storage:  # reopened: the migration is not run twice
            again = await storage.sessions.authorize(record.id, token)
            assert again is not None and again.mode == "exam"
            assert await storage.sessions.recent("browser", 5) == [record.id]

    asyncio.run(check())
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
    assert {"client_id", "mode"} <= columns
