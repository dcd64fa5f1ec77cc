"""The LLM brain: any OpenAI-compatible model decides, speaks, grades and writes the debrief.

One round trip before the first word: the interviewer's turn is a single streamed JSON object whose move fields
come first and whose ``utterance`` comes last; ``decide`` reads until the move fields are complete (the graph then
checks them against the rules) and ``speak`` streams the utterance sentence by sentence, each checked before it goes
out (app/brains/llm_words.py: no leak of an uncovered key point, no line said twice). Grading is a separate
structured call that runs beside the reply, sampled k times when asked (app/brains/llm_grades.py).

Both calls are one conversation (app/brains/llm_context.py) that differs only in its last message, with a response
schema that never changes, so providers cache everything but the new turn; when the grader is the interviewer model,
the grade is sent once the reply's prompt has been read (its first streamed words), so it finds that prompt cached.
Prompts come from ``prompts/llm/``; the candidate's words are always delimited data in the user role.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from openai import AsyncOpenAI
from pydantic import BaseModel, Field, ValidationError

from app.brains.llm_context import answer_message, conversation, grade_instruction, turn_instruction
from app.brains.llm_grades import NOT_GRADED, GradeOut, combine, instructed
from app.brains.llm_words import WordCheck, sentences
from app.brains.offline.reading import Intent, read_turn
from app.config import Settings
from app.content.catalog import Catalog
from app.content.prompts import Prompts
from app.core.grades import Debrief, PrincipleFeedback, TurnGrade
from app.core.ports import (
    BrainError,
    Constraints,
    Decision,
    Draft,
    ModelOutputError,
    ModelUnavailable,
    Speech,
    SpeechTail,
)
from app.core.view import RoundView
from app.core.vocabulary import MOVES, STAR_TARGETS
from app.grading.debrief import build_debrief
from app.llm.context import llm_call
from app.llm.errors import LLMOutputInvalid, LLMUnavailable
from app.llm.stream_json import UtteranceStream
from app.llm.structured import Capabilities, ReadPacing, parse_structured, stream_json

_PLAIN_LINES = ("wrap_up", "end")  # moves with a fixed meaning the offline lines can say when the model will not
_SAYS_MORE = 8  # words: a "not sure" this long may say something gradable
_PREFILL_EVENTS = 4096  # answers whose reply-prompt readiness is remembered (the grade waits on it)

__all__ = ["DebriefText", "GradeOut", "LLMBrain"]


class DebriefText(BaseModel):
    summary: str
    practice_plan: list[str] = Field(default_factory=list)
    principle_feedback: list[PrincipleFeedback] = Field(default_factory=list)


def _nullable_enum(values: list[str]) -> dict:
    """One of ``values`` or null, as ``anyOf``: both OpenAI's strict mode and llama.cpp's grammar enforce it
    (llama.cpp drops an ``enum`` whose ``type`` is a list)."""
    return {"anyOf": [{"type": "string", "enum": values}, {"type": "null"}]}


_NULLABLE_STRING = {"anyOf": [{"type": "string"}, {"type": "null"}]}


def _turn_schema(catalog: Catalog, c: Constraints | None = None, key_points: list[str] | None = None) -> dict:
    """The InterviewerTurn schema. Without ``c``: the response schema of every call, the same for every turn and
    session (every move, every principle; the rules check what is allowed). With ``c`` and the question's
    ``key_points``: this turn's narrower grammar for servers that take one (json_object mode)."""
    moves = list(c.allowed) if c else list(MOVES)
    principles = list(catalog.principles)
    modes = [m.id for m in catalog.failure_ladder.modes]
    props = {
        "move": {"type": "string", "enum": moves},
        "principle": _nullable_enum(principles),
        "key_point": (_nullable_enum(key_points) if key_points else {"type": "null"})
        if key_points is not None
        else _NULLABLE_STRING,
        "star_part": _nullable_enum(list(STAR_TARGETS)),
        "failure_mode": _nullable_enum(modes),
        "quote": _NULLABLE_STRING,
        "utterance": {"type": "string"},
        "covered": {"type": "array", "items": {"type": "string"}}
        if key_points is None
        else {"type": "array", "items": {"type": "string", "enum": key_points + list(STAR_TARGETS)}},
        "rationale": {"type": "string"},
    }
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


@contextmanager
def _as_brain_errors() -> Iterator[None]:
    """Model transport errors (app/llm/errors.py) as the brain errors a client sees."""
    try:
        yield
    except LLMUnavailable as exc:
        raise ModelUnavailable(str(exc)) from exc
    except LLMOutputInvalid as exc:
        raise ModelOutputError(str(exc)) from exc


