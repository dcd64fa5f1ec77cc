"""The LLM grader's answers turned into one grade: k samples combined (the median kept, the spread shown, no grade when
they are more than one level apart), and the policies every brain shares.

- Turns that are not answers (a clarifying question, "can you repeat that", "you asked that already", "I don't know",
  nothing) get no grade, decided by the same reading of the turn the offline grader uses
  (app/brains/offline/reading.py), with no model call.
- An answer that tries to instruct the grader is an integrity red flag, whatever the model said, as the offline
  grader treats it: graded 1 (a story: one level lower) when there is real evidence, else not graded.
"""

from __future__ import annotations

from statistics import median_low
from typing import Literal

from pydantic import BaseModel, Field

from app.brains.offline.reading import Intent
from app.core.grades import Confidence, CriterionGrade
from app.core.vocabulary import GradeKind
from app.grading.evidence import verified_quotes


class CriterionOut(BaseModel):
    id: str
    level: int | None = Field(None, ge=1, le=4)
    evidence: list[str] = Field(default_factory=list)


class GradeOut(BaseModel):
    """What the grader model returns for one answer (the response schema: the same on every call)."""

    criteria: list[CriterionOut]
    overall: int | None = Field(None, ge=1, le=4)
    confidence: Literal["high", "medium", "low"] | None = None
    notes: list[str] = Field(default_factory=list)


NOT_GRADED: dict[Intent, tuple[GradeKind, str]] = {
    Intent.clarify: ("clarifying", "a clarifying question: not graded"),
    Intent.repeat: ("clarifying", "asked to hear the question again: not graded"),
    Intent.already_answered: ("clarifying", "said the question was already answered: not graded"),
    Intent.dont_know: ("no_answer", "not enough evidence to grade: the candidate did not know"),
    Intent.empty: ("no_answer", "not enough evidence to grade: no substantive answer"),
}
INSTRUCTS_GRADER = "red flag: tries to instruct the grader"


class Combined(BaseModel):
    overall: int | None
    criteria: list[CriterionGrade]
    spread: int | None
    confidence: Confidence | None
    notes: list[str]


def combine(samples: list[GradeOut], criteria: list[tuple[str, str]]) -> Combined:
    """One grade from ``samples`` (k >= 1): per criterion and overall the median level (the lower middle one for an
    even k); the spread is max - min of the overall levels; more than one level apart, there is no grade."""
    k = len(samples)
    levels = [s.overall for s in samples if s.overall is not None]
    abstained = k - len(levels)
    spread = max(levels) - min(levels) if levels else None
    notes: list[str] = []
    if not levels or abstained * 2 > k:
        overall = None
    else:
        overall = median_low(levels)
    if k > 1:
        notes.append(f"{k} grader samples: overall {', '.join(str(s.overall) if s.overall else '-' for s in samples)}")
    if spread is not None and spread > 1:
        notes.append(f"the grader samples disagree by {spread} levels: no grade")
        overall = None
    graded = []
    for cid, name in criteria:
        outs = [c for s in samples for c in s.criteria if c.id == cid]
        at = [c.level for c in outs if c.level is not None]
        level = median_low(at) if at and len(at) * 2 >= len(outs) else None
        if overall is None:
            level = None if spread is not None and spread > 1 else level
        evidence = [q for c in outs if c.level == level for q in c.evidence] if level is not None else []
        graded.append(CriterionGrade(id=cid, name=name, level=level, evidence=list(dict.fromkeys(evidence))))
    if overall is None:
        confidence: Confidence | None = None
    elif k > 1:
        confidence = "high" if spread == 0 else "medium"
    else:
        confidence = samples[0].confidence or "medium"
    middle = next((s for s in samples if s.overall == overall), samples[0])
    notes += [n for n in middle.notes if n.strip()][:5]
    return Combined(
        overall=overall, criteria=graded, spread=spread if k > 1 else None, confidence=confidence, notes=notes
    )


def instructed(combined: Combined, answer: str, story: bool) -> Combined:
    """The integrity policy, as the offline grader applies it: an answer that tries to instruct the grader is a red
    flag; with real evidence (a verbatim quote) a technical answer is graded 1 and a story one level lower (3 at
    most before that); without any, there is no grade: the instruction itself is never evidence."""
    evidenced = any(verified_quotes(c.evidence, answer) for c in combined.criteria if c.level is not None)
    notes = [INSTRUCTS_GRADER, *combined.notes]
    if not evidenced or combined.overall is None:
        criteria = [c.model_copy(update={"level": None, "evidence": []}) for c in combined.criteria]
        return combined.model_copy(update={"overall": None, "criteria": criteria, "confidence": None, "notes": notes})
    overall = max(1, min(combined.overall, 3) - 1) if story else 1
    criteria = [c.model_copy(update={"level": min(c.level, overall)}) if c.level else c for c in combined.criteria]
    return combined.model_copy(update={"overall": overall, "criteria": criteria, "confidence": "high", "notes": notes})
