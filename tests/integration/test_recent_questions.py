"""Question planning through the API: a browser's recent questions are not asked again; a chosen question opens."""

from __future__ import annotations


def first_question(client, body: dict) -> str:
    s = client.post("/api/sessions", json=body).json()
    with client.websocket_connect(f"/ws/sessions/{s['session_id']}?token={s['token']}") as ws:
        frame = ws.receive_json()
        while frame["type"] != "interviewer_done":
            frame = ws.receive_json()
    return frame["question_id"]


def test_recent_questions_are_planned_last_for_the_same_browser(client):
    body = {"round": "ml_breadth", "level": "L5", "client_id": "browser-1"}
    seen = [first_question(client, body) for _ in range(6)]
    # six sessions, six different openings (by chance alone: about 1 in 5 with 11 questions in the pool)
    assert len(set(seen)) == 6

    # another browser is not affected by browser-1's history; a bad client id is refused clearly
    assert first_question(client, {**body, "client_id": "browser-2"})
    bad = client.post("/api/sessions", json={**body, "client_id": "not ok!"})
    assert bad.status_code == 422


def test_a_session_can_start_with_a_chosen_question(client):
    body = {"round": "ml_breadth", "level": "L5", "question": "ml-kl-cross-entropy"}
    assert first_question(client, body) == "ml-kl-cross-entropy"
    wrong = client.post("/api/sessions", json={**body, "question": "sql-second-highest-salary"})
    assert wrong.status_code == 422 and "not in the ml_breadth round" in wrong.json()["detail"]


def test_round_questions_list_titles_and_never_rubrics(client):
    body = client.get("/api/rounds/ml_breadth/questions?level=L4").json()
    ids = [q["id"] for q in body["questions"]]
    assert "ml-bias-variance" in ids and "ml-calibration" not in ids  # calibration is L5-L6 only
    assert set(body["questions"][0]) == {"id", "title", "kind", "topics"}
    assert "key point" not in str(body).lower() and "cues" not in str(body)
    assert client.get("/api/rounds/nope/questions").status_code == 404
    assert client.get("/api/rounds/ml_breadth/questions?level=L9").status_code == 422