class _TurnStream:
    """An in-flight interviewer turn: read the head first, then the utterance. Owned by one turn's speech."""

    def __init__(
        self, chunks: AsyncGenerator[str, None], pacing: ReadPacing, read_interval_s: float, prompt_chars: int
    ):
        self.chunks = chunks
        self.pacing, self.read_interval_s = pacing, read_interval_s
        self.parser = UtteranceStream()
        self.pending = ""
        self.done = False
        self.tail: dict[str, Any] = {}
        self.prompt_chars = prompt_chars
        self.usage: list[Any] = []  # filled in by the transport as the stream finishes

    async def head(self) -> dict[str, Any]:
        async for chunk in self.chunks:
            self.pending += self.parser.feed(chunk)
            if self.parser.head and "move" in self.parser.head:
                return self.parser.head
        self.done = True
        return self.parser.final()

    async def utterance(self) -> AsyncGenerator[str, None]:
        """The words as they stream; then the fields after them (``covered``, ``rationale``) in ``tail``."""
        if self.pending:
            self.pacing.interval_s = self.read_interval_s  # the first words are out: batch what follows
            yield self.pending
        if not self.done:
            async for chunk in self.chunks:
                piece = self.parser.feed(chunk)
                if piece:
                    self.pacing.interval_s = self.read_interval_s
                    yield piece
        try:
            self.tail = self.parser.final()
        except json.JSONDecodeError as exc:
            raise ModelOutputError(f"the interviewer's turn ended malformed: {exc}") from exc

    async def aclose(self) -> None:
        await self.chunks.aclose()


def _bank_line(view: RoundView, decision: Decision) -> str:
    """The safe words for ``decision``: the offline brain's line (never a leak, never said before in the round).
    For ``ask`` nothing: the bank's question follows anyway."""
    if decision.move == "ask":
        return ""
    from app.brains.offline.lines import render

    try:
        return render(view, decision)
    except (KeyError, IndexError, ValueError):  # a decision the bank has no line for
        return view.catalog.lines.lines["follow_up_generic"][0].format(title="this", quote="")


