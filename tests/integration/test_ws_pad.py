"""The code pad over the interview WebSocket (docs/protocol.md): the `pad` frame for a SQL or Python question, the
Run button's `run` frame answered by `run_result` (rate limited, refused when execution is off), the pad's content
saved with the session, the code attached to an answer, and every run in the `state` frame and the transcript."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.server.app import create_app
from tests.integration.test_api_ws import collect_until, is_type, ws_url

WRONG = (
    "SELECT d.name AS department, r.name AS employee, r.salary FROM (SELECT e.*, ROW_NUMBER() OVER "
    "(PARTITION BY e.department_id ORDER BY e.salary DESC) AS rn FROM employees e) r "
    "JOIN departments d ON d.id = r.department_id WHERE r.rn <= 3"
)


@pytest.fixture
def make(tmp_path: Path):  # type: ignore[no-untyped-def]
    clients: list[TestClient] = []

    def client(**overrides) -> TestClient:  # type: ignore[no-untyped-def]
        settings = Settings(database_url=f"sqlite:///{tmp_path / f'db{len(clients)}.db'}", _env_file=None, **overrides)
        c = TestClient(create_app(settings))
        c.__enter__()
        clients.append(c)
        return c

    yield client
    for c in reversed(clients):
        c.__exit__(None, None, None)


def _session(client: TestClient, question: str = "sql-top-three-salaries", round_id: str = "coding") -> tuple[str, str]:
    resp = client.post("/api/sessions", json={"round": round_id, "level": "L5", "question": question})
    assert resp.status_code == 201, resp.text
    return resp.json()["session_id"], resp.json()["token"]


def _opened(ws) -> dict:  # type: ignore[no-untyped-def]
    """The opening question's pad frame (it follows the interviewer_done that asks the question)."""
    frames = collect_until(ws, is_type("interviewer_done"))
    assert not [f for f in frames if f["type"] == "pad"]  # no pad before there is a question
    return collect_until(ws, is_type("pad"))[-1]


def test_the_pad_runs_saves_and_follows_the_round(make) -> None:  # type: ignore[no-untyped-def]
    client = make()
    sid, token = _session(client)
    with client.websocket_connect(ws_url(sid, token)) as ws:
        state = ws.receive_json()
        assert state["type"] == "state" and state["runs"] == [] and state["execution"]["enabled"] is True
        pad = _opened(ws)
        assert pad["question_id"] == "sql-top-three-salaries" and pad["language"] == "sql" and pad["fixed"]
        assert [t["name"] for t in pad["tables"]] == ["departments", "employees"]
        assert pad["code"] == "" and pad["execution"] is True
        assert "expected_rows" not in pad and "solution" not in str(pad)

        ws.send_json({"type": "pad", "code": WRONG, "language": "sql"})
        ws.send_json({"type": "run", "code": WRONG, "language": "sql"})
        result = collect_until(ws, is_type("run_result"))[-1]["run"]
        assert result["source"] == "pad" and result["id"] == "pad-1" and result["turn"] is None
        assert result["result"]["status"] == "wrong" and result["result"]["row_count"] == 5
        assert "5 rows where 6 are expected" in result["result"]["summary"]

        text = f"My query.\n\n```sql\n{WRONG}\n```"
        ws.send_json({"type": "answer", "text": text, "code": WRONG, "language": "sql"})
        frames = collect_until(ws, is_type("interviewer_done"))
        answer_run = next(f for f in frames if f["type"] == "run_result")["run"]
        assert answer_run["source"] == "answer" and answer_run["turn"] == 1
        assert "5 rows where 6 are expected" in frames[-1]["text"]

    # a reload (or another device) gets the saved pad and every run
    with client.websocket_connect(ws_url(sid, token)) as ws:
        state = ws.receive_json()
        assert [r["id"] for r in state["runs"]] == ["pad-1", "turn-1"]
        candidate = next(t for t in state["turns"] if t["role"] == "candidate")
        assert candidate["text"] == text and candidate["code"] == WRONG and candidate["language"] == "sql"
        pad = collect_until(ws, is_type("pad"))[-1]
        assert pad["code"] == WRONG
    transcript = client.get(f"/api/sessions/{sid}/transcript", params={"token": token}).json()
    assert [r["id"] for r in transcript["runs"]] == ["pad-1", "turn-1"]
    # the graded replay has them too: the answer's run by its turn, the pad's beside the timeline
    replay = client.get(f"/api/sessions/{sid}/replay", params={"token": token}).json()
    assert [(r["id"], r["source"], r["turn"]) for r in replay["runs"]] == [
        ("pad-1", "pad", None),
        ("turn-1", "answer", 1),
    ]
    assert replay["runs"][1]["result"]["status"] == "wrong" and "expected" not in str(replay["runs"][1]["code"])
    assert client.get("/api/health").json()["code_execution"] in ("bwrap", "unshare", "rlimits")


