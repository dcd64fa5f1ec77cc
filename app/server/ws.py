"""The interview WebSocket: authenticates, replays the session state, and turns client frames into graph runs.

Bad input never breaks the connection or the session: each problem gets an ``error`` frame with a code
(docs/protocol.md) and nothing the candidate sent is lost. An answer is confirmed with ``answer_received`` once it
is on disk; until then the page keeps it and sends it again after a reconnect (same ``answer_id``: never filed
twice). One live socket per session: a newer one takes the session over (app/server/owners.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine, Mapping
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketException, status
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from app.core.durability import StorageError
from app.core.frames import AnswerReceived, DebriefFrame, Frame, InterviewerDone, end_reply
from app.core.ports import BrainError
from app.core.vocabulary import ErrorCode
from app.server.deps import Bar, BarRaiser
from app.server.exam import frame_for
from app.server.interviews import NotAwaitingAnswer, StaleTurn
from app.server.owners import HeldElsewhere
from app.server.pads import PadChannel
from app.server.protocol import (
    CLIENT_FRAME_TYPES,
    TAKEN_OVER_CLOSE_CODE,
    TAKEN_OVER_CLOSE_REASON,
    AnswerFrame,
    PadFrame,
    RunFrame,
    SessionTakenOver,
    StateFrame,
    client_frame,
    error_frame,
)
from app.server.voice import VOICE_FRAME_TYPES, VoiceChannel
from app.store.sqlite import SessionRecord

log = logging.getLogger(__name__)
router = APIRouter()

IDLE_CLOSE_REASON = "idle timeout"  # frontend/js/protocol.js knows it too (checked by a test)
_MAX_NESTING = 32  # deeper JSON than any client frame needs is refused before it is parsed


def _kept(confirmed: bool) -> str:
    """What became of the candidate's last answer, said honestly."""
    if confirmed:
        return "Your answer is saved"
    return "Your answer was not confirmed saved; it is kept on this page and is sent again when you reconnect"


