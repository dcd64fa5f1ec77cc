"""The benchmark behind ``barraiser bench``: drive N concurrent WebSocket sessions against a real server and report
what the server adds.

The server (``python -m app.cli serve``) and, for the LLM brain, the fake OpenAI-compatible LLM
(``devtools.fake_llm.harness.FakeLLM``) run as separate child processes on loopback; this process is the client. Each
session is created with ``POST /api/sessions`` and driven over a WebSocket for ``--turns`` interviewer turns: the
first from connecting, each later one from sending an answer, to the first ``interviewer_delta`` frame.

Reported (docs/performance.md):

- ``ttft_overhead_ms`` p50 / p99: client-observed time to the first interviewer token minus the time the fake LLM
  needs to produce the first byte of the utterance (``--brain llm``), or the time itself (``--brain offline``).
  The fake's time is exact: ``ttft_ms + floor(offset / PIECE_CHARS) * 1000 / tokens_per_s``, where ``offset`` is
  the code-point index of the utterance's first character in the scripted JSON content (see :func:`fake_first_byte_ms`).
- ``cpu_ms_per_turn``: user + system CPU of the server process only (``/proc/<pid>/stat``), over the driven
  phase, divided by the turns driven.
- ``turns_per_s`` over the driven phase, and ``rss_mb``: the server's peak resident set (``VmHWM``).

The load model: ``think_s`` (mean seconds a candidate thinks before each answer; 0 = answer at once, saturation)
draws each pause from a log-normal distribution with that mean (sigma 0.5, seeded per session), so sessions are out
of step as real ones are; sessions also arrive spread uniformly over the first ``think_s`` seconds. ``workers`` runs ``barraiser serve --workers N``: CPU and RSS are then summed over the
server's processes, and RSS is also reported per live session. ``database``: ``sqlite`` (a temporary file, the
default), ``postgresql`` (a throwaway cluster, devtools/postgres.py) or a ``postgresql://`` URL (an existing, empty
database). ``db_bytes_per_turn``: what the database holds at the end (checkpoints, writes, blobs and the session
tables: SQLite's pages in use, PostgreSQL's row bytes) over the interviewer turns stored. ``prompt_cache`` (LLM
brain): prompt tokens per round and how many would be uncached under a provider's prefix caching
(devtools/bench/prompt_cache.py).

Both children are always stopped (``try`` / ``finally``).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import re
import signal
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.config import PROJECT_ROOT
from devtools.fake_llm.asgi import PIECE_CHARS
from devtools.fake_llm.harness import FakeLLM
from devtools.fake_llm.script import interviewer_turn
from devtools.processes import LOOPBACK_HTTP, PORT, ChildServer

# ----------------------------------------------------------------------------- the fake LLM's script

# About 40 words: what a real interviewer turn says.
UTTERANCE = (
    "Thanks, that is a reasonable start. You mentioned comparing the training and validation error; "
    "walk me through how you would decide between collecting more data, adding regularisation, or "
    "simplifying the model, and which numbers you would look at before you committed to one of them?"
)

ANSWER = (
    "I would first compare the training and validation error against a simple baseline. A large gap means "
    "variance, so I would add regularisation or more data; high error on both means bias, so a richer model "
    "or better features. I would check the learning curves before committing."
)


def turn_json(move: str, utterance: str = UTTERANCE) -> dict:
    """An InterviewerTurn response: a minimal head (``move`` and nulls), the utterance, then the tail fields."""
    return interviewer_turn(move, utterance, rationale="bench")


GRADE = {"criteria": [{"id": "bench", "level": 3, "evidence": []}], "overall": None, "notes": ["bench"]}


def content(obj: dict) -> str:
    """The exact content the fake streams for ``obj`` (sent as ``respond.content``, so no reserialisation)."""
    return json.dumps(obj, ensure_ascii=False)


# The first turn is forced to ``ask`` (the prompt then says exactly "Allowed moves now: ask."); later turns on a
# technical question may ``follow_up``.
MOVE_CONTENT = {"ask": content(turn_json("ask")), "follow_up": content(turn_json("follow_up"))}


MAX_SCRIPTED_ANSWERS = 200


def follow_up_utterance(answer: int) -> str:
    """The follow-up to answer ``answer`` of a session: UTTERANCE with every sentence made its own, so the LLM
    brain's no-repeat check never has to regenerate a bench line (that would measure its retry path instead)."""
    first, rest = UTTERANCE.split(". ", 1)
    return f"{first} on answer {answer}. {rest[:-1]} for answer {answer}?"


