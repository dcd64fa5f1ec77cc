"""The offline grader: each candidate turn graded against what it answers, from what it *states*.

What the turn answers comes from the interviewer turn before it: the opening answer is judged on the whole
question, the answer to a follow-up (or a hint, or a return) on the key point it aimed at, the answer to a STAR
follow-up on the story part asked for, the answer to a failure probe on the rung asked. A clarifying question, a
request to repeat, "you asked that already", "I don't know" and an empty turn get no grade.

A technical answer: each key point is stated, a rejected misconception, mentioned, wrong or absent
(app/grading/claims.py); a criterion's level is the share of its key-point weight earned against the level's bar
(rubrics/grading.yaml: higher levels need more); a confident misconception holds its criterion and the answer at
"not inclined" or below; buzzwords without a mechanism cannot reach "inclined"; hedging and rambling cost
communication a level; red flags and instructions to the grader cap the grade. Every grade says how confident it is.
"""

from __future__ import annotations

import re
from statistics import median_low

from app.brains.offline.reading import (
    FIRST_PERSON_ACTION,
    Intent,
    Reading,
    has_number,
    parts_told_before,
    read_turn,
)
from app.content.models import Criterion, LevelBar, Question
from app.core.grades import Confidence, CriterionGrade, TurnGrade
from app.core.state import Thread, Turn
from app.core.view import RoundView
from app.grading.claims import PointReading, PointState
from app.grading.cues import Match, Text

_NOT_GRADED = {
    Intent.clarify: ("clarifying", "a clarifying question: not graded"),
    Intent.repeat: ("clarifying", "asked to hear the question again: not graded"),
    Intent.already_answered: ("clarifying", "said the question was already answered: not graded"),
    Intent.dont_know: ("no_answer", "not enough evidence to grade: the candidate did not know"),
    Intent.empty: ("no_answer", "not enough evidence to grade: no substantive answer"),
}
# a number with a unit that measures an outcome (not "in 2019", not "two weeks ago")
_MEASURED = re.compile(
    r"(?:\$\s?\d|\d[\d,.]*\s?(?:%|percent|pp\b|points?\b|bps\b|basis points|x\b|times\b|hours?\b|days?\b|weeks?\b|"
    r"minutes?\b|ms\b|seconds?\b|k\b|m\b|million|billion|thousand|dollars|users|customers|orders|tickets|sessions|"
    r"people|accounts|requests))"
)
_BLAME = re.compile(
    r"\b(?:their fault|his fault|her fault|it wasn'?t my|wasn'?t my fault|not my fault|they (?:didn'?t|refused|"
    r"messed|screwed|ignored)|the pm (?:didn'?t|refused)|my manager (?:didn'?t|refused)|nobody listened|"
    r"they just didn'?t)"
)
_HYPOTHETICAL = re.compile(
    r"\b(?:i would|i'?d (?:probably|usually|typically)|i usually|i typically|i always|in general i)\b"
)
_SUBSTANTIAL_WORDS = 25  # an answer this long that touches no key point is graded, not ignored
_VAGUE_STORY_WORDS = 6  # a story reply this long with nothing specific in it is graded, not ignored
# the criterion each rung of the failure ladder speaks to: what happened and how bad, the root cause, the fix and
# what it changed, what prevents it now
_RUNG_TO_CRITERION = ("measurable_result", "principle_fit", "ownership", "lessons")
_RUNG_NAMES = ("what happened", "the root cause", "the fix", "prevention")
_SPECIFIC_WORDS = 25  # a rung answered at this length (or with a number) is specific
_STORY_TO_CRITERION = {
    "situation": "star_completeness",
    "task": "star_completeness",
    "action": "ownership",
    "ownership": "ownership",
    "result": "measurable_result",
    "lessons": "lessons",
}


def _level(coverage: float, bar: LevelBar) -> int:
    if coverage >= bar.strong_hire:
        return 4
    if coverage >= bar.inclined:
        return 3
    if coverage >= bar.not_inclined:
        return 2
    return 1


