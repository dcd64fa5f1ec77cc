"""A read-only view of the round for brains and rules: the state plus the content it refers to."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from app.core.grades import TurnGrade
from app.core.runs import RunRecord
from app.core.state import InterviewState, Thread, Turn
from app.core.vocabulary import Level

if TYPE_CHECKING:  # the content catalogue sits above the core; the view only reads it
    from app.content.catalog import Catalog
    from app.content.models import Principle, Question, Round


@dataclass(frozen=True)
class RoundView:
    state: InterviewState
    catalog: Catalog
    now: float = field(default_factory=time.time)

    @property
    def round(self) -> Round:
        return self.catalog.rounds[self.state["round_id"]]

    @property
    def level(self) -> Level:
        return self.state["level"]

    @property
    def turns(self) -> list[Turn]:
        return self.state["turns"]

    @cached_property
    def grades(self) -> list[TurnGrade]:
        """The stored turn grades, validated."""
        return [TurnGrade.model_validate(g) for g in self.state["grades"]]

    @cached_property
    def runs(self) -> list[RunRecord]:
        """The candidate's code as it ran in this round (answers only; pad runs are the server's), validated."""
        return [RunRecord.model_validate(r) for r in self.state.get("runs", [])]

    @property
    def last_run(self) -> RunRecord | None:
        """The run of the last answer's code, if the last turn is an answer and its code ran."""
        answer = self.last_answer
        if answer is None:
            return None
        return next((r for r in reversed(self.runs) if r.turn == answer["index"]), None)

    @property
    def thread(self) -> Thread | None:
        """The thread under discussion (top of the stack)."""
        return self.state["stack"][-1] if self.state["stack"] else None

    @property
    def technical_thread(self) -> Thread | None:
        """The technical question suspended at the bottom of the stack."""
        return self.state["stack"][0] if self.state["stack"] else None

    @property
    def technical_question_id(self) -> str | None:
        """The id of the technical question under discussion (suspended or not)."""
        t = self.technical_thread
        return t["question_id"] if t else None

    @property
    def question(self) -> Question | None:
        t = self.thread
        return self.catalog.questions.get(t["question_id"]) if t and t["question_id"] else None

    @property
    def principle(self) -> Principle | None:
        t = self.thread
        return self.catalog.principles.get(t["principle"]) if t and t["principle"] else None

    @property
    def last_answer(self) -> Turn | None:
        turns = self.state["turns"]
        return turns[-1] if turns and turns[-1]["role"] == "candidate" else None

    @property
    def last_interviewer_turn(self) -> Turn | None:
        return next((t for t in reversed(self.state["turns"]) if t["role"] == "interviewer"), None)

    @property
    def elapsed_min(self) -> float:
        return (self.now - self.state["started_at"]) / 60.0

    @property
    def next_index(self) -> int:
        return len(self.state["turns"])

    def thread_answers(self) -> list[str]:
        """The candidate's answers since the current thread began, the last answer included (the thread counts an
        answer once the reply to it has been decided)."""
        t = self.thread
        if not t:
            return []
        count = t["answers"] + (1 if self.last_answer is not None else 0)
        if not count:
            return []
        answers = [x["text"] for x in self.state["turns"] if x["role"] == "candidate"]
        return answers[-count:]

    def question_answers(self) -> list[str]:
        """The candidate's answers since the technical question under discussion was asked, on every thread about
        it (the question itself, its LP pivots, its failure probes), the last answer included: what the candidate
        has told on this question so far."""
        qid = self.technical_question_id
        turns = self.state["turns"]
        asked_at = max(
            (t["index"] for t in turns if t.get("move") == "ask" and t.get("question_id") == qid), default=-1
        )
        return [t["text"] for t in turns if t["role"] == "candidate" and t["index"] > asked_at]

    def next_question_id(self) -> str | None:
        """The next planned question not yet asked in this session."""
        asked = set(self.state["asked_questions"])
        return next((q for q in self.state["plan"] if q not in asked), None)

    def with_turn(self, turn: Turn) -> RoundView:
        """The same view with ``turn`` appended (what the state will hold once the node's update is applied)."""
        return RoundView({**self.state, "turns": [*self.state["turns"], turn]}, self.catalog, self.now)
