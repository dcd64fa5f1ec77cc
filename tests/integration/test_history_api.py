"""The looking-back endpoints (app/server/history.py), in process on the offline brain: the graded replay, forks
that re-answer a turn (the original untouched, the fork graded), drills, summaries and progress over the sessions
a browser holds tokens for (wrong tokens left out), and the practice round built from weak spots."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.test_api_ws import collect_until, is_type, ws_url

GOOD = (
    "Bias is error from wrong assumptions, so the model underfits; variance is sensitivity to the training sample, "
    "so it overfits. I compare training and validation error on a learning curve: both high means bias, a large "
    "gap means variance, then I regularize or get more data."
)
WEAK = "High variance means overfitting, so I would add more features to fix it."


def start(client: TestClient, **body) -> tuple[str, str]:
    resp = client.post("/api/sessions", json={"round": "ml_breadth", "level": "L5", **body})
    assert resp.status_code == 201, resp.text
    return resp.json()["session_id"], resp.json()["token"]


def play(client: TestClient, sid: str, token: str, answers: list[str], end: bool = True) -> None:
    """Answer the round's turns over the socket (waiting for each grade), then end it."""
    with client.websocket_connect(ws_url(sid, token)) as ws:
        collect_until(ws, is_type("interviewer_done"))
        for text in answers:
            ws.send_json({"type": "answer", "text": text})
            frames = collect_until(ws, lambda f: f["type"] == "turn_grade")
            if not any(f["type"] == "interviewer_done" for f in frames):
                collect_until(ws, is_type("interviewer_done"))
        if end:
            ws.send_json({"type": "control", "action": "end"})
            collect_until(ws, is_type("debrief"))