def bench_script() -> dict:
    # the reply to answer n is matched by that answer's tag ("[bench s3 a2]" ends in " a2]"); same head, so the
    # first byte of the utterance comes at the same point of the stream for every follow-up
    follow_ups = [
        {
            "match": {"schema": "InterviewerTurn", "last_user_contains": f" a{n}]"},
            "respond": {"content": content(turn_json("follow_up", follow_up_utterance(n)))},
        }
        for n in range(1, MAX_SCRIPTED_ANSWERS + 1)
    ]
    return {
        "rules": [
            {
                "match": {"schema": "InterviewerTurn", "last_user_contains": "Allowed moves now: ask."},
                "respond": {"content": MOVE_CONTENT["ask"]},
            },
            *follow_ups,
            {"match": {"schema": "InterviewerTurn"}, "respond": {"content": MOVE_CONTENT["follow_up"]}},
            {"match": {"schema": "GradeOut"}, "respond": {"content": content(GRADE)}},
        ]
    }


def utterance_offset(text: str) -> int:
    """Code-point index of the utterance's first character in the streamed JSON content."""
    m = re.search(r'"utterance"\s*:\s*"', text)
    if m is None:
        raise ValueError("no utterance in the scripted content")
    return m.end()


def fake_first_byte_ms(text: str, ttft_ms: float, tokens_per_s: float) -> float:
    """When the fake sends the piece holding the utterance's first character, in ms after the request.

    The fake sends its first piece ``ttft_ms`` after the request and piece ``i`` at ``ttft + i / tokens_per_s``
    (absolute deadlines; ``tokens_per_s`` 0 = unthrottled); pieces are ``PIECE_CHARS`` code points."""
    piece = utterance_offset(text) // PIECE_CHARS
    return ttft_ms + (piece * 1000.0 / tokens_per_s if tokens_per_s > 0 else 0.0)


# ----------------------------------------------------------------------------- processes


