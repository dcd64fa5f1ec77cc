"""Eval scenarios: the YAML format (one scenario per file), its pydantic models and the loader.

A scenario pins a round (and optionally its first question), feeds the candidate's turns in order and states
what the interviewer must do in reply (``expect``), what the round as a whole must show (``expect_round``) and,
optionally, the team's golden grade of each answer. See ``evals/README.md`` for the format.

Every problem is reported as ``file:line: reason`` (the line of the offending key or list item), and loading
collects every problem of every file before failing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator

from app.content.catalog import Catalog, ProblemsError
from app.content.models import Strict
from app.core.vocabulary import LEVELS, MOVES, PRINCIPLE_NAMES, VOTE_NAMES, Level, Move

VOTES = (*VOTE_NAMES, "insufficient_evidence")  # a debrief may decline to vote


class ScenarioError(ProblemsError):
    """Scenarios do not load; ``problems`` lists every ``file:line: reason``."""


def _as_list(value: Any) -> Any:
    """``move: hint`` is accepted as ``move: [hint]`` (a compatible extension of the format)."""
    return [value] if isinstance(value, str) else value


def _check_principles(values: list[str] | None) -> list[str] | None:
    for v in values or []:
        if v not in PRINCIPLE_NAMES:
            raise ValueError(f"unknown principle {v!r}; the 16 names are: {', '.join(PRINCIPLE_NAMES)}")
    return values


class Expect(Strict):
    """Checks on the interviewer's reply to one candidate turn."""

    move: list[Move] | None = None
    principle: list[str] | None = None
    not_contains: list[str] = Field(default_factory=list)
    contains_any: list[str] = Field(default_factory=list)
    max_words: int | None = Field(None, ge=1)

    _list_move = field_validator("move", "principle", "not_contains", "contains_any", mode="before")(
        lambda v: _as_list(v)
    )

    @field_validator("principle")
    @classmethod
    def _principles(cls, v: list[str] | None) -> list[str] | None:
        return _check_principles(v)


class ScenarioTurn(Strict):
    """One candidate turn. ``grade`` absent = no golden grade; ``grade: null`` = golden abstention."""

    say: str
    grade: int | None = Field(None, ge=1, le=4)
    principle: str | None = None
    kind: Literal["clarify", "dont_know", "meta"] | None = Field(
        None,
        description="clarify: a clarifying question the reply must answer (the unanswered-clarifications metric); "
        "dont_know: the candidate is stuck; meta: a remark about the interview itself.",
    )
    replies_to: list[Move] | None = Field(
        None,
        description="The interviewer moves this answer was written as a reply to (a follow-up, a hint). When the "
        "interviewer made another move, the answer replies to a question nobody asked: its golden grade is not "
        "compared, and the report counts the turn as off script.",
    )
    expect: Expect | None = None

    _replies = field_validator("replies_to", mode="before")(lambda v: _as_list(v))

    @field_validator("principle")
    @classmethod
    def _principle(cls, v: str | None) -> str | None:
        _check_principles([v] if v is not None else None)
        return v

    @property
    def has_golden(self) -> bool:
        return "grade" in self.model_fields_set


