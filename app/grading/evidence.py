"""Evidence rules shared by every brain: quotes must be verbatim, and no evidence means no grade."""

from __future__ import annotations

from app.core.grades import TurnGrade


def verified_quotes(quotes: list[str], candidate_text: str) -> list[str]:
    """Keep the quotes that appear verbatim in the candidate's turn, in order, without duplicates."""
    seen: list[str] = []
    for q in quotes:
        q = q.strip()
        if q and q in candidate_text and q not in seen:
            seen.append(q)
    return seen


def enforce_evidence(grade: TurnGrade, candidate_text: str) -> TurnGrade:
    """Drop unverifiable quotes; a criterion without evidence gets no level; an overall grade without any
    evidence is ``None`` and is never above the best evidenced criterion. Every brain's grade passes through here before it is stored or sent."""
    criteria = []
    for c in grade.criteria:
        evidence = verified_quotes(c.evidence, candidate_text)
        criteria.append(c.model_copy(update={"evidence": evidence, "level": c.level if evidence else None}))
    evidence = verified_quotes(grade.evidence + [q for c in criteria for q in c.evidence], candidate_text)
    backed = [c.level for c in criteria if c.level is not None]
    # the overall grade can be no higher than the best criterion the candidate's own words support
    overall = min(grade.overall, max(backed)) if grade.overall is not None and evidence and backed else None
    return grade.model_copy(update={"criteria": criteria, "evidence": evidence, "overall": overall})
