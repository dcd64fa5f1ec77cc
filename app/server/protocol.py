"""The socket's frames (docs/protocol.md). Client frames are validated here; the round's own frames live in
app/core/frames.py; the server adds ``state`` and ``error``. Error codes are ``ErrorCode`` (app/core/vocabulary.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from app.core.frames import (
    AnswerReceived,
    DebriefFrame,
    Frame,
    InterviewerDelta,
    InterviewerDone,
    RunResultFrame,
    TurnGradeFrame,
)
from app.core.vocabulary import ErrorCode, SessionMode
from app.interview.transcript import TranscriptTurn

SessionStatus = Literal["speaking", "awaiting_answer", "ended"]


# ---------------------------------------------------------------------------------------------- client -> server


class AnswerFrame(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["answer"]
    text: str
    answer_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The client's id for this answer: a resend with the same id is the same answer.",
    )
    turn: int | None = Field(None, ge=0, description="The index of the interviewer turn this answers.")
    code: str | None = None  # what the page's editor attached (the page also quotes it in ``text``)
    language: Literal["sql", "python"] | None = None


class RunFrame(BaseModel):
    """Run the pad's code now (the Run button), outside the round: answered with a ``run_result`` frame."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["run"]
    code: str
    language: Literal["sql", "python"]


class PadFrame(BaseModel):
    """The pad's content, saved with the session for the question under discussion (no reply)."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["pad"]
    code: str
    language: Literal["sql", "python"]


class ControlFrame(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["control"]
    action: Literal["end"]


ClientFrame = Annotated[AnswerFrame | ControlFrame | RunFrame | PadFrame, Field(discriminator="type")]
client_frame: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
CLIENT_FRAME_TYPES = ("answer", "control", "run", "pad")


# ---------------------------------------------------------------------------------------------- server -> client


class RoundRef(BaseModel):
    id: str
    title: str
    duration_min: int


class StateFrame(Frame):
    """Sent first on every (re)connect: the whole session; clients treat it as a full reset."""

    type: Literal["state"] = "state"
    session_id: str
    mode: SessionMode = Field(description="exam: grades, principles and aims are held back until the round ends.")
    status: SessionStatus
    level: str
    round: RoundRef
    brain: str
    brain_label: str
    turns: list[TranscriptTurn]
    debrief: dict[str, Any] | None = None
    limits: dict[str, int]
    started_at: float | None = None  # when the round started: the page's round clock counts from it
    runs: list[dict[str, Any]] = Field(default_factory=list, description="Every run of the candidate's code.")
    execution: dict[str, Any] = Field(default_factory=dict, description="enabled, sandbox: how code runs here.")


class SessionTakenOver(Frame):
    """Another tab (socket) took this session; this socket is closed next (code 4001) and takes no more frames."""

    type: Literal["session_taken_over"] = "session_taken_over"
    message: str


TAKEN_OVER_CLOSE_CODE = 4001  # frontend/js/protocol.js knows it too (checked by a test)
TAKEN_OVER_CLOSE_REASON = "taken over"


class PadStateFrame(Frame):
    """The pad for the question under discussion: its language, the schema of its tables, the saved content."""

    type: Literal["pad"] = "pad"
    question_id: str | None
    title: str | None = None
    language: Literal["sql", "python"]
    fixed: bool = Field(description="The question's exercise fixes the language (else a scratch pad).")
    checked: bool = Field(description="Runs are compared with the question's reference / hidden tests.")
    tables: list[dict[str, Any]] = Field(default_factory=list)
    entry_point: str | None = None
    tests: list[str] = Field(default_factory=list, description="The hidden tests' names (never their code).")
    code: str = ""
    execution: bool
    message: str | None = None
    shown: bool = Field(True, description="False: the question under discussion has no pad (the page hides it).")


class ErrorFrame(Frame):
    """A problem with the last client frame or the server; the connection and the session stay intact."""

    type: Literal["error"] = "error"
    code: ErrorCode
    message: str


_SERVER_FRAMES = (
    StateFrame,
    InterviewerDelta,
    InterviewerDone,
    TurnGradeFrame,
    DebriefFrame,
    AnswerReceived,
    SessionTakenOver,
    ErrorFrame,
    PadStateFrame,
    RunResultFrame,
)
ServerFrame = Annotated[
    StateFrame
    | InterviewerDelta
    | InterviewerDone
    | TurnGradeFrame
    | DebriefFrame
    | AnswerReceived
    | SessionTakenOver
    | ErrorFrame
    | PadStateFrame
    | RunResultFrame,
    Field(discriminator="type"),
]
server_frame: TypeAdapter[ServerFrame] = TypeAdapter(ServerFrame)
SERVER_FRAME_TYPES: tuple[str, ...] = tuple(m.model_fields["type"].default for m in _SERVER_FRAMES)


def error_frame(code: ErrorCode, message: str) -> ErrorFrame:
    return ErrorFrame(code=code, message=message)
