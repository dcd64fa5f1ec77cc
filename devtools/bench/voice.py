"""``barraiser bench --voice``: the time from the end of a spoken answer to the first byte of the interviewer's
voice, measured from outside the server, with the offline brain and the real voice models.

The server (``python -m app.cli serve`` with ``BARRAISER_VOICE_PRELOAD=true``) runs as a child process on loopback;
this process plays the candidate: answers of about 4, 6 and 12 s spoken by hibari-tts (16 kHz), streamed in real
time as 32 ms int16 frames over the interview WebSocket, with silence before and after, as a microphone would.

* **latency**: from the true end of speech (the last sample above 2 % of the answer's peak, at the time the
  microphone produced it) to the first binary audio frame received; p50 / p99 per answer length;
* **split**: the server's own ``voice_timing`` frame for the same turn (VAD hangover, silence waited,
  recognition after the turn ended, reply, synthesis);
* **cpu_ms_per_audio_s**: the server process's CPU (``/proc/<pid>/stat``) over the run per second of audio streamed;
* **concurrency**: N sessions answering at once (6 s answers); the largest N whose p99 stayed under 1.2 s;
* **wer**: word error rate of the submitted transcripts against the answers' texts.

The server is always stopped (``try`` / ``finally``).
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from devtools.bench.run import _http, _pcts, cpu_ticks, peak_rss_mb, server_child

ANSWERS = {
    4: "I would compare training and validation error on a learning curve first.",
    6: "I would compare training and validation error on a learning curve, then regularize the model or get more data.",
    12: "We rebuilt our payment system because the old service blocked on every write to the database. "
    "I added row level locking and a queue in front of it, and we cut the latency by forty percent in a month.",
}
FRAME_S = 0.032
TICK_S = 0.01  # clock ticks per second of /proc/<pid>/stat: os.sysconf('SC_CLK_TCK') is 100 here


def _speech(text: str) -> np.ndarray:
    from hibari import Hibari

    from app.voice.audio import resample

    tts = Hibari()
    audio = resample(np.asarray(tts(text, seed=0), np.float32), int(tts.sample_rate), 16000)
    loud = np.nonzero(np.abs(audio) > 0.01 * float(np.abs(audio).max()))[0]
    return audio[max(0, loud[0] - 160) : loud[-1] + 160]  # without the synthesiser's own silent lead-in and tail


def _end_of_speech(audio: np.ndarray) -> float:
    loud = np.nonzero(np.abs(audio) > 0.02 * float(np.abs(audio).max()))[0]
    return float(loud[-1] + 1) / 16000


def _wer(ref: str, hyp: str) -> tuple[int, int]:
    r, h = (re.sub(r"[^a-z0-9 ]", " ", x.lower().replace("forty percent", "40")).split() for x in (ref, hyp))
    d = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, d[0] = d[0], i
        for j, hw in enumerate(h, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (rw != hw))
    return d[len(h)], len(r)


# the word-error-rate set: interview-style sentences spoken by hibari-tts (synthetic speech: a floor, not real voices)
WER_SET = [
    *ANSWERS.values(),
    "Precision is the share of predicted positives that are correct, and recall is the share of positives we find.",
    "I would run an experiment with a holdout group for two weeks and check the novelty effect.",
    "The model overfit, so I added dropout and early stopping and the validation loss came down.",
    "Our backend wrote every event to Postgres, and the queue fell behind during the holiday peak.",
    "Tell me about a time you disagreed with your manager and what you did about it.",
    "First I would clarify the metric with the stakeholders, then pull a sample of the data.",
    "Gradient boosting fits each new tree to the negative gradient of the loss.",
    "I owned the migration end to end and wrote the runbook so the on call team could support it.",
    "We saw a leak between the training and test sets because the same users appeared in both.",
]


def stt_window_wer(log: Any = None) -> dict[str, Any]:
    """Word error rate and time per clip of the local recogniser, trimmed window vs Whisper's 30 s window, on WER_SET
    (in this process, one thread, clips with 0.3 s of silence around them)."""
    from app.voice.stt import LocalWhisper

    clips = [
        (text, np.concatenate([np.zeros(4800, np.float32), _speech(text), np.zeros(4800, np.float32)]))
        for text in WER_SET
    ]
    out: dict[str, Any] = {"clips": len(clips), "words": sum(len(t.split()) for t in WER_SET)}
    for name, trim in (("trimmed", True), ("stock_30s", False)):
        stt = LocalWhisper(trim_window=trim)
        errors = words = 0
        times = []
        for text, audio in clips:
            start = time.perf_counter()
            heard = stt.transcribe(audio)
            times.append((time.perf_counter() - start) * 1000)
            e, n = _wer(text, heard.text)
            errors, words = errors + e, words + n
        out[name] = {"wer": round(errors / words, 3), "median_ms_per_clip": round(float(np.median(times)))}
        if log:
            log(f"  STT {name}: WER {errors / words:.1%}, median {np.median(times):.0f} ms per clip")
    return out


class Candidate:
    """One session: a socket, a reader task, and a microphone that streams in real time."""

    def __init__(self, url: str, ws: Any):
        self.url, self.ws = url, ws
        self.frames: list[tuple[float, dict]] = []
        self.binary: list[float] = []
        self.event = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            now = time.monotonic()
            if isinstance(message, bytes):
                self.binary.append(now)
            else:
                self.frames.append((now, json.loads(message)))
            self.event.set()

    async def wait(self, predicate: Any, since: float = 0.0, timeout: float = 60.0) -> tuple[float, dict]:
        deadline = time.monotonic() + timeout
        while True:
            for t, f in self.frames:
                if t >= since and predicate(f):
                    return t, f
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"no frame matched; got {[f['type'] for _, f in self.frames[-20:]]}")
            self.event.clear()
            try:
                await asyncio.wait_for(self.event.wait(), left)
            except TimeoutError:
                pass

    async def stream(self, audio: np.ndarray, until: Any = None) -> float:
        """Send ``audio`` in real time; returns when the microphone started. With ``until``, keep sending silence
        after it until ``until()`` is true (a microphone stays open)."""
        from app.voice.audio import FRAME_SAMPLES, float_to_pcm16

        pcm = float_to_pcm16(audio)
        step = FRAME_SAMPLES * 2
        silence = b"\x00" * step
        t0 = self.stream_started = time.monotonic()
        i = 0
        while True:
            chunk = pcm[i * step : (i + 1) * step] if i * step < len(pcm) else None
            if chunk is None and (until is None or until()):
                return t0
            data = chunk if chunk and len(chunk) == step else silence
            i += 1
            # a frame leaves once the microphone has recorded all of it, as the page's worklet sends it
            await asyncio.sleep(max(0.0, t0 + i * FRAME_S - time.monotonic()))
            await self.ws.send(data)

    async def answer(self, text: str, audio: np.ndarray, lead_s: float = 0.5) -> dict[str, Any]:
        padded = np.concatenate([np.zeros(int(lead_s * 16000), np.float32), audio])
        end_s = lead_s + _end_of_speech(audio)
        seen_binary = len(self.binary)
        deadline = time.monotonic() + len(padded) / 16000 + 20

        def heard() -> bool:  # the first interviewer audio after the true end of the answer
            end = self.stream_started + end_s
            return any(t > end for t in self.binary[seen_binary:]) or time.monotonic() > deadline

        t0 = await self.stream(padded, until=heard)
        end_at = t0 + end_s
        after = [t for t in self.binary[seen_binary:] if t > end_at]
        if not after:
            raise RuntimeError("no interviewer audio after the answer")
        first_audio = after[0]
        # a turn that ended at a pause inside the answer and was taken back when the candidate went on
        take_backs = sum(1 for t, f in self.frames if t0 <= t <= end_at and f["type"] == "state")
        _, timing = await self.wait(lambda f: f["type"] == "voice_timing", since=end_at - 0.2)
        _, caption = await self.wait(lambda f: f["type"] == "caption" and f.get("final"), since=end_at - 0.2)
        # let the interviewer finish its turn (its audio is not played here), then tell the server it was heard
        _, done = await self.wait(lambda f: f["type"] == "interviewer_done", since=end_at)
        chunks = [f for _, f in self.frames if f["type"] == "audio_chunk" and f["utterance"]]
        utterance = chunks[-1]["utterance"] if chunks else None
        await asyncio.sleep(0.5)
        await self.ws.send(
            json.dumps({"type": "voice", "action": "playback", "utterance": utterance, "state": "ended"})
        )
        errors, words = _wer(text, caption["text"])
        return {
            "latency_ms": (first_audio - end_at) * 1000,
            "timing": timing,
            "audio_s": len(padded) / 16000,
            "errors": errors,
            "words": words,
            "take_backs": take_backs,
            "ended": done.get("move") == "end",
        }

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


async def _open(base: str) -> Candidate:
    import websockets

    created = _http("POST", f"{base}/api/sessions", {"round": "ml_breadth", "level": "L5"})
    url = f"{base.replace('http', 'ws')}/ws/sessions/{created['session_id']}?token={created['token']}"
    ws = await websockets.connect(url, max_size=None, proxy=None)
    c = Candidate(url, ws)
    await c.wait(lambda f: f["type"] == "interviewer_done")
    await ws.send(json.dumps({"type": "voice", "action": "start"}))
    await c.wait(lambda f: f["type"] == "voice_status" and f["state"] == "listening")
    return c


async def _session(base: str, lengths: list[int], audio: dict[int, np.ndarray], gap_s: float) -> list[dict]:
    c = await _open(base)
    results = []
    try:
        for length in lengths:
            r = await c.answer(ANSWERS[length], audio[length])
            r["length"] = length
            results.append(r)
            if r["ended"]:
                break
            # outside the resume window before the next answer, listening as a candidate would
            t_end = time.monotonic() + gap_s
            await c.stream(np.zeros(0, np.float32), until=lambda t_end=t_end: time.monotonic() > t_end)
    finally:
        await c.close()
    return results


MORE = "Sorry, one more thing: I would also check the seasonality of the data."
HALVES = ("I would start by looking at the", "conversion funnel, and then at the quality of the data.")


async def _interruptions(base: str, audio: dict[str, np.ndarray], repeats: int, window_s: float) -> dict[str, Any]:
    """Speech over the interviewer's reply: ``resume`` (within the take-back window: the answer goes on) and
    ``barge_in`` (after it: a new turn). The time from the speech's onset to the ``audio_pause`` frame is how fast the
    interviewer goes quiet (plus the page's own reaction, measured in the browser test)."""
    out: dict[str, list[float]] = {"resume": [], "barge_in": []}
    one_turn = 0
    for kind, after_s in (("resume", window_s * 0.4), ("barge_in", window_s + 0.8)):
        c = await _open(base)
        try:
            for _ in range(repeats):
                seen = len(c.binary)
                lead = np.zeros(8000, np.float32)
                await c.stream(np.concatenate([lead, audio["six"]]), until=lambda c=c, seen=seen: len(c.binary) > seen)
                heard_at = c.binary[seen]
                wait_until = heard_at + after_s
                await c.stream(np.zeros(0, np.float32), until=lambda w=wait_until: time.monotonic() > w)
                more = audio["more"]
                onset_s = float(np.nonzero(np.abs(more) > 0.02 * float(np.abs(more).max()))[0][0]) / 16000
                mark = time.monotonic()
                t0 = await c.stream(more, until=lambda: True)
                paused = [t for t, f in c.frames if t >= mark and f["type"] == "audio_pause"]
                if paused:
                    out[kind].append((paused[0] - (t0 + onset_s)) * 1000)
                t_end = time.monotonic() + window_s + 1.5  # let the turn end and the reply go out of the window
                await c.stream(np.zeros(0, np.float32), until=lambda t=t_end: time.monotonic() > t)
                if kind == "resume":
                    _, final = await c.wait(lambda f: f["type"] == "caption" and f.get("final"), since=mark)
                    one_turn += int("funnel" in final["text"] or "learning curve" in final["text"]) and int(
                        "seasonality" in final["text"]
                    )
        finally:
            await c.close()
    return {
        "resume_pause_ms": _pcts(out["resume"]),
        "barge_in_pause_ms": _pcts(out["barge_in"]),
        "resumed_as_one_turn": f"{one_turn}/{repeats}",
    }


async def _pauses(base: str, audio: dict[str, np.ndarray], repeats: int) -> dict[str, Any]:
    """Cut-offs: answers with a 3 s pause mid-sentence (an unfinished clause) or 3 s before the first word must be
    sent whole, as one turn."""
    c = await _open(base)
    cut = total = 0
    cuts: list[dict] = []
    try:
        for _ in range(repeats):
            for parts in ((3.0, "one"), (0.5, "mid")):
                lead, shape = parts
                clip = audio["whole"] if shape == "one" else audio["split"]
                mark = time.monotonic()
                seen = len(c.binary)
                await c.stream(
                    np.concatenate([np.zeros(int(lead * 16000), np.float32), clip]),
                    until=lambda seen=seen: len(c.binary) > seen,
                )
                _, final = await c.wait(lambda f: f["type"] == "caption" and f.get("final"), since=mark)
                takes = sum(1 for t, f in c.frames if t >= mark and f["type"] == "state")
                total += 1
                whole = "looking" in final["text"].lower() and "quality" in final["text"].lower()
                cut += int(takes > 0 or not whole)
                if takes or not whole:
                    cuts.append({"lead_s": lead, "shape": shape, "taken_back": takes, "sent": final["text"]})
                t_end = time.monotonic() + 4.0
                await c.stream(np.zeros(0, np.float32), until=lambda t=t_end: time.monotonic() > t)
    finally:
        await c.close()
    return {"answers": total, "cut_off": cut, "cuts": cuts}


def _split(results: list[dict]) -> dict[str, float]:
    keys = ("hangover_ms", "wait_ms", "stt_ms", "stt_compute_ms", "reply_ms", "tts_ms", "total_ms")
    return {k: float(np.median([r["timing"][k] for r in results])) for k in keys}


def run_voice_bench(
    lengths: list[int],
    repeats: int,
    sessions: list[int],
    log: Any = None,
    env: dict[str, str] | None = None,
    with_wer: bool = True,
) -> dict[str, Any]:
    import os

    say = log or (lambda _msg: None)
    audio = {n: _speech(ANSWERS[n]) for n in set(lengths) | {6}}
    with tempfile.TemporaryDirectory(prefix="barraiser-voice-bench-") as tmp:
        tmpdir = Path(tmp)
        child_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BARRAISER_", "OPENAI_"))},
            "BARRAISER_DATABASE_URL": f"sqlite:///{tmpdir / 'bench.db'}",
            "BARRAISER_VOICE_PRELOAD": "true",
            "BARRAISER_VOICE_AUDIO_DIR": str(tmpdir / "audio"),
            "BARRAISER_MAX_SESSIONS_PER_MINUTE": "1000",
            **(env or {}),
        }
        server = server_child(child_env, tmpdir / "server.log")
        server.start()
        try:
            base = f"http://127.0.0.1:{server.port}"
            deadline = time.monotonic() + 120
            while set(_http("GET", f"{base}/api/health")["voice"]["loaded"]) != {"vad", "stt", "tts"}:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the voice models did not load: {_http('GET', f'{base}/api/health')}")
                time.sleep(0.3)
            assert server.pid is not None
            pid = server.pid

            say(f"voice bench: {repeats} x answers of {lengths} s, one session")
            cpu0, per_length, audio_s = cpu_ticks(pid), {}, 0.0
            started = time.monotonic()
            all_results: list[dict] = []
            for _ in range(repeats):
                all_results += asyncio.run(_session(base, lengths, audio, gap_s=3.0))
            cpu_s = (cpu_ticks(pid) - cpu0) * TICK_S
            wall_s = time.monotonic() - started
            audio_s = sum(r["audio_s"] for r in all_results)
            for n in lengths:
                rs = [r for r in all_results if r["length"] == n]
                errors, words = sum(r["errors"] for r in rs), sum(r["words"] for r in rs)
                per_length[str(n)] = {
                    "runs": len(rs),
                    "latency_ms": _pcts([r["latency_ms"] for r in rs]),
                    "split_ms_median": _split(rs) if rs else {},
                    "wer": round(errors / max(1, words), 3),
                    "take_backs": sum(r["take_backs"] for r in rs),
                }
                say(
                    f"  {n:>2} s answers: {per_length[str(n)]['latency_ms']}  split {per_length[str(n)]['split_ms_median']}"
                )

            concurrency = []
            for n in sessions:

                async def many(n: int = n) -> list[dict]:
                    runs = await asyncio.gather(*(_session(base, [6, 6], audio, gap_s=3.0) for _ in range(n)))
                    return [r for rs in runs for r in rs]

                rs = asyncio.run(many())
                lat = _pcts([r["latency_ms"] for r in rs])
                concurrency.append({"sessions": n, "turns": len(rs), "latency_ms": lat})
                say(f"  {n} concurrent sessions: {lat}")
            extra = {
                "six": audio[6],
                "more": _speech(MORE),
                "whole": _speech(" ".join(HALVES)),
                "split": np.concatenate([_speech(HALVES[0]), np.zeros(3 * 16000, np.float32), _speech(HALVES[1])]),
            }
            interruptions = asyncio.run(_interruptions(base, extra, max(1, min(repeats, 5)), window_s=2.5))
            say(f"  interruptions: {interruptions}")
            pauses = asyncio.run(_pauses(base, extra, max(1, min(repeats, 3))))
            say(f"  3 s pauses: {pauses}")
            stt_window = stt_window_wer(say) if with_wer else None
            under = [
                c["sessions"]
                for c in concurrency
                if c["latency_ms"]["p99"] is not None and c["latency_ms"]["p99"] < 1200
            ]
            return {
                "brain": "offline",
                "lengths": per_length,
                "cpu_ms_per_audio_s": round(cpu_s * 1000 / max(audio_s, 1e-9), 1),
                "cpu_share_of_wall": round(cpu_s / max(wall_s, 1e-9), 3),
                "audio_s": round(audio_s, 1),
                "concurrency": concurrency,
                "max_sessions_p99_under_1200ms": max(under) if under else 0,
                "rss_mb": round(peak_rss_mb(pid), 1),
                "health": _http("GET", f"{base}/api/health")["voice"],
                "stt_window": stt_window,
                "interruptions": interruptions,
                "three_second_pauses": pauses,
                "load_avg": list(os.getloadavg()),
            }
        finally:
            server.stop()


