"""The interview WebSocket: authenticates, replays the session state, and turns client frames into graph runs.

Bad input never breaks the connection or the session: each problem gets an ``error`` frame with a code
(docs/protocol.md) and nothing the candidate sent is lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine, Mapping
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketException, status
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from app.core.frames import DebriefFrame, Frame, InterviewerDone, answer_reply, end_reply
from app.core.ports import BrainError
from app.core.vocabulary import ErrorCode
from app.server.deps import Bar, BarRaiser
from app.server.interviews import NotAwaitingAnswer, RateLimiter
from app.server.pads import PadChannel
from app.server.protocol import (
    CLIENT_FRAME_TYPES,
    AnswerFrame,
    PadFrame,
    RunFrame,
    StateFrame,
    client_frame,
    error_frame,
)
from app.server.voice import VOICE_FRAME_TYPES, VoiceChannel
from app.store.sqlite import SessionRecord

log = logging.getLogger(__name__)
router = APIRouter()

_BRAIN_ERROR_MESSAGES = {
    ErrorCode.model_unavailable: "The interviewer model is unavailable right now. Your answer is saved; reconnect "
    "to continue when the model is back.",
    ErrorCode.model_output_invalid: "The interviewer model produced an invalid turn twice. Your answer is saved; "
    "reconnect to try again.",
}
IDLE_CLOSE_REASON = "idle timeout"  # frontend/js/protocol.js knows it too (checked by a test)


@router.websocket("/ws/sessions/{session_id}")
async def interview_socket(websocket: WebSocket, session_id: str, bar: Bar, token: str | None = None) -> None:
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
        self.limiter = RateLimiter(self.settings.max_frames_per_minute)
        self.run: asyncio.Task[None] | None = None
        self.awaiting_answer = False
        self.ended = False
        self.closed = False
        self.voice = VoiceChannel(self, bar.voice)  # binary frames and voice frames (app/server/voice.py)
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
        elif isinstance(frame, DebriefFrame):
            self.ended, self.awaiting_answer = True, False
        if self.closed or self.ws.application_state != WebSocketState.CONNECTED:
            return
        try:
            await self.ws.send_json(frame.wire())
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
            except BrainError as exc:  # the model is down or talks nonsense: the answer is kept, retry later
                log.warning("session %s: %s", self.record.id, exc)
                await self.send(error_frame(exc.code, _BRAIN_ERROR_MESSAGES.get(exc.code, str(exc))))
            except Exception:  # a fault in a brain or storage: keep the connection, say what happened
                log.exception("session %s: run failed", self.record.id)
                await self.send(
                    error_frame(
                        ErrorCode.internal_error,
                        "The interviewer failed to produce its turn. Your answer is saved; reconnect to retry.",
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
        state = await self._state()
        await self._sync(state)
        if state.status == "speaking":
            self._start(self._advance())
        try:
            while True:
                try:
                    message = await asyncio.wait_for(self.ws.receive(), timeout=self.settings.idle_timeout_s)
                except TimeoutError:
                    await self.ws.close(code=status.WS_1000_NORMAL_CLOSURE, reason=IDLE_CLOSE_REASON)
                    return
                if message["type"] == "websocket.disconnect":
                    self.closed = True
                    return
                await self.handle(message)
        except WebSocketDisconnect:
            return
        finally:
            self.closed = True
            if self.pad_run and not self.pad_run.done():
                await asyncio.shield(self.pad_run)  # a pad run is bounded by its time limit; it is kept for the replay
            await self.voice.close()
            if self.run and not self.run.done():
                # let the run finish so its state is checkpointed; frames to a closed socket are dropped
                await asyncio.shield(self.run)

    async def _sync(self, state: StateFrame) -> None:
        """Send the session state, and the pending interviewer turn again if the candidate owes an answer."""
        await self.send(state)
        self.ended = state.status == "ended"
        asked = next((t.get("question_id") for t in reversed(state.turns) if t["role"] == "interviewer"), None)
        if not self.ended and asked is not None:
            await self.pad.show(asked, force=True)
        if state.status == "awaiting_answer":
            await self.send(InterviewerDone.model_validate(state.turns[-1]))

    async def _advance(self) -> None:
        """Start a new session's round or finish an interrupted run; if another tab is already producing the
        turn, wait for it and then catch this tab up."""
        if not await self.bar.interviews.advance(self.record, self.send):
            await self._sync(await self._state())

    async def handle(self, message: Mapping[str, Any]) -> None:
        if message.get("bytes") is not None:  # microphone audio: bounded by its own rate (app/server/voice.py)
            return await self.voice.audio(message["bytes"])
        if not self.limiter.allow("frames"):
            return await self.send(
                error_frame(
                    ErrorCode.rate_limited,
                    f"More than {self.settings.max_frames_per_minute} frames a minute; slow down.",
                )
            )
        raw = message.get("text") or ""
        if len(raw.encode()) > self.settings.max_frame_bytes:
            return await self.send(
                error_frame(ErrorCode.frame_too_large, f"Frames are limited to {self.settings.max_frame_bytes} bytes.")
            )
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            return await self.send(error_frame(ErrorCode.invalid_json, f"The frame is not valid JSON: {exc.msg}."))
        if not isinstance(data, dict):
            return await self.send(error_frame(ErrorCode.invalid_json, "The frame must be a JSON object."))
        if data.get("type") in VOICE_FRAME_TYPES:
            return await self.voice.control(data)
        if data.get("type") not in CLIENT_FRAME_TYPES:
            return await self.send(
                error_frame(
                    ErrorCode.unknown_type,
                    f"Unknown frame type {data.get('type')!r}; expected one of "
                    f"{', '.join(CLIENT_FRAME_TYPES + VOICE_FRAME_TYPES)}.",
                )
            )
        try:
            frame = client_frame.validate_python(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or 'frame'}: {e['msg']}" for e in exc.errors())
            return await self.send(error_frame(ErrorCode.invalid_frame, problems))
        if isinstance(frame, AnswerFrame):
            await self.answer(frame.text, code=frame.code, language=frame.language)
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

    async def answer(
        self, text: str, voice: dict[str, Any] | None = None, code: str | None = None, language: str | None = None
    ) -> None:
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
        if not self.awaiting_answer:
            return await self.send(
                error_frame(
                    ErrorCode.interviewer_speaking,
                    "The interviewer is still speaking; send your answer after the turn ends.",
                )
            )
        self.awaiting_answer = False
        await self._after_current_run()
        if voice is None and (cut := self.voice.take_cut()):  # a typed answer after talking over the interviewer
            voice = {"cut": cut}
        self._start(self.bar.interviews.resume(self.record, answer_reply(text, voice, code, language), self.send))

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
