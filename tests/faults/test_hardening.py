"""Hostile input (issue 10, item 8): deep nesting, lone surrogates, bad UTF-8 without a traceback per frame, rate
limits that reconnecting, parallel sockets or a forged X-Forwarded-For cannot bypass, a request body limit, the
WebSocket Origin check, connect-src limited to the page's own host, mid-stream model drops as model_unavailable."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time

import httpx2
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.config import Settings
from app.server.app import create_app
from tests.conftest import LiveServer
from tests.wire import all_of, kind, recv, until

ANSWER = "High variance means the model overfits; I would compare training and validation error."


@pytest.fixture(autouse=True)
def _shared_catalog(catalog, monkeypatch):
    monkeypatch.setattr("app.server.app.load_catalog", lambda *_: catalog)


def _client(tmp_path, **overrides) -> TestClient:
    return TestClient(
        create_app(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", _env_file=None, **overrides))
    )


def _session(client) -> tuple[str, str]:
    body = client.post("/api/sessions", json={"round": "ml_breadth", "level": "L5"}).json()
    return body["session_id"], f"/ws/sessions/{body['session_id']}?token={body['token']}"


@pytest.mark.parametrize(
    "raw", ["[" * 1000, '{"a":' * 1000, "[" * 33 + "]" * 33, '{"type": "answer", "text": ' + "[" * 5000]
)
def test_deep_nesting_is_an_error_frame_and_the_socket_stays(tmp_path, raw):
    """A 2 KB `[`x1000 frame used to drop the socket with a RecursionError traceback."""
    with _client(tmp_path) as client:
        _, url = _session(client)
        with client.websocket_connect(url) as ws:
            until(ws, kind("interviewer_done"))
            ws.send_text(raw)
            assert recv(ws)["code"] == "invalid_json"
            ws.send_json({"type": "answer", "text": ANSWER, "answer_id": "x", "turn": 0})
            all_of(ws, kind("answer_received"), kind("interviewer_done", index=2))


def test_nesting_inside_strings_is_not_counted(tmp_path):
    with _client(tmp_path) as client:
        sid, url = _session(client)
        text = "[" * 200 + " my answer " + "{" * 200
        with client.websocket_connect(url) as ws:
            until(ws, kind("interviewer_done"))
            ws.send_json({"type": "answer", "text": text, "answer_id": "x", "turn": 0})
            all_of(ws, kind("answer_received"), kind("interviewer_done", index=2))
        point = client.portal.call(client.app.state.bar.interviews.point, sid)
        assert point.turns[1]["text"] == text


def test_a_lone_surrogate_is_refused_not_altered(tmp_path):
    with _client(tmp_path) as client:
        sid, url = _session(client)
        with client.websocket_connect(url) as ws:
            until(ws, kind("interviewer_done"))
            ws.send_text('{"type": "answer", "text": "a\\ud800b", "answer_id": "s", "turn": 0}')
            error = recv(ws)
            assert error["code"] == "invalid_text" and "surrogate" in error["message"]
            ws.send_text('{"type": "answer", "text": "pair \\ud83d\\ude00 ok", "answer_id": "p", "turn": 0}')
            all_of(ws, kind("answer_received"), kind("interviewer_done", index=2))
        point = client.portal.call(client.app.state.bar.interviews.point, sid)
        assert point.turns[1]["text"] == "pair \U0001f600 ok"


def test_the_request_body_is_limited_and_never_echoed(tmp_path):
    with _client(tmp_path, max_body_bytes=4096) as client:
        big = client.post(
            "/api/sessions",
            content=b'{"round": "' + b"x" * 10_000 + b'"}',
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413 and "4096" in big.json()["detail"]
        bad = client.post("/api/sessions", json={"round": "y" * 3000, "level": 5})
        assert bad.status_code == 422 and len(bad.content) < 1000 and "yyyy" not in bad.text


def test_a_foreign_origin_cannot_open_the_socket(tmp_path):
    with _client(tmp_path, allowed_origins="https://trusted.example") as client:
        _, url = _session(client)
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect(url, headers={"origin": "https://evil.example"}) as ws:
                recv(ws)
        assert refused.value.code == 1008
        for origin in ("http://testserver", "https://trusted.example"):
            with client.websocket_connect(url, headers={"origin": origin}) as ws:
                assert recv(ws)["type"] == "state"


def test_connect_src_is_the_pages_own_host(tmp_path):
    with _client(tmp_path) as client:
        csp = client.get("/", headers={"host": "interview.example:8443"}).headers["content-security-policy"]
        connect = [d for d in csp.split(";") if d.strip().startswith("connect-src")][0]
        assert connect.split() == [
            "connect-src",
            "'self'",
            "ws://interview.example:8443",
            "wss://interview.example:8443",
        ]
        odd = client.get("/", headers={"host": "a b;c"}).headers["content-security-policy"]
        assert "connect-src 'self';" in odd and " ws: " not in odd


# ------------------------------------------------------------------ a real server: what uvicorn itself does


def _raw_ws(port: int, path: str, payload: bytes, opcode: int = 1) -> bytes:
    """Open a socket by hand and send one (possibly invalid) frame; return what the server sent back."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:  # the upgrade first: bytes sent before it may be dropped
            head += s.recv(4096)
        mask = os.urandom(4)
        header = (
            struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload))
            if len(payload) < 126
            else struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, len(payload))
        )
        s.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        data, deadline = b"", time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
        return data


