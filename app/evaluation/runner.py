"""Drives scenarios through the real round graph (on an in-memory checkpointer) and checks the replies.

For each scenario: thread id = scenario id; plan = the pinned questions + the catalog's plan seeded by the
scenario id; the candidate turns are fed one by one as ``Command(resume={"type": "answer", ...})``; the reply
to a turn is the next ``interviewer_done`` frame and its grade the ``turn_grade`` frame for its transcript
index. After the last turn the round is ended with a control frame (unless it already ended) to get the debrief.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from langgraph.checkpoint.memory import InMemorySaver

from app.content.catalog import Catalog
from app.core.frames import DebriefFrame, Frame, InterviewerDone, TurnGradeFrame
from app.core.ports import Brain
from app.core.state import initial_state
from app.evaluation.scenarios import Case
from app.grading.repeats import MIN_WORDS, asked_questions
from app.interview.graph import build_graph
from app.interview.nodes import Services
from app.interview.session import RoundDriver

PRINCIPLE_MOVES = ("lp_pivot", "lp_follow_up")


@dataclass
class Check:
    name: str  # stable across runs: "turn 2 expect.move", "expect_round.debrief_vote", "round.turns_answered"
    passed: bool
    message: str = ""


@dataclass
class TurnOutcome:
    number: int  # 1-based position in the scenario
    say: str
    index: int | None = None  # transcript index of the candidate turn (None: never fed, the round had ended)
    reply_move: str | None = None
    reply_principle: str | None = None
    reply_text: str | None = None
    golden: int | None = None
    golden_set: bool = False
    predicted: int | None = None
    graded: bool = False
    off_script: bool = False  # written as a reply to a move the interviewer did not make: golden not compared

    def as_json(self) -> dict:
        return {
            "index": self.index,
            "say": self.say,
            "reply_move": self.reply_move,
            "reply_principle": self.reply_principle,
            "reply_text": self.reply_text,
            "golden": self.golden,
            "golden_set": self.golden_set,
            "predicted": self.predicted,
            "off_script": self.off_script,
        }


@dataclass
class RunResult:
    case: Case
    thread_id: str
    checks: list[Check] = field(default_factory=list)
    turns: list[TurnOutcome] = field(default_factory=list)
    moves: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # everything the interviewer said, in order
    unanswered_clarifications: int = 0
    debrief_vote: str | None = None
    error: str | None = None

    @property
    def repeated_questions(self) -> int:
        return repeated_questions(self.said, self.moves)

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[str]:
        out = [f"{self.case.path}: error: {self.error}"] if self.error else []
        return out + [c.message for c in self.checks if not c.passed]


@dataclass
class ScenarioResult:
    case: Case
    runs: list[RunResult]

    @property
    def id(self) -> str:
        return self.case.id

    @property
    def passed(self) -> bool:
        """pass^k: every run passed."""
        return all(r.passed for r in self.runs)


def repeated_questions(said: list[str], moves: list[str] | None = None) -> int:
    """Interviewer turns that ask again a question (of five words or more) the interviewer already asked in the round.
    A new bank question (move ``ask``) is judged as a whole: two bank questions may both say "What does this query
    return?"."""
    seen: set[str] = set()
    asked: set[str] = set()
    repeats = 0
    for i, text in enumerate(said):
        if moves is not None and i < len(moves) and moves[i] == "ask":
            key = " ".join(text.split()[-60:])
            repeats += key in asked
            asked.add(key)
            continue
        asks = [q for q in asked_questions(text) if len(q.split()) >= MIN_WORDS]
        if any(q in seen for q in asks):
            repeats += 1
        seen.update(asks)
    return repeats


def _words(text: str) -> int:
    return len(text.split())


