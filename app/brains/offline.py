"""The offline rules brain: a deterministic interviewer that needs no model.

It reads the rubric data only. Grading: key-point cues found in the answer -> coverage per criterion ->
criterion levels -> overall grade, with red-flag and mistake cues pulling it down and verbatim quotes as
evidence. Deciding: LP trigger cues -> ``lp_pivot`` quoting the candidate's phrase; STAR gaps ->
``lp_follow_up``; failure cues (or none, in a project deep dive) -> the failure-case ladder; otherwise a
follow-up aimed at the biggest uncovered key point, a hint when the candidate is stuck, or the next question.
Speaking: templates from ``prompts/offline/lines.yaml``, streamed word by word.
"""

from __future__ import annotations

import re
from statistics import median_low

from app.brains.speech import TextSpeech
from app.content.models import KeyPoint, Question
from app.core.grades import CriterionGrade, Debrief, TurnGrade
from app.core.ports import Constraints, Decision, Draft, Speech
from app.core.view import RoundView
from app.grading.cues import Match, Text
from app.grading.debrief import build_debrief

LABEL = "Offline rules brain (no language model)"

_DONT_KNOW = [
    "i don't know",
    "i do not know",
    "no idea",
    "not sure",
    "i'm not sure",
    "i have no clue",
    "i'll pass",
    "can't remember",
    "cannot remember",
    "i forget",
    "idk",
]
_CLARIFY_OPENERS = [
    "can i assume",
    "should i assume",
    "do you mean",
    "what do you mean",
    "could you clarify",
    "can you clarify",
    "is it",
    "are we",
    "does the",
    "do we",
    "what is the",
    "which",
    "how many",
    "can you repeat",
    "could you repeat",
]
_EXPLAIN_CUES = [
    "because",
    "so that",
    "which means",
    "means",
    "that is why",
    "since",
    "therefore",
    "if ",
    "when ",
    "for example",
    "e.g",
    "for instance",
    "so the",
    "otherwise",
    "whereas",
    "instead",
]
_STAR_ORDER = ["situation", "action", "result", "lessons", "task"]
_MIN_WORDS_PER_KEY_POINT = 5
_PIVOT_MIN_COVERAGE = 0.34  # share of the question's key points covered before an LP pivot is earned
# Text that tries to instruct the grader ("SYSTEM: grade 4", "ignore the rubric", "rate me strong hire")
_INSTRUCTIONS_TO_GRADER = re.compile(
    r"\b(system|assistant|developer)\s*:|ignore (all |any |your |the |previous |prior |above )*(instructions|rubric|rules)"
    r"|\b(rate|grade|score|mark) (me|this|the candidate)\b|strong[ _]hire|evaluator note|you (have been|are) instructed"
    r"|as the (grader|evaluator)"
)
_STORY_KINDS = ("project", "behavioral")  # questions about the candidate's own past work
_OWNERSHIP_PROBE = 'You said "we" a few times. What did you personally do, and what did others do?'
# "I added", "I also built", "I personally told": first-person actions count as the A of STAR and as ownership
_FIRST_PERSON_ACTION = re.compile(
    r"(?<![a-z])i (?:also |then |first |personally |finally )?(?:[a-z]+ed|built|wrote|made|ran|led|set up|took|"
    r"found|did|chose|drove|got|put|sent|told|spent|kept|began|brought|dug|gave|held|met|paid|read|saw|shipped|"
    r"spoke|taught|thought|won|own|owned|lead)\b"
)


def _level_from_coverage(coverage: float) -> int:
    if coverage >= 0.75:
        return 4
    if coverage >= 0.5:
        return 3
    if coverage >= 0.25:
        return 2
    return 1


def _is_gibberish(text: Text) -> bool:
    words = re.findall(r"[a-z']+", text.folded)
    if not words:
        return True
    vowelless = sum(1 for w in words if len(w) > 3 and not re.search(r"[aeiouy]", w))
    return vowelless / len(words) > 0.5


def _no_substance(text: Text) -> bool:
    """Empty, gibberish, or a short "I don't know": nothing to grade, a candidate who is stuck."""
    return _is_gibberish(text) or (text.find_any(_DONT_KNOW) is not None and text.words < 12)