def cpu_ticks(pid: int) -> int:
    """utime + stime of ``pid`` in clock ticks (``/proc/<pid>/stat`` fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return int(fields[11]) + int(fields[12])


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the uvicorn supervisor and its workers), from ``/proc/*/task/*/children``."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:
                pass
    return out


def tree_cpu_ticks(pid: int) -> int:
    total = 0
    for p in process_tree(pid):
        try:
            total += cpu_ticks(p)
        except OSError:  # exited meanwhile
            pass
    return total


def tree_rss_mb(pid: int, field: str = "VmRSS:") -> float:
    """Resident memory of ``pid`` and its descendants (``VmRSS``, or ``VmHWM`` for the peak), summed."""
    total = 0.0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(field):
                    total += int(line.split()[1]) / 1024.0
        except OSError:
            pass
    return total


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _http(method: str, url: str, payload: Any = None, timeout: float = 10.0) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with LOOPBACK_HTTP.open(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def server_child(env: dict[str, str], log_path: Path, profile: Path | None = None, workers: int = 1) -> ChildServer:
    """``python -m app.cli serve`` in a child process on a free loopback port, ready once ``/api/health`` answers;
    with ``profile``, under cProfile writing its stats there."""
    wrap = ["-m", "cProfile", "-o", str(profile)] if profile else []
    more = ["--workers", str(workers)] if workers > 1 else []
    return ChildServer(
        [sys.executable, *wrap, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", PORT, *more],
        env=env,
        cwd=PROJECT_ROOT,
        log_path=log_path,
        ready_url=f"http://127.0.0.1:{PORT}/api/health",
        timeout_s=60,
        # uvicorn re-raises the signal it caught after shutting down: SIGINT becomes KeyboardInterrupt, so
        # cProfile still writes its stats (SIGTERM would kill the process before that)
        stop_signal=signal.SIGINT if profile else signal.SIGTERM,
        grace_s=30 if profile else 10,
        name="the server",
    )


# ----------------------------------------------------------------------------- the client


@dataclass
class TurnSample:
    session: int
    turn: int  # 0 = the opening turn (timed from connecting)
    first_token_ms: float
    move: str | None = None
    sent_at: float = 0.0  # time.time() when the answer was sent (turn > 0)


@dataclass
class SessionResult:
    samples: list[TurnSample] = field(default_factory=list)
    grades: int = 0
    errors: list[str] = field(default_factory=list)


async def _create_sessions(base: str, n: int, round_id: str, level: str) -> list[dict]:
    loop = asyncio.get_running_loop()
    body = {"round": round_id, "level": level}
    return await asyncio.gather(
        *(loop.run_in_executor(None, _http, "POST", base + "/api/sessions", body) for _ in range(n))
    )


def think_times(mean_s: float, seed: int, sigma: float = 0.5):
    """An endless stream of think times, log-normal with mean ``mean_s`` (0: always 0)."""
    rng = random.Random(seed)
    mu = math.log(mean_s) - sigma * sigma / 2 if mean_s > 0 else 0.0
    while True:
        yield rng.lognormvariate(mu, sigma) if mean_s > 0 else 0.0


async def _drive(
    index: int,
    ws_base: str,
    session: dict,
    turns: int,
    start: asyncio.Event,
    frame_timeout_s: float,
    think_s: float = 0.0,
) -> SessionResult:
    import websockets

    out = SessionResult()
    thinking = think_times(think_s, seed=index)
    await start.wait()
    if think_s > 0:  # candidates arrive spread over one think time, not all at the same instant
        await asyncio.sleep(random.Random(-1 - index).uniform(0, think_s))
    url = f"{ws_base}/ws/sessions/{session['session_id']}?token={session['token']}"
    clock = time.perf_counter
    sent_wall = 0.0
    try:
        t_sent = clock()
        async with websockets.connect(
            url, max_size=None, ping_interval=None, open_timeout=frame_timeout_s, close_timeout=5
        ) as ws:

            async def frame() -> dict:
                return json.loads(await asyncio.wait_for(ws.recv(), frame_timeout_s))

            for turn in range(turns):
                sample: TurnSample | None = None
                while True:
                    f = await frame()
                    kind = f.get("type")
                    if kind == "interviewer_delta" and sample is None:
                        sample = TurnSample(index, turn, (clock() - t_sent) * 1000.0)
                    elif kind == "interviewer_done":
                        break
                    elif kind == "turn_grade":
                        out.grades += 1
                    elif kind == "error":
                        raise RuntimeError(f"error frame {f.get('code')}: {f.get('message')}")
                    elif kind == "debrief":
                        raise RuntimeError("the round ended early")
                if sample is None:
                    raise RuntimeError(f"turn {turn}: interviewer_done without an interviewer_delta")
                sample.move = f.get("move")
                if turn:
                    sample.sent_at = sent_wall
                out.samples.append(sample)
                if turn < turns - 1:
                    if think_s > 0:  # the candidate thinks (the server has nothing to do meanwhile)
                        await asyncio.sleep(next(thinking))
                    text = f"{ANSWER} [bench s{index} a{turn + 1}]"
                    sent_wall = time.time()
                    t_sent = clock()
                    await ws.send(json.dumps({"type": "answer", "text": text}))
            # the grades of the answers sent are part of each turn's cost: wait for them
            while out.grades < turns - 1:
                f = await frame()
                if f.get("type") == "turn_grade":
                    out.grades += 1
                elif f.get("type") == "error":
                    raise RuntimeError(f"error frame {f.get('code')}: {f.get('message')}")
    except Exception as exc:  # noqa: BLE001 - reported, the other sessions go on
        out.errors.append(f"session {index}: {type(exc).__name__}: {exc}")
    return out


async def _warm_up(base: str, round_id: str, level: str, frame_timeout_s: float) -> list[str]:
    [session] = await _create_sessions(base, 1, round_id, level)
    start = asyncio.Event()
    start.set()
    result = await _drive(-1, "ws" + base[len("http") :], session, 2, start, frame_timeout_s)
    return result.errors


async def _run_client(
    base: str, sessions: list[dict], turns: int, pid: int, frame_timeout_s: float, think_s: float = 0.0
) -> tuple[list[SessionResult], float, int, float]:
    """Drive every session; returns the results, the wall time, the server's CPU ticks and the RSS (MB, summed
    over its processes) that the live sessions added mid-run (with think time only)."""
    ws_base = "ws" + base[len("http") :]
    start = asyncio.Event()
    tasks = [
        asyncio.create_task(_drive(i, ws_base, s, turns, start, frame_timeout_s, think_s))
        for i, s in enumerate(sessions)
    ]
    await asyncio.sleep(0.05)  # every task is parked on the start event
    ticks0, t0, idle_rss = tree_cpu_ticks(pid), time.perf_counter(), tree_rss_mb(pid)
    start.set()
    live_rss = 0.0
    if think_s > 0:  # once every session has arrived and is thinking: the memory live sessions add
        await asyncio.sleep(think_s + 1.0)
        live_rss = max(0.0, tree_rss_mb(pid) - idle_rss)
    results = await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    return results, wall, tree_cpu_ticks(pid) - ticks0, live_rss


def _asyncio_run(coro):
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


# ----------------------------------------------------------------------------- statistics


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN for no values."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _pcts(values: list[float]) -> dict[str, float | None]:
    if not values:  # JSON has no NaN
        return {"p50": None, "p99": None}
    return {"p50": round(percentile(values, 50), 2), "p99": round(percentile(values, 99), 2)}


# ----------------------------------------------------------------------------- the benchmark


def run_bench(
    sessions: int = 20,
    turns: int = 5,
    llm_ttft_ms: float = 200.0,
    llm_tokens_per_s: float = 200.0,
    brain: str = "llm",
    round_id: str = "ml_breadth",
    level: str = "L5",
    frame_timeout_s: float = 120.0,
    log: Any = None,
    server_profile: Path | None = None,
    think_s: float = 0.0,
    workers: int = 1,
    database: str = "sqlite",
) -> dict:
    """Run one benchmark and return the report (see the module docstring). ``log``: a callable for progress."""
    if sessions < 1 or turns < 1:
        raise ValueError("sessions and turns must be >= 1")
    if workers > 1 and database == "sqlite":
        database = "postgresql"  # several workers need PostgreSQL
    say = log or (lambda _msg: None)
    client_cpu0 = sum(os.times()[:2])
    fake = None
    server: ChildServer | None = None
    pids: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="barraiser-bench-") as tmp, _database(database, Path(tmp)) as db_url:
        env = {
            **os.environ,
            "BARRAISER_DATABASE_URL": db_url,
            "BARRAISER_DATABASE_POOL_SIZE": str(min(50, max(10, sessions // 10))),
            "BARRAISER_BRAIN": brain,
            "BARRAISER_STREAM_DELAY_MS": "0",
            "BARRAISER_MAX_SESSIONS_PER_MINUTE": str(max(1000, sessions * 10)),
            "BARRAISER_MAX_FRAMES_PER_MINUTE": str(max(1000, turns * 100)),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("BARRAISER_RECORD_DIR", None)
        try:
            if brain == "llm":
                fake = FakeLLM(bench_script(), ttft_ms=llm_ttft_ms, tokens_per_s=llm_tokens_per_s).start()
                pids["fake"] = fake.proc.pid
                env |= {
                    "BARRAISER_LLM_BASE_URL": fake.base_url,
                    "BARRAISER_LLM_API_KEY": "bench",
                    "BARRAISER_LLM_MODEL": "bench",
                    "BARRAISER_GRADER_MODEL": "bench",
                }
                say(f"fake LLM on {fake.url} (ttft {llm_ttft_ms:g} ms, {llm_tokens_per_s:g} tokens/s)")
            server = server_child(env, Path(tmp) / "server.log", server_profile, workers).start()
            url = f"http://127.0.0.1:{server.port}"
            pids["server"] = server.pid
            say(f"server on {url} (pid {server.pid}, brain {brain}, {workers} worker(s), {database.split(':')[0]})")
            # warm-up, not measured: the first session pays one-time costs (lazy imports, first connections)
            warm = _asyncio_run(_warm_up(url, round_id, level, frame_timeout_s))
            if warm:
                raise RuntimeError("the warm-up session failed: " + "; ".join(warm))
            created = _asyncio_run(_create_sessions(url, sessions, round_id, level))
            say(
                f"{sessions} sessions created; driving {turns} turns each"
                + (f", {think_s:g} s think" if think_s else "")
            )
            results, wall, ticks, live_rss = _asyncio_run(
                _run_client(url, created, turns, server.pid, frame_timeout_s, think_s)
            )
            rss = tree_rss_mb(server.pid, "VmHWM:")
            fake_ticks = cpu_ticks(fake.proc.pid) if fake else 0
            requests = fake.requests() if fake else []
        except BaseException:
            if server is not None:
                sys.stderr.write(server.log_tail() + "\n")
            raise
        finally:
            if server is not None:
                server.stop()
            if fake is not None:
                fake.stop()
        stored_bytes = database_bytes(db_url)

    client_cpu = sum(os.times()[:2]) - client_cpu0
    samples = [s for r in results for s in r.samples]
    errors = [e for r in results for e in r.errors]
    first_token = [s.first_token_ms for s in samples]
    fake_ms = {move: fake_first_byte_ms(text, llm_ttft_ms, llm_tokens_per_s) for move, text in MOVE_CONTENT.items()}
    timed: list[tuple[TurnSample, float]] = []  # (sample, server-added ms)
    for s in samples:
        if brain != "llm":
            timed.append((s, s.first_token_ms))
        elif s.move in fake_ms:
            timed.append((s, s.first_token_ms - fake_ms[s.move]))
        else:  # the fake answered with a move the script does not give: not comparable
            errors.append(f"session {s.session} turn {s.turn}: unexpected move {s.move!r}")
    overhead = [o for _s, o in timed]
    n = len(samples)
    report: dict[str, Any] = {
        "sessions": sessions,
        "turns": n,
        "ttft_overhead_ms": _pcts(overhead),
        "cpu_ms_per_turn": round(ticks * 1000.0 / os.sysconf("SC_CLK_TCK") / n, 3) if n else None,
        "turns_per_s": round(n / wall, 2) if wall > 0 else None,
        "rss_mb": round(rss, 1),
        "rss_kb_per_live_session": round(live_rss * 1024 / sessions, 1) if live_rss else None,
        "db_bytes_per_turn": round(stored_bytes / (n + 2)) if n else None,  # + the warm-up session's 2 turns
        "brain": brain,
        "first_token_ms": _pcts(first_token),
        "opening_turn_overhead_ms": _pcts([o for s, o in timed if s.turn == 0]),
        "answer_turn_overhead_ms": _pcts([o for s, o in timed if s.turn > 0]),
        "wall_s": round(wall, 3),
        "server_cpu_s": round(ticks / os.sysconf("SC_CLK_TCK"), 3),
        "client_cpu_s": round(client_cpu, 3),  # this process, the whole run (startup included)
        "fake_cpu_s": round(fake_ticks / os.sysconf("SC_CLK_TCK"), 3),  # the fake LLM, whole run
        "grades": sum(r.grades for r in results),
        "settings": {
            "turns_per_session": turns,
            "llm_ttft_ms": llm_ttft_ms,
            "llm_tokens_per_s": llm_tokens_per_s,
            "round": round_id,
            "level": level,
            "cpus": os.cpu_count(),
            "think_s": think_s,
            "workers": workers,
            "database": database if not database.startswith("postgres") or "://" not in database else "postgresql",
        },
        "pids": pids,
        "errors": errors[:20],
        "error_count": len(errors),
    }
    if brain == "llm":
        from devtools.bench.prompt_cache import uncached_per_round

        report["fake_first_byte_ms"] = {k: round(v, 3) for k, v in fake_ms.items()}
        report["answer_to_llm_request_ms"] = _pcts(_to_llm_request(samples, requests))
        report["prompt_cache"] = uncached_per_round(requests)  # devtools/bench/prompt_cache.py
    return report


@contextmanager
def _database(database: str, folder: Path) -> Iterator[str]:
    """The database URL the bench's server uses: a SQLite file in ``folder``, a throwaway PostgreSQL cluster
    (stopped afterwards) or the URL given."""
    if database == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
    elif database == "postgresql":
        from devtools.postgres import ThrowawayPostgres

        with ThrowawayPostgres() as cluster:
            yield cluster.create_database("bench")
    else:
        yield database


def database_bytes(url: str) -> int:
    """What the database holds once the server has stopped: SQLite's pages in use (file pages less the free list),
    or PostgreSQL's row bytes (``pg_column_size`` of every row) of the app's and LangGraph's tables."""
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = (
                conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
            )
            return pages * conn.execute("PRAGMA page_size").fetchone()[0]
    import psycopg

    total = 0
    with psycopg.connect(url) as conn:
        for (table,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'checkpoint_migrations'"
        ).fetchall():
            row = conn.execute(f'SELECT COALESCE(SUM(pg_column_size(t.*)), 0) FROM "{table}" t').fetchone()
            total += int(row[0]) if row else 0
    return total


