"""The candidate's pad on one connection: which question it is for, its content (saved with the session), and the
runs made from it with the Run button, outside the round graph (rate limited, kept with the session for the replay).

The pad is shown for a question with a SQL or Python exercise (its language fixed, runs compared with the reference
or the hidden tests), and in the coding and online-assessment rounds as a scratch pad for the other questions.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from app.content.models import Question
from app.core.frames import Frame, RunResultFrame
from app.core.ports import CodeRunner
from app.core.runs import PythonRun, RunRecord, SqlRun
from app.grading.runs import exercise_language
from app.sandbox import OFF_MESSAGE
from app.sandbox.python import split_tests
from app.server.interviews import RateLimiter
from app.server.protocol import PadFrame, PadStateFrame, RunFrame
from app.store.pads import PadStore

SCRATCH_ROUNDS = ("coding", "online_assessment")  # rounds that show the pad on every question
Send = Callable[[Frame], Awaitable[None]]


def pad_question_id(values: dict[str, Any]) -> str | None:
    """The question the pad is for: the technical question under discussion (suspended or not)."""
    stack = values.get("stack") or []
    if stack and stack[0].get("question_id"):
        return str(stack[0]["question_id"])
    asked = values.get("asked_questions") or []
    return str(asked[-1]) if asked else None


class PadChannel:
    def __init__(
        self,
        session_id: str,
        round_id: str,
        questions: dict[str, Question],
        runner: CodeRunner,
        store: PadStore,
        send: Send,
        runs_per_minute: int,
        max_code_chars: int,
    ):
        self.session_id, self.round_id, self.questions = session_id, round_id, questions
        self.runner, self.store, self.send = runner, store, send
        self.limiter = RateLimiter(runs_per_minute)
        self.runs_per_minute, self.max_code_chars = runs_per_minute, max_code_chars
        self.question_id: str | None = None
        self.sent = False

    @property
    def question(self) -> Question | None:
        return self.questions.get(self.question_id or "")

    def _shown(self, question: Question | None) -> bool:
        return exercise_language(question) is not None or self.round_id in SCRATCH_ROUNDS

    async def show(self, question_id: str | None, force: bool = False) -> None:
        """Send the pad for ``question_id`` if it changed (or ``force``, after a ``state`` frame)."""
        if question_id == self.question_id and self.sent and not force:
            return
        self.question_id = question_id
        question = self.question
        if not self._shown(question):
            if self.sent:  # the pad of the last question goes away
                await self.send(
                    PadStateFrame(
                        question_id=question_id,
                        language="sql",
                        fixed=False,
                        checked=False,
                        execution=self.runner.enabled,
                        shown=False,
                    )
                )
            self.sent = False
            return
        language = exercise_language(question)
        saved = await self.store.get(self.session_id, question_id) if question_id else None
        lang: Literal["sql", "python"] = language or _lang(saved.language if saved else "sql")
        ex_py = question.python if question is not None else None
        tests = [c.name for c in split_tests(ex_py.tests)[1]] if ex_py is not None else []
        frame = PadStateFrame(
            question_id=question_id,
            title=question.title if question else None,
            language=lang,
            fixed=language is not None,
            checked=language is not None,
            tables=self.runner.tables(question) if question is not None and question.sql is not None else [],
            entry_point=ex_py.entry_point if ex_py is not None else None,
            tests=tests,
            code=saved.code if saved else "",
            execution=self.runner.enabled,
            message=None if self.runner.enabled else OFF_MESSAGE,
        )
        self.sent = True
        await self.send(frame)

    async def save(self, frame: PadFrame) -> None:
        if self.question_id is None or len(frame.code) > self.max_code_chars:
            return
        await self.store.save(self.session_id, self.question_id, frame.language, frame.code)

    async def run(self, frame: RunFrame) -> None:
        """Run the pad's code for the question under discussion and send the result (a refusal is a result too)."""
        question = self.question
        language = exercise_language(question)
        if language is not None and frame.language != language:
            question = None  # the other language: a scratch run
        refusal = None
        if not self.runner.enabled:
            refusal = OFF_MESSAGE
        elif len(frame.code) > self.max_code_chars:
            refusal = f"Code is limited to {self.max_code_chars:,} characters here; this has {len(frame.code):,}."
        elif not frame.code.strip():
            refusal = "There is no code to run."
        elif not self.limiter.allow("runs"):
            refusal = f"More than {self.runs_per_minute} runs a minute; wait a moment and run again."
        result: SqlRun | PythonRun
        if refusal is not None:
            cls = SqlRun if frame.language == "sql" else PythonRun
            result = cls(status="refused", checked=False, summary=refusal, error=refusal)
        elif frame.language == "sql":
            result = await self.runner.run_sql(question, frame.code)
        else:
            result = await self.runner.run_python(question, frame.code)
        question_id, at = self.question_id, time.time()
        record = await self.store.add_run(
            self.session_id,
            lambda seq: RunRecord(
                id=f"pad-{seq}", source="pad", question_id=question_id, code=frame.code, at=at, result=result
            ),
            keep=self.runner.enabled,  # with execution off nothing ran: nothing to keep
        )
        await self.send(RunResultFrame(run=record))


def _lang(value: str) -> Literal["sql", "python"]:
    return "python" if value == "python" else "sql"