def _short(text: str | None, n: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def check_reply(case: Case, t: int, reply: InterviewerDone | None) -> list[Check]:
    """The checks of scenario turn ``t`` (0-based) against the interviewer's reply frame."""
    spec = case.scenario.turns[t].expect
    if spec is None:
        return []
    where, label = case.where(t), f"turn {t + 1}"
    checks: list[Check] = []

    def add(key: str, ok: bool, why: str) -> None:
        checks.append(Check(f"{label} expect.{key}", ok, "" if ok else f"{where}: {label}: expect.{key}: {why}"))

    if reply is None:
        for key in ("move", "principle", "not_contains", "contains_any", "max_words"):
            value = getattr(spec, key)
            if value:
                add(key, False, "no reply (the round had ended)")
        return checks
    move, text = reply.move, reply.text
    folded = text.casefold()
    principle = reply.principle if move in PRINCIPLE_MOVES else None
    if spec.move:
        add("move", move in spec.move, f'reply move {move!r} not in {spec.move}: "{_short(text)}"')
    if spec.principle and move in PRINCIPLE_MOVES:  # the issue: "for lp_pivot / lp_follow_up"
        add("principle", principle in spec.principle, f"probed principle {principle!r} not in {spec.principle}")
    if spec.not_contains:
        leaked = [s for s in spec.not_contains if s.casefold() in folded]
        add("not_contains", not leaked, f'reply contains {leaked}: "{_short(text)}"')
    if spec.contains_any:
        add(
            "contains_any",
            any(s.casefold() in folded for s in spec.contains_any),
            f'reply contains none of {spec.contains_any}: "{_short(text)}"',
        )
    if spec.max_words is not None:
        n = _words(text)
        add("max_words", n <= spec.max_words, f"reply has {n} words > {spec.max_words}")
    return checks


def check_round(case: Case, moves: list[str], vote: str | None) -> list[Check]:
    spec = case.scenario.expect_round
    if spec is None:
        return []
    checks: list[Check] = []
    if spec.moves_include:
        missing = [m for m in spec.moves_include if m not in moves]
        checks.append(
            Check(
                "expect_round.moves_include",
                not missing,
                f"{case.at('expect_round', 'moves_include')}: expect_round.moves_include: missing {missing}; the round's moves: {moves}"
                if missing
                else "",
            )
        )
    if spec.debrief_vote:
        ok = vote in spec.debrief_vote
        checks.append(
            Check(
                "expect_round.debrief_vote",
                ok,
                ""
                if ok
                else f"{case.at('expect_round', 'debrief_vote')}: expect_round.debrief_vote: {vote!r} not in {spec.debrief_vote}",
            )
        )
    return checks


class Runner:
    """One graph (in-memory checkpointer) shared by every scenario; each run is its own thread."""

    def __init__(self, brain: Brain, catalog: Catalog, concurrency: int = 8):
        self.brain, self.catalog = brain, catalog
        self.driver = RoundDriver(build_graph(InMemorySaver()), Services(brain=brain, catalog=catalog))
        self.concurrency = max(1, concurrency)

    async def run_case(self, case: Case, thread_id: str | None = None) -> RunResult:
        thread_id = thread_id or case.id
        result = RunResult(case=case, thread_id=thread_id)
        try:
            await self._drive(case, thread_id, result)
        except Exception as exc:  # a brain fault (e.g. a replay cassette miss) fails the scenario, not the suite
            result.error = f"{type(exc).__name__}: {exc}"
        return result

    async def _drive(self, case: Case, thread_id: str, result: RunResult) -> None:
        sc, driver = case.scenario, self.driver
        start = initial_state(thread_id, sc.round, sc.level, case.full_plan(self.catalog), time.time())
        grades: dict[int, TurnGradeFrame] = {}
        dodges = set(self.catalog.lines.lines["clarify_default"])  # "make your own assumption" answers nothing
        ended = False
        debrief: DebriefFrame | None = None

        def absorb(batch: list[Frame]) -> InterviewerDone | None:
            nonlocal ended, debrief
            reply = None
            for f in batch:
                if isinstance(f, InterviewerDone):
                    result.moves.append(f.move)
                    result.said.append(f.text)
                    reply = reply or f
                elif isinstance(f, TurnGradeFrame):
                    grades[f.turn] = f
                elif isinstance(f, DebriefFrame):
                    ended, debrief = True, f
            return reply

        opening = absorb(await driver.start(thread_id, start).frames())
        last_index = opening.index if opening else -1
        replies: list[InterviewerDone | None] = []
        fed = 0
        for t, spec in enumerate(sc.turns):
            outcome = TurnOutcome(number=t + 1, say=spec.say, golden=spec.grade, golden_set=spec.has_golden)
            result.turns.append(outcome)
            if ended:
                replies.append(None)
                continue
            outcome.index = last_index + 1
            previous = replies[-1] if replies else opening
            if spec.replies_to and (previous is None or previous.move not in spec.replies_to):
                outcome.off_script, outcome.golden_set = True, False
            reply = absorb(await driver.answer(thread_id, spec.say).frames())
            fed += 1
            replies.append(reply)
            if reply is not None:
                last_index = reply.index
                outcome.reply_move, outcome.reply_text = reply.move, reply.text
                outcome.reply_principle = reply.principle
            if spec.kind == "clarify" and (reply is None or reply.move != "clarify" or reply.text in dodges):
                result.unanswered_clarifications += 1
        n = len(sc.turns)
        result.checks.append(
            Check(
                "round.turns_answered",
                fed == n and (replies[-1] is not None),
                ""
                if fed == n and replies[-1] is not None
                else f"{case.where(fed)}: round ended after {fed} turn(s) of {n}",
            )
        )
        if not ended:
            absorb(await driver.end(thread_id).frames())
        for outcome in result.turns:
            if outcome.index is not None and outcome.index in grades:
                outcome.graded = True
                outcome.predicted = grades[outcome.index].overall
        for t, reply in enumerate(replies):
            result.checks += check_reply(case, t, reply)
        result.debrief_vote = debrief.vote if debrief else None
        result.checks += check_round(case, result.moves, result.debrief_vote)

    async def run(self, cases: list[Case], repeat: int = 1) -> list[ScenarioResult]:
        sem = asyncio.Semaphore(self.concurrency)

        async def one(case: Case, k: int) -> RunResult:
            async with sem:
                return await self.run_case(case, case.id if k == 0 else f"{case.id}#{k + 1}")

        repeat = max(1, repeat)
        runs = await asyncio.gather(*(one(c, k) for c in cases for k in range(repeat)))
        return [ScenarioResult(case=c, runs=list(runs[i * repeat : (i + 1) * repeat])) for i, c in enumerate(cases)]