class Start(Strict):
    question: str | None = None
    plan: list[str] = Field(default_factory=list, description="Extension: pin the order of the next questions.")

    @field_validator("question")
    @classmethod
    def _known_question(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None:
            _check_question(v, info)
        return v

    @field_validator("plan")
    @classmethod
    def _known_plan(cls, v: list[str], info: ValidationInfo) -> list[str]:
        for q in v:
            _check_question(q, info)
        return v


def _check_question(qid: str, info: ValidationInfo) -> None:
    catalog: Catalog | None = (info.context or {}).get("catalog")
    if catalog is not None and qid not in catalog.questions:
        raise ValueError(f"unknown question id {qid!r}")


class ExpectRound(Strict):
    moves_include: list[Move] = Field(default_factory=list)
    debrief_vote: list[str] | None = None

    _lists = field_validator("moves_include", "debrief_vote", mode="before")(lambda v: _as_list(v))

    @field_validator("debrief_vote")
    @classmethod
    def _votes(cls, v: list[str] | None) -> list[str] | None:
        for vote in v or []:
            if vote not in VOTES:
                raise ValueError(f"unknown vote {vote!r}; votes: {', '.join(VOTES)}")
        return v


class Scenario(Strict):
    id: str = Field(min_length=1)
    description: str = ""
    round: str
    level: Level = "L5"
    tags: list[str] = Field(default_factory=list)
    twin: str | None = Field(
        None, description="Scenarios with the same twin id answer the same question strong and weak (tags say which)."
    )
    start: Start | None = None
    turns: list[ScenarioTurn] = Field(min_length=1)
    expect_round: ExpectRound | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v

    @field_validator("round")
    @classmethod
    def _known_round(cls, v: str, info: ValidationInfo) -> str:
        catalog: Catalog | None = (info.context or {}).get("catalog")
        if catalog is not None and v not in catalog.rounds:
            raise ValueError(f"unknown round {v!r}; rounds: {', '.join(catalog.rounds)}")
        return v

    @property
    def pinned_questions(self) -> list[str]:
        if self.start is None:
            return []
        first = [self.start.question] if self.start.question else []
        return first + [q for q in dict.fromkeys(self.start.plan) if q not in first]


@dataclass(frozen=True)
class Case:
    """A scenario ready to run: where it came from and the question plan it runs with."""

    scenario: Scenario
    path: str = "<memory>"
    holdout: bool = False
    turn_lines: tuple[int, ...] = ()  # 1-based line of each turn in the file (0 = unknown)
    plan: tuple[str, ...] | None = None  # an explicit full plan (regrade); else built from the catalog
    meta: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.scenario.id

    def full_plan(self, catalog: Catalog) -> list[str]:
        if self.plan is not None:
            return list(self.plan)
        sc = self.scenario
        pinned = sc.pinned_questions
        return pinned + catalog.plan_questions(sc.round, sc.level, seed=sc.id, exclude=set(pinned))

    def at(self, *path: str | int) -> str:
        """``file:line`` of a key path (e.g. ``("expect_round", "debrief_vote")``) for failure messages."""
        lines = self.meta.get("lines") or {}
        line = lines.get(tuple(path)) if lines else None
        return f"{self.path}:{line}" if line else self.path

    def where(self, turn: int) -> str:
        """``file:line`` of turn ``turn`` (0-based) for failure messages."""
        line = self.turn_lines[turn] if turn < len(self.turn_lines) else 0
        return f"{self.path}:{line}" if line else self.path


# --------------------------------------------------------------------------- YAML with line numbers


def _key_lines(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """1-based line of every mapping key and sequence item, by its path (as pydantic reports locations)."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            out[path + (k,)] = key.start_mark.line + 1
            _key_lines(value, path + (k,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = item.start_mark.line + 1
            _key_lines(item, path + (i,), out)
    return out


def _line_of(loc: Sequence, lines: dict[tuple, int]) -> int:
    path = tuple(loc)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def _loc_text(loc: Sequence) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_file(path: Path, display: str, catalog: Catalog | None, holdout: bool, problems: list[str]) -> Case | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(f"{display}:0: cannot read: {exc.strerror or exc}")
        return None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.append(f"{display}:{mark.line + 1 if mark else 0}: invalid YAML: {getattr(exc, 'problem', exc)}")
        return None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        problems.append(f"{display}:1: expected a mapping (one scenario per file)")
        return None
    lines = _key_lines(node) if node is not None else {}
    try:
        scenario = Scenario.model_validate(data, context={"catalog": catalog})
    except ValidationError as exc:
        for err in exc.errors():
            loc = err["loc"]
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown key {loc[-1]!r}"
            elif err["type"] == "literal_error" and ("move" in loc or "moves_include" in loc):
                msg = f"unknown move {err.get('input')!r}; moves: {', '.join(MOVES)}"
            elif err["type"] == "literal_error" and loc == ("level",):
                msg = f"unknown level {err.get('input')!r}; levels: {', '.join(LEVELS)}"
            problems.append(f"{display}:{_line_of(loc, lines)}: {_loc_text(loc)}: {msg}")
        return None
    turn_lines = tuple(lines.get(("turns", i), 0) for i in range(len(scenario.turns)))
    return Case(
        scenario=scenario,
        path=display,
        holdout=holdout,
        turn_lines=turn_lines,
        meta={"id_line": lines.get(("id",), 1), "lines": lines},
    )


# --------------------------------------------------------------------------- discovery


def discover(paths: Iterable[Path]) -> list[tuple[Path, Path]]:
    """Scenario files under ``paths`` as (file, root it was found from): files as given, directories searched
    recursively for ``*.yaml`` / ``*.yml``, skipping a ``config.yaml`` at a root and any ``cassettes/`` folder."""
    found: dict[Path, tuple[Path, Path]] = {}
    for root in paths:
        if root.is_dir():
            for f in sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")]):
                rel = f.relative_to(root)
                if rel.parts == ("config.yaml",) or "cassettes" in rel.parts[:-1]:
                    continue
                found.setdefault(f.resolve(), (f, root))
        else:
            found.setdefault(root.resolve(), (root, root.parent))
    return sorted(found.values(), key=lambda fr: str(fr[0]))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_cases(paths: Iterable[Path], catalog: Catalog | None) -> list[Case]:
    """Load every scenario under ``paths``; raise :class:`ScenarioError` listing every problem."""
    problems: list[str] = []
    cases: list[Case] = []
    paths = list(paths)
    for p in paths:
        if not p.exists():
            problems.append(f"{p}:0: no such file or directory")
    files = discover([p for p in paths if p.exists()])
    if not files and not problems:
        problems.append(f"{', '.join(map(str, paths))}:0: no scenario files (*.yaml) found")
    seen: dict[str, str] = {}
    for f, _root in files:
        display = _display(f)
        holdout = "holdout" in f.resolve().parent.parts
        case = parse_file(f, display, catalog, holdout, problems)
        if case is None:
            continue
        if case.id in seen:
            problems.append(
                f"{display}:{case.meta['id_line']}: id: duplicate scenario id {case.id!r} (also in {seen[case.id]})"
            )
            continue
        seen[case.id] = display
        cases.append(case)
    if problems:
        raise ScenarioError(problems)
    return cases
