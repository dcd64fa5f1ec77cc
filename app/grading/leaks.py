"""The leak check: does something the interviewer is about to say give away part of the answer?

A line leaks when it *states* a claim of a key point the candidate has not covered yet (the same claim matcher the
grader uses, app/grading/claims.py): "you could use time-based splits" states the fix; "what would you change about
how you split the data?" does not. It also leaks when it *names* another uncovered key point by one of its
distinctive phrases that the question itself does not use ("NOT EXISTS or LEFT JOIN?" to a candidate who wrote
NOT IN). A follow-up may name its own target's topic ("what happens when you lower the threshold?"). Both brains run
every probe, hint and follow-up through it.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.content.models import Question
from app.grading.claims import Stance, clauses, find_claim
from app.grading.cues import Text

_DISTINCTIVE = 8  # characters: shorter cues are too common to give anything away


def leaked_claims(
    line: str, question: Question, uncovered: Iterable[str], target: str | None = None, names: bool = True
) -> list[str]:
    """What ``line`` gives away of the ``uncovered`` key points of ``question``: the ids of the claims it states, and
    (with ``names``) ``named:<key point>`` for another uncovered key point it names (``target`` is the key point the
    line asks about). Facts of the setting (clarifications, scope) are checked for claims only."""
    text = Text(line)
    parts = clauses(text)
    wanted = set(uncovered)
    asked = Text(question.title + " " + question.prompt).folded
    out = []
    for kp in question.rubric.key_points:
        if kp.id not in wanted:
            continue
        for claim in kp.claims:
            hit = find_claim(text, claim, parts)
            if hit is not None and hit.stance is Stance.affirmed:
                out.append(claim.id)
        if names and kp.id != target:
            for cue in kp.cues:
                if len(cue) >= _DISTINCTIVE and cue.lower() not in asked and text.find(cue):
                    out.append(f"named:{kp.id}")
                    break
    return out
