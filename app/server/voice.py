"""One connection's voice: the candidate's microphone in (binary int16 frames), the interviewer's voice out.

ws.py hands this module every binary frame and every voice control frame (``voice``, ``barge_in``) and shows it
every frame it sends, so the interviewer's words can be spoken sentence by sentence as they stream. The framing
is in docs/protocol.md ("Voice"). A spoken turn becomes a normal answer through the connection's answer path
(the same as a typed one), with its transcription, word timings, confidence, recording and analytics attached.

The pipeline per 32 ms frame: Silero VAD (its own thread) → :class:`app.voice.turns.TurnTaker` → events:
speculative transcription at ~200 ms of silence, the end of the turn at the silence threshold (longer while a
sentence is unfinished or the candidate has just started), barge-in (pause the interviewer's audio at once; cut
it if it was real speech, resume it if it was "mm-hmm"), and taking a just-submitted turn back when the candidate
goes on within the resume window. Models run in the voice stack's thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from app.core.frames import DebriefFrame, Frame, InterviewerDelta, InterviewerDone
from app.core.vocabulary import ErrorCode
from app.server.protocol import error_frame
from app.voice.analytics import turn_speech
from app.voice.audio import (
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    AudioFormatError,
    audio_frame,
    pcm16_to_float,
    wav_bytes,
)
from app.voice.ports import Transcript, VoiceActivity, VoiceUnavailable, joined, words_until
from app.voice.stack import VoiceStack
from app.voice.tts import split_sentences
from app.voice.turns import Event, TurnConfig, TurnTaker, is_filler_only

if TYPE_CHECKING:
    from app.server.ws import Connection

log = logging.getLogger(__name__)

VOICE_FRAME_TYPES = ("voice", "barge_in")
MAX_AUDIO_RATE = 3.0  # audio faster than this many times real time, over 2 s, is dropped
PREROLL_FRAMES = 10  # audio kept from before the speech onset (320 ms), so the first syllable is not clipped


# ---------------------------------------------------------------------------------------------- client -> server


class VoiceControl(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["voice"]
    action: Literal["start", "stop", "done", "ptt_down", "ptt_up", "playback"]
    push_to_talk: bool = False
    sample_rate: int = SAMPLE_RATE
    utterance: int | None = None  # playback: which interviewer utterance
    state: Literal["started", "ended"] | None = None  # playback: it started or finished playing


class BargeIn(BaseModel):
    """The page stopped the interviewer's audio: how much of the utterance was heard."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["barge_in"]
    utterance: int | None = None
    played_ms: float = Field(0.0, ge=0)


voice_frame: TypeAdapter[VoiceControl | BargeIn] = TypeAdapter(VoiceControl | BargeIn)


# ---------------------------------------------------------------------------------------------- server -> client


class VoiceStatus(Frame):
    """Where the turn-taking is: ``off``, ``listening`` (waiting for speech), ``hearing`` (speech), ``holding``
    (a long pause the turn survives: "still listening"), ``thinking`` (the turn is being submitted)."""

    omit_none: ClassVar[bool] = True
    type: Literal["voice_status"] = "voice_status"
    state: Literal["off", "listening", "hearing", "holding", "thinking"]
    push_to_talk: bool = False
    stt: str | None = None
    tts: str | None = None


class Caption(Frame):
    """Live captions of the candidate (``final`` when the turn is submitted)."""

    type: Literal["caption"] = "caption"
    role: Literal["candidate"] = "candidate"
    text: str
    final: bool = False


class TakenBack(Frame):
    """The spoken turn just sent was taken back (the candidate went on): a fresh ``state`` follows, without it."""

    type: Literal["voice_taken_back"] = "voice_taken_back"
    text: str


class AudioChunk(Frame):
    """Announces the binary frame that follows: one sentence of the interviewer's voice."""

    type: Literal["audio_chunk"] = "audio_chunk"
    utterance: int
    seq: int
    sample_rate: int
    samples: int
    text: str