def _to_llm_request(samples: list[TurnSample], requests: list[dict]) -> list[float]:
    """For answer turns: ms from sending the answer to the fake receiving the interviewer request (the server's
    work before the model is asked; same clock, ``time.time()``, in both processes)."""
    sent = {(s.session, s.turn): s.sent_at for s in samples if s.turn > 0}
    tag = re.compile(r"\[bench s(\d+) a(\d+)\]")
    out = []
    for r in requests:
        fmt = (r.get("body") or {}).get("response_format") or {}
        if (fmt.get("json_schema") or {}).get("name") != "InterviewerTurn":
            continue
        messages = (r.get("body") or {}).get("messages") or []
        last_user = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "") or ""
        found = [(int(a), int(b)) for a, b in tag.findall(str(last_user))]
        if not found:
            continue
        key = max(found, key=lambda x: x[1])
        if key in sent and sent[key]:
            out.append((r["t"] - sent[key]) * 1000.0)
    return out


# ----------------------------------------------------------------------------- command line


def human(report: dict) -> str:
    """The report for a person (``--json`` prints it as it is)."""
    o = report["ttft_overhead_ms"]
    lines = [
        f"brain {report['brain']}: {report['sessions']} sessions, {report['turns']} turns in {report['wall_s']} s",
        f"  added latency to the first interviewer token: p50 {o['p50']} ms, p99 {o['p99']} ms"
        + ("" if report["brain"] == "llm" else " (no LLM: the whole time to the first token)"),
        f"    opening turns p50 {report['opening_turn_overhead_ms']['p50']} ms, answer turns p50 "
        f"{report['answer_turn_overhead_ms']['p50']} ms; client-observed first token p50 "
        f"{report['first_token_ms']['p50']} ms",
    ]
    if "answer_to_llm_request_ms" in report:
        a = report["answer_to_llm_request_ms"]
        lines.append(f"    answer sent -> LLM request received: p50 {a['p50']} ms, p99 {a['p99']} ms")
    lines += [
        f"  server CPU: {report['cpu_ms_per_turn']} ms per turn",
        f"  throughput: {report['turns_per_s']} turns/s",
        f"  server peak RSS: {report['rss_mb']} MB"
        + (
            f" ({report['rss_kb_per_live_session']} kB per live session)"
            if report.get("rss_kb_per_live_session")
            else ""
        ),
        f"  database: {report.get('db_bytes_per_turn')} bytes per turn stored ({report['settings']['database']})",
    ]
    cache = report.get("prompt_cache") or {}
    if cache.get("rounds"):
        lines.append(
            f"  prompt tokens per round ({report['settings']['turns_per_session'] - 1} answers, "
            f"{cache['calls_per_round']} calls): {cache['prompt_tokens_per_round']}, uncached under prefix caching "
            f"{cache['uncached_prompt_tokens_per_round']} ({cache['cacheable_share']:.0%} cacheable; "
            f"+{cache['schema_tokens_per_round']} schema tokens)"
        )
    if report.get("floor_ms_per_turn"):
        lines.append(
            f"  floor (same run): {report['floor_ms_per_turn']} ms per turn; CPU per turn is "
            f"{report['cpu_over_floor']}x the floor"
        )
    if report["error_count"]:
        lines.append(f"  {report['error_count']} error(s): " + "; ".join(report["errors"][:5]))
    return "\n".join(lines)