def replay(client: TestClient, sid: str, token: str) -> dict:
    resp = client.get(f"/api/sessions/{sid}/replay", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_the_replay_carries_grades_evidence_reasons_and_timings(client):
    sid, token = start(client, question="ml-bias-variance")
    play(client, sid, token, [GOOD, WEAK])
    r = replay(client, sid, token)
    assert r["format"] == "barraiser-replay" and r["status"] == "ended"
    assert r["round_title"] == "ML breadth" and r["started_at"] <= r["ended_at"]
    asked = r["turns"][0]
    assert asked["role"] == "interviewer" and asked["move"] == "ask" and asked["rationale"]
    assert isinstance(asked["at"], float)
    answer = r["turns"][1]
    assert answer["question_id"] == "ml-bias-variance"
    assert answer["timing"]["words"] == len(GOOD.split()) and answer["timing"]["think_s"] >= 0
    grade = answer["grade"]
    assert grade["evidence"] and all(q in GOOD for q in grade["evidence"])
    assert {"covered", "missed", "answers", "confidence", "criteria"} <= set(grade)
    refs = r["questions"]["ml-bias-variance"]
    assert refs["title"] == "Bias-variance trade-off"
    assert set(grade["missed"]) <= {k["id"] for k in refs["key_points"]}
    assert r["debrief"]["vote"]
    # a wrong token, an unknown session
    assert client.get(f"/api/sessions/{sid}/replay?token=nope").status_code == 401
    assert client.get("/api/sessions/nope/replay?token=x").status_code == 404


def test_a_fork_re_answers_a_turn_and_leaves_the_original_alone(client):
    sid, token = start(client, question="ml-bias-variance")
    play(client, sid, token, [WEAK, WEAK])
    before = replay(client, sid, token)

    resp = client.post(f"/api/sessions/{sid}/fork", json={"turn": 1}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201, resp.text
    fork = resp.json()
    assert fork["kind"] == "fork" and fork["forked_from"] == {"session_id": sid, "turn": 1, "original": None}
    fid, ftoken = fork["session_id"], fork["token"]
    assert fid != sid and ftoken != token

    # the fork waits for the answer exactly where the original did
    with client.websocket_connect(ws_url(fid, ftoken)) as ws:
        state = ws.receive_json()
        assert state["type"] == "state" and state["status"] == "awaiting_answer"
        assert [t["text"] for t in state["turns"]] == [before["turns"][0]["text"]]
        assert state["started_at"] > before["started_at"]  # the round clock goes on from the fork, not from then
        collect_until(ws, is_type("interviewer_done", index=0))
        ws.send_json({"type": "answer", "text": GOOD})
        collect_until(ws, is_type("turn_grade", turn=1))

    after = replay(client, sid, token)
    assert after["turns"] == before["turns"] and after["debrief"] == before["debrief"]  # never changed

    forked = replay(client, fid, ftoken)
    assert forked["kind"] == "fork"
    # the copied turns keep the original round's clock; the re-answer's think time counts from the fork
    assert forked["turns"][0]["clock_s"] == before["turns"][0]["clock_s"]
    assert 0 <= forked["turns"][1]["timing"]["think_s"] < 60
    assert forked["forked_from"]["original"]["text"] == WEAK
    assert forked["forked_from"]["original"]["grade"] == before["turns"][1].get("grade")
    assert forked["turns"][1]["text"] == GOOD and forked["turns"][1]["grade"]["overall"] is not None

    summaries = client.post(
        "/api/sessions/lookup",
        json={"sessions": [{"session_id": sid, "token": token}, {"session_id": fid, "token": ftoken}]},
    ).json()["sessions"]
    by_id = {s["session_id"]: s for s in summaries}
    assert by_id[fid]["forked_from"]["session_id"] == sid
    assert by_id[fid]["retry"]["turn"] == 1 and by_id[fid]["retry"]["overall"] == forked["turns"][1]["grade"]["overall"]
    assert by_id[sid]["kind"] == "interview" and by_id[sid]["retry"] is None


def test_a_fork_needs_the_token_and_a_real_answer(client):
    sid, token = start(client)
    play(client, sid, token, [WEAK], end=False)
    auth = {"Authorization": f"Bearer {token}"}
    assert (
        client.post(f"/api/sessions/{sid}/fork", json={"turn": 1}, headers={"Authorization": "Bearer x"}).status_code
        == 401
    )
    assert client.post(f"/api/sessions/{sid}/fork", json={"turn": 0}, headers=auth).status_code == 422  # a question
    assert client.post(f"/api/sessions/{sid}/fork", json={"turn": 2}, headers=auth).status_code == 422
    assert client.post(f"/api/sessions/{sid}/fork", json={"turn": 9}, headers=auth).status_code == 422
    assert client.post("/api/sessions/nope/fork", json={"turn": 1}, headers=auth).status_code == 404


def test_a_drill_is_one_question(client):
    assert client.post("/api/sessions", json={"round": "ml_breadth", "level": "L5", "drill": True}).status_code == 422
    sid, token = start(client, question="ml-l1-vs-l2", drill=True)
    play(client, sid, token, [WEAK, WEAK, WEAK], end=False)
    r = replay(client, sid, token)
    assert r["kind"] == "drill"
    asked = {t["question_id"] for t in r["turns"] if t.get("move") == "ask"}
    assert asked == {"ml-l1-vs-l2"}


def test_lookup_and_progress_only_see_sessions_with_the_right_token(client):
    a, ta = start(client, question="ml-bias-variance")
    play(client, a, ta, [WEAK, WEAK])
    b, tb = start(client, question="ml-bias-variance")
    play(client, b, tb, [GOOD])
    other, _ = start(client)
    keys = [{"session_id": a, "token": ta}, {"session_id": b, "token": tb}, {"session_id": other, "token": "guess"}]
    summaries = client.post("/api/sessions/lookup", json={"sessions": keys}).json()["sessions"]
    assert [s["session_id"] for s in summaries] == [b, a]  # newest first, the wrong token left out
    assert summaries[1]["status"] == "ended" and summaries[1]["questions"][0]["title"] == "Bias-variance trade-off"
    assert client.post("/api/sessions/lookup", json={"sessions": [{"session_id": other}]}).status_code == 422

    progress = client.post("/api/progress", json={"sessions": keys}).json()
    assert progress["sessions"] == 2
    kinds = {s["kind"] for s in progress["series"]}
    assert {"round", "topic"} <= kinds
    ml = next(s for s in progress["series"] if s["kind"] == "round" and s["id"] == "ml_breadth")
    assert [p["session_id"] for p in ml["points"]] == [a, b]
    assert all(1 <= p["level"] <= 4 for p in ml["points"])
    # the weak first round put the question in box 0: due for review now
    due = {d["question_id"]: d for d in progress["due"]}
    assert "ml-bias-variance" in due
    suggestion = progress["suggestion"]
    assert suggestion["round"] == "ml_breadth" and suggestion["level"] == "L5"

    empty = client.post("/api/progress", json={"sessions": []}).json()
    assert empty["sessions"] == 0 and empty["series"] == [] and empty["suggestion"] is None
    assert client.post("/api/practice", json={"sessions": []}).status_code == 422


def test_practice_next_plans_the_due_question_first(client):
    a, ta = start(client, question="ml-bias-variance")
    play(client, a, ta, [WEAK, WEAK])
    keys = [{"session_id": a, "token": ta}]
    resp = client.post("/api/practice", json={"sessions": keys})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["kind"] == "practice" and body["round"] == "ml_breadth"
    assert "Bias-variance trade-off" in body["due"]
    with client.websocket_connect(ws_url(body["session_id"], body["token"])) as ws:
        done = collect_until(ws, is_type("interviewer_done"))[-1]
    assert done["question_id"] == "ml-bias-variance"  # asked again although it was asked in a recent session
    r = replay(client, body["session_id"], body["token"])
    assert r["kind"] == "practice" and r["focus"]["due"] == ["Bias-variance trade-off"]