class AudioControl(Frame):
    """``pause`` (candidate speech heard: stop the audio now), ``resume`` (it was a backchannel), ``stop`` (drop
    the rest of the utterance)."""

    type: Literal["audio_pause", "audio_resume", "audio_stop"]
    utterance: int | None = None


class VoiceTiming(Frame):
    """Where the time went between the end of the candidate's speech and the first interviewer audio (ms)."""

    type: Literal["voice_timing"] = "voice_timing"
    hangover_ms: float  # end of speech → the VAD counting silence
    wait_ms: float  # silence waited before the turn ended
    stt_ms: float  # recognition after the turn ended (0 when speculation had it ready)
    stt_compute_ms: float  # what the recognition of the turn cost, wherever it ran
    reply_ms: float  # turn end → the reply's first sentence complete
    tts_ms: float  # synthesis of that sentence
    total_ms: float  # last speech frame received → first audio frame sent


# ---------------------------------------------------------------------------------------------- the channel


@dataclass
class _Chunk:
    seq: int
    text: str
    start_char: int
    end_char: int
    ms: float


@dataclass
class _Utterance:
    """One interviewer turn being spoken."""

    number: int
    text: str = ""
    queued_to: int = 0  # characters of ``text`` already queued for synthesis
    turn: int | None = None  # the interviewer turn's transcript index, once done
    chunks: list[_Chunk] = field(default_factory=list)
    cancelled: bool = False
    done: bool = False


@dataclass
class _Submitted:
    """The last spoken turn submitted: kept for the resume window, to take it back and continue it."""

    frames: list[np.ndarray]
    taker_frames: tuple[int, int]
    checkpoint: RunnableConfig | None
    text: str
    transcript: Transcript | None = None