def test_a_python_question_gets_a_python_pad_with_named_tests(make) -> None:  # type: ignore[no-untyped-def]
    client = make()
    sid, token = _session(client, "py-merge-sorted-lists")
    with client.websocket_connect(ws_url(sid, token)) as ws:
        ws.receive_json()
        pad = _opened(ws)
        assert pad["language"] == "python" and pad["entry_point"] == "merge_sorted_lists"
        assert "empty lists" in pad["tests"] and not any("assert" in t for t in pad["tests"])
        code = "def merge_sorted_lists(a, b):\n    return sorted(a + b)\n"
        ws.send_json({"type": "run", "code": code, "language": "python"})
        run = collect_until(ws, is_type("run_result"))[-1]["run"]["result"]
        assert run["status"] == "ok" and run["passed"] == run["total"] == 8


def test_runs_are_rate_limited_and_long_code_refused(make) -> None:  # type: ignore[no-untyped-def]
    client = make(code_runs_per_minute=2, code_max_chars=200)
    sid, token = _session(client)
    with client.websocket_connect(ws_url(sid, token)) as ws:
        ws.receive_json()
        _opened(ws)
        statuses = []
        for _ in range(3):
            ws.send_json({"type": "run", "code": "SELECT 1 AS x", "language": "sql"})
            statuses.append(collect_until(ws, is_type("run_result"))[-1]["run"]["result"])
        assert [s["status"] for s in statuses] == ["wrong", "wrong", "refused"]
        assert "runs a minute" in statuses[2]["summary"]
        ws.send_json({"type": "run", "code": "SELECT 1 " + "-" * 300, "language": "sql"})
        refused = collect_until(ws, is_type("run_result"))[-1]["run"]["result"]
        assert refused["status"] == "refused" and "limited to 200 characters" in refused["summary"]


def test_with_execution_off_the_round_says_so_and_nothing_runs(make) -> None:  # type: ignore[no-untyped-def]
    client = make(code_execution="off")
    sid, token = _session(client)
    with client.websocket_connect(ws_url(sid, token)) as ws:
        state = ws.receive_json()
        assert state["execution"] == {"enabled": False, "sandbox": "off"}
        pad = _opened(ws)
        assert pad["execution"] is False and "switched off" in pad["message"]
        assert pad["tables"]  # the schema is still shown
        ws.send_json({"type": "run", "code": WRONG, "language": "sql"})
        run = collect_until(ws, is_type("run_result"))[-1]["run"]["result"]
        assert run["status"] == "refused" and "switched off" in run["summary"]
        ws.send_json({"type": "answer", "text": f"```sql\n{WRONG}\n```", "code": WRONG, "language": "sql"})
        frames = collect_until(ws, is_type("interviewer_done"))
        assert not [f for f in frames if f["type"] == "run_result"]
    assert client.get("/api/health").json()["code_execution"] == "off"


def test_rounds_without_code_show_no_pad(make) -> None:  # type: ignore[no-untyped-def]
    client = make()
    sid, token = _session(client, "ml-bias-variance", "ml_breadth")
    with client.websocket_connect(ws_url(sid, token)) as ws:
        ws.receive_json()
        frames = collect_until(ws, is_type("interviewer_done"))
        assert not [f for f in frames if f["type"] == "pad"]


def test_the_online_assessment_has_a_scratch_pad(make) -> None:  # type: ignore[no-untyped-def]
    client = make()
    sid, token = _session(client, "oa-sql-not-in-null", "online_assessment")
    with client.websocket_connect(ws_url(sid, token)) as ws:
        ws.receive_json()
        pad = _opened(ws)
        assert pad["fixed"] is False and pad["checked"] is False
        ws.send_json({"type": "run", "code": "SELECT 1 NOT IN (2, NULL) AS x", "language": "sql"})
        run = collect_until(ws, is_type("run_result"))[-1]["run"]["result"]
        assert run["status"] == "ok" and run["checked"] is False and run["rows"] == [[None]]
