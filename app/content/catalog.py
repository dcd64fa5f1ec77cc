"""Loads ``rubrics/`` and ``prompts/`` into one validated, read-only :class:`Catalog`.

Every problem found is reported as ``file: field: reason``; loading collects them all before failing,
so one run of ``barraiser bank lint`` shows everything that needs fixing.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app.content.models import (
    DebriefTemplate,
    FailureLadderFile,
    GradingPolicy,
    LoopStage,
    LPAnswerRubric,
    Principle,
    PrinciplesFile,
    Question,
    Round,
    RoundsFile,
    SpokenLines,
    TopicsFile,
)
from app.core.vocabulary import LEVELS, PRINCIPLE_NAMES

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ContentProblem:
    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


class ProblemsError(Exception):
    """Something does not load; ``problems`` lists every problem found (each prints as one line)."""

    def __init__(self, problems: Sequence[object]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in problems))


class ContentError(ProblemsError):
    """The content does not validate; ``problems`` lists every ``file: field: reason``."""


@dataclass(frozen=True)
class Catalog:
    """Everything the interviewer knows about the loop, validated."""

    rounds: dict[str, Round]
    questions: dict[str, Question]
    principles: dict[str, Principle]
    lp_rubric: LPAnswerRubric
    failure_ladder: FailureLadderFile
    debrief: DebriefTemplate
    lines: SpokenLines
    topics: dict[str, str]
    grading: GradingPolicy
    full_loop: list[LoopStage] = field(default_factory=list)

    def questions_for(self, round_id: str, level: str) -> list[Question]:
        """Questions that may be asked in this round at this level, in bank order."""
        return [q for q in self.questions.values() if round_id in q.rounds and level in q.levels]

    def plan_questions(
        self,
        round_id: str,
        level: str,
        seed: str,
        exclude: AbstractSet[str] = frozenset(),
        avoid: AbstractSet[str] = frozenset(),
        prefer: Mapping[str, float] | None = None,
        due: Sequence[str] = (),
    ) -> list[str]:
        """The round's question plan: for each slot of its question mix, questions with a matching topic,
        shuffled by ``seed`` (one session = one order). ``exclude`` is never planned; ``avoid`` (e.g. asked in the
        candidate's recent sessions) only comes after everything else. Spare questions follow the budgeted ones
        so the graph can skip a question without running dry.

        A practice round aims the plan at weak spots: ``due`` (questions missed before whose spaced-repetition
        interval is over, most overdue first) go first in each slot, even if ``avoid`` names them; among the
        others, fresh questions still come before avoided ones, and within each group those that score highest on
        ``prefer`` come first (weights per topic id, principle name or key point id: a question scores the weights
        of its topics, the principles its LP bridges lead to and its key points). So a missed question comes back
        when it is due, and in between the plan picks other questions on the same weak spots."""
        rnd = self.rounds[round_id]
        pool = [q for q in self.questions_for(round_id, level) if q.id not in exclude]
        weights = prefer or {}
        due_rank = {q: i for i, q in enumerate(due)}
        score = {q.id: self._preference(q, weights) for q in pool} if weights else {}

        def order(q: str) -> tuple[int, bool, float]:
            return (due_rank.get(q, len(due_rank)), q in avoid and q not in due_rank, -score.get(q, 0.0))

        rng = random.Random(seed)
        chosen: list[str] = []
        spares: list[str] = []
        for slot in rnd.question_mix:
            fits = [q.id for q in pool if set(q.topics) & set(slot.topics) and q.id not in chosen]
            rng.shuffle(fits)
            fits.sort(key=order)  # stable: due, then fresh before avoided, preferred first, in shuffled order
            chosen += fits[: slot.count]
            spares += fits[slot.count :]
        if due_rank:
            chosen.sort(key=lambda q: due_rank.get(q, len(due_rank)))  # the round opens with what is due
        rest = [q.id for q in pool]
        rng.shuffle(rest)
        rest.sort(key=order)
        tail = [q for q in dict.fromkeys(spares + rest) if q not in chosen]
        tail.sort(key=order)
        return chosen + tail

    @staticmethod
    def _preference(question: Question, weights: Mapping[str, float]) -> float:
        names = {
            *question.topics,
            *(b.principle for b in question.lp_bridges),
            *(k.id for k in question.rubric.key_points),
        }
        return sum(weights.get(n, 0.0) for n in names)


# --------------------------------------------------------------------------- loading


def _read_yaml(path: Path, root: Path, problems: list[ContentProblem]) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        problems.append(ContentProblem(_rel(path, root), "-", "file is missing"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "-"
        problems.append(ContentProblem(_rel(path, root), where, f"invalid YAML: {getattr(exc, 'problem', exc)}"))
    return None


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _loc(loc: tuple, data: Any) -> str:
    """Render a pydantic error location; list items that carry an ``id`` are named by it."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node) and isinstance(node[item], dict):
                ident = node[item].get("id") or node[item].get("name")
                if ident:
                    label = f"[{ident}]"
            parts.append(label)
            node = node[item] if isinstance(node, list) and item < len(node) else None
        else:
            parts.append(("." if parts else "") + str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts) or "-"


def _validate(model: type[M], data: Any, file: str, problems: list[ContentProblem]) -> M | None:
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            where = _loc(err["loc"], data)
            for reason in err["msg"].removeprefix("Value error, ").split(" | "):
                field, sep, rest = reason.partition(": ")
                if where == "-" and sep and " " not in field:  # model-level check naming its own field
                    problems.append(ContentProblem(file, field, rest))
                else:
                    problems.append(ContentProblem(file, where if where != "-" else "(whole entry)", reason))
        return None


def _load_questions(rubrics_dir: Path, root: Path, problems: list[ContentProblem]) -> dict[str, Question]:
    questions: dict[str, Question] = {}
    where: dict[str, str] = {}
    files = sorted((rubrics_dir / "questions").rglob("*.yaml"))
    if not files:
        problems.append(ContentProblem(_rel(rubrics_dir / "questions", root), "-", "no question files"))
    for path in files:
        rel = _rel(path, root)
        data = _read_yaml(path, root, problems)
        if data is None:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
            problems.append(ContentProblem(rel, "questions", "expected a mapping with a `questions:` list"))
            continue
        for i, item in enumerate(data["questions"]):
            label = item.get("id", i) if isinstance(item, dict) else i
            q = _validate(Question, item, f"{rel}: questions[{label}]", problems)
            if q is None:
                continue
            if q.id in questions:
                problems.append(ContentProblem(rel, f"questions[{label}].id", f"duplicate id (also in {where[q.id]})"))
                continue
            questions[q.id] = q
            where[q.id] = rel
    return questions


def _cross_check(
    rounds: dict[str, Round],
    questions: dict[str, Question],
    principles: dict[str, Principle],
    ladder: FailureLadderFile | None,
    loop: list,
    topics: dict[str, str],
    problems: list[ContentProblem],
) -> None:
    for q in questions.values():
        unknown = [t for t in q.topics if t not in topics]
        if unknown:
            problems.append(
                ContentProblem(
                    f"question {q.id}", "topics", f"unknown topics {unknown}; add them to rubrics/topics.yaml"
                )
            )
        for r in q.rounds:
            if r not in rounds:
                problems.append(
                    ContentProblem(f"question {q.id}", "rounds", f"unknown round {r!r}; known: {sorted(rounds)}")
                )
    for rnd in rounds.values():
        for level in LEVELS:
            if not any(rnd.id in q.rounds and level in q.levels for q in questions.values()):
                problems.append(ContentProblem("rubrics/rounds.yaml", f"rounds[{rnd.id}]", f"no questions at {level}"))
        for i, slot in enumerate(rnd.question_mix):
            unknown = [t for t in slot.topics if t not in topics]
            if unknown:
                problems.append(
                    ContentProblem(
                        "rubrics/rounds.yaml", f"rounds[{rnd.id}].question_mix[{i}]", f"unknown topics {unknown}"
                    )
                )
            if not any(rnd.id in q.rounds and set(q.topics) & set(slot.topics) for q in questions.values()):
                problems.append(
                    ContentProblem(
                        "rubrics/rounds.yaml",
                        f"rounds[{rnd.id}].question_mix[{i}]",
                        f"no question of this round has any of the topics {slot.topics}",
                    )
                )
    missing = [n for n in PRINCIPLE_NAMES if n not in principles]
    if missing:
        problems.append(ContentProblem("rubrics/principles.yaml", "principles", f"missing principles: {missing}"))
    if ladder is not None:
        for mode in ladder.modes:
            for p in mode.principles:
                if p not in PRINCIPLE_NAMES:
                    problems.append(
                        ContentProblem("rubrics/failure_ladder.yaml", f"modes[{mode.id}].principles", f"unknown {p!r}")
                    )
    for i, stage in enumerate(loop):
        for r in stage.rounds:
            if r not in rounds:
                problems.append(ContentProblem("rubrics/rounds.yaml", f"full_loop[{i}]", f"unknown round {r!r}"))


def load_catalog(rubrics_dir: Path, prompts_dir: Path) -> Catalog:
    """Load and validate all content; raise :class:`ContentError` listing every problem."""
    root = rubrics_dir.resolve().parent
    problems: list[ContentProblem] = []

    def load(model: type[M], path: Path) -> M | None:
        return _validate(model, _read_yaml(path, root, problems), _rel(path, root), problems)

    rounds_file = load(RoundsFile, rubrics_dir / "rounds.yaml")
    principles_file = load(PrinciplesFile, rubrics_dir / "principles.yaml")
    ladder = load(FailureLadderFile, rubrics_dir / "failure_ladder.yaml")
    debrief = load(DebriefTemplate, rubrics_dir / "debrief.yaml")
    lines = load(SpokenLines, prompts_dir / "offline" / "lines.yaml")
    topics_file = load(TopicsFile, rubrics_dir / "topics.yaml")
    grading = load(GradingPolicy, rubrics_dir / "grading.yaml")
    topics = dict(topics_file.topics) if topics_file else {}
    questions = _load_questions(rubrics_dir, root, problems)

    rounds: dict[str, Round] = {}
    for rnd in rounds_file.rounds if rounds_file else []:
        if rnd.id in rounds:
            problems.append(ContentProblem("rubrics/rounds.yaml", f"rounds[{rnd.id}]", "duplicate id"))
        rounds[rnd.id] = rnd
    principles = {p.name: p for p in principles_file.principles} if principles_file else {}
    loop = rounds_file.full_loop if rounds_file else []
    if rounds_file:
        _cross_check(rounds, questions, principles, ladder, loop, topics, problems)

    if (
        problems
        or rounds_file is None
        or principles_file is None
        or ladder is None
        or debrief is None
        or lines is None
        or topics_file is None
        or grading is None
    ):
        raise ContentError(problems)
    return Catalog(
        rounds=rounds,
        questions=questions,
        principles=principles,
        lp_rubric=principles_file.answer_rubric,
        failure_ladder=ladder,
        debrief=debrief,
        lines=lines,
        topics=topics,
        grading=grading,
        full_loop=loop,
    )