def human(report: dict[str, Any]) -> str:
    lines = ["voice: end of speech -> first interviewer audio byte (offline brain)"]
    for n, r in report["lengths"].items():
        s = r["split_ms_median"]
        lines.append(
            f"  {n:>2} s answer  p50 {r['latency_ms']['p50']} ms  p99 {r['latency_ms']['p99']} ms  ({r['runs']} runs, WER "
            f"{r['wer']:.1%}, {r.get('take_backs', 0)} taken back)  split: VAD hangover {s.get('hangover_ms')}, wait {s.get('wait_ms')}, STT after the end "
            f"{s.get('stt_ms')} (compute {s.get('stt_compute_ms')}), reply {s.get('reply_ms')}, TTS {s.get('tts_ms')}"
        )
    lines.append(f"  CPU {report['cpu_ms_per_audio_s']} ms per second of audio; peak RSS {report['rss_mb']} MB")
    for c in report["concurrency"]:
        lines.append(f"  {c['sessions']} concurrent: p50 {c['latency_ms']['p50']} ms, p99 {c['latency_ms']['p99']} ms")
    lines.append(f"  sessions with p99 < 1.2 s: {report['max_sessions_p99_under_1200ms']}; load {report['load_avg']}")
    i, p = report["interruptions"], report["three_second_pauses"]
    lines.append(
        f"  speech onset -> audio_pause frame: barge-in p50 {i['barge_in_pause_ms']['p50']} / p99 "
        f"{i['barge_in_pause_ms']['p99']} ms; resume within the window p50 {i['resume_pause_ms']['p50']} / p99 "
        f"{i['resume_pause_ms']['p99']} ms, continued as one turn {i['resumed_as_one_turn']}"
    )
    lines.append(f"  3 s pauses (mid-sentence / before the first word): {p['cut_off']} cut off of {p['answers']}")
    if report.get("stt_window"):
        w = report["stt_window"]
        lines.append(
            f"  STT on {w['clips']} clips ({w['words']} words): trimmed window WER {w['trimmed']['wer']:.1%} "
            f"({w['trimmed']['median_ms_per_clip']} ms/clip), 30 s window WER {w['stock_30s']['wer']:.1%} "
            f"({w['stock_30s']['median_ms_per_clip']} ms/clip)"
        )
    return "\n".join(lines)