def _answered_turn(view: RoundView) -> Turn | None:
    """The interviewer turn the last answer replies to."""
    turns = view.turns
    return turns[-2] if len(turns) >= 2 and turns[-2]["role"] == "interviewer" else None


class OfflineGrader:
    """Grades the last candidate turn of a round view (no model, deterministic)."""

    def grade(self, view: RoundView) -> TurnGrade:
        answer = view.last_answer
        assert answer is not None, "grading follows an answer"
        thread = view.thread
        base = TurnGrade(turn=answer["index"], question_id=thread["question_id"] if thread else None)
        if view.state["phase"] == "wrap_up":
            return base.model_copy(update={"kind": "closing", "notes": ["closing questions: not graded"]})
        if thread is None:
            return base.model_copy(update={"notes": ["no question was open"]})
        question = view.question if thread["kind"] == "technical" else None
        reading = read_turn(answer["text"], question)
        if reading.intent in _NOT_GRADED:
            kind, note = _NOT_GRADED[reading.intent]
            missed = [k.id for k in question.rubric.key_points if k.id not in thread["covered"]] if question else []
            return base.model_copy(update={"kind": kind, "notes": [note], "missed": missed})
        if thread["kind"] == "technical":
            assert question is not None
            return self._technical(view, question, thread, reading, base)
        return self._story(view, thread, reading, base)

    # ------------------------------------------------------------------ technical answers

    def _technical(
        self, view: RoundView, question: Question, thread: Thread, reading: Reading, base: TurnGrade
    ) -> TurnGrade:
        policy, level_name = view.catalog.grading, view.level
        rubric = question.rubric
        asked = _answered_turn(view)
        target = asked.get("key_point") if asked and asked.get("move") in ("follow_up", "hint", "return") else None
        target = target if target in reading.points else None
        credit: dict[str, float] = {str(k): v for k, v in policy.credit.items()}

        def earned(p: PointReading) -> float:
            value = credit.get(p.state.value, 0.0)
            if p.state is PointState.stated and p.depth == 1 and len(p.key_point.claims) >= 2:
                value *= policy.shallow_credit  # one of several things a strong answer says about this point
            return value

        weights = {k.id: k.weight for k in rubric.key_points}
        notes: list[str] = []
        criteria: list[CriterionGrade] = []
        for c in rubric.criteria:
            ids = c.key_points or list(weights)
            bar = c.bars.get(level_name) or policy.bars[level_name]
            readings = [reading.points[i] for i in ids]
            in_play = [p for p in readings if p.state is not PointState.absent]
            if target is not None and target not in ids and not any(p.state is PointState.stated for p in in_play):
                criteria.append(CriterionGrade(id=c.id, name=c.name))  # this reply was not about this criterion
                continue
            if not in_play:
                criteria.append(CriterionGrade(id=c.id, name=c.name))
                continue
            if target is not None:
                level = self._level_of_reply(reading.points[target] if target in ids else None, in_play)
            else:
                level = _level(
                    sum(weights[p.key_point.id] * earned(p) for p in readings) / sum(weights[i] for i in ids), bar
                )
            level = self._misconception_cap(level, [p for p in readings if p.state is PointState.wrong], weights, ids)
            if not any(p.state in (PointState.stated, PointState.rejected_misconception) for p in in_play):
                level = min(level, 2)  # only the words, never the mechanism
            if _is_communication(c):
                level = self._communication(level, reading, view)
            criteria.append(
                CriterionGrade(id=c.id, name=c.name, level=level, evidence=self._evidence(reading, in_play))
            )

        levels = [c.level for c in criteria if c.level is not None]
        if target is not None:
            overall: int | None = self._level_of_reply(
                reading.points[target],
                reading.having(
                    PointState.stated, PointState.rejected_misconception, PointState.mentioned, PointState.wrong
                ),
            )
        elif levels:
            total = sum(weights[i] * earned(p) for i, p in reading.points.items()) / sum(weights.values())
            overall = _level(total, policy.bars[level_name])
            overall = min(max(overall, round(sum(levels) / len(levels)) - 1), round(sum(levels) / len(levels)) + 1)
        else:
            overall = None
        evidence = self._evidence(reading, [p for p in reading.points.values() if p.state is not PointState.absent])
        replied = target is not None and not reading.substantive
        attempt = overall is None and reading.words >= _SUBSTANTIAL_WORDS and not reading.substantive
        if reading.parts and (replied or attempt):
            # a real answer that says nothing the question (or the follow-up) asks about: evidence for the bottom
            overall, evidence = 1, [reading.quote((reading.parts[0].start, reading.parts[0].end))]
            notes.append(
                "says nothing the follow-up asked about"
                if replied
                else "says nothing the question's key points are about"
            )
            first = next(
                (i for i, c in enumerate(rubric.criteria) if target is None or target in (c.key_points or [target])), 0
            )
            criteria = [
                c.model_copy(update={"level": 1, "evidence": evidence}) if i == first else c
                for i, c in enumerate(criteria)
            ]

        wrong = reading.wrong
        if overall is not None and wrong:
            mcq = question.choices
            if (
                mcq is not None
                and reading.choice not in (None, *mcq.answer)
                and [p.key_point.id for p in wrong] == [mcq.key_point]
            ):
                overall = min(overall, 2 if reading.stated else 1)  # a wrong pick; the reasoning may be partly right
            else:
                heaviest = wrong[0].key_point.weight >= max(weights.values())
                overall = min(overall, 1 if len(wrong) >= 2 or heaviest else 2)
            notes += [f"misconception: {p.hit.claim.says}" for p in wrong if p.hit]
        if question.choices is not None and reading.choice not in (None, *question.choices.answer):
            notes.append(f"picks option {reading.choice}, which is not the right one")
        if overall is not None and not reading.stated and not reading.having(PointState.rejected_misconception):
            overall = min(overall, 2)
            if len(reading.mentioned) >= 2:
                notes.append("names the right terms without explaining them")
        red = [(f, m) for f in rubric.red_flags if (m := reading.text.find_affirmed(f.cues))]
        mistakes = [(f, m) for f in rubric.mistakes if (m := reading.text.find_affirmed(f.cues))]
        if red:
            overall = 1 if overall is None or overall <= 2 else 2
            notes += [f"red flag: {f.text}" for f, _ in red]
            flagged = [reading.text.sentence(m) for _, m in red]
            evidence += flagged
            if all(c.level is None for c in criteria):
                # the red flag is the evidence: it grades the first criterion (else the grade would have none)
                criteria = [
                    c.model_copy(update={"level": overall, "evidence": flagged}) if i == 0 else c
                    for i, c in enumerate(criteria)
                ]
        if mistakes:
            notes += [f"mistake: {f.text}" for f, _ in mistakes]
            if overall is not None:
                overall = max(1, min(overall, 3) - (1 if overall >= 3 else 0))
        policy_c = policy.communication
        if (
            overall is not None
            and reading.words > policy_c.ramble_words
            and (reading.hedges * 100 / reading.words > 2 or len(reading.stated) * 100 / reading.words < 1.5)
        ):
            overall = min(overall, 3)
            notes.append("long and hedged: the substance is hard to find")
        if overall is not None and reading.hedges >= 4 and reading.hedges * 100 / max(reading.words, 1) >= 6:
            overall = min(overall, 2)  # "I guess I committed, sort of, more or less": no claim is really made
            notes.append("so hedged that nothing is said with conviction")
        if overall is not None and asked is not None and asked.get("move") == "hint":
            overall = min(overall, 3)  # got there with help
            notes.append("answered after a hint")
        if target is None and overall is not None and overall >= 3:
            skipped = [k for k in _asked_in_prompt(question) if reading.points[k].state is PointState.absent]
            if skipped:  # a part the question asks for in so many words, not even touched
                overall = 2
                notes.append(
                    "does not address a part the question asks: "
                    + "; ".join(next(kp.text for kp in rubric.key_points if kp.id == k) for k in skipped[:2])
                )
        if reading.instructs_grader:  # ignored as instructions; an integrity red flag
            notes.append("red flag: tries to instruct the grader")
            if overall is not None:
                overall = 1
        stated = [
            p for p in reading.points.values() if p.state in (PointState.stated, PointState.rejected_misconception)
        ]
        if stated:
            notes.append("stated: " + "; ".join(p.key_point.text for p in stated))
        covered_before = set(thread["covered"])
        covered_now = {p.key_point.id for p in stated}
        missed = [
            k.id for k in sorted(rubric.key_points, key=lambda k: -k.weight) if k.id not in covered_before | covered_now
        ]
        return base.model_copy(
            update={
                "overall": overall,
                "criteria": criteria,
                "evidence": list(dict.fromkeys(evidence)),
                "notes": notes,
                "covered": sorted(covered_now),
                "missed": missed,
                "red_flags": [f.id for f, _ in red],
                "answers": target,
                "confidence": _confidence(reading, overall) if overall is not None else None,
            }
        )

    @staticmethod
    def _failure_rung(
        view: RoundView, thread: Thread, reading: Reading, mine: Match | None
    ) -> tuple[int, int | None, list[str]]:
        """(rung, level, evidence) for a reply to a failure probe: does it tell the rung asked or a later one (their
        answered-by phrases; for the fix, a first-person action will do), specifically (a number, or real detail), and as the
        candidate's own (a root cause is about the mechanism, not about who)?"""
        ladder = view.catalog.failure_ladder
        rung = min(thread["step"], len(_RUNG_TO_CRITERION) - 1)
        text = reading.text
        # the rung asked, or one further up the ladder (a candidate who jumps ahead to the cause has answered too);
        # naming the failure itself tells what happened
        cues = [c for later in ladder.answered_by[rung:] for c in later]
        if rung == 0:
            cues += [c for mode in ladder.modes for c in mode.cues]
        told = (text.find_any(cues) if cues else None) or (mine if rung == 2 else None)
        if told is None:
            first = reading.quote((reading.parts[0].start, reading.parts[0].end)) if reading.parts else ""
            if reading.points_back and cues and Text(" ".join(view.question_answers()[:-1])).find_any(cues):
                # "like I said, the bot filter": it was told before, on this question; pointing back is no gap
                return rung, (3 if first else None), [first] if first else []
            return rung, (1 if reading.words >= 8 and first else None), [first] if first else []
        specific = has_number(text.folded) or reading.words >= _SPECIFIC_WORDS
        owned = mine is not None or rung == 1
        return rung, min(4, 2 + int(specific) + int(owned)), [text.sentence(told)]

    @staticmethod
    def _level_of_reply(target: PointReading | None, others: list[PointReading]) -> int:
        """A reply to a follow-up on one key point: how well it answers that point (or, when it answers about another
        key point instead, how well it states that one)."""
        stated_elsewhere = [p for p in others if p.state is PointState.stated and p is not target]
        if target is None or target.state is PointState.absent:
            if len(stated_elsewhere) >= 2:
                return 3
            return 2 if stated_elsewhere else 1
        if target.state is PointState.wrong:
            return 1
        if target.state is PointState.mentioned:
            return 2
        return 4 if target.state is PointState.stated and stated_elsewhere else 3

    @staticmethod
    def _misconception_cap(level: int, wrong: list[PointReading], weights: dict[str, float], ids: list[str]) -> int:
        if not wrong:
            return level
        heaviest = max(weights[i] for i in ids)
        return min(level, 1 if len(wrong) >= 2 or wrong[0].key_point.weight >= heaviest else 2)

    @staticmethod
    def _communication(level: int, reading: Reading, view: RoundView) -> int:
        policy = view.catalog.grading.communication
        per_100 = reading.hedges * 100 / max(reading.words, 1)
        if reading.hedges >= 2 and per_100 > policy.hedges_per_100_words:
            level -= 1
        if reading.words > policy.ramble_words and len(reading.stated) * 100 / reading.words < 1.5:
            level -= 1
        return max(1, level)

    @staticmethod
    def _evidence(reading: Reading, points: list[PointReading]) -> list[str]:
        quotes = []
        for p in points:
            span = p.span
            if span is None:
                continue
            if p.hit is None:  # a mention: quote its clause
                clause = next((c for c in reading.parts if c.start <= span[0] < c.end), None)
                span = (clause.start, clause.end) if clause else span
            quote = reading.quote(span)
            if quote and quote in reading.text.original:
                quotes.append(quote)
        return list(dict.fromkeys(quotes))

    # ------------------------------------------------------------------ stories (LP probes, failure cases)

    def _story(self, view: RoundView, thread: Thread, reading: Reading, base: TurnGrade) -> TurnGrade:
        catalog = view.catalog
        lp = catalog.lp_rubric
        text = reading.text
        if thread["kind"] == "lp":
            principle = catalog.principles[thread["principle"] or ""]
            base = base.model_copy(update={"kind": "lp", "principle": principle.name})
        else:
            mode = next((m for m in catalog.failure_ladder.modes if m.id == thread["failure_mode"]), None)
            principle = catalog.principles[mode.principles[0] if mode and mode.principles else "Earn Trust"]
            base = base.model_copy(update={"kind": "failure"})
        asked = _answered_turn(view)
        target = asked.get("star_part") if asked and asked.get("move") in ("lp_follow_up", "follow_up") else None
        parts = reading.story_parts(catalog)
        seen = set(thread["covered"]) | set(parts) | parts_told_before(view)  # the same story, told before
        if reading.points_back:  # "I said that already": the parts told before on this question count as heard
            seen |= set(read_turn(" ".join(view.question_answers()[:-1]), None).story_parts(catalog))
        n_mine = text.count(lp.ownership_cues) + len(FIRST_PERSON_ACTION.findall(text.folded))
        n_ours = text.count(lp.collective_cues)
        mine = text.find_any(lp.ownership_cues) or text.search(FIRST_PERSON_ACTION)
        ours = text.find_any(lp.collective_cues)
        blame = text.search(_BLAME)
        hypothetical = text.search(_HYPOTHETICAL) if not mine else None
        measured = next((c for c in reading.parts if _MEASURED.search(text.folded, c.start, c.end)), None)
        result = text.find_any(lp.result_cues)
        fit = [m for m in (text.find(c) for c in principle.signal_cues) if m]

        def q(m: Match | None) -> list[str]:
            return [text.sentence(m)] if m else []

        levels: dict[str, tuple[int | None, list[str]]] = {
            "star_completeness": (
                None if not parts else 4 if len(seen) >= 5 else 3 if len(seen) == 4 else 2 if len(seen) >= 2 else 1,
                [text.sentence(m) for m in parts.values()],
            ),
            "ownership": (
                1
                if blame
                else (4 if n_mine >= 2 and n_mine > n_ours else 3 if n_mine >= n_ours else 2)
                if mine
                else (1 if ours or hypothetical else None),
                q(blame) or q(mine) or q(ours) or q(hypothetical),
            ),
            "measurable_result": (
                (4 if measured and result else 3) if measured else (2 if result else None),
                [reading.quote((measured.start, measured.end))] if measured else q(result),
            ),
            "lessons": ((3 if "lessons" in parts else None), q(parts.get("lessons"))),
            "principle_fit": ((4 if len(fit) >= 2 else 3) if fit else None, [text.sentence(m) for m in fit[:2]]),
        }
        single = target in _STORY_TO_CRITERION
        rung_note: list[str] = []
        if single:  # a reply to one STAR follow-up is judged on that part only
            wanted = _STORY_TO_CRITERION[target or ""]
            level, quotes = levels[wanted]
            levels = {cid: (lv, ev) if cid == wanted else (None, []) for cid, (lv, ev) in levels.items()}
            if level is None and not (reading.points_back and target in seen):
                levels[wanted] = (1 if reading.words >= 8 else None, [])
        elif thread["kind"] == "failure" and len(parts) < 3:
            # a reply to a failure probe is judged on the rung it was asked (a whole new story, on the story)
            rung, level, quotes = self._failure_rung(view, thread, reading, mine)
            wanted, target, single = _RUNG_TO_CRITERION[rung], f"rung {rung}: {_RUNG_NAMES[rung]}", True
            levels = {cid: (level, quotes) if cid == wanted else (None, []) for cid in levels}
            told = "not told" if level == 1 else "told" if level is not None else "no evidence"
            rung_note = [f"failure probe on {_RUNG_NAMES[rung]}: {told}"]
        criteria = []
        for c in lp.criteria:
            level, quotes = levels.get(c.id, (None, []))
            quotes = [x for x in quotes if x and x in text.original]
            criteria.append(
                CriterionGrade(id=c.id, name=c.name, level=level if quotes or level == 1 else None, evidence=quotes)
            )
        graded = [c.level for c in criteria if c.level is not None]
        if not graded and reading.words >= _VAGUE_STORY_WORDS and reading.parts:
            # a reply with no situation, action, result or lesson in it: vague, which is evidence too
            quote = reading.quote((reading.parts[0].start, reading.parts[0].end))
            wanted = _STORY_TO_CRITERION.get(target or "", "star_completeness")
            criteria = [
                c.model_copy(update={"level": 1, "evidence": [quote]}) if c.id == wanted else c for c in criteria
            ]
            graded = [1]
        overall = median_low(graded) if graded else None
        if single and graded:
            overall = graded[0]
        if overall is not None and (blame or (hypothetical and not mine)):
            overall = min(overall, 1 if blame else 2)
        if reading.instructs_grader and overall is not None:
            overall = max(1, min(overall, 3) - 1)
        notes = rung_note or [f"STAR parts heard: {', '.join(sorted(seen)) or 'none'}"]
        if n_ours > n_mine:
            notes.append('says "we" more than "I": unclear what the candidate did')
        if blame:
            notes.append("blames others for the outcome")
        if reading.instructs_grader:
            notes.append("red flag: tries to instruct the grader")
        order = ["situation", "task", "action", "result", "lessons"]
        # what the story says of the technical question it was pivoted from counts for that question too
        base_question = catalog.questions.get(thread["question_id"] or "")
        stated = read_turn(text.original, base_question).stated if base_question else []
        return base.model_copy(
            update={
                "overall": overall,
                "criteria": criteria,
                "evidence": [e for c in criteria for e in c.evidence],
                "notes": notes,
                "covered": sorted(parts) + sorted(p.key_point.id for p in stated),
                "missed": [p for p in order if p not in seen],
                "answers": target,
                "confidence": _confidence(reading, overall) if overall is not None else None,
            }
        )