def _origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    """A browser always sends ``Origin``: it must be the page's own (same host as the socket) or allow-listed.
    Clients that send none (scripts, the tests) are not browsers a page could misuse."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    if origin in allowed:
        return True
    host = websocket.headers.get("host", "")
    return bool(host) and urlsplit(origin).netloc.lower() == host.lower()


def _too_deep(raw: str) -> bool:
    """More than ``_MAX_NESTING`` open brackets at once (outside strings): refused before ``json.loads`` recurses."""
    if raw.count("[") + raw.count("{") <= _MAX_NESTING:
        return False
    depth, in_string, escaped = 0, False, False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > _MAX_NESTING:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@router.websocket("/ws/sessions/{session_id}")
async def interview_socket(websocket: WebSocket, session_id: str, bar: Bar, token: str | None = None) -> None:
    if not _origin_allowed(websocket, bar.settings.allowed_origin_list):
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="origin not allowed")
    record = await bar.storage.sessions.authorize(session_id, token)
    if record is None:
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="unknown session or wrong token")
    await websocket.accept()
    await Connection(websocket, record, bar).serve()


class Connection:
    """One browser tab on one session."""

    def __init__(self, websocket: WebSocket, record: SessionRecord, bar: BarRaiser):
        self.ws, self.record, self.bar = websocket, record, bar
        self.settings = bar.settings
        self.run: asyncio.Task[None] | None = None
        self.awaiting_answer = False
        self.pending_turn: int | None = None  # the interviewer turn this socket last saw waiting for an answer
        self.confirmed = True  # the last answer sent on this socket was confirmed (answer_received)
        self.ended = False
        self.closed = False
        self.voice = VoiceChannel(self, bar.voice)  # binary frames and voice frames (app/server/voice.py)
        self.replaced = False  # another socket took the session over
        self.pad = PadChannel(  # the candidate's pad: its question, its content, the Run button (app/server/pads.py)
            record.id,
            record.round_id,
            bar.catalog.questions,
            bar.runner,
            bar.storage.pads,
            self.send,
            self.settings.code_runs_per_minute,
            self.settings.code_max_chars,
        )
        self.pad_run: asyncio.Task[None] | None = None

    async def send(self, frame: Frame) -> None:
        if isinstance(frame, InterviewerDone):
            self.awaiting_answer = frame.move != "end"
            self.pending_turn = frame.index if self.awaiting_answer else None
        elif isinstance(frame, DebriefFrame):
            self.ended, self.awaiting_answer = True, False
        elif isinstance(frame, AnswerReceived):
            self.confirmed = True
        if self.closed or self.ws.application_state != WebSocketState.CONNECTED:
            return
        shown = frame_for(frame, self.record.mode, self.ended)  # exam mode: no grade, principle or aim yet
        if shown is None:
            return
        try:
            await self.ws.send_json(shown.wire())
        except Exception:  # the client went away mid-run; the run goes on and its state is checkpointed
            log.debug("session %s: frame dropped, socket closed", self.record.id)
            return
        self.voice.observe(frame)  # speaks the interviewer's words in voice mode
        if isinstance(frame, InterviewerDone) and frame.question_id:
            await self.pad.show(frame.question_id)  # a new question: its pad

    async def send_bytes(self, data: bytes) -> None:
        if self.closed or self.ws.application_state != WebSocketState.CONNECTED:
            return
        try:
            await self.ws.send_bytes(data)
        except Exception:
            log.debug("session %s: audio dropped, socket closed", self.record.id)

    async def resync(self) -> None:
        """Send the whole session state again (after a spoken answer was taken back)."""
        await self._sync(await self._state())

    async def taken_over(self) -> None:
        """Another socket owns the session now: say so, and close (the page shows the session read-only)."""
        self.replaced = True
        await self.send(
            SessionTakenOver(
                message="This interview was opened in another tab or window; it continues there. "
                "Take it over to continue here."
            )
        )
        self.closed = True
        try:
            await self.ws.close(code=TAKEN_OVER_CLOSE_CODE, reason=TAKEN_OVER_CLOSE_REASON)
        except Exception:  # already gone
            log.debug("session %s: replaced socket already closed", self.record.id)

    def _start(self, coro: Coroutine[Any, Any, None]) -> None:
        async def guarded() -> None:
            try:
                await coro
            except NotAwaitingAnswer as exc:
                await self.send(
                    error_frame(ErrorCode.round_ended, "The round has ended.")
                    if exc.ended
                    else error_frame(
                        ErrorCode.interviewer_speaking,
                        "The interviewer is still speaking; send your answer after the turn ends.",
                    )
                )
            except StaleTurn as exc:
                await self.send(
                    error_frame(
                        ErrorCode.stale_turn,
                        f"That answer was for turn {exc.answered}, but the interview has moved on (it waits for "
                        f"an answer to turn {exc.pending}). Nothing was filed; here is where the interview is.",
                    )
                )
                await self._sync(await self._state())
            except StorageError as exc:  # the database does not take writes: never claim anything saved
                log.error("session %s: storage failed: %s", self.record.id, exc)
                await self.send(
                    error_frame(
                        ErrorCode.storage_unavailable,
                        f"The server could not save to its database ({exc}). {_kept(self.confirmed)}.",
                    )
                )
            except BrainError as exc:  # the model is down or talks nonsense: the answer is kept, retry later
                log.warning("session %s: %s", self.record.id, exc)
                what = "unavailable right now" if exc.code == ErrorCode.model_unavailable else "gave no valid turn"
                await self.send(
                    error_frame(
                        exc.code,
                        f"The interviewer model is {what}. {_kept(self.confirmed)}; reconnect to continue.",
                    )
                )
            except Exception:  # a fault in a brain: keep the connection, say what happened
                log.exception("session %s: run failed", self.record.id)
                await self.send(
                    error_frame(
                        ErrorCode.internal_error,
                        f"The interviewer failed to produce its turn. {_kept(self.confirmed)}; reconnect to retry.",
                    )
                )

        self.run = asyncio.create_task(guarded())

    async def _state(self) -> StateFrame:
        pad_runs = [r.model_dump(mode="json") for r in await self.bar.storage.pads.runs(self.record.id)]
        execution = {"enabled": self.bar.runner.enabled, "sandbox": self.bar.runner.name}
        return await self.bar.interviews.state_frame(
            self.record, self.bar.brain.label, self.settings.max_answer_chars, pad_runs, execution
        )

    async def serve(self) -> None:
        try:
            previous = await self.bar.owners.claim(self.record.id, self)
        except HeldElsewhere:  # another worker keeps it (its tab is live there): this one is the read-only tab
            await self.taken_over()
            return
        except StorageError as exc:
            await self.send(error_frame(ErrorCode.storage_unavailable, f"The session cannot be opened: {exc}."))
            await self.ws.close(code=status.WS_1011_INTERNAL_ERROR, reason="storage unavailable")
            return
        if previous is not None:
            await previous.taken_over()
        try:
            state = await self._state()
        except StorageError as exc:
            await self.bar.owners.release(self.record.id, self)
            await self.send(error_frame(ErrorCode.storage_unavailable, f"The session cannot be read: {exc}."))
            await self.ws.close(code=status.WS_1011_INTERNAL_ERROR, reason="storage unavailable")
            return
        await self._sync(state)
        if state.status == "speaking":
            self._start(self._advance())
        try:
            while not self.closed:
                try:
                    message = await asyncio.wait_for(self.ws.receive(), timeout=self.settings.idle_timeout_s)
                except TimeoutError:
                    await self.ws.close(code=status.WS_1000_NORMAL_CLOSURE, reason=IDLE_CLOSE_REASON)
                    return
                if message["type"] == "websocket.disconnect":
                    self.closed = True
                    return
                if self.replaced:
                    continue  # a frame that crossed the take-over: this socket no longer speaks for the session
                await self.handle(message)
        except (WebSocketDisconnect, RuntimeError):  # RuntimeError: receive() after the take-over closed it
            return
        finally:
            self.closed = True
            if self.pad_run and not self.pad_run.done():
                await asyncio.shield(self.pad_run)  # a pad run is bounded by its time limit; it is kept for the replay
            await self.voice.close()
            try:
                if self.run and not self.run.done():
                    # let the run finish so its state is checkpointed; frames to a closed socket are dropped
                    await asyncio.shield(self.run)
            finally:  # only then may another worker drive the session
                await self.bar.owners.release(self.record.id, self)

    async def _sync(self, state: StateFrame) -> None:
        """Send the session state, and the pending interviewer turn again if the candidate owes an answer."""
        await self.send(state)
        self.ended = state.status == "ended"
        self.awaiting_answer = False
        asked = next((t.get("question_id") for t in reversed(state.turns) if t["role"] == "interviewer"), None)
        if not self.ended and asked is not None:
            await self.pad.show(asked, force=True)
        if state.status == "awaiting_answer":
            await self.send(InterviewerDone.model_validate(state.turns[-1]))

    async def _advance(self) -> None:
        """Start a new session's round or run on one a fault interrupted. Unless this run opened the round, it may
        not have said the pending interviewer turn (it only graded, or applied writes a crash left): catch the tab
        up with a fresh state and the pending turn, so the candidate is never left waiting for a turn."""

        async def caught_up() -> None:
            await self._sync(await self._state())

        if await self.bar.interviews.advance(self.record, self.send, caught_up) == "nothing":
            await caught_up()

    async def handle(self, message: Mapping[str, Any]) -> None:
        if message.get("bytes") is not None:  # microphone audio: bounded by its own rate (app/server/voice.py)
            return await self.voice.audio(message["bytes"])
        if not self.bar.frame_limiter.allow(self.record.id):
            return await self.send(
                error_frame(
                    ErrorCode.rate_limited,
                    f"More than {self.settings.max_frames_per_minute} frames a minute on this session; slow down.",
                )
            )
        raw = message.get("text") or ""
        if len(raw) > self.settings.max_frame_bytes or len(raw.encode("utf-8", "surrogatepass")) > (
            self.settings.max_frame_bytes
        ):
            return await self.send(
                error_frame(ErrorCode.frame_too_large, f"Frames are limited to {self.settings.max_frame_bytes} bytes.")
            )
        if _too_deep(raw):
            return await self.send(
                error_frame(ErrorCode.invalid_json, f"The frame nests deeper than {_MAX_NESTING} levels.")
            )
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            return await self.send(error_frame(ErrorCode.invalid_json, f"The frame is not valid JSON: {exc.msg}."))
        except (ValueError, RecursionError) as exc:
            return await self.send(error_frame(ErrorCode.invalid_json, f"The frame is not valid JSON: {exc}."))
        if not isinstance(data, dict):
            return await self.send(error_frame(ErrorCode.invalid_json, "The frame must be a JSON object."))
        if data.get("type") in VOICE_FRAME_TYPES:
            return await self.voice.control(data)
        if data.get("type") not in CLIENT_FRAME_TYPES:
            shown = repr(data.get("type"))[:80]
            return await self.send(
                error_frame(
                    ErrorCode.unknown_type,
                    f"Unknown frame type {shown}; expected one of {', '.join(CLIENT_FRAME_TYPES + VOICE_FRAME_TYPES)}.",
                )
            )
        try:
            frame = client_frame.validate_python(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or 'frame'}: {e['msg']}" for e in exc.errors())
            return await self.send(error_frame(ErrorCode.invalid_frame, problems[:500]))
        if isinstance(frame, AnswerFrame):
            await self.answer(frame)
        elif isinstance(frame, RunFrame):
            await self.run_pad(frame)
        elif isinstance(frame, PadFrame):
            await self.pad.save(frame)
        else:
            await self.end()

    async def run_pad(self, frame: RunFrame) -> None:
        """The Run button: outside the round, one at a time per connection, answered with a ``run_result``."""
        if self.pad_run and not self.pad_run.done():
            await self.pad_run  # runs are short (bounded by their time limits): the next waits for the last
        self.pad_run = asyncio.create_task(self.pad.run(frame))

    async def _refuse_if_ended(self) -> bool:
        if self.ended:
            await self.send(
                error_frame(ErrorCode.round_ended, "The round has ended; start a new interview from the lobby.")
            )
        return self.ended

    async def answer(self, frame: AnswerFrame, voice: dict[str, Any] | None = None) -> None:
        """A typed answer, or (with ``voice``) a spoken one with its transcription and recording."""
        text, code = frame.text, frame.code
        if await self._refuse_if_ended():
            return
        limit = self.settings.max_answer_chars
        if code is not None and len(code) > self.settings.code_max_chars:
            return await self.send(
                error_frame(
                    ErrorCode.answer_too_long,
                    f"Attached code is limited to {self.settings.code_max_chars} characters; this has {len(code)}.",
                )
            )
        if len(text) > limit:
            return await self.send(
                error_frame(
                    ErrorCode.answer_too_long,
                    f"Answers are limited to {limit} characters; "
                    f"this one has {len(text)}. Nothing was sent; shorten it and retry.",
                )
            )
        if _has_lone_surrogate(text):
            return await self.send(
                error_frame(
                    ErrorCode.invalid_text,
                    "The answer holds a lone UTF-16 surrogate (an escape such as \\ud800 that is no character); "
                    "nothing was sent. Remove it and retry.",
                )
            )
        if not self.awaiting_answer:
            if frame.answer_id is not None:  # a resend of an answer the round may already have
                await self._after_current_run()
                if await self.bar.interviews.find_answer(self.record, frame.answer_id, self.send):
                    return
            return await self.send(
                error_frame(
                    ErrorCode.interviewer_speaking,
                    "The interviewer is still speaking; send your answer after the turn ends.",
                )
            )
        self.awaiting_answer = False
        self.confirmed = False
        await self._after_current_run()
        if voice is None and (cut := self.voice.take_cut()):  # a typed answer after talking over the interviewer
            voice = {"cut": cut}
        self._start(
            self.bar.interviews.answer(
                self.record, text, frame.answer_id, frame.turn, self.send, voice, frame.code, frame.language
            )
        )

    async def end(self) -> None:
        if await self._refuse_if_ended():
            return
        await self._after_current_run()
        self.awaiting_answer = False
        self._start(self.bar.interviews.resume(self.record, end_reply(), self.send))

    async def _after_current_run(self) -> None:
        """Wait for the grader of the previous turn to finish before resuming (the reply is already out)."""
        if self.run and not self.run.done():
            await self.run
