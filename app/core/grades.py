"""Grade and debrief models shared by every brain, on the Amazon vote scale.

A level is 1..4 (strong_no_hire..strong_hire) or ``None`` when there is not enough evidence.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field

from app.core.state import CallUsage
from app.core.vocabulary import GradeKind, level_label


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
    usage: list[CallUsage] = Field(default_factory=list, description="Token usage of the grading call(s).")

    @computed_field  # type: ignore[prop-decorator]  # as above
    @property
    def overall_label(self) -> str | None:
        return level_label(self.overall)


class Competency(Levelled):
    id: str
    title: str
    pros: list[str] = Field(default_factory=list)
    cons: list[str] = Field(default_factory=list)
    unknowns: list[str] = Field(default_factory=list)


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
    vote: str
    vote_level: int = Field(ge=1, le=4)
    brain: str
    summary: str
    competencies: list[Competency]
    lp_data_points: list[LPDataPoint] = Field(default_factory=list)
    principles: list[PrincipleOutcome] = Field(default_factory=list)
    practice_plan: list[str] = Field(default_factory=list)
    turns_graded: int = 0
    turns_without_evidence: int = 0
    principle_feedback: list[PrincipleFeedback] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    usage: list[CallUsage] = Field(default_factory=list)
