"""What a round emits while it runs (frames, streamed to the client as they are produced) and what it is resumed
with (the candidate's reply). The server adds its own frames (``state``, ``error``: app/server/protocol.py).

Every frame is a frozen pydantic model with a ``type``; ``wire()`` is the JSON object sent on the socket.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, NotRequired, TypedDict

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from app.core.grades import Debrief, TurnGrade
from app.core.runs import RunRecord
from app.core.state import CallUsage, Turn
from app.core.vocabulary import Move


class Frame(BaseModel):
    """A server -> client frame."""

    model_config = ConfigDict(frozen=True)
    omit_none: ClassVar[bool] = False  # leave out fields that are None (optional fields of a turn)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=self.omit_none)


class InterviewerDelta(Frame):
    """A piece of the interviewer's words, as they are produced."""

    type: Literal["interviewer_delta"] = "interviewer_delta"
    text: str


class InterviewerDone(Frame):
    """The interviewer's turn is complete; ``text`` is the whole turn (the transcript entry, as stored)."""

    omit_none: ClassVar[bool] = True
    type: Literal["interviewer_done"] = "interviewer_done"
    index: int
    role: Literal["interviewer"] = "interviewer"
    text: str
    move: Move
    principle: str | None = None
    question_id: str | None = None
    key_point: str | None = None
    star_part: str | None = None
    failure_mode: str | None = None
    rationale: str | None = None
    at: float | None = None
    usage: list[CallUsage] | None = None

    @classmethod
    def of(cls, turn: Turn) -> InterviewerDone:
        return cls.model_validate(turn)


class TurnGradeFrame(TurnGrade, Frame):
    """The grade of candidate turn ``turn``; arrives when ready, never delays the reply."""

    type: Literal["turn_grade"] = "turn_grade"

    @classmethod
    def of(cls, grade: TurnGrade) -> TurnGradeFrame:
        return cls.model_validate(grade.model_dump())


class DebriefFrame(Debrief, Frame):
    """The round's debrief, once it has ended."""

    type: Literal["debrief"] = "debrief"

    @classmethod
    def of(cls, debrief: Debrief) -> DebriefFrame:
        return cls.model_validate(debrief.model_dump())


class AnswerReceived(Frame):
    """The candidate's answer is on disk: it can no longer be lost or taken twice (docs/protocol.md). ``index`` is
    the answer's transcript index, ``turn`` the interviewer turn it answers, ``answer_id`` the client's id for it."""

    type: Literal["answer_received"] = "answer_received"
    answer_id: str | None = None
    index: int
    turn: int


class RunResultFrame(Frame):
    """What the candidate's code did: a run of an answer's code (in the round) or of the pad (the Run button)."""

    type: Literal["run_result"] = "run_result"
    run: RunRecord

    def wire(self) -> dict[str, Any]:
        return {"type": self.type, "run": self.run.model_dump(mode="json")}


RoundFrame = Annotated[
    InterviewerDelta | InterviewerDone | TurnGradeFrame | DebriefFrame | RunResultFrame, Field(discriminator="type")
]
round_frame: TypeAdapter[RoundFrame] = TypeAdapter(RoundFrame)


# ---------------------------------------------------------------------------------------------- resume payloads
# What the round's answer interrupt is resumed with. Plain dicts: LangGraph checkpoints them as pending writes.


class AnswerReply(TypedDict):
    type: Literal["answer"]
    text: str
    code: NotRequired[str]  # what the page's editor attached to the answer
    language: NotRequired[str]
    voice: NotRequired[dict[str, Any]]  # a spoken answer: the candidate turn's voice fields (app/core/state.py)
    answer_id: NotRequired[str]  # the client's id for this answer (a resend with the same id is the same answer)


class EndReply(TypedDict):
    type: Literal["control"]
    action: Literal["end"]


Reply = AnswerReply | EndReply


def answer_reply(
    text: str,
    answer_id: str | None = None,
    voice: dict[str, Any] | None = None,
    code: str | None = None,
    language: str | None = None,
) -> AnswerReply:
    reply = AnswerReply(type="answer", text=text)
    if answer_id is not None:
        reply["answer_id"] = answer_id
    if voice:
        reply["voice"] = voice
    if code is not None and code.strip():
        reply["code"] = code
        reply["language"] = language or ""
    return reply


def end_reply() -> EndReply:
    return EndReply(type="control", action="end")
