"""kill -9 at random points of a turn (issue 10, items 1-3 and 7): a real server process is killed with SIGKILL at a
random instant of a turn, 20 times in all (offline brain, and LLM brain against the fake LLM), and restarted on the
same database (a SQLite file, or PostgreSQL). A client that behaves like the page (it keeps each answer until ``answer_received`` and, after a
reconnect, sends it again if the state waits for the turn it answered) must see every session resume: 20/20
resumed, 0 confirmed answers lost, 0 answers filed twice, 0 stuck. Fixed seed, bounded time."""

from __future__ import annotations

import json
import random
import signal
import time

import httpx2
import pytest
from websockets.sync.client import connect

from tests.conftest import LiveServer

ANSWER = "High variance means the model overfits; I would compare training and validation error on a curve."
KILLS = {"offline": 12, "llm": 8}


class Page:
    """What the page does with answers: one unconfirmed answer at a time, resent after reconnects."""

    def __init__(self, url: str):
        self.url, self.outbox, self.confirmed, self.n = url, None, [], 0

    def _recv(self, ws, timeout=10.0):
        return json.loads(ws.recv(timeout=timeout))

    def step(self, server: LiveServer, kill_after_s: float) -> None:
        """Reconnect, resend what is unconfirmed, answer the pending turn; kill the server after ``kill_after_s``."""
        deadline = time.monotonic() + kill_after_s
        with connect(self.url, open_timeout=10) as ws:
            pending = None
            while True:
                timeout = max(0.001, deadline - time.monotonic())
                try:
                    frame = self._recv(ws, timeout=min(timeout, 10))
                except TimeoutError:
                    if time.monotonic() >= deadline:
                        break
                    raise
                if frame["type"] == "state":
                    ids = {t.get("answer_id") for t in frame["turns"]}
                    if self.outbox and self.outbox["answer_id"] in ids:
                        self.confirmed.append(self.outbox["answer_id"])
                        self.outbox = None
                elif frame["type"] == "answer_received":
                    if self.outbox and frame["answer_id"] == self.outbox["answer_id"]:
                        self.confirmed.append(self.outbox["answer_id"])
                        self.outbox = None
                elif frame["type"] == "interviewer_done" and frame["move"] != "end":
                    pending = frame["index"]
                    if self.outbox is None:
                        self.n += 1
                        self.outbox = {
                            "type": "answer",
                            "text": f"{ANSWER} ({self.n})",
                            "answer_id": f"ans{self.n}",
                            "turn": pending,
                        }
                    elif self.outbox["turn"] != pending:
                        raise AssertionError(f"turn {pending} waits, but the unconfirmed answer is for {self.outbox}")
                    ws.send(json.dumps(self.outbox))
                elif frame["type"] == "error":
                    assert frame["code"] != "internal_error", frame
                if time.monotonic() >= deadline:
                    break
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(timeout=10)
        server.stop()


@pytest.mark.parametrize(
    "brain, database", [("offline", "sqlite"), ("llm", "sqlite"), ("offline", "postgresql"), ("llm", "postgresql")]
)
def test_kill_9_at_random_points_of_a_turn_loses_no_confirmed_answer(brain, database, tmp_path, request):
    rng = random.Random(f"kill9-{brain}")
    env = {"BARRAISER_STREAM_DELAY_MS": "3"}
    if database == "postgresql":
        env["BARRAISER_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    fake = None
    if brain == "llm":
        from devtools.fake_llm.harness import FakeLLM

        fake = FakeLLM({"rules": []}, ttft_ms=20, tokens_per_s=400).start()
        env |= {"BARRAISER_LLM_BASE_URL": fake.base_url, "BARRAISER_LLM_MAX_RETRIES": "0"}
        env.pop("BARRAISER_STREAM_DELAY_MS")
    db, log = tmp_path / "kill.db", tmp_path / "server.log"
    try:
        server = LiveServer(db, log, env=env).start()
        body = httpx2.post(server.url + "/api/sessions", json={"round": "ml_breadth", "level": "L5"}).json()
        page = Page("")
        resumed = 0
        for _ in range(KILLS[brain]):
            page.url = f"ws://127.0.0.1:{server.port}/ws/sessions/{body['session_id']}?token={body['token']}"
            page.step(server, kill_after_s=rng.uniform(0.005, 0.4))
            server = LiveServer(db, log, env=env).start()
            # resumed: within 10 s the session waits for an answer again (or the round is over)
            url = f"ws://127.0.0.1:{server.port}/ws/sessions/{body['session_id']}?token={body['token']}"
            with connect(url, open_timeout=10) as ws:
                frame = json.loads(ws.recv(timeout=10))
                deadline = time.monotonic() + 10
                while frame["type"] != "interviewer_done" and frame.get("status") != "ended":
                    assert time.monotonic() < deadline, "stuck: no pending turn within 10 s of a restart"
                    frame = json.loads(ws.recv(timeout=10))
            resumed += 1
        tr = httpx2.get(
            server.url + f"/api/sessions/{body['session_id']}/transcript", params={"token": body["token"]}
        ).json()
        server.stop()
    finally:
        if fake is not None:
            fake.stop()
    filed = [t.get("answer_id") for t in tr["turns"] if t["role"] == "candidate"]
    assert resumed == KILLS[brain]
    assert len(filed) == len(set(filed)), f"an answer filed twice: {filed}"
    assert set(page.confirmed) <= set(filed), f"confirmed but lost: {set(page.confirmed) - set(filed)}"
    assert [t["index"] for t in tr["turns"]] == list(range(len(tr["turns"])))
    print(
        f"[kill9 {brain} {database}] {resumed}/{KILLS[brain]} resumed, {len(page.confirmed)} confirmed, "
        f"{len(filed)} filed, 0 lost, 0 duplicated"
    )
