"""Grade and debrief models shared by every brain, on the Amazon vote scale.

A level is 1..4 (strong_no_hire..strong_hire) or ``None`` when there is not enough evidence.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field

from app.core.state import CallUsage
from app.core.vocabulary import GradeKind, level_label

Confidence = Literal["high", "medium", "low"]


class Levelled(BaseModel):
    """A level on the vote scale (``None``: no evidence), and its name."""

    level: int | None = Field(None, ge=1, le=4)

    @computed_field  # type: ignore[prop-decorator]  # mypy does not see through pydantic's computed properties
    @property
    def label(self) -> str | None:
        return level_label(self.level)


class CriterionGrade(Levelled):
    id: str
    name: str
    evidence: list[str] = Field(default_factory=list, description="Verbatim quotes from the candidate turn.")
    run: str | None = Field(None, description="What the candidate's code did, when the run graded this criterion.")


class TurnGrade(BaseModel):
    turn: int = Field(description="Transcript index of the graded candidate turn.")
    overall: int | None = Field(None, ge=1, le=4)
    criteria: list[CriterionGrade] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    kind: GradeKind = "technical"
    question_id: str | None = None
    principle: str | None = None
    covered: list[str] = Field(default_factory=list, description="Key points / STAR parts seen in this turn.")
    missed: list[str] = Field(default_factory=list, description="Key points / STAR parts still missing.")
    red_flags: list[str] = Field(default_factory=list)
    answers: str | None = Field(
        None, description="What the turn was judged against: a key point, a STAR part, a rung, or None (the question)."
    )
    confidence: Confidence | None = Field(
        None, description="How sure the grader is; a low one is shown as tentative. None when there is no grade."
    )
    spread: int | None = Field(None, ge=0, description="LLM grader sampled k times: max - min of the overall levels.")
    usage: list[CallUsage] = Field(default_factory=list, description="Token usage of the grading call(s).")

    @computed_field  # type: ignore[prop-decorator]  # as above
    @property
    def overall_label(self) -> str | None:
        return level_label(self.overall)


class Citation(BaseModel):
    """One pro or con of a competency, and the candidate turn it rests on."""

    kind: Literal["pro", "con"]
    text: str
    turn: int = Field(description="Transcript index of the candidate turn.")
    quote: str | None = Field(None, description="The candidate's words, verbatim, when the point quotes them.")


class Competency(Levelled):
    id: str
    title: str
    pros: list[str] = Field(default_factory=list, description="The pro citations' texts (each names its answer).")
    cons: list[str] = Field(default_factory=list, description="The con citations' texts (each names its answer).")
    unknowns: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)


class Drill(BaseModel):
    """A concrete practice item: a question, what the answer missed, and what a strong answer says."""

    question_id: str
    title: str
    key_point: str | None = Field(None, description="The key point missed (None: a STAR part of a story).")
    missed: str
    outline: list[str] = Field(default_factory=list, description="What a strong answer states, in order.")
    turn: int | None = Field(None, description="The last answer on that question.")


class LPDataPoint(BaseModel):
    principle: str
    quote: str
    polarity: Literal["positive", "negative"]
    turn: int


class PrincipleOutcome(BaseModel):
    principle: str
    probed: bool
    demonstrated: bool
    level: int | None = None


class PrincipleFeedback(BaseModel):
    principle: str
    recognised: bool = Field(description="Did the candidate recognise which principle was being probed?")
    feedback: str


class Debrief(BaseModel):
    vote: str = Field(description="A vote name, or insufficient_evidence when the round gave too little to vote on.")
    vote_level: int | None = Field(None, ge=1, le=4, description="None with insufficient_evidence.")
    brain: str
    summary: str
    competencies: list[Competency]
    lp_data_points: list[LPDataPoint] = Field(default_factory=list)
    principles: list[PrincipleOutcome] = Field(default_factory=list)
    practice_plan: list[str] = Field(default_factory=list, description="The drills, one line each.")
    drills: list[Drill] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list, description="What the grader could not verify.")
    turns_graded: int = 0
    turns_without_evidence: int = 0
    principle_feedback: list[PrincipleFeedback] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    usage: list[CallUsage] = Field(default_factory=list)