def test_a_real_server_forged_forwarded_for_and_bad_utf8(tmp_path):
    """From loopback, X-Forwarded-For used to be believed (40/40 bypassed the session limit); invalid UTF-8 closed
    the socket correctly but logged an ERROR traceback each time."""
    log = tmp_path / "server.log"
    server = LiveServer(tmp_path / "db.sqlite", log, env={"BARRAISER_MAX_SESSIONS_PER_MINUTE": "3"}).start()
    try:
        codes = [
            httpx2.post(
                server.url + "/api/sessions",
                json={"round": "ml_breadth", "level": "L5"},
                headers={"x-forwarded-for": f"10.0.0.{i}"},
            ).status_code
            for i in range(6)
        ]
        assert codes == [201, 201, 201, 429, 429, 429]
        time.sleep(0)
        body = httpx2.get(server.url + "/api/health").json()
        assert body["database"]["state"] == "ok"
        sid = httpx2.post(server.url + "/api/sessions", json={"round": "ml_breadth", "level": "L5"})
        assert sid.status_code == 429
    finally:
        server.stop()
    server = LiveServer(tmp_path / "db.sqlite", log).start()
    try:
        created = httpx2.post(server.url + "/api/sessions", json={"round": "ml_breadth", "level": "L5"}).json()
        path = f"/ws/sessions/{created['session_id']}?token={created['token']}"
        from websockets.sync.client import connect

        with connect(f"ws://127.0.0.1:{server.port}{path}") as ws:  # the opening turn, so the round waits
            while json.loads(ws.recv(timeout=10))["type"] != "interviewer_done":
                pass
        for _ in range(3):
            back = _raw_ws(server.port, path, b'{"type":"answer","text":"\xff\xfe"}')
            at = back.rfind(b"\x88")  # the close frame: code 1007 (invalid frame payload data), maybe a reason
            assert at >= 0 and back[at + 2 : at + 4] == b"\x03\xef", back[-40:]
    finally:
        server.stop()
    text = log.read_text(errors="replace")
    assert "Invalid UTF-8 sequence received from client" in text
    assert "UnicodeDecodeError" not in text and "Traceback" not in text


async def test_a_mid_stream_model_drop_is_model_unavailable(tmp_path):
    """A model connection that drops mid-stream used to be reported as internal_error."""
    from app.brains import make_brain
    from devtools.fake_llm.harness import FakeLLM
    from tests.helpers import Round

    rules = [
        {
            "match": {"schema": "InterviewerTurn", "last_user_contains": "Allowed moves now: ask."},
            "respond": {
                "json": {
                    "move": "ask",
                    "principle": None,
                    "key_point": None,
                    "star_part": None,
                    "failure_mode": None,
                    "quote": None,
                    "utterance": "Hello, let's begin.",
                    "covered": [],
                    "rationale": "t",
                }
            },
        },
        {
            "match": {"schema": "InterviewerTurn"},
            "fault": {"disconnect": True},
            "respond": {"content": json.dumps({"move": "follow_up", "utterance": "x" * 300})},
        },
    ]
    with FakeLLM({"rules": rules}) as fake:
        settings = Settings(
            _env_file=None,
            llm_base_url=fake.base_url,
            llm_max_retries=0,
            llm_timeout_s=5,
            database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        )
        brain = make_brain(settings)
        try:
            from app.content.catalog import load_catalog

            r = Round(brain, load_catalog(settings.rubrics_dir, settings.prompts_dir))
            await r.open()
            with pytest.raises(Exception) as failed:
                await r.answer(ANSWER)
            assert getattr(failed.value, "code", None) == "model_unavailable", repr(failed.value)
        finally:
            await brain.aclose()
    await asyncio.sleep(0)