class _TurnSpeech:
    """The words of one interviewer turn: the utterance of the stream ``decide`` opened, or, when the rules
    changed the move (``stream`` is None), of a fresh call that phrases the move the rules chose. Each sentence is
    checked before it is said (app/brains/llm_words.py)."""

    def __init__(self, brain: LLMBrain, view: RoundView, decision: Decision, stream: _TurnStream | None):
        self.brain, self.view, self.decision, self.stream = brain, view, decision, stream
        self._tail = SpeechTail()
        self._streams: list[_TurnStream] = []

    async def _fresh(self, note: str = "") -> _TurnStream:
        decision = self.decision
        forced = Constraints(
            allowed=[decision.move],
            forced=decision.move,
            next_question_id=decision.question_id,
            reason="decided by the rules of the round",
        )
        _, stream = await self.brain._open_turn(self.view, forced, note=note)
        return stream

    async def words(self) -> AsyncIterator[str]:
        view, decision, brain = self.view, self.decision, self.brain
        if self.stream is None:
            try:
                self.stream = await self._fresh()
            except ModelOutputError as exc:
                # the model will not phrase the move the rules chose (a goodbye, a fallback move): the offline
                # brain's words for it, so the round goes on (or closes) instead of failing
                plain = decision.move in _PLAIN_LINES
                line = view.catalog.lines.lines[decision.move][0] if plain else _bank_line(view, decision)
                if line:
                    yield line
                if decision.move == "ask" and decision.question_id:
                    prompt = view.catalog.questions[decision.question_id].prompt.strip()
                    yield ("\n\n" if line else "") + prompt
                note = f"[words: a bank line, the model gave none for this move: {exc}]"
                self._tail = SpeechTail(rationale=f"{decision.rationale} {note}".strip())
                return
        stream = self.stream
        self._streams.append(stream)
        check = WordCheck(view, decision) if brain.settings.llm_check_words else None
        said, outcome, finished = "", "", False
        with llm_call(view.state["session_id"], "respond", view.next_index), _as_brain_errors():
            while True:
                problem, bad = None, ""
                pieces = stream.utterance()
                source = sentences(pieces) if check else pieces
                try:
                    async for sentence in source:
                        if check is not None and (problem := check.problem(said + sentence, sentence)):
                            bad = sentence
                            break
                        said += sentence
                        yield sentence
                finally:
                    await source.aclose()
                    await pieces.aclose()
                if problem is None:
                    finished = True
                    break
                await stream.aclose()
                if not said.strip() and not outcome:  # nothing said yet: one more try at the line
                    outcome = f"regenerated once: the first draft {problem}"
                    try:
                        stream = await self._fresh(
                            f'Your first draft of this turn said "{bad.strip()[:300]}": {problem}. '
                            "Say it differently, without that."
                        )
                    except BrainError:
                        outcome += "; the model gave no other line"
                    else:
                        self._streams.append(stream)
                        self.stream = stream
                        continue
                what = "the regenerated line" if outcome.startswith("regenerated") else "the line"
                outcome = (outcome + "; " if outcome else "") + f"cut to a bank line: {what} {problem}"
                line = _bank_line(view, decision)
                if line:
                    yield (" " if said.strip() else "") + line
                    said += line
                break
        if decision.move == "ask" and decision.question_id:
            prompt = view.catalog.questions[decision.question_id].prompt.strip()
            yield ("\n\n" if said.strip() else "") + prompt
        model = brain.model
        usage = [{"purpose": "respond", "model": model, **_usage(u)} for s in self._streams for u in s.usage] or [
            {
                "purpose": "respond",
                "model": model,
                "estimated": True,  # the server reported none
                "prompt_tokens": sum(s.prompt_chars // 4 for s in self._streams),
                "completion_tokens": sum(len(s.parser.raw) // 4 for s in self._streams),
            }
        ]
        tail = stream.tail if finished else {}
        rationale = str(tail.get("rationale") or "") or decision.rationale
        if outcome:
            rationale = f"{rationale} [words: {outcome}]".strip()
        self._tail = SpeechTail(
            covered=tuple(x for x in tail.get("covered") or [] if isinstance(x, str)) if finished else None,
            rationale=rationale or None,
            usage=tuple(usage),
        )

    def tail(self) -> SpeechTail:
        return self._tail

    async def aclose(self) -> None:
        if self.stream is not None:
            await self.stream.aclose()


class LLMBrain:
    name = "llm"

    def __init__(
        self, settings: Settings, prompts: Prompts, client: AsyncOpenAI, grader_client: AsyncOpenAI | None = None
    ):
        self.settings = settings
        self.prompts = prompts
        self.client = client
        self.grader_client = grader_client or client
        self.model = settings.llm_model
        self.grader_model = settings.grader_model or settings.llm_model
        self.label = f"LLM brain ({self.model})"
        self.caps = Capabilities()
        # the grade finds the reply's prompt cached only on the same model behind the same endpoint
        self.shares_prompt_cache = self.grader_client is self.client and self.grader_model == self.model
        self._prefilled: OrderedDict[tuple[str, int], asyncio.Event] = OrderedDict()
        self._schemas: dict[int, dict] = {}

    async def aclose(self) -> None:
        """Close the model clients' connection pools."""
        await self.client.close()
        if self.grader_client is not self.client:
            await self.grader_client.close()

    # ------------------------------------------------------------------ the conversation

    def _conversation(self, view: RoundView, instruction: str, upcoming: str | None = None) -> list[dict]:
        s = self.settings
        return conversation(self.prompts, view, s.llm_history_turns, s.llm_history_chunk_turns, instruction, upcoming)

    def _schema(self, view: RoundView) -> dict:
        """The response schema of every interviewer turn (built once per catalogue)."""
        key = id(view.catalog)
        if key not in self._schemas:
            self._schemas[key] = _turn_schema(view.catalog)
        return self._schemas[key]

    def _prefill_event(self, view: RoundView) -> asyncio.Event | None:
        """Set once the reply to the last answer has started streaming (the provider has read its prompt)."""
        answer = view.last_answer
        if answer is None or not self.shares_prompt_cache:
            return None
        key = (view.state["session_id"], answer["index"])
        event = self._prefilled.get(key)
        if event is None:
            event = self._prefilled[key] = asyncio.Event()
            while len(self._prefilled) > _PREFILL_EVENTS:
                self._prefilled.popitem(last=False)
        return event

    async def _after_reply_prefill(self, view: RoundView) -> None:
        """Let the reply's request be read first, so the grade (same prompt up to its last message) hits the cache.
        The reply never waits for the grade; the grade waits at most ``llm_grade_waits_for_reply_s``."""
        event = self._prefill_event(view)
        if event is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=self.settings.llm_grade_waits_for_reply_s)
        answer = view.last_answer
        assert answer is not None
        self._prefilled.pop((view.state["session_id"], answer["index"]), None)

    # ------------------------------------------------------------------ decide + speak (one round trip)

    def _decision(self, head: dict, c: Constraints, strict: bool = True) -> Decision:
        """The draft's decision. A move outside this turn's allowed ones (the response schema allows every move) is
        refused once (``strict``), so the model tries again; the second time it goes to the rules, which fall back
        to the closest allowed move and have it phrased by a forced call (app/interview/rules.py). A forced call
        stays strict: words written for another move are not said (the bank's line for the move is)."""
        fields = {k: head.get(k) for k in ("move", "principle", "key_point", "star_part", "failure_mode", "quote")}
        if fields["move"] not in MOVES or (strict and fields["move"] not in c.allowed):
            raise ModelOutputError(f"move {fields['move']!r} is not one of the allowed moves {c.allowed}")
        if fields["move"] == "ask":
            fields["question_id"] = c.next_question_id
        try:
            return Decision(**fields)
        except ValidationError as exc:
            raise ModelOutputError(f"invalid decision: {exc}") from exc

    async def _open_turn(self, view: RoundView, c: Constraints, note: str = "") -> tuple[Decision, _TurnStream]:
        """Start the turn's streamed call and read it up to the complete move fields (one retry)."""
        q = view.catalog.questions.get(view.technical_question_id or "")
        grammar = _turn_schema(view.catalog, c, [k.id for k in q.rubric.key_points] if q else [])
        schema = self._schema(view)
        last: Exception | None = None
        event = self._prefill_event(view)
        try:
            for attempt in range(2):
                retry_note = f"Your last reply was refused ({last}); follow the rules above." if last else ""
                instruction = turn_instruction(
                    self.prompts,
                    view,
                    list(c.allowed),
                    c.next_question_id,
                    c.forced,
                    c.reason,
                    " ".join(x for x in (note, retry_note) if x),
                    execution=self.settings.code_execution == "on",
                )
                messages = self._conversation(view, instruction, c.next_question_id)
                with llm_call(view.state["session_id"], "respond", view.next_index, attempt), _as_brain_errors():
                    pacing = ReadPacing()
                    usage: list[Any] = []
                    stream = _TurnStream(
                        stream_json(
                            self.client,
                            self.caps,
                            model=self.model,
                            messages=messages,
                            schema=schema,
                            name="InterviewerTurn",
                            max_tokens=self.settings.llm_max_output_tokens,
                            usage_sink=usage,
                            pacing=pacing,
                            grammar=grammar,
                        ),
                        pacing,
                        self.settings.llm_stream_read_interval_ms / 1000,
                        prompt_chars=sum(len(m["content"]) for m in messages),
                    )
                    stream.usage = usage
                    try:
                        decision = self._decision(await stream.head(), c, strict=attempt == 0 or bool(c.forced))
                    except (ModelOutputError, LLMOutputInvalid, json.JSONDecodeError) as exc:
                        last = exc
                        await stream.aclose()
                        continue
                return decision, stream
        finally:
            if event is not None:
                event.set()  # the prompt has been read (or the call failed): the grade may go
        raise ModelOutputError(f"the interviewer model gave no valid turn after one retry: {last}")

    async def decide(self, view: RoundView, constraints: Constraints) -> Draft:
        """Decide and start speaking in one call: the draft carries the open stream of the words."""
        decision, stream = await self._open_turn(view, constraints)
        return Draft(decision, _TurnSpeech(self, view, decision, stream))

    def speak(self, view: RoundView, decision: Decision) -> Speech:
        """Words for a move the rules chose instead of the draft's: a fresh call, opened when the words are read."""
        return _TurnSpeech(self, view, decision, None)

    # ------------------------------------------------------------------ grading

    async def _grade_sample(
        self, view: RoundView, messages: list[dict], sample: int, temperature: float
    ) -> tuple[GradeOut, Any]:
        answer = view.last_answer
        assert answer is not None
        with llm_call(view.state["session_id"], "grade", answer["index"], sample), _as_brain_errors():
            return await parse_structured(
                self.grader_client,
                self.caps,
                model=self.grader_model,
                messages=messages,
                schema=GradeOut,
                max_tokens=self.settings.llm_max_output_tokens,
                temperature=temperature,
            )

    async def grade(self, view: RoundView) -> TurnGrade:
        answer = view.last_answer
        assert answer is not None, "grading follows an answer"
        thread = view.thread
        kind = "closing" if view.state["phase"] == "wrap_up" else (thread["kind"] if thread else "technical")
        base = TurnGrade(
            turn=answer["index"],
            kind=kind,
            question_id=thread["question_id"] if thread else None,
            principle=thread["principle"] if thread and thread["kind"] == "lp" else None,
        )
        if kind == "closing" or thread is None:
            return base.model_copy(update={"notes": ["closing questions: not graded"]})
        intent = read_turn(answer["text"], view.question if thread["kind"] == "technical" else None).intent
        if intent in NOT_GRADED and not (intent is Intent.dont_know and len(answer["text"].split()) >= _SAYS_MORE):
            # the same reading of the turn as the offline grader: no model call (a longer "not sure, but ..." may
            # still state a misconception: the model grades it)
            not_graded, note = NOT_GRADED[intent]
            return base.model_copy(update={"kind": not_graded, "notes": [note]})
        turns = view.turns
        answered = turns[-2] if len(turns) >= 2 and turns[-2]["role"] == "interviewer" else None
        instruction, criteria = grade_instruction(self.prompts, view, answered)
        messages = self._conversation(view, instruction)
        await self._after_reply_prefill(view)
        k = self.settings.llm_grade_samples
        temperature = 0.0 if k == 1 else self.settings.llm_grade_temperature
        results = await asyncio.gather(
            *(self._grade_sample(view, messages, s, temperature) for s in range(k)), return_exceptions=True
        )
        samples = [r for r in results if not isinstance(r, BaseException)]
        errors = [r for r in results if isinstance(r, BaseException)]
        if not samples:
            raise errors[0]
        for e in errors:
            if not isinstance(e, BrainError):
                raise e
        combined = combine([out for out, _ in samples], criteria)
        if errors:
            combined.notes.append(f"{len(errors)} of {k} grader samples failed: {errors[0]}")
        flagged = read_turn(answer["text"], None).instructs_grader
        if flagged:
            combined = instructed(combined, answer["text"], story=thread["kind"] in ("lp", "failure"))
        move = answered.get("move") if answered else None
        target = None
        if answered and move in ("follow_up", "hint", "return"):
            target = answered.get("key_point")
        elif answered and move in ("lp_follow_up",):
            target = answered.get("star_part")
        elif thread["kind"] == "failure":
            target = f"rung {thread['step']}"
        return base.model_copy(
            update={
                "criteria": combined.criteria,
                "overall": combined.overall,
                "notes": combined.notes,
                "evidence": [q for c in combined.criteria for q in c.evidence],
                "confidence": combined.confidence,
                "spread": combined.spread,
                "answers": target,
                "red_flags": ["instructs_grader"] if flagged else [],
                "usage": [{"purpose": "grade", "model": self.grader_model, **_usage(u)} for _, u in samples],
            }
        )

    # ------------------------------------------------------------------ debrief

    async def debrief(self, view: RoundView) -> Debrief:
        base = build_debrief(view, brain=self.name)
        lp_answers = []
        grades = {g.turn: g for g in view.grades}
        for t in view.turns:
            grade = grades.get(t["index"])
            if t["role"] == "candidate" and grade is not None and grade.kind == "lp":
                lp_answers.append(f"{grade.principle}: {answer_message(t['text'])}")
        mechanical = base.model_dump(
            include={"vote", "summary", "competencies", "lp_data_points", "principles", "practice_plan"}
        )
        messages = [
            {"role": "system", "content": self.prompts.render("debrief_system")},
            {
                "role": "user",
                "content": self.prompts.render(
                    "debrief_request",
                    round_title=view.round.title,
                    level=view.level,
                    debrief=json.dumps(mechanical, indent=1)[:6000],
                    lp_answers="\n".join(lp_answers) or "(none)",
                ),
            },
        ]
        try:
            with llm_call(view.state["session_id"], "debrief", view.next_index), _as_brain_errors():
                text, usage = await parse_structured(
                    self.client,
                    self.caps,
                    model=self.model,
                    messages=messages,
                    schema=DebriefText,
                    max_tokens=self.settings.llm_max_output_tokens,
                )
        except BrainError as exc:  # the numbers stand on their own; only the prose is missing
            return base.model_copy(update={"notes": [f"the written summary is mechanical: {exc}"]})
        probed = set(view.state["principles_probed"])
        return base.model_copy(
            update={
                "summary": text.summary.strip() or base.summary,
                "practice_plan": [p for p in text.practice_plan if p.strip()][:8] or base.practice_plan,
                "principle_feedback": [f for f in text.principle_feedback if f.principle in probed],
                "usage": [{"purpose": "debrief", "model": self.model, **_usage(usage)}],
            }
        )


def _usage(usage: Any) -> dict:
    if usage is None:
        return {"prompt_tokens": None, "completion_tokens": None}
    data = usage.model_dump() if hasattr(usage, "model_dump") else dict(usage)
    return {"prompt_tokens": data.get("prompt_tokens"), "completion_tokens": data.get("completion_tokens")}