class VoiceChannel:
    def __init__(self, conn: Connection, stack: VoiceStack):
        self.conn, self.stack, self.settings = conn, stack, conn.settings
        s = self.settings
        self.config = TurnConfig(
            silence_ms=s.voice_silence_ms,
            speculate_ms=s.voice_speculate_ms,
            unfinished_ms=s.voice_unfinished_grace_ms,
            early_ms=s.voice_early_grace_ms,
            resume_window_ms=s.voice_resume_window_ms,
            interject_after_s=s.voice_interject_after_s,
        )
        self.active = False
        self.push_to_talk = False
        self.ptt_held = False
        self.vad: VoiceActivity | None = None
        self.taker = TurnTaker(self.config)
        self._pending = np.zeros(0, np.float32)
        self._ring: deque[np.ndarray] = deque(maxlen=PREROLL_FRAMES)
        self._turn: list[np.ndarray] = []
        self._turn_offset = 0  # frames of ``_turn`` before the taker's frame 0 of the turn
        self._segments: list[tuple[int, Transcript]] = []  # this turn's speculative transcripts: (end frame, text)
        self._submitted: _Submitted | None = None  # the last turn sent as an answer (for the resume window)
        self._committing: _Submitted | None = None  # the turn being transcribed and sent
        self._answer_sent = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._commit_task: asyncio.Task[None] | None = None
        self._retract_task: asyncio.Task[None] | None = None
        # the interviewer's voice
        self._utterances: dict[int, _Utterance] = {}
        self._speaking: _Utterance | None = None
        self._synth_queue: asyncio.Queue[tuple[_Utterance, str, int, int]] = asyncio.Queue()
        self._synth_worker: asyncio.Task[None] | None = None
        self._seq = 0
        self._audible_until = 0.0
        self._pending_cut: dict[str, Any] | None = None
        self._interviewer_ms = 0.0  # interviewer audio sent since the last candidate turn
        self._heard_end_at: float | None = None  # when the interviewer's last audio was due to finish
        self._first_speech_at: float | None = None
        # latency accounting for VoiceTiming
        self._bytes_window: deque[tuple[float, int]] = deque()
        self._rate_warned_at = -10.0
        self._last_speech_frame_at = 0.0
        self._last_speech_frame_no = 0
        self._silence_from_frame = 0
        self._commit_at: float | None = None
        self._commit_wait_ms = 0.0
        self._stt_wait_ms = 0.0
        self._stt_compute_ms = 0.0
        self._hangover_ms = 0.0
        self._timing_sent = True

    # -- frames from the page ------------------------------------------------------------------------------------

    async def control(self, data: dict[str, Any]) -> None:
        try:
            frame = voice_frame.validate_python(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or 'frame'}: {e['msg']}" for e in exc.errors())
            return await self.conn.send(error_frame(ErrorCode.invalid_frame, problems))
        if isinstance(frame, BargeIn):
            if not self.active:
                return await self._not_started()
            return self._barge_in(frame.utterance, frame.played_ms)
        action = frame.action
        if action == "start":
            return await self.start(frame.push_to_talk, frame.sample_rate)
        if not self.active:
            if action == "stop":
                return None
            return await self._not_started()
        if action == "stop":
            await self.stop()
        elif action == "done":
            self._events(self.taker.done())
        elif action == "ptt_down":
            self.ptt_held = True
            if self._speaking is not None and self.taker.interviewer_audible:
                await self._cut_interviewer()
        elif action == "ptt_up":
            self.ptt_held = False
            self._events(self.taker.done())
        elif action == "playback":
            utterance = self._utterances.get(frame.utterance or -1)
            if frame.state == "ended" and utterance is not None and utterance.done:
                self._audible_until = 0.0
                self.taker.interviewer(False)

    async def audio(self, data: bytes) -> None:
        if not self.settings.voice_enabled:
            return await self.conn.send(
                error_frame(ErrorCode.audio_not_supported, "Voice is turned off on this server; type your answer.")
            )
        if not self.active:
            return await self._not_started()
        if len(data) > self.settings.voice_max_audio_frame_bytes:
            return await self.conn.send(
                error_frame(
                    ErrorCode.frame_too_large,
                    f"Audio frames are limited to {self.settings.voice_max_audio_frame_bytes} bytes; "
                    f"this one has {len(data)}. It was dropped; send smaller frames.",
                )
            )
        try:
            samples = pcm16_to_float(data)
        except AudioFormatError as exc:
            return await self.conn.send(
                error_frame(ErrorCode.audio_invalid, f"Audio frames are 16 kHz mono int16 PCM: {exc}. It was dropped.")
            )
        now = time.monotonic()
        self._bytes_window.append((now, len(data)))
        while self._bytes_window and now - self._bytes_window[0][0] > 2.0:
            self._bytes_window.popleft()
        # a microphone sends 32 000 bytes a second; a tab catching up after a stall may burst, a flood may not
        if sum(n for _, n in self._bytes_window) > MAX_AUDIO_RATE * 2.0 * SAMPLE_RATE * 2:
            self._bytes_window.pop()  # dropped: it does not count
            if now - self._rate_warned_at < 2.0:
                return None  # one error every 2 s is enough
            self._rate_warned_at = now
            return await self.conn.send(
                error_frame(
                    ErrorCode.rate_limited,
                    f"Audio is arriving more than {MAX_AUDIO_RATE:g}x faster than real time; it was dropped.",
                )
            )
        if self._audible_until and now > self._audible_until + 0.3:
            self._audible_until = 0.0
            self.taker.interviewer(False)
        if self.push_to_talk and not self.ptt_held and not self.taker.in_turn:
            return None  # push-to-talk: the microphone counts only while the key is held
        samples = np.concatenate([self._pending, samples])
        n = len(samples) // FRAME_SAMPLES
        self._pending = samples[n * FRAME_SAMPLES :]
        if not n or self.vad is None:
            return None
        frames = [samples[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES] for i in range(n)]
        vad = self.vad
        probs = await self.stack.on_vad(lambda: [vad.probability(f) for f in frames])
        for frame, p in zip(frames, probs, strict=True):
            self._ring.append(frame)
            if self.taker.in_turn:
                self._turn.append(frame)
            if self.push_to_talk:
                p = 1.0 if self.ptt_held else 0.0  # push-to-talk: the key, not the VAD, says who is talking
            was_speaking = self.taker.speaking
            events = self.taker.feed(p)
            if p >= 0.5:
                self._last_speech_frame_at, self._last_speech_frame_no = time.monotonic(), self.taker.frame
            elif was_speaking and not self.taker.speaking:
                self._silence_from_frame = self.taker.frame
            self._events(events)
            if self.taker.in_turn and self.taker.turn_frames * FRAME_MS > self.settings.voice_max_turn_s * 1000:
                self._events(self.taker.done())

    # -- starting and stopping -----------------------------------------------------------------------------------

    async def start(self, push_to_talk: bool, sample_rate: int) -> None:
        if not self.settings.voice_enabled:
            return await self.conn.send(
                error_frame(ErrorCode.audio_not_supported, "Voice is turned off on this server; type your answer.")
            )
        if sample_rate != SAMPLE_RATE:
            return await self.conn.send(
                error_frame(ErrorCode.invalid_frame, f"sample_rate: only {SAMPLE_RATE} Hz audio is accepted")
            )
        self.push_to_talk = push_to_talk
        if not self.active:
            try:
                self.vad = await self.stack.on_model(self.stack.acquire_vad)
                await self.stack.on_model(self.stack.stt)
                await self.stack.on_model(self.stack.tts)
            except VoiceUnavailable as exc:
                if self.vad is not None:
                    self.stack.release_vad(self.vad)
                    self.vad = None
                log.warning("session %s: voice unavailable: %s", self.conn.record.id, exc)
                return await self.conn.send(
                    error_frame(ErrorCode.voice_unavailable, f"Voice is unavailable: {exc}. Type your answer instead.")
                )
            self.active = True
            self._synth_worker = asyncio.create_task(self._synthesize_loop())
        await self._status("listening")

    async def stop(self) -> None:
        self.active = False
        self._reset_turn()
        await self._cut_interviewer(report=False)
        if self.vad is not None:
            self.stack.release_vad(self.vad)
            self.vad = None
        if self._synth_worker is not None:
            self._synth_worker.cancel()
            self._synth_worker = None
        await self._status("off")

    async def close(self) -> None:
        """The socket closed: finish a turn being submitted (its answer is kept), drop the rest."""
        if self._commit_task is not None and not self._commit_task.done():
            await asyncio.shield(self._commit_task)
        for task in list(self._tasks):
            task.cancel()
        if self.vad is not None:
            self.stack.release_vad(self.vad)
            self.vad = None
        if self._synth_worker is not None:
            self._synth_worker.cancel()

    async def _not_started(self) -> None:
        await self.conn.send(
            error_frame(
                ErrorCode.voice_not_started,
                'Voice mode is not started on this connection; send {"type": "voice", "action": "start"} first. '
                "Nothing was lost.",
            )
        )

    async def _status(self, state: Literal["off", "listening", "hearing", "holding", "thinking"]) -> None:
        described = self.stack.describe()
        await self.conn.send(
            VoiceStatus(
                state=state,
                push_to_talk=self.push_to_talk,
                stt=described["stt"] if state == "listening" else None,
                tts=described["tts"] if state == "listening" else None,
            )
        )

    # -- the turn-taker's events ---------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _events(self, events: list[Event]) -> None:
        for event in events:
            kind = event.kind
            if kind == "speech_start":
                if not self._turn:  # a new turn: start with the pre-roll
                    self._segments = []
                    self._turn = list(self._ring)
                    self._turn_offset = len(self._turn) - self.taker.turn_frames
                    if self._first_speech_at is None:
                        self._first_speech_at = time.monotonic()
                self._spawn(self._status("hearing"))
            elif kind == "speculate":
                self._spawn(self._speculate(event.upto, event.speech_upto))
            elif kind == "listening":
                self._spawn(self._status("holding"))
            elif kind == "commit":
                self._commit_at = time.monotonic()
                self._commit_wait_ms = (self.taker.frame - self._silence_from_frame) * FRAME_MS
                self._hangover_ms = max(0.0, (self._silence_from_frame - self._last_speech_frame_no) * FRAME_MS)
                frames = self._turn[: self._turn_offset + event.upto]
                self._turn, self._turn_offset, self._segments = [], 0, []
                previous = self._commit_task
                self._committing = committing = _Submitted(frames, self.taker.last_turn, None, "")
                self._answer_sent = False
                self._commit_task = self._spawn(self._commit(committing, event, previous))
            elif kind == "discard":
                self._turn, self._turn_offset, self._segments = [], 0, []
                self._spawn(self._status("listening"))
            elif kind == "pause_playback":
                self._spawn(self.conn.send(AudioControl(type="audio_pause", utterance=self._current_number())))
            elif kind == "resume_playback":
                self._spawn(self.conn.send(AudioControl(type="audio_resume", utterance=self._current_number())))
            elif kind == "cut_playback":
                self._spawn(self._cut_interviewer())
            elif kind == "retract":
                self._take_back()

    def _reset_turn(self) -> None:
        self.taker = TurnTaker(self.config)
        self._turn, self._turn_offset, self._pending = [], 0, np.zeros(0, np.float32)
        self._segments = []
        self._ring.clear()

    async def _speculate(self, upto: int, speech_upto: int) -> None:
        """Transcribe the turn so far, in the background. What an earlier speculation already recognised up to a
        pause the candidate went on after is kept, so only the audio since then is recognised again: a long
        answer with pauses costs about one pass over its audio, not one per pause."""
        frames = self._turn[: self._turn_offset + upto]
        if not frames:
            return
        end = min(len(frames), self._turn_offset + speech_upto + TAIL_FRAMES)
        segments, start_frame, prefix = self._segments, 0, None
        for seg_end, seg in reversed(segments):
            if seg_end <= end - MIN_SEGMENT_FRAMES:
                start_frame, prefix = _speech_resumes(frames, seg_end, end), seg
                break
        audio = np.concatenate(frames[start_frame:end])
        start = time.perf_counter()
        try:
            transcript = await self.stack.on_model(self._transcribe, audio)
        except Exception as exc:  # the recogniser failed: the turn is kept and ends on silence
            log.warning("session %s: speculative transcription failed: %s", self.conn.record.id, exc)
            return
        self._stt_compute_ms = (time.perf_counter() - start) * 1000
        if segments is not self._segments:
            return  # the turn was sent, dropped or taken back meanwhile
        if prefix is not None:
            transcript = joined(prefix, transcript, start_frame * FRAME_MS / 1000)  # the gap stays in the timings
        segments.append((end, transcript))
        if transcript.text:
            await self.conn.send(Caption(text=transcript.text))
        self._events(self.taker.transcribed(upto, transcript))

    def _transcribe(self, audio: np.ndarray) -> Transcript:
        # a word that "starts" in the last 120 ms is one Whisper made up at the cut (tiny.en on a trimmed window
        # adds "Then" there): real last words start well before, as the audio runs ~160 ms past the speech
        return words_until(self.stack.stt().transcribe(audio), len(audio) / SAMPLE_RATE - 0.12)

    async def _commit(self, committing: _Submitted, event: Event, previous: asyncio.Task[None] | None) -> None:
        frames = committing.frames
        if previous is not None and not previous.done():
            await previous
        if self._retract_task is not None and not self._retract_task.done():
            await self._retract_task
        if not frames:
            return
        audio = np.concatenate(frames)
        transcript = event.transcript
        self._stt_wait_ms = 0.0
        if transcript is None:
            await self._status("thinking")
            start = time.perf_counter()
            speech = _speech_only(frames, len(frames) - (event.upto - event.speech_upto))
            try:
                transcript = await self.stack.on_model(self._transcribe, speech)
            except Exception as exc:
                log.exception("session %s: transcription failed", self.conn.record.id)
                await self.conn.send(
                    error_frame(
                        ErrorCode.voice_unavailable,
                        f"Your spoken answer could not be transcribed ({exc}). Type it instead; nothing was sent.",
                    )
                )
                return
            self._stt_wait_ms = self._stt_compute_ms = (time.perf_counter() - start) * 1000
        if is_filler_only(transcript.text):
            await self._status("listening")
            return
        await self.conn.send(Caption(text=transcript.text, final=True))
        meta = self._voice_fields(transcript, audio, event, committing.taker_frames[1])
        conn = self.conn
        if conn.run is not None and not conn.run.done():
            await conn.run  # the interviewer's previous turn (or its grade) is still being produced
        checkpoint = await conn.bar.interviews.checkpoint_awaiting(conn.record) if not conn.ended else None
        if self._committing is committing:
            self._submitted = _Submitted(
                committing.frames, committing.taker_frames, checkpoint, transcript.text, transcript
            )
        self._answer_sent = True
        self._timing_sent = False
        self._interviewer_ms, self._first_speech_at = 0.0, None
        await conn.answer(transcript.text, voice=meta)
        await self._status("listening")

    def _voice_fields(
        self, transcript: Transcript, audio: np.ndarray, event: Event, speech_frames: int
    ) -> dict[str, Any]:
        s = self.settings
        audio_s = len(audio) / SAMPLE_RATE
        speech_s = speech_frames * FRAME_MS / 1000
        first_word = None  # seconds from the end of the interviewer's spoken question to the first word
        if self._first_speech_at is not None and self._heard_end_at is not None:
            gap = self._first_speech_at - self._heard_end_at
            first_word = gap if gap >= 0 else None  # talking over the question is not "time to the first word"
        fields: dict[str, Any] = {
            "source": "voice",
            "transcript_confidence": transcript.confidence,
            "low_confidence": transcript.confidence < s.voice_min_confidence,
            "words": [[w.word, w.start, w.end, w.probability] for w in transcript.words],
            "speech": turn_speech(
                transcript,
                speech_s=speech_s,
                audio_s=audio_s,
                first_word_after_s=first_word,
                interviewer_s=self._interviewer_ms / 1000,
            ),
            "audio": self._store(audio),
        }
        if event.interjected:
            fields["interjected"] = True
        cut = self.take_cut()
        if cut:
            fields["cut"] = cut
        return fields

    def _store(self, audio: np.ndarray) -> dict[str, Any]:
        s = self.settings
        duration = round(len(audio) / SAMPLE_RATE, 2)
        if not s.voice_store_audio:
            return {"stored": False, "reason": "recordings are turned off", "duration_s": duration}
        data = wav_bytes(audio)
        if len(data) > s.voice_max_audio_mb * 1_000_000:
            return {"stored": False, "reason": f"over {s.voice_max_audio_mb} MB", "duration_s": duration}
        audio_id = uuid.uuid4().hex
        path = audio_path(s.voice_audio_dir, self.conn.record.id, audio_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:
            log.warning("session %s: recording not kept: %s", self.conn.record.id, exc)
            return {"stored": False, "reason": "the recording could not be written", "duration_s": duration}
        return {"id": audio_id, "duration_s": duration, "bytes": len(data)}

    def _take_back(self) -> None:
        """The candidate went on right after their turn ended: the new speech continues that turn. A turn still
        being transcribed is simply not sent; one already sent is taken back (the thread forks at the answer)."""
        committing = self._commit_task is not None and not self._commit_task.done() and not self._answer_sent
        if committing and self._commit_task is not None and self._committing is not None:
            self._commit_task.cancel()
            taken = self._committing
        elif self._submitted is not None and self._submitted.checkpoint is not None and not self.conn.ended:
            taken = self._submitted
            self._retract_task = self._spawn(self._retract(taken))
        else:
            return
        self._submitted = self._committing = None
        # the taken-back frames go first; keep the slice arithmetic of the turn (taker frames + offset) right
        self._turn_offset = len(taken.frames) - taken.taker_frames[0] + self._turn_offset
        self._turn = taken.frames + self._turn
        # what was recognised of the taken-back part is kept: only the new speech is recognised from here on
        self._segments = [(len(taken.frames), taken.transcript)] if taken.transcript is not None else []
        self.taker.continue_turn(*taken.taker_frames)

    async def _retract(self, taken: _Submitted) -> None:
        conn = self.conn
        assert taken.checkpoint is not None
        await self._cut_interviewer(report=False)
        self._pending_cut = None
        if conn.run is not None and not conn.run.done():
            await conn.run  # the taken-back turn's reply and grade finish first; then the thread forks before them
        if conn.ended:
            return
        await conn.bar.interviews.retract(conn.record, taken.checkpoint)
        conn.awaiting_answer = True
        await conn.send(TakenBack(text=taken.text))
        await conn.resync()
        await conn.send(Caption(text=taken.text))

    # -- the interviewer's voice ---------------------------------------------------------------------------------

    def observe(self, frame: Frame) -> None:
        """Every frame the connection sends passes here: speak the interviewer's words as sentences complete."""
        if not self.active:
            return
        if isinstance(frame, InterviewerDelta):
            if self._speaking is None:
                number = len(self._utterances) + 1
                self._speaking = self._utterances[number] = _Utterance(number)
            u = self._speaking
            u.text += frame.text
            self._queue_sentences(u, final=False)
        elif isinstance(frame, InterviewerDone):
            u = self._speaking or _Utterance(len(self._utterances) + 1, text=frame.text)
            self._utterances[u.number] = u
            if not u.text.strip():
                u.text = frame.text
            u.turn, u.done = frame.index, True
            self._queue_sentences(u, final=True)
            self._speaking = None
            if self._pending_cut is not None and self._pending_cut.get("utterance") == u.number:
                self._pending_cut["turn"] = frame.index
        elif isinstance(frame, DebriefFrame):
            self._speaking = None

    def _queue_sentences(self, u: _Utterance, final: bool) -> None:
        rest = u.text[u.queued_to :]
        sentences, tail = split_sentences(rest)
        position = u.queued_to
        for sentence in sentences:
            start = u.text.index(sentence, position)
            self._synth_queue.put_nowait((u, sentence, start, start + len(sentence)))
            position = start + len(sentence)
        if final and tail.strip():
            start = u.text.index(tail.strip(), position)
            self._synth_queue.put_nowait((u, tail.strip(), start, start + len(tail.strip())))
            position = start + len(tail.strip())
        u.queued_to = position if (sentences or final) else u.queued_to

    async def _synthesize_loop(self) -> None:
        tts = self.stack.tts()
        while True:
            u, sentence, start, end = await self._synth_queue.get()
            if u.cancelled:
                continue
            began = time.perf_counter()
            ready_at = time.monotonic()
            try:
                audio = await self.stack.on_model(tts.synthesize, sentence)
            except Exception:
                log.exception("session %s: speech synthesis failed", self.conn.record.id)
                continue
            if u.cancelled or not self.active:
                continue
            self._seq += 1
            ms = len(audio) * 1000 / tts.sample_rate
            u.chunks.append(_Chunk(self._seq, sentence, start, end, ms))
            pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
            await self.conn.send(
                AudioChunk(
                    utterance=u.number, seq=self._seq, sample_rate=tts.sample_rate, samples=len(audio), text=sentence
                )
            )
            await self.conn.send_bytes(audio_frame(self._seq, tts.sample_rate, u.number, pcm))
            now = time.monotonic()
            self._audible_until = max(self._audible_until, now) + ms / 1000
            self._heard_end_at = self._audible_until
            self._interviewer_ms += ms
            self.taker.interviewer(True)
            if not self._timing_sent and self._commit_at is not None:
                self._timing_sent = True
                tts_ms = (time.perf_counter() - began) * 1000
                await self.conn.send(
                    VoiceTiming(
                        hangover_ms=round(self._hangover_ms),
                        wait_ms=round(self._commit_wait_ms),
                        stt_ms=round(self._stt_wait_ms),
                        stt_compute_ms=round(self._stt_compute_ms),
                        reply_ms=round((ready_at - self._commit_at) * 1000 - self._stt_wait_ms),
                        tts_ms=round(tts_ms),
                        total_ms=round((now - self._last_speech_frame_at) * 1000),
                    )
                )

    def _current_number(self) -> int | None:
        numbers = [n for n, u in self._utterances.items() if not u.cancelled]
        return max(numbers) if numbers else None

    async def _cut_interviewer(self, report: bool = True) -> None:
        """Stop the interviewer: nothing more of the current utterance is synthesised or sent, and the page
        drops what it holds (and reports how much was played, as a ``barge_in``)."""
        number = self._current_number()
        if number is None:
            return
        u = self._utterances[number]
        if u.cancelled:
            return
        u.cancelled = True
        self._audible_until = 0.0
        self.taker.interviewer(False)
        await self.conn.send(AudioControl(type="audio_stop", utterance=number))

    def _barge_in(self, number: int | None, played_ms: float) -> None:
        """The page says how much of an utterance it played before it stopped: that is the cut point."""
        u = self._utterances.get(number if number is not None else (self._current_number() or -1))
        if u is None:
            return
        u.cancelled = True
        self._audible_until = 0.0
        self.taker.interviewer(False)
        played_chars, left = 0, played_ms
        for chunk in u.chunks:
            if left >= chunk.ms:
                played_chars, left = chunk.end_char, left - chunk.ms
                continue
            fraction = left / chunk.ms if chunk.ms else 0.0
            played_chars = chunk.start_char + int(fraction * (chunk.end_char - chunk.start_char))
            break
        played_text = u.text[:played_chars]
        if played_chars < len(u.text) and " " in played_text:  # end the cut on a whole word
            played_text = played_text[: played_text.rfind(" ")]
        self._pending_cut = {
            "utterance": u.number,
            "turn": u.turn,
            "played_ms": round(played_ms),
            "played_text": played_text.rstrip(),
        }
        self._interviewer_ms -= max(0.0, sum(c.ms for c in u.chunks) - played_ms)

    def take_cut(self) -> dict[str, Any] | None:
        """The cut point of the interviewer turn the candidate talked over, for the answer that follows."""
        cut, self._pending_cut = self._pending_cut, None
        if cut is None or cut.get("turn") is None:
            return None
        return {"turn": cut["turn"], "played_ms": cut["played_ms"], "played_text": cut["played_text"]}


TAIL_FRAMES = 2  # the VAD counts silence ~100 ms after speech ends; keep 64 ms more of it, no longer
MIN_SEGMENT_FRAMES = 16  # recognise at least 0.5 s anew after a kept prefix


def _speech_only(frames: list[np.ndarray], speech_end: int) -> np.ndarray:
    """The turn's audio up to just after its speech: Whisper on a trimmed window "hears" words in trailing
    silence (0.3 s of it made tiny.en add "Then," to a finished answer here), and a hallucinated "then" would
    make a finished sentence look unfinished."""
    return np.concatenate(frames[: max(1, speech_end + TAIL_FRAMES)])


def _speech_resumes(frames: list[np.ndarray], start: int, end: int, lead: int = 5) -> int:
    """Where the next segment should start: a little before the speech comes back after a kept prefix (a long
    silence at the start of a trimmed window made Whisper drop the words after it)."""
    rms = np.array([float(np.sqrt(np.mean(f * f))) for f in frames[start:end]])
    if not len(rms) or rms.max() <= 0:
        return start
    loud = np.nonzero(rms > 0.1 * rms.max())[0]
    return start + max(0, int(loud[0]) - lead) if len(loud) else start


def audio_path(root: Path, session_id: str, audio_id: str) -> Path:
    return Path(root) / session_id / f"{audio_id}.wav"