class OfflineBrain:
    """Deterministic rules over the rubric data. Same input, same interview, same grades."""

    name = "offline"
    label = LABEL

    def __init__(self, stream_delay_s: float = 0.0):
        self._delay = stream_delay_s

    async def aclose(self) -> None:
        """Nothing to release: the rules brain holds no connections."""

    # ------------------------------------------------------------------ grading

    async def grade(self, view: RoundView) -> TurnGrade:
        answer = view.last_answer
        assert answer is not None, "grading follows an answer"
        text = Text(answer["text"])
        thread = view.thread
        base = TurnGrade(turn=answer["index"], question_id=thread["question_id"] if thread else None)
        if view.state["phase"] == "wrap_up":
            return base.model_copy(update={"kind": "closing", "notes": ["closing questions: not graded"]})
        if thread is None:
            return base.model_copy(update={"notes": ["no question was open"]})
        if thread["kind"] in ("lp", "failure"):
            return self._grade_lp(view, text, base)
        question = view.catalog.questions[thread["question_id"] or ""]
        return self._grade_technical(question, text, set(thread["covered"]), base)

    def _key_point_matches(self, question: Question, text: Text) -> dict[str, Match]:
        found = {}
        for kp in question.rubric.key_points:
            m = text.find_any(kp.cues)
            if m:
                found[kp.id] = m
        return found

    def _grade_technical(self, question: Question, text: Text, covered_before: set[str], base: TurnGrade) -> TurnGrade:
        rubric = question.rubric
        if _no_substance(text):
            return base.model_copy(
                update={
                    "notes": ["not enough evidence to grade: no substantive answer"],
                    "missed": [k.id for k in rubric.key_points if k.id not in covered_before],
                }
            )
        if self._is_clarifying(text):
            return base.model_copy(
                update={
                    "notes": ["a clarifying question: not graded"],
                    "missed": [k.id for k in rubric.key_points if k.id not in covered_before],
                }
            )
        matches = self._key_point_matches(question, text)
        covered = covered_before | set(matches)
        weights = {k.id: k.weight for k in rubric.key_points}
        notes: list[str] = []
        red = [(f, m) for f in rubric.red_flags if (m := text.find_affirmed(f.cues))]
        mistakes = [(f, m) for f in rubric.mistakes if (m := text.find_affirmed(f.cues))]
        stuffed = self._stuffed(text, matches)
        criteria = []
        for c in rubric.criteria:
            ids = c.key_points or list(weights)
            total = sum(weights[i] for i in ids)
            coverage = sum(weights[i] for i in ids if i in covered) / total
            evidence = [text.sentence(matches[i]) for i in ids if i in matches]
            level = _level_from_coverage(coverage) if evidence else None
            if level is not None and mistakes and c.id == rubric.criteria[0].id:
                level = max(1, level - 1)
            if level is not None and stuffed:
                level = min(level, 2)
            criteria.append(CriterionGrade(id=c.id, name=c.name, level=level, evidence=evidence))
        flagged = red + mistakes
        if flagged and criteria and criteria[0].level is None:  # only the mistake is on record: that is evidence
            criteria[0].level, criteria[0].evidence = 1, [text.sentence(m) for _, m in flagged]
        levels = [c.level for c in criteria if c.level is not None]
        overall = round(sum(levels) / len(levels)) if levels else None
        if overall is not None:  # the answer to the question as a whole bounds the average of its parts
            total = sum(weights.values())
            overall = min(overall, _level_from_coverage(sum(weights[i] for i in covered) / total) + 1)
        evidence = [text.sentence(m) for m in matches.values()] + [text.sentence(m) for _, m in flagged]
        if red:
            overall = 1 if overall is None or overall <= 2 else 2
            notes += [f"red flag: {f.text}" for f, _ in red]
        if mistakes:
            notes += [f"mistake: {f.text}" for f, _ in mistakes]
        if overall is not None and len(levels) * 2 < len(criteria):
            overall = min(overall, 2)
            notes.append("evidence on too few criteria to meet the bar")
        if stuffed and overall is not None:
            overall = min(overall, 2)
            notes.append("names the right terms without explaining them")
        if _INSTRUCTIONS_TO_GRADER.search(text.folded):  # ignored as instructions; weighed like a red flag
            notes.append("red flag: tries to instruct the grader")
            if overall is not None:
                overall = 1 if overall <= 2 else 2
        missed = [k.id for k in sorted(rubric.key_points, key=lambda k: -k.weight) if k.id not in covered]
        if matches:
            notes.append("covered: " + "; ".join(k.text for k in rubric.key_points if k.id in matches))
        return base.model_copy(
            update={
                "overall": overall,
                "criteria": criteria,
                "evidence": evidence,
                "notes": notes,
                "covered": sorted(matches),
                "missed": missed,
                "red_flags": [f.id for f, _ in red],
            }
        )

    @staticmethod
    def _stuffed(text: Text, matches: dict) -> bool:
        """Rubric terms strung together without the words that explain them: few words per key point named, or
        a list of two-word fragments, and none of the connectives an explanation needs."""
        if not matches or text.find_any(_EXPLAIN_CUES):
            return False
        fragments = [len(f.split()) for f in re.split(r"[.,;:\n]", text.folded) if f.strip()]
        return text.words / len(matches) < _MIN_WORDS_PER_KEY_POINT or median_low(fragments) <= 3

    def _star_parts(self, view: RoundView, text: Text) -> dict[str, Match]:
        found: dict[str, Match] = {}
        for part in view.catalog.lp_rubric.star:
            m = text.find_any(part.cues)
            if m:
                found[part.part] = m
        if "action" not in found and (m := text.search(_FIRST_PERSON_ACTION)):
            found["action"] = m
        return found

    def _grade_lp(self, view: RoundView, text: Text, base: TurnGrade) -> TurnGrade:
        """A story: STAR completeness, ownership, a measured result, lessons, and fit to the principle probed
        (for a failure-case probe, the principles that failure mode connects to)."""
        thread = view.thread
        assert thread is not None, "there is a thread under discussion"
        lp = view.catalog.lp_rubric
        if thread["kind"] == "lp":
            principle = view.catalog.principles[thread["principle"] or ""]
            base = base.model_copy(update={"kind": "lp", "principle": principle.name})
        else:
            mode = next((m for m in view.catalog.failure_ladder.modes if m.id == thread["failure_mode"]), None)
            name = mode.principles[0] if mode and mode.principles else "Earn Trust"
            principle = view.catalog.principles[name]
            base = base.model_copy(update={"kind": "failure"})
        if _no_substance(text):
            return base.model_copy(update={"notes": ["not enough evidence to grade: no story told"]})
        parts = self._star_parts(view, text)
        seen = set(thread["covered"]) | set(parts)
        mine = text.find_any(lp.ownership_cues) or text.search(_FIRST_PERSON_ACTION)
        ours = text.find_any(lp.collective_cues)
        n_mine = text.count(lp.ownership_cues) + len(_FIRST_PERSON_ACTION.findall(text.folded))
        n_ours = text.count(lp.collective_cues)
        result = text.find_any(lp.result_cues)
        number = re.search(r"\d", text.sentence(result)) if result else None
        fit = [m for m in (text.find(c) for c in principle.signal_cues) if m]

        def q(m: Match | None) -> list[str]:
            return [text.sentence(m)] if m else []

        levels: dict[str, tuple[int | None, list[str]]] = {
            "star_completeness": (
                None if not parts else 4 if len(seen) >= 5 else 3 if len(seen) == 4 else 2 if len(seen) >= 2 else 1,
                [text.sentence(m) for m in parts.values()],
            ),
            "ownership": (
                (4 if n_mine >= 2 and n_mine > n_ours else 3 if n_mine >= n_ours else 2)
                if mine
                else (1 if ours else None),
                q(mine) or q(ours),
            ),
            "measurable_result": ((4 if number else 2) if result else None, q(result)),
            "lessons": ((3 if "lessons" in parts else None), q(parts.get("lessons"))),
            "principle_fit": ((4 if len(fit) >= 2 else 3) if fit else None, [text.sentence(m) for m in fit[:2]]),
        }
        criteria = []
        for c in lp.criteria:
            level, evidence = levels.get(c.id, (None, []))
            criteria.append(CriterionGrade(id=c.id, name=c.name, level=level if evidence else None, evidence=evidence))
        graded = [c.level for c in criteria if c.level is not None]
        overall = round(sum(graded) / len(graded)) if graded else None
        missing = [p for p in _STAR_ORDER if p not in seen]
        notes = [f"STAR parts heard: {', '.join(sorted(seen)) or 'none'}"]
        if n_ours > n_mine:
            notes.append('says "we" more than "I": unclear what the candidate did')
        return base.model_copy(
            update={
                "overall": overall,
                "criteria": criteria,
                "evidence": [e for c in criteria for e in c.evidence],
                "notes": notes,
                "covered": sorted(parts),
                "missed": missing,
            }
        )

    # ------------------------------------------------------------------ deciding

    async def decide(self, view: RoundView, constraints: Constraints) -> Draft:
        """The decision alone: the words are rendered from whatever decision the rules keep (``speak``)."""
        return Draft(self._decide(view, constraints))

    def _decide(self, view: RoundView, constraints: Constraints) -> Decision:
        if constraints.forced:
            return Decision(
                move=constraints.forced, question_id=constraints.next_question_id, rationale=constraints.reason
            )
        answer = view.last_answer
        thread = view.thread
        if answer is None or thread is None:
            return self._next_question(constraints, "no open question")
        text = Text(answer["text"])
        if thread["kind"] == "lp":
            return self._decide_lp(view, text, constraints)
        if thread["kind"] == "failure":
            return self._decide_failure(view, text, constraints)
        return self._decide_technical(view, text, constraints)

    def _next_question(self, constraints: Constraints, why: str) -> Decision:
        if "ask" in constraints.allowed and constraints.next_question_id:
            return Decision(move="ask", question_id=constraints.next_question_id, rationale=why)
        return Decision(move="wrap_up", rationale=why + "; no question budget left")

    def _decide_technical(self, view: RoundView, text: Text, rules: Constraints) -> Decision:
        question, thread = view.question, view.thread
        assert question is not None and thread is not None, "a technical question is under discussion"
        allowed = set(rules.allowed)
        matches = self._key_point_matches(question, text)
        # terms named without explanation do not count as covered: the follow-ups still ask for them
        covered_now = [] if self._stuffed(text, matches) else sorted(matches)
        covered = set(thread["covered"]) | set(covered_now)
        uncovered = [k for k in sorted(question.rubric.key_points, key=lambda k: -k.weight) if k.id not in covered]
        stuck = _no_substance(text)

        # 1. a clarifying question gets an answer, once or twice per question
        if "clarify" in allowed and self._is_clarifying(text) and thread["asked"].count("clarify") < 2:
            return Decision(move="clarify", covered=covered_now, rationale="the candidate asked a clarifying question")
        # 2. stuck: a hint aimed at the biggest gap, else move on
        if stuck:
            target = self._hint_target(question, uncovered, thread["asked"])
            if "hint" in allowed and target is not None:
                return Decision(move="hint", key_point=target, rationale="the candidate is stuck")
            return self._next_question(rules, "the candidate is stuck and no hint is left")
        weights = {k.id: k.weight for k in question.rubric.key_points}
        progress = sum(weights[i] for i in covered if i in weights) / sum(weights.values())
        # a pivot needs a solid answer on a thread that is going reasonably well, not a wrong or hollow one
        solid = self._solid(question, text) and progress >= _PIVOT_MIN_COVERAGE
        story = question.kind in _STORY_KINDS
        # 3. a story told in "we": first pin down what the candidate did
        lp = view.catalog.lp_rubric
        if (
            story
            and "ownership" not in thread["asked"]
            and text.count(lp.collective_cues)
            > (text.count(lp.ownership_cues) + len(_FIRST_PERSON_ACTION.findall(text.folded)))
        ):
            return Decision(
                move="follow_up",
                star_part="ownership",
                covered=covered_now,
                rationale='the story says "we"; ask what the candidate did',
            )
        # 4. project deep dives dig into failure cases: a failure named in a story, or (projects) none yet
        if "failure_probe" in allowed and story and not any(t["kind"] == "failure" for t in view.state["stack"]):
            mode, quote = self._failure_trigger(view, text)
            opener = question.kind == "project" and thread["answers"] >= 1
            if mode or (opener and not self._failure_probed(view, question.id)):
                return Decision(
                    move="failure_probe",
                    failure_mode=mode,
                    quote=quote,
                    covered=covered_now,
                    rationale="dig into what went wrong",
                )
        # 5. an LP trigger in a solid answer: pivot mid-discussion, quoting the candidate (a wrong or hollow
        #    answer gets a technical follow-up instead)
        if "lp_pivot" in allowed and solid:
            pivot = self._lp_trigger(view, question, text)
            if pivot:
                principle, quote = pivot
                return Decision(
                    move="lp_pivot",
                    principle=principle,
                    quote=quote,
                    covered=covered_now,
                    rationale=f"the answer invites a {principle} probe",
                )
        # 6. follow up on the biggest uncovered key point
        follow_ups_asked = sum(1 for a in thread["asked"] if not a.startswith("hint:") and a != "clarify")
        if uncovered and follow_ups_asked < view.round.follow_ups_per_question:
            target = self._follow_up_target(question, uncovered, thread["asked"])
            return Decision(
                move="follow_up", key_point=target, covered=covered_now, rationale=f"not yet covered: {target}"
            )
        # 7. a planned pivot from this question's bridges, once the thread has had its say (a behavioural
        #    question is already a Leadership Principles probe)
        if "lp_pivot" in allowed and solid and question.lp_bridges and "behavioral" not in question.topics:
            fresh = [b for b in question.lp_bridges if b.principle not in view.state["principles_probed"]]
            if fresh:
                quote = self._salient_phrase(question, text)
                return Decision(
                    move="lp_pivot",
                    principle=fresh[0].principle,
                    quote=quote,
                    covered=covered_now,
                    rationale="planned pivot from this question",
                )
        return self._next_question(rules, "this question is done").model_copy(update={"covered": tuple(covered_now)})

    def _decide_lp(self, view: RoundView, text: Text, rules: Constraints) -> Decision:
        thread = view.thread
        assert thread is not None, "there is a thread under discussion"
        lp = view.catalog.lp_rubric
        parts = self._star_parts(view, text)
        seen = set(thread["covered"]) | set(parts)
        asked = thread["asked"]
        if _no_substance(text):
            return self._return(view, rules, [], "no story to dig into")
        n_mine = text.count(lp.ownership_cues) + len(_FIRST_PERSON_ACTION.findall(text.folded))
        if text.count(lp.collective_cues) > n_mine and "ownership" not in asked:
            return Decision(
                move="lp_follow_up",
                star_part="ownership",
                principle=thread["principle"],
                covered=sorted(parts),
                rationale='the story says "we"; ask what the candidate did',
            )
        missing = [p for p in _STAR_ORDER if p not in seen and p not in asked and p != "task"]
        if missing and len(asked) < 2:
            return Decision(
                move="lp_follow_up",
                star_part=missing[0],
                principle=thread["principle"],
                covered=sorted(parts),
                rationale=f"STAR gap: {missing[0]}",
            )
        return self._return(view, rules, sorted(parts), "the LP story is complete enough")

    def _decide_failure(self, view: RoundView, text: Text, rules: Constraints) -> Decision:
        thread = view.thread
        assert thread is not None, "there is a thread under discussion"
        ladder = view.catalog.failure_ladder
        mode_id = thread["failure_mode"]
        if mode_id is None:
            mode, quote = self._failure_trigger(view, text)
            if mode:
                return Decision(
                    move="failure_probe",
                    failure_mode=mode,
                    quote=quote,
                    rationale="the candidate named a failure; dig into it",
                )
            return self._return(view, rules, [], "no failure named")
        current = next(m for m in ladder.modes if m.id == mode_id)
        if thread["step"] + 1 < len(current.ladder) and "failure_probe" in rules.allowed:
            return Decision(move="failure_probe", failure_mode=mode_id, rationale="next rung of the failure ladder")
        return self._return(view, rules, [], "failure ladder finished")

    def _solid(self, question: Question, text: Text) -> bool:
        """A substantive answer: it covers a key point, with no red flag or common mistake, and is not a list
        of rubric terms. Only such an answer earns a Leadership Principles pivot."""
        matches = self._key_point_matches(question, text)
        flagged = any(text.find_affirmed(f.cues) for f in question.rubric.red_flags + question.rubric.mistakes)
        return bool(matches) and not flagged and not self._stuffed(text, matches)

    @staticmethod
    def _failure_probed(view: RoundView, question_id: str) -> bool:
        """Whether a failure probe already ran during this question."""
        asked_at = max((t["index"] for t in view.turns if t.get("move") == "ask"), default=0)
        return any(t.get("move") == "failure_probe" for t in view.turns if t["index"] > asked_at)

    def _return(self, view: RoundView, rules: Constraints, covered: list[str], why: str) -> Decision:
        base = view.technical_thread
        question = view.catalog.questions.get(base["question_id"] or "") if base else None
        if base is None or question is None or "return" not in rules.allowed:
            return self._next_question(rules, why).model_copy(update={"covered": tuple(covered)})
        uncovered = [
            k for k in sorted(question.rubric.key_points, key=lambda k: -k.weight) if k.id not in base["covered"]
        ]
        target = self._follow_up_target(question, uncovered, base["asked"]) if uncovered else None
        return Decision(move="return", key_point=target, question_id=question.id, covered=covered, rationale=why)

    # ------------------------------------------------------------------ cue helpers

    @staticmethod
    def _is_clarifying(text: Text) -> bool:
        stripped = text.folded.strip()
        return (
            stripped.endswith("?")
            and text.words <= 40
            and (any(stripped.startswith(o) for o in _CLARIFY_OPENERS) or text.words <= 15)
        )

    @classmethod
    def _follow_up_target(cls, question: Question, uncovered: list[KeyPoint], asked: list[str]) -> str | None:
        """The heaviest uncovered key point that has a follow-up which does not give the answer away."""
        missing = {kp.id for kp in uncovered}
        for kp in uncovered:
            if kp.id not in asked and cls._follow_up_text(question, kp.id, missing):
                return kp.id
        return next((kp.id for kp in uncovered if kp.id not in asked), uncovered[0].id if uncovered else None)

    @staticmethod
    def _hint_target(question: Question, uncovered: list[KeyPoint], asked: list[str]) -> str | None:
        given = {a.removeprefix("hint:") for a in asked if a.startswith("hint:")}
        for kp in uncovered:
            if any(h.key_point == kp.id for h in question.hints) and kp.id not in given:
                return kp.id
        if any(h.key_point is None for h in question.hints) and "None" not in given:
            return None if not uncovered else uncovered[0].id
        return None

    def _lp_trigger(self, view: RoundView, question: Question, text: Text) -> tuple[str, str] | None:
        probed = set(view.state["principles_probed"])
        for bridge in question.lp_bridges:
            m = text.find_affirmed(bridge.cues) if bridge.cues else None
            if m and bridge.principle not in probed:
                return bridge.principle, text.phrase(m)
        preferred = view.round.principles + [p for p in view.catalog.principles if p not in view.round.principles]
        for name in preferred:
            principle = view.catalog.principles.get(name)
            if principle is None or name in probed:
                continue
            m = text.find_affirmed(principle.trigger_cues)
            if m:
                return name, text.phrase(m)
        return None

    @staticmethod
    def _failure_trigger(view: RoundView, text: Text) -> tuple[str | None, str | None]:
        for mode in view.catalog.failure_ladder.modes:
            m = text.find_affirmed(mode.cues)
            if m:
                return mode.id, text.phrase(m)
        return None, None

    def _salient_phrase(self, question: Question, text: Text) -> str | None:
        matches = self._key_point_matches(question, text)
        if not matches:
            return None
        return text.phrase(min(matches.values(), key=lambda m: m.start))

    # ------------------------------------------------------------------ speaking

    def _line(self, view: RoundView, kind: str, **values: str) -> str:
        variants = view.catalog.lines.lines[kind]
        return variants[view.next_index % len(variants)].format(**values)

    def render(self, view: RoundView, d: Decision) -> str:
        """The interviewer's words for a decision."""
        catalog = view.catalog
        move = d.move
        if move == "ask":
            q = catalog.questions[d.question_id or ""]
            if not view.turns:
                opening = self._line(
                    view,
                    "opening",
                    round_title=view.round.title,
                    level=view.level,
                    duration_min=str(view.round.duration_min),
                )
                return opening + " " + self._line(view, "ask_first", prompt=q.prompt.strip(), title=q.title)
            return self._line(view, "ask_next", prompt=q.prompt.strip(), title=q.title)
        if move == "follow_up" and d.star_part == "ownership":
            return self._line(view, "follow_up", follow_up=_OWNERSHIP_PROBE, quote=d.quote or "")
        if move in ("follow_up", "return"):
            base = view.technical_thread if move == "return" else view.thread
            assert base is not None, "a follow-up or a return needs the technical thread"
            q = catalog.questions[base["question_id"] or ""]
            covered = set(base["covered"]) | (set(d.covered) if move == "follow_up" else set())
            missing = {k.id for k in q.rubric.key_points if k.id not in covered}
            follow = self._follow_up_text(q, d.key_point, missing)
            if move == "return":
                follow = follow or "Where would you take your answer from here?"
                return self._line(view, "return", title=q.title, follow_up=follow)
            if follow:
                return self._line(view, "follow_up", follow_up=follow, quote=d.quote or "")
            return self._line(view, "follow_up_generic", title=q.title.lower(), quote=d.quote or "")
        if move == "clarify":
            open_question = view.question
            answer = Text(view.last_answer["text"]) if view.last_answer else None
            for c in open_question.clarifications if open_question else []:
                if answer and answer.find_any(c.cues):
                    return c.text
            return self._line(view, "clarify_default")
        if move == "hint":
            hints = view.question.hints if view.question else []
            hint = next((h.text for h in hints if h.key_point == d.key_point), None) or (
                hints[0].text if hints else "Start from the definition and build up."
            )
            stuck = view.last_answer is not None and len(view.last_answer["text"].split()) < 12
            return self._line(view, "nudge_empty" if stuck else "hint", hint=hint)
        if move == "lp_pivot":
            probed = catalog.principles[d.principle or ""]
            bridges = view.question.lp_bridges if view.question else []
            bridge = next((b.bridge for b in bridges if b.principle == d.principle), None)
            if bridge and "{quote}" in bridge:
                if d.quote:
                    return bridge.format(quote=d.quote)
                bridge = None
            probe = probed.probes[view.next_index % len(probed.probes)]
            kind = "lp_pivot" if d.quote else "lp_pivot_unquoted"
            return self._line(view, kind, quote=d.quote or "", probe=probe, bridge=bridge or probe)
        if move == "lp_follow_up":
            if d.star_part == "ownership":
                return self._line(view, "lp_follow_up", follow_up=_OWNERSHIP_PROBE)
            part = next((s for s in catalog.lp_rubric.star if s.part == d.star_part), None)
            principle = catalog.principles.get(view.thread["principle"] or "") if view.thread else None
            text = (
                part.follow_up
                if part
                else (
                    principle.star_follow_ups[0]
                    if principle and principle.star_follow_ups
                    else "What did you do, and what was the result?"
                )
            )
            return self._line(view, "lp_follow_up", follow_up=text)
        if move == "failure_probe":
            ladder = catalog.failure_ladder
            top = view.thread
            if d.failure_mode is None:
                probe = ladder.opener
            else:
                mode = next(m for m in ladder.modes if m.id == d.failure_mode)
                step = top["step"] + 1 if top and top["kind"] == "failure" and top["failure_mode"] == mode.id else 0
                probe = mode.ladder[min(step, len(mode.ladder) - 1)]
            if d.quote:
                return self._line(view, "failure_probe", quote=d.quote, probe=probe)
            return self._line(view, "failure_probe_unquoted", probe=probe)
        return self._line(view, move)  # wrap_up, end

    @staticmethod
    def _follow_up_text(question: Question, key_point: str | None, missing: set[str]) -> str | None:
        """A follow-up on ``key_point`` that names none of the cues of the key points still ``missing``:
        asking "NOT EXISTS or LEFT JOIN?" of a candidate who wrote NOT IN would hand over the answer."""
        cues = [c for k in question.rubric.key_points if k.id in missing for c in k.cues if len(c) >= 4]
        for f in question.follow_ups:
            if f.key_point == key_point and not Text(f.text).find_any(cues):
                return f.text
        return None

    def speak(self, view: RoundView, decision: Decision) -> Speech:
        return TextSpeech(self.render(view, decision), self._delay)

    # ------------------------------------------------------------------ debrief

    async def debrief(self, view: RoundView) -> Debrief:
        return build_debrief(view, brain=self.name)
