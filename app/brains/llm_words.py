"""The LLM interviewer's words, checked before they are said: the same two rules the offline brain's lines obey.

A sentence must not state a claim of a key point the candidate has not covered yet (app/grading/leaks.py; for a
follow-up, a hint or a return also not name another uncovered key point; what the candidate's own answers to the
question state or name is theirs, not a leak), and must not say again a sentence or a
question already said in the round (app/grading/repeats.py). The words stream sentence by sentence: each sentence is
held until it is complete, checked, then let out. The first sentence that fails ends the draft: if nothing has been
said yet the line is regenerated once; otherwise (or if the regenerated line fails too) it is cut there and a safe
bank line (the offline brain's words for the same decision: leak-checked and fresh) is said instead. The turn's
rationale says which happened.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator

from app.content.models import Question
from app.core.ports import Decision
from app.core.view import RoundView
from app.grading.leaks import leaked_claims
from app.grading.repeats import repeated_sentence

_END = re.compile(r"[.?!]+[\"')\]]*\s+|\n+")
_NAMES_CHECKED = ("follow_up", "hint", "return")  # moves that ask about one key point: naming another one leaks it


async def sentences(pieces: AsyncIterator[str]) -> AsyncGenerator[str, None]:
    """The streamed text regrouped into whole sentences (each with its trailing space), the rest at the end."""
    pending = ""
    async for piece in pieces:
        pending += piece
        while (m := _END.search(pending)) is not None:
            yield pending[: m.end()]
            pending = pending[m.end() :]
    if pending:
        yield pending


def _asked_at(view: RoundView) -> int:
    """The index of the turn that asked the current technical question (0 if none did)."""
    asks = [t["index"] for t in view.turns if t["role"] == "interviewer" and t.get("move") == "ask"]
    return asks[-1] if asks else 0


class WordCheck:
    """What the interviewer may not say in this turn: the claims of the key points still uncovered, and what it
    already said in this round."""

    def __init__(self, view: RoundView, decision: Decision):
        catalog = view.catalog
        self.question: Question | None
        if decision.move == "ask" and decision.question_id:
            self.question = catalog.questions.get(decision.question_id)  # nothing of the new question is covered
            covered: set[str] = set()
        else:
            base = view.technical_thread
            self.question = catalog.questions.get(base["question_id"] or "") if base else None
            covered = set(base["covered"]) if base else set()
        self.uncovered = {k.id for k in self.question.rubric.key_points} - covered if self.question else set()
        if self.question is not None and self.uncovered and decision.move != "ask":
            # what the candidate already said is theirs to hear back ("You mentioned ..."): not a leak
            own = " ".join(t["text"] for t in view.turns[_asked_at(view) :] if t["role"] == "candidate")
            self.uncovered -= {k for k in self.uncovered if own and leaked_claims(own, self.question, {k})}
        self.target = decision.key_point
        self.names = decision.move in _NAMES_CHECKED
        self.said = [t["text"] for t in view.turns if t["role"] == "interviewer"]

    def problem(self, so_far: str, sentence: str) -> str | None:
        """Why ``sentence`` (the last one of ``so_far``, the line up to here) must not be said, or None."""
        if self.question is not None:
            leaks = leaked_claims(so_far, self.question, self.uncovered, self.target, self.names)
            if leaks:
                return f"it gave away {', '.join(dict.fromkeys(leaks))}"
        if repeated_sentence(sentence, self.said) is not None:
            return "it repeated a line already said in this round"
        return None
