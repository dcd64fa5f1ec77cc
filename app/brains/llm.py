"""The LLM brain: any OpenAI-compatible model decides, speaks, grades and writes the debrief.

One round trip before the first word: the interviewer's turn is a single streamed JSON object whose move fields
come first and whose ``utterance`` comes last; ``decide`` reads until the move fields are complete (the graph then
checks them against the rules) and ``speak`` streams the utterance as it arrives. Grading is a separate structured
call on the grader model that runs beside the reply. Prompts come from ``prompts/llm/``; the candidate's words are
always delimited data in the user role.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from openai import AsyncOpenAI
from pydantic import BaseModel, Field, ValidationError

from app.config import Settings
from app.content.models import Question
from app.content.prompts import Prompts
from app.core.grades import CriterionGrade, Debrief, PrincipleFeedback, TurnGrade
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
from app.grading.runs import run_notes
from app.llm.context import llm_call
from app.llm.errors import LLMOutputInvalid, LLMUnavailable
from app.llm.stream_json import UtteranceStream
from app.llm.structured import Capabilities, ReadPacing, parse_structured, stream_json

_MAX_TURN_CHARS = 1500
_PLAIN_LINES = ("wrap_up", "end")  # moves with a fixed meaning the offline lines can say when the model will not


class CriterionOut(BaseModel):
    id: str
    level: int | None = Field(None, ge=1, le=4)
    evidence: list[str] = Field(default_factory=list)


class GradeOut(BaseModel):
    criteria: list[CriterionOut]
    overall: int | None = Field(None, ge=1, le=4)
    notes: list[str] = Field(default_factory=list)


class DebriefText(BaseModel):
    summary: str
    practice_plan: list[str] = Field(default_factory=list)
    principle_feedback: list[PrincipleFeedback] = Field(default_factory=list)


def _nullable_enum(values: list[str]) -> dict:
    """One of ``values`` or null, as ``anyOf``: both OpenAI's strict mode and llama.cpp's grammar enforce it
    (llama.cpp drops an ``enum`` whose ``type`` is a list)."""
    return {"anyOf": [{"type": "string", "enum": values}, {"type": "null"}]}


def _data(text: str) -> str:
    """Candidate text as data: cut to size, and unable to close its own delimiter."""
    return text[:_MAX_TURN_CHARS].replace("candidate_answer", "candidate-answer")


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

    async def utterance(self) -> AsyncIterator[str]:
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


class _TurnSpeech:
    """The words of one interviewer turn: the utterance of the stream ``decide`` opened, or, when the rules
    changed the move (``stream`` is None), of a fresh call that phrases the move the rules chose."""

    def __init__(self, brain: LLMBrain, view: RoundView, decision: Decision, stream: _TurnStream | None):
        self.brain, self.view, self.decision, self.stream = brain, view, decision, stream
        self._tail = SpeechTail()

    async def words(self) -> AsyncIterator[str]:
        view, decision = self.view, self.decision
        if self.stream is None:
            forced = Constraints(
                allowed=[decision.move],
                forced=decision.move,
                next_question_id=decision.question_id,
                reason="decided by the rules of the round",
            )
            try:
                _, self.stream = await self.brain._open_turn(view, forced)
            except ModelOutputError:
                if decision.move not in _PLAIN_LINES:
                    raise
                # closing the round must not hang on a model that will not say goodbye: say the plain line
                yield view.catalog.lines.lines[decision.move][0]
                return
        stream = self.stream
        with llm_call(view.state["session_id"], "respond", view.next_index), _as_brain_errors():
            async for piece in stream.utterance():
                yield piece
        if decision.move == "ask" and decision.question_id:
            prompt = view.catalog.questions[decision.question_id].prompt.strip()
            yield ("\n\n" if stream.parser.streamed.strip() else "") + prompt
        model = self.brain.model
        usage = [{"purpose": "respond", "model": model, **_usage(u)} for u in stream.usage] or [
            {
                "purpose": "respond",
                "model": model,
                "estimated": True,  # the server reported none
                "prompt_tokens": stream.prompt_chars // 4,
                "completion_tokens": len(stream.parser.raw) // 4,
            }
        ]
        self._tail = SpeechTail(
            covered=tuple(x for x in stream.tail.get("covered") or [] if isinstance(x, str)),
            rationale=str(stream.tail.get("rationale") or "") or None,
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

    async def aclose(self) -> None:
        """Close the model clients' connection pools."""
        await self.client.close()
        if self.grader_client is not self.client:
            await self.grader_client.close()

    # ------------------------------------------------------------------ prompt pieces

    def _system(self, view: RoundView) -> str:
        rnd = view.round
        principles = "\n".join(f"- {p.name}: {p.gist}" for p in view.catalog.principles.values())
        return self.prompts.render(
            "interviewer_system",
            round_title=rnd.title,
            level=view.level,
            level_note=rnd.levels[view.level],
            evaluates=", ".join(rnd.evaluates),
            persona=rnd.persona,
            principles=principles,
        )

    @staticmethod
    def _question_notes(q: Question) -> str:
        r = q.rubric
        lines = [f"Question ({q.id}): {q.title}", f"Asked as: {q.prompt.strip()}", "Key points a strong answer covers:"]
        lines += [f"- {k.id}: {k.text}" for k in r.key_points]
        lines += ["Common mistakes / red flags:"] + [f"- {m.text}" for m in r.mistakes + r.red_flags]
        lines += ["Follow-ups (key point: question):"] + [f"- {f.key_point}: {f.text}" for f in q.follow_ups]
        lines += ["Hints (key point: nudge):"] + [f"- {h.key_point}: {h.text}" for h in q.hints]
        lines += ["Leadership Principles bridges:"] + [f"- {b.principle}: {b.bridge}" for b in q.lp_bridges]
        lines += ["Clarifications:"] + [f"- {c.text}" for c in q.clarifications]
        return "\n".join(lines)

    def _thread(self, view: RoundView) -> str:
        catalog, parts = view.catalog, []
        for t in view.state["stack"]:
            if t["kind"] == "technical":
                q = catalog.questions[t["question_id"] or ""]
                parts.append(
                    f"Technical question '{q.title}': {t['answers']} answer(s); covered {t['covered'] or 'none'};"
                    f" asked about {t['asked'] or 'nothing yet'}."
                )
            elif t["kind"] == "lp":
                p = catalog.principles[t["principle"] or ""]
                parts.append(
                    f"Suspended for a Leadership Principles probe of {p.name}; STAR parts heard: "
                    f"{t['covered'] or 'none'}; STAR follow-ups: {', '.join(p.star_follow_ups[:3])}."
                )
            else:
                mode = next((m for m in catalog.failure_ladder.modes if m.id == t["failure_mode"]), None)
                ladder = " -> ".join(mode.ladder) if mode else catalog.failure_ladder.opener
                parts.append(
                    f"Suspended for a failure-case probe ({t['failure_mode'] or 'opener'}, rung {t['step']}): {ladder}"
                )
        modes = ", ".join(m.id for m in catalog.failure_ladder.modes)
        return "\n".join(parts or ["The round is starting."]) + f"\nFailure modes you may name: {modes}."

    def _summary(self, view: RoundView) -> str:
        """A bounded summary of the round so far: one line per question asked, plus the LP probes."""
        catalog, state = view.catalog, view.state
        lines = [f"- {catalog.questions[q].title}" for q in state["asked_questions"] if q in catalog.questions]
        probed = ", ".join(state["principles_probed"]) or "none"
        return "\n".join(
            lines
            + [
                f"Principles probed: {probed}. Hints used: {state['hints_used']}. "
                f"Minutes elapsed: {view.elapsed_min:.0f} of {view.round.duration_min}."
            ]
        )

    def _recent(self, view: RoundView) -> str:
        out = []
        for t in view.turns[-self.settings.llm_history_turns :]:
            if t["role"] == "candidate":
                out.append(f"Candidate:\n<candidate_answer>\n{_data(t['text'])}\n</candidate_answer>")
            else:
                out.append(f"Interviewer ({t.get('move')}): {t['text'][:_MAX_TURN_CHARS]}")
        return "\n".join(out) or "(nothing yet)"

    def _turn_schema(self, view: RoundView, c: Constraints) -> dict:
        q = view.catalog.questions.get(view.technical_question_id or "")
        kps = [k.id for k in q.rubric.key_points] if q else []
        fresh = [p for p in view.catalog.principles if p not in view.state["principles_probed"]]
        modes = [m.id for m in view.catalog.failure_ladder.modes]
        props = {
            "move": {"type": "string", "enum": list(c.allowed)},
            "principle": _nullable_enum(fresh if "lp_pivot" in c.allowed else list(view.catalog.principles)),
            "key_point": _nullable_enum(kps) if kps else {"type": "null"},
            "star_part": _nullable_enum(list(STAR_TARGETS)),
            "failure_mode": _nullable_enum(modes),
            "quote": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "utterance": {"type": "string"},
            "covered": {"type": "array", "items": {"type": "string", "enum": kps + list(STAR_TARGETS)}},
            "rationale": {"type": "string"},
        }
        return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}

    def _turn_messages(self, view: RoundView, c: Constraints) -> list[dict]:
        q = view.question or (view.catalog.questions.get(c.next_question_id) if c.next_question_id else None)
        next_q = ""
        if c.next_question_id and "ask" in c.allowed:
            nq = view.catalog.questions[c.next_question_id]
            next_q = (
                f"If you ask, the next question is '{nq.title}'; say only a one-sentence transition, its text "
                "is appended to your words."
            )
        if c.forced:
            next_q = f"You must make the move '{c.forced}' now ({c.reason}). " + next_q
        turn = self.prompts.render(
            "interviewer_turn",
            thread=self._thread(view),
            question_notes=self._question_notes(q) if q else "(no question open)",
            summary=self._summary(view),
            recent=self._recent(view),
            run=run_notes(view, execution=self.settings.code_execution == "on"),
            allowed=", ".join(c.allowed),
            next_question=next_q,
        )
        return [{"role": "system", "content": self._system(view)}, {"role": "user", "content": turn}]

    # ------------------------------------------------------------------ decide + speak (one round trip)

    def _decision(self, head: dict, c: Constraints) -> Decision:
        fields = {k: head.get(k) for k in ("move", "principle", "key_point", "star_part", "failure_mode", "quote")}
        if fields["move"] not in MOVES or fields["move"] not in c.allowed:
            raise ModelOutputError(f"move {fields['move']!r} is not one of the allowed moves {c.allowed}")
        if fields["move"] == "ask":
            fields["question_id"] = c.next_question_id
        try:
            return Decision(**fields)
        except ValidationError as exc:
            raise ModelOutputError(f"invalid decision: {exc}") from exc

    async def _open_turn(self, view: RoundView, c: Constraints) -> tuple[Decision, _TurnStream]:
        """Start the turn's streamed call and read it up to the complete move fields (one retry)."""
        messages, schema = self._turn_messages(view, c), self._turn_schema(view, c)
        last: Exception | None = None
        for attempt in range(2):
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
                    ),
                    pacing,
                    self.settings.llm_stream_read_interval_ms / 1000,
                    prompt_chars=sum(len(m["content"]) for m in messages),
                )
                stream.usage = usage
                try:
                    decision = self._decision(await stream.head(), c)
                except (ModelOutputError, LLMOutputInvalid, json.JSONDecodeError) as exc:
                    last = exc
                    await stream.aclose()
                    continue
            return decision, stream
        raise ModelOutputError(f"the interviewer model gave no valid turn after one retry: {last}")

    async def decide(self, view: RoundView, constraints: Constraints) -> Draft:
        """Decide and start speaking in one call: the draft carries the open stream of the words."""
        decision, stream = await self._open_turn(view, constraints)
        return Draft(decision, _TurnSpeech(self, view, decision, stream))

    def speak(self, view: RoundView, decision: Decision) -> Speech:
        """Words for a move the rules chose instead of the draft's: a fresh call, opened when the words are read."""
        return _TurnSpeech(self, view, decision, None)

    # ------------------------------------------------------------------ grading

    def _rubric_text(self, view: RoundView) -> tuple[str, list[tuple[str, str]]]:
        thread = view.thread
        assert thread is not None, "a graded answer belongs to a thread"
        if thread["kind"] == "lp":
            p = view.catalog.principles[thread["principle"] or ""]
            crit = view.catalog.lp_rubric.criteria
            extra = [
                f"Probed principle: {p.name} ({p.gist})",
                "Signals: " + "; ".join(p.positive_signals),
                "Red flags: " + "; ".join(p.red_flags),
            ]
        else:
            q = view.catalog.questions[thread["question_id"] or ""]
            crit = q.rubric.criteria
            extra = ["Key points:"] + [f"- {k.text}" for k in q.rubric.key_points]
            extra += ["Mistakes and red flags:"] + [f"- {m.text}" for m in q.rubric.mistakes + q.rubric.red_flags]
        lines = []
        for c in crit:
            a = c.anchors
            lines.append(
                f"Criterion {c.id} ({c.name}): 1 {a.strong_no_hire} | 2 {a.not_inclined} | 3 {a.inclined} | "
                f"4 {a.strong_hire}"
            )
        return "\n".join(lines + extra), [(c.id, c.name) for c in crit]

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
        rubric, criteria = self._rubric_text(view)
        asked = view.last_interviewer_turn["text"] if view.last_interviewer_turn else ""
        rnd = view.round
        messages = [
            {"role": "system", "content": self.prompts.render("grader_system")},
            {
                "role": "user",
                "content": self.prompts.render(
                    "grader_turn",
                    round_title=rnd.title,
                    level=view.level,
                    level_note=rnd.levels[view.level],
                    asked=asked[:_MAX_TURN_CHARS],
                    rubric=rubric,
                    answer=_data(answer["text"]),
                ),
            },
        ]
        with llm_call(view.state["session_id"], "grade", answer["index"]), _as_brain_errors():
            out, usage = await parse_structured(
                self.grader_client,
                self.caps,
                model=self.grader_model,
                messages=messages,
                schema=GradeOut,
                max_tokens=self.settings.llm_max_output_tokens,
            )
        by_id = {c.id: c for c in out.criteria}
        graded = [
            CriterionGrade(
                id=cid,
                name=name,
                level=by_id[cid].level if cid in by_id else None,
                evidence=by_id[cid].evidence if cid in by_id else [],
            )
            for cid, name in criteria
        ]
        return base.model_copy(
            update={
                "criteria": graded,
                "overall": out.overall,
                "notes": out.notes[:5],
                "evidence": [q for c in graded for q in c.evidence],
                "usage": [{"purpose": "grade", "model": self.grader_model, **_usage(usage)}],
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
                lp_answers.append(f"{grade.principle}: <candidate_answer>{_data(t['text'])}</candidate_answer>")
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