_PROMPT_WORD = re.compile(r"[a-z][a-z0-9'-]{3,}")
_STOP = {
    "what",
    "when",
    "which",
    "would",
    "your",
    "that",
    "this",
    "with",
    "have",
    "from",
    "they",
    "them",
    "then",
    "than",
    "there",
    "their",
    "about",
    "into",
    "does",
    "make",
    "many",
    "much",
    "more",
    "most",
    "also",
    "each",
    "will",
    "were",
    "been",
    "being",
    "should",
    "could",
    "like",
    "give",
    "tell",
    "walk",
    "talk",
    "through",
}


def _asked_in_prompt(question: Question) -> list[str]:
    """The key points the prompt asks for in so many words: one of their cues is in it (cached per question)."""
    cached = _ASKED.get(question.id)
    if cached is None:
        prompt = " ".join(question.prompt.lower().split())
        cached = [
            k.id
            for k in question.rubric.key_points
            if any(len(c) >= 5 and c.lower() in prompt and c.lower() not in _STOP for c in k.cues)
        ]
        _ASKED[question.id] = cached
    return cached


_ASKED: dict[str, list[str]] = {}


def _is_communication(c: Criterion) -> bool:
    return c.id == "communication" or "communicat" in c.name.lower()


def _confidence(reading: Reading, overall: int) -> Confidence:
    """How sure the rules can be: clear statements are easy to judge; mentions, hedges and contradictions are not."""
    per_100 = reading.hedges * 100 / max(reading.words, 1)
    stated, wrong = len(reading.stated), len(reading.wrong)
    if reading.words < 12 or per_100 > 6 or (stated and wrong) or reading.instructs_grader:
        return "low"
    if reading.question is not None and not stated and not wrong:
        return "low" if reading.mentioned else "medium"
    if stated >= 2 or wrong >= 1 or reading.question is None:
        return "high" if reading.words >= 25 else "medium"
    return "medium"
