"""Turn-taking made for interviews: a candidate thinking is not a candidate done.

:class:`TurnTaker` is a pure state machine: it is fed one Silero probability per 32 ms frame (``feed``), the
transcripts of the speculative recognitions it asked for (``transcribed``), the interviewer's playback state and
the candidate's "I'm done"; it answers with :class:`Event` s for the connection to act on. No clocks, no I/O: the
frame count is the clock, so tests drive it with generated speech or plain probability sequences.

* speech starts after ``onset_frames`` frames at p ≥ 0.5 and counts silence only below 0.35 (hysteresis);
* at ``speculate_ms`` of silence it asks for a transcript of the turn so far (speculation);
* the turn ends after ``silence_ms`` of silence, **but** only once that transcript is known, and longer when the
  sentence is unfinished (ends on "and", "because", "the", "um", a comma…: ``unfinished_ms``) or the candidate has
  only just started after a question (``early_ms`` while under ``early_speech_ms`` of speech);
* a turn whose words are all fillers or backchannels ("uh", "mm-hmm") never ends the turn, nor does a noise;
* speech while the interviewer is heard pauses the playback at once (``pause_playback``), and resumes it if that
  speech was a short backchannel, or cuts it (``cut_playback``) if it was real;
* speech within ``resume_window_ms`` after a turn ended asks to take that turn back (``retract``) and go on as
  one turn;
* after ``interject_after_s`` of talk, the next short pause ends the turn so the interviewer can step in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from app.voice.audio import FRAME_MS
from app.voice.ports import Transcript

EventKind = Literal[
    "speech_start",  # the candidate started speaking (a new turn, or more of the current one)
    "speculate",  # transcribe the turn so far (frames [0, upto)) in the background
    "listening",  # the pause is long but the turn is held (unfinished sentence / thinking): show "still listening"
    "commit",  # the turn is over: submit it (with the transcript of frames [0, upto))
    "pause_playback",  # candidate speech during interviewer audio: stop the audio now (it may resume)
    "resume_playback",  # it was only a backchannel: play on
    "cut_playback",  # it was real speech: the interviewer's turn is cut where playback stopped
    "retract",  # the candidate went on right after the turn ended: take the submitted turn back, continue it
    "discard",  # the noise / fillers heard so far are not a turn: drop the audio
]

SPEECH_P, SILENCE_P = 0.5, 0.35
FILLERS = frozenset({"uh", "um", "erm", "er", "ah", "hmm", "hm", "mm", "mhm", "mmhmm", "uhhuh", "uhuh", "huh", "eh"})
BACKCHANNELS = FILLERS | {"yeah", "yes", "okay", "ok", "right", "sure", "yep", "got it", "i see", "mmhm", "uh huh"}
_UNFINISHED_TAIL = frozenset(
    "and or but so because since then that which who whose where when while if unless although though the a an "
    "of to for with by from in on at into about as than like my our their your his her its is are was were be "
    "been would could should will can we i it this these those also just really very more most".split()
)


DONE_PHRASES = ("i'm done", "i am done", "that's it", "that's all", "that's my answer", "that is my answer", "done")


def _norm_words(text: str) -> list[str]:
    return [w for w in re.sub(r"[^a-z0-9%' ]+", " ", text.lower().replace("-", "")).split() if w]


def is_filler_only(text: str) -> bool:
    """Nothing but fillers and backchannels ("uh", "mm-hmm", "okay"), or nothing at all."""
    words = _norm_words(text)
    joined = " ".join(words)
    return not words or joined in BACKCHANNELS or all(w in BACKCHANNELS for w in words)


def says_done(text: str) -> bool:
    """The candidate said they have finished ("... and that's my answer.", "I'm done.")."""
    words = " ".join(_norm_words(text))
    return any(words == p or words.endswith(" " + p) for p in DONE_PHRASES if p != "done") or words == "done"


def is_unfinished(text: str) -> bool:
    """The candidate stopped mid-sentence: a trailing comma/dash/ellipsis, or a last word that cannot end one."""
    stripped = text.strip()
    if not stripped:
        return False
    if stripped.endswith((",", "-", "—", "...", "…", ":", ";")):
        return True
    words = _norm_words(stripped)
    return bool(words) and (words[-1] in _UNFINISHED_TAIL or words[-1] in FILLERS)


@dataclass(frozen=True)
class Event:
    kind: EventKind
    frame: int  # the frame count when it happened
    upto: int = 0  # speculate / commit: the turn's audio frames covered
    speech_upto: int = 0  # speculate / commit: where the speech in them ends (the rest is silence)
    interjected: bool = False
    transcript: Transcript | None = None  # commit: the speculative transcript, if it covers all the speech


@dataclass
class TurnConfig:
    silence_ms: float = 500.0
    speculate_ms: float = 200.0
    unfinished_ms: float = 3500.0
    early_ms: float = 1200.0
    early_speech_ms: float = 1500.0
    onset_frames: int = 2
    backchannel_ms: float = 700.0
    resume_window_ms: float = 2500.0
    interject_after_s: float = 0.0  # 0: never
    interject_pause_ms: float = 250.0


@dataclass
class TurnTaker:
    config: TurnConfig = field(default_factory=TurnConfig)
    frame: int = 0
    # the turn being spoken: frames from its first speech (after any pre-roll the caller keeps) ...
    in_turn: bool = False  # some speech has been heard in this turn
    speaking: bool = False
    run: int = 0  # consecutive speech frames (onset debounce)
    silence: int = 0  # consecutive non-speech frames since the last speech
    turn_frames: int = 0  # frames since the turn began
    speech_frames: int = 0  # frames of speech in the turn
    segment_frames: int = 0  # frames of the current speech segment
    speculated_at: int = -1  # turn_frames when the last speculation was asked for
    transcript: Transcript | None = None  # transcript of [0, transcript_upto)
    transcript_upto: int = -1
    listening_cue: bool = False
    # the interviewer
    interviewer_audible: bool = False
    playback_paused: bool = False  # paused by candidate speech, waiting to know if it was a backchannel
    pending_retract: bool = False  # speech right after a submitted turn, waiting to know if it was a backchannel
    tentative_pause: bool = False  # paused on a single speech frame: resumed unless speech follows
    committed_frame: int | None = None  # when the last turn was submitted (for the resume window)
    last_turn: tuple[int, int] = (0, 0)  # frames and speech frames of the last submitted turn

    # -- inputs -------------------------------------------------------------------------------------------------

    def feed(self, p: float) -> list[Event]:
        c, events = self.config, []
        self.frame += 1
        if self.in_turn:
            self.turn_frames += 1
        is_speech = p >= SPEECH_P or (self.speaking and p >= SILENCE_P)
        if is_speech:
            self.run += 1
            self.silence = 0
            if self.run == 1 and not self.speaking and self.interviewer_audible and not self.playback_paused:
                # one frame is enough to pause the interviewer (it resumes if no speech follows): barge-in is fast
                self.playback_paused = self.tentative_pause = True
                events.append(Event("pause_playback", self.frame))
            if not self.speaking and self.run >= c.onset_frames:
                self.speaking = True
                self.segment_frames = self.run
                events += self._onset()
            elif self.speaking:
                self.segment_frames += 1
                self.speech_frames += 1
                if (
                    self.playback_paused or self.pending_retract
                ) and self.segment_frames * FRAME_MS >= c.backchannel_ms:
                    events += self._real_speech()  # too long for "mm-hmm": the interviewer stops here
        else:
            self.run = 0
            if self.tentative_pause and not self.speaking:  # a click, not speech: play on
                self.tentative_pause = self.playback_paused = False
                events.append(Event("resume_playback", self.frame))
            if self.speaking:
                self.speaking = False
            if self.in_turn:
                self.silence += 1
                events += self._pause()
        return events

    def transcribed(self, upto: int, transcript: Transcript) -> list[Event]:
        """The speculative transcript of the turn's frames [0, upto) is ready."""
        if not self.in_turn or upto < self.transcript_upto:
            return []
        self.transcript, self.transcript_upto = transcript, upto
        if (self.playback_paused or self.pending_retract) and not self.speaking:
            return self._settle_paused()
        return self._pause() if not self.speaking and self.silence else []

    def done(self) -> list[Event]:
        """The candidate said or clicked "I'm done": end the turn now (after its transcript)."""
        if not self.in_turn:
            return []
        return [self._commit()]

    def interviewer(self, audible: bool) -> None:
        self.interviewer_audible = audible

    # -- internals ----------------------------------------------------------------------------------------------

    def _onset(self) -> list[Event]:
        events: list[Event] = []
        recent_commit = (
            self.committed_frame is not None
            and (self.frame - self.committed_frame) * FRAME_MS <= self.config.resume_window_ms
        )
        self.tentative_pause = False
        if self.interviewer_audible and not self.playback_paused:
            self.playback_paused = True
            events.append(Event("pause_playback", self.frame))
        if not self.in_turn:
            self.pending_retract = recent_commit  # decided once we know it is not just "mm-hmm"
            self.in_turn = True
            self.turn_frames = self.run
            self.speech_frames = self.run
            events.append(Event("speech_start", self.frame))
        else:
            self.speech_frames += self.run
            self.listening_cue = False
        return events

    def _threshold_ms(self) -> float:
        c, t = self.config, self.transcript
        if t is not None and says_done(t.text):
            return c.speculate_ms  # "I'm done": end the turn as soon as the words are known
        threshold = c.silence_ms
        if t is not None and is_unfinished(t.text):
            threshold = max(threshold, c.unfinished_ms)
        if self.speech_frames * FRAME_MS < c.early_speech_ms:
            threshold = max(threshold, c.early_ms)
        return threshold

    def _pause(self) -> list[Event]:
        c, events = self.config, []
        silence_ms = self.silence * FRAME_MS
        if self.playback_paused or self.pending_retract:
            # the speech that paused the interviewer has stopped: was it a backchannel? ask for its words
            if self.speculated_at != self.turn_frames and self.silence * FRAME_MS >= c.speculate_ms:
                self.speculated_at = self.turn_frames
                events.append(
                    Event("speculate", self.frame, upto=self.turn_frames, speech_upto=self.turn_frames - self.silence)
                )
            return events
        if silence_ms >= c.speculate_ms and self.speculated_at < self.turn_frames - self.silence:
            self.speculated_at = self.turn_frames
            events.append(
                Event("speculate", self.frame, upto=self.turn_frames, speech_upto=self.turn_frames - self.silence)
            )
        known = self.transcript is not None and self.transcript_upto >= self.turn_frames - self.silence
        interject = c.interject_after_s > 0 and self.speech_frames * FRAME_MS >= c.interject_after_s * 1000
        if interject and silence_ms >= c.interject_pause_ms and known:
            events.append(self._commit(interjected=True))
            return events
        if not known:
            return events
        assert self.transcript is not None
        if is_filler_only(self.transcript.text):
            if silence_ms >= c.unfinished_ms:  # only "uh" or a noise, then a long silence: not a turn
                events.append(self._reset("discard"))
            return events
        threshold = self._threshold_ms()
        if silence_ms >= threshold:
            events.append(self._commit())
        elif silence_ms >= c.silence_ms and not self.listening_cue:
            self.listening_cue = True
            events.append(Event("listening", self.frame))
        return events

    def _settle_paused(self) -> list[Event]:
        """The short speech during the interviewer's audio has been transcribed."""
        assert self.transcript is not None
        if is_filler_only(self.transcript.text):
            events = [Event("resume_playback", self.frame)] if self.playback_paused else []
            return [*events, self._reset("discard")]
        return self._real_speech()

    def _real_speech(self) -> list[Event]:
        """The speech that paused the interviewer (or followed a submitted turn) is more than a backchannel."""
        events = [Event("cut_playback", self.frame)] if self.playback_paused else []
        if self.pending_retract:
            events.append(Event("retract", self.frame))
            self.committed_frame = None
        self.playback_paused = self.pending_retract = False
        return events

    def continue_turn(self, frames: int, speech_frames: int) -> None:
        """After ``retract``: the taken-back turn's frames come first in this one."""
        self.turn_frames += frames
        self.speech_frames += speech_frames

    def _commit(self, interjected: bool = False) -> Event:
        known = self.transcript is not None and self.transcript_upto >= self.turn_frames - self.silence
        event = Event(
            "commit",
            self.frame,
            upto=self.turn_frames,
            speech_upto=self.turn_frames - self.silence,
            interjected=interjected,
            transcript=self.transcript if known and not self.speaking else None,
        )
        self.last_turn = (self.turn_frames, self.speech_frames)
        self._reset(None)
        self.committed_frame = self.frame
        return event

    def _reset(self, kind: EventKind | None) -> Event:
        self.in_turn = self.speaking = False
        self.run = self.silence = self.turn_frames = self.speech_frames = self.segment_frames = 0
        self.speculated_at, self.transcript, self.transcript_upto = -1, None, -1
        self.listening_cue = self.playback_paused = self.pending_retract = False
        return Event(kind or "discard", self.frame)
