"""The offline decider: the interviewer's next move, from what the candidate just said and what they have said before.

On a technical question, in this order: answer a clarifying question (or repeat the question); move on when told
the question was already answered; one hint for "I don't know", then move on; probe a confident misconception with
its counter-example; push a vague answer for its mechanism; in a story, pin down what the candidate did; in a project,
dig into a failure; pivot to a Leadership Principle on a solid answer, hooked on the candidate's own situation
sentence (digging into the story they just told, if they told one); follow up on the heaviest key point not yet
covered; pivot on the question's planned bridge; else the next question. On a Leadership Principles probe: the STAR
parts still missing, then back to the technical question. On a failure probe: the next rung of the ladder the
candidate has not already told, then back. Nothing already covered, asked or said is asked again.
"""

from __future__ import annotations

from app.brains.offline.lines import follow_up_text
from app.brains.offline.reading import (
    FIRST_PERSON_ACTION,
    STORY_KINDS,
    Intent,
    Reading,
    looks_like_code,
    parts_told_before,
    read_turn,
)
from app.content.models import KeyPoint, Question
from app.core.ports import Constraints, Decision
from app.core.state import Thread
from app.core.view import RoundView
from app.grading.claims import PointState
from app.grading.runs import run_follow_up

_PIVOT_MIN_COVERAGE = 0.34  # share of the question's key-point weight covered before an LP pivot is earned
_STAR_ORDER = ("action", "result", "lessons")  # situation and task come out of these; never asked alone
_NOT_FOLLOW_UPS = ("hint:", "clarify", "repeat", "failure:", "mech", "probe:", "run:")  # marks that go with a follow-up


def _follow_ups_asked(thread: Thread) -> int:
    return sum(1 for a in thread["asked"] if not a.startswith(_NOT_FOLLOW_UPS))


class OfflineDecider:
    """Chooses the next move among those the rules allow (no model, deterministic)."""

    def decide(self, view: RoundView, constraints: Constraints) -> Decision:
        if constraints.forced:
            return Decision(
                move=constraints.forced, question_id=constraints.next_question_id, rationale=constraints.reason
            )
        answer, thread = view.last_answer, view.thread
        if answer is None or thread is None:
            return _next_question(constraints, "no open question")
        question = view.question if thread["kind"] == "technical" else None
        reading = read_turn(answer["text"], question)
        if thread["kind"] == "lp":
            return self._lp(view, thread, reading, constraints)
        if thread["kind"] == "failure":
            return self._failure(view, thread, reading, constraints)
        assert question is not None, "a technical thread has its question"
        return self._technical(view, question, thread, reading, constraints)

    # ------------------------------------------------------------------ a technical question

    def _technical(
        self, view: RoundView, question: Question, thread: Thread, reading: Reading, rules: Constraints
    ) -> Decision:
        allowed = set(rules.allowed)
        asked = thread["asked"]
        covered_now = tuple(
            sorted(p.key_point.id for p in reading.having(PointState.stated, PointState.rejected_misconception))
        )
        covered = set(thread["covered"]) | set(covered_now)
        # what has come up in this thread at all (stated, mentioned, even wrong): never asked about from scratch
        touched = covered | _touched(view, question)
        by_weight = sorted(question.rubric.key_points, key=lambda k: -k.weight)
        # what to ask about: key points nobody has touched yet, then the ones only named (never explained)
        uncovered = [k for k in by_weight if k.id not in touched] + [
            k for k in by_weight if k.id in touched and k.id not in covered
        ]
        intent = reading.intent
        may_follow_up = "follow_up" in allowed and _follow_ups_asked(thread) < view.round.follow_ups_per_question

        def decision(**fields: object) -> Decision:
            return Decision(covered=covered_now, **fields)

        # 1. a clarifying question gets an answer; "say that again" gets the question again
        if intent is Intent.clarify and "clarify" in allowed and asked.count("clarify") < 3:
            return decision(move="clarify", rationale="the candidate asked a clarifying question")
        if intent is Intent.repeat and "clarify" in allowed and asked.count("repeat") < 2:
            return decision(move="clarify", tactic="repeat_question", rationale="asked to hear the question again")
        # 2. "you asked that already": agree and ask about something not covered, or move on
        if intent is Intent.already_answered:
            target = self._follow_up_target(view, question, uncovered, asked)
            if target and "follow_up" in allowed:
                return decision(
                    move="follow_up",
                    key_point=target,
                    tactic="acknowledge_repeat",
                    rationale="the candidate said it was answered; ask about what is still open",
                )
            return _next_question(rules, "the candidate said the question was answered", covered_now)
        # 2b. the candidate's code ran: follow what it actually did (app/grading/runs.py)
        run = view.last_run
        followed = run_follow_up(view, run) if run is not None else None
        if followed is not None and followed.move in allowed:
            return followed.model_copy(update={"covered": tuple(sorted({*followed.covered, *covered_now}))})
        # 3. stuck: one hint per question, then move on (the same every time, and noted in the debrief)
        if intent in (Intent.dont_know, Intent.empty):
            given = any(a.startswith("hint:") for a in asked)
            target = _hint_target(question, uncovered)
            if "hint" in allowed and not given and question.hints:
                return decision(move="hint", key_point=target, rationale="the candidate is stuck: one hint")
            return _next_question(rules, "the candidate is stuck after a hint: moving on", covered_now, "move_on")
        # 4. a confident misconception: make the candidate test it, once per claim
        wrong = next((p for p in reading.wrong if p.hit and f"probe:{p.hit.claim.id}" not in asked), None)
        if wrong is not None and wrong.hit is not None and may_follow_up and wrong.hit.claim.probe:
            return decision(
                move="follow_up",
                key_point=wrong.key_point.id,
                claim=wrong.hit.claim.id,
                tactic="probe_misconception",
                quote=reading.quote((wrong.hit.clause.start, wrong.hit.clause.end)),
                rationale=f"probe the misconception: {wrong.hit.claim.says}",
            )
        # 5. the right words but no mechanism: ask how it works, once per question
        vague = not reading.having(PointState.stated, PointState.rejected_misconception) and reading.mentioned
        if vague and may_follow_up and "mech" not in asked:
            mention = reading.mentioned[0]
            quote = _mention_quote(reading, mention.span or (0, 0))
            if quote:
                return decision(
                    move="follow_up",
                    key_point=mention.key_point.id,
                    tactic="push_mechanism",
                    quote=quote,
                    rationale="terms without a mechanism: ask how it works",
                )
        story = question.kind in STORY_KINDS
        # 6. a story told as "we": pin down what the candidate did
        if story and "ownership" not in asked and may_follow_up and _says_we(view, reading):
            return decision(
                move="follow_up", star_part="ownership", rationale='the story says "we"; ask what the candidate did'
            )
        weights = {k.id: k.weight for k in question.rubric.key_points}
        progress = sum(weights[i] for i in covered if i in weights) / sum(weights.values())
        # a pivot needs a solid answer on a thread that has been followed up at least once: mid-discussion, not
        # instead of the discussion (a bar raiser digs into even a complete answer once first)
        solid = (
            bool(reading.stated)
            and not reading.wrong
            and progress >= _PIVOT_MIN_COVERAGE
            and (_follow_ups_asked(thread) >= 1 or not may_follow_up)
        )
        # never hooked on a remark about the interview ("I covered that in my solution")
        hookable = solid and not reading.points_back
        pivot = _lp_trigger(view, question, reading) if "lp_pivot" in allowed and hookable else None
        # 7. project deep dives dig into what went wrong: at once when the answer hints at it, else after the first
        # answer (unless the candidate just said something the round's first LP probe should pick up while it is
        # fresh)
        if "failure_probe" in allowed and story and not self._failure_dug(view, thread):
            mode, quote = _failure_trigger(view, reading)
            opener = (
                question.kind == "project"
                and thread["answers"] >= 1
                and (pivot is None or bool(view.state["principles_probed"]))
                # the generic "what did not go to plan?" is asked once a round, never again on the next project
                and not any(t.get("move") == "failure_probe" and not t.get("failure_mode") for t in view.turns)
            )
            if mode or opener:
                return decision(
                    move="failure_probe",
                    failure_mode=mode,
                    quote=quote,
                    rung=0,
                    rationale="dig into what went wrong",
                )
        # 8. an LP trigger in a solid answer: pivot, hooked on the candidate's own situation sentence
        if pivot:
            principle, quote, told_story = pivot
            return decision(
                move="lp_pivot",
                principle=principle,
                quote=quote,
                tactic="dig_story" if told_story else None,
                rationale=f"the answer invites a {principle} probe",
            )
        # 9. follow up on the heaviest key point not covered yet
        if uncovered and may_follow_up:
            target = self._follow_up_target(view, question, uncovered, asked)
            if target is not None:
                return decision(move="follow_up", key_point=target, rationale=f"not yet covered: {target}")
        # 9b. everything covered and nothing probed yet: one follow-up that tests depth (a bar raiser always digs once)
        if may_follow_up and _follow_ups_asked(thread) == 0 and reading.stated:
            shallow = sorted(reading.stated, key=lambda p: (p.depth, -p.key_point.weight))
            target = self._follow_up_target(view, question, [p.key_point for p in shallow], asked)
            if target is not None:
                return decision(move="follow_up", key_point=target, rationale=f"test the depth of: {target}")
        # 10. the question's planned pivot, once the thread has had its say (a behavioural question already is one)
        if "lp_pivot" in allowed and solid and question.lp_bridges and "behavioral" not in question.topics:
            fresh = [b for b in question.lp_bridges if b.principle not in view.state["principles_probed"]]
            if fresh:
                return decision(
                    move="lp_pivot",
                    principle=fresh[0].principle,
                    quote=_salient(reading),
                    rationale="planned pivot from this question",
                )
        return _next_question(rules, "this question is done", covered_now)

    @staticmethod
    def _follow_up_target(
        view: RoundView, question: Question, uncovered: list[KeyPoint], asked: list[str]
    ) -> str | None:
        """The heaviest uncovered key point not asked about yet whose follow-up can be said without a leak."""
        for kp in uncovered:
            if kp.id not in asked and follow_up_text(view, question, kp.id):
                return kp.id
        return None

    @staticmethod
    def _failure_dug(view: RoundView, thread: Thread) -> bool:
        """A failure probe already ran on this question (the opener is never asked twice)."""
        if any(a.startswith("failure:") for a in thread["asked"]):
            return True
        asked_at = max((t["index"] for t in view.turns if t.get("move") == "ask"), default=0)
        return any(t.get("move") == "failure_probe" for t in view.turns if t["index"] > asked_at)

    # ------------------------------------------------------------------ a Leadership Principles probe

    def _lp(self, view: RoundView, thread: Thread, reading: Reading, rules: Constraints) -> Decision:
        lp = view.catalog.lp_rubric
        parts = reading.story_parts(view.catalog)
        seen = set(thread["covered"]) | set(parts) | parts_told_before(view)  # the same story, told before
        asked = thread["asked"]
        covered = tuple(sorted(parts))
        if reading.intent is Intent.clarify and asked.count("clarify") < 2:
            return Decision(move="clarify", covered=covered, rationale="the candidate asked about the story wanted")
        if reading.intent in (Intent.dont_know, Intent.empty):
            return _return(view, rules, covered, "no story to dig into")
        text = reading.text
        n_mine = text.count(lp.ownership_cues) + len(FIRST_PERSON_ACTION.findall(text.folded))
        if text.count(lp.collective_cues) > n_mine and "ownership" not in asked:
            return Decision(
                move="lp_follow_up",
                star_part="ownership",
                principle=thread["principle"],
                covered=covered,
                rationale='the story says "we"; ask what the candidate did',
            )
        missing = [p for p in _STAR_ORDER if p not in seen and p not in asked]
        if not seen and "situation" not in asked:
            missing = ["situation"]
        if missing and len(asked) < 2:
            return Decision(
                move="lp_follow_up",
                star_part=missing[0],
                principle=thread["principle"],
                covered=covered,
                rationale=f"STAR gap: {missing[0]}",
            )
        return _return(view, rules, covered, "the LP story is complete enough")

    # ------------------------------------------------------------------ a failure probe

    def _failure(self, view: RoundView, thread: Thread, reading: Reading, rules: Constraints) -> Decision:
        ladder = view.catalog.failure_ladder
        if reading.intent in (Intent.dont_know, Intent.empty):
            return _return(view, rules, (), "nothing to dig into")
        mode_id = thread["failure_mode"]
        if mode_id is None:
            mode, quote = _failure_trigger(view, reading)
            if mode:
                return Decision(
                    move="failure_probe",
                    failure_mode=mode,
                    quote=quote,
                    rung=0,
                    rationale="the candidate named a failure; dig into it",
                )
            return _return(view, rules, (), "no failure named")
        current = next(m for m in ladder.modes if m.id == mode_id)
        told = " ".join(view.thread_answers()).lower()
        for rung in range(thread["step"] + 1, len(current.ladder)):
            cues = ladder.answered_by[rung] if rung < len(ladder.answered_by) else []
            already = any(c.lower() in told for c in cues)
            if not already and "failure_probe" in rules.allowed:
                return Decision(
                    move="failure_probe",
                    failure_mode=mode_id,
                    rung=rung,
                    rationale="next rung of the failure ladder not yet told",
                )
        return _return(view, rules, (), "failure ladder finished")


# ---------------------------------------------------------------------------------------------- helpers


def _next_question(rules: Constraints, why: str, covered: tuple[str, ...] = (), tactic: str | None = None) -> Decision:
    if "ask" in rules.allowed and rules.next_question_id:
        return Decision(move="ask", question_id=rules.next_question_id, rationale=why, covered=covered, tactic=tactic)
    return Decision(move="wrap_up", rationale=why + "; no question budget left", covered=covered)


def _return(view: RoundView, rules: Constraints, covered: tuple[str, ...], why: str) -> Decision:
    """Back to the technical question when there is something left to ask there (open, or not yet probed), else the
    next question."""
    base = view.technical_thread
    question = view.catalog.questions.get(base["question_id"] or "") if base else None
    if base is None or question is None or "return" not in rules.allowed:
        return _next_question(rules, why, covered)
    by_weight = sorted(question.rubric.key_points, key=lambda k: -k.weight)
    # what is still open first; then a covered point not yet probed, to test its depth (the thread is picked up
    # again either way: the pivot interrupted it)
    for kp in [k for k in by_weight if k.id not in base["covered"]] + [k for k in by_weight if k.id in base["covered"]]:
        if kp.id not in base["asked"] and follow_up_text(view, question, kp.id):
            return Decision(move="return", key_point=kp.id, question_id=question.id, covered=covered, rationale=why)
    return _next_question(rules, why + "; the technical question is covered", covered)


def _hint_target(question: Question, uncovered: list[KeyPoint]) -> str | None:
    for kp in uncovered:
        if any(h.key_point == kp.id for h in question.hints):
            return kp.id
    return None


def _phrase(reading: Reading, span: tuple[int, int]) -> str:
    """The clause around folded offsets ``span``, verbatim, short enough to quote back."""
    return reading.text.phrase_at(*reading.text.original_span(*span))


def _mention_quote(reading: Reading, span: tuple[int, int]) -> str | None:
    """Something worth quoting back around a mention: its phrase, or its clause when the phrase is a word or two
    (never a piece of code)."""
    phrase = _phrase(reading, span)
    if looks_like_code(phrase):
        return None
    if len(phrase.split()) >= 3:
        return phrase
    clause = next((c for c in reading.parts if c.start <= span[0] < c.end), None)
    if clause is None:
        return None
    quote = reading.quote((clause.start, clause.end))
    return quote if 3 <= len(quote.split()) <= 20 and not looks_like_code(quote) else None


def _touched(view: RoundView, question: Question) -> set[str]:
    """The key points any of this thread's answers stated, rejected, got wrong or mentioned."""
    out: set[str] = set()
    for answer in view.thread_answers():
        out |= {k for k, p in read_turn(answer, question).points.items() if p.state is not PointState.absent}
    return out


def _salient(reading: Reading) -> str | None:
    stated = sorted(reading.stated, key=lambda p: (p.span or (0, 0))[0])
    quote = _phrase(reading, stated[0].span) if stated and stated[0].span else None
    return None if quote is None or looks_like_code(quote) else quote


def _says_we(view: RoundView, reading: Reading) -> bool:
    lp = view.catalog.lp_rubric
    text = reading.text
    mine = text.count(lp.ownership_cues) + len(FIRST_PERSON_ACTION.findall(text.folded))
    return text.count(lp.collective_cues) > mine


def _failure_trigger(view: RoundView, reading: Reading) -> tuple[str | None, str | None]:
    for mode in view.catalog.failure_ladder.modes:
        m = reading.text.find_affirmed(mode.cues)
        if m:
            return mode.id, reading.text.phrase(m)
    return None, None


def _lp_trigger(view: RoundView, question: Question, reading: Reading) -> tuple[str, str | None, bool] | None:
    """(principle, the candidate's situation sentence to quote, whether the answer already tells a story)."""
    text = reading.text
    probed = set(view.state["principles_probed"])
    told_story = len(reading.story_parts(view.catalog)) >= 2 or bool(text.search(FIRST_PERSON_ACTION))

    def situation(m_start: int, m_end: int) -> str | None:
        """The clause of the trigger, or its phrase when the clause is long; never a piece of code."""
        quote = text.phrase_at(m_start, m_end)
        for clause in reading.parts:
            start, end = text.original_span(clause.start, clause.end)
            if start <= m_start < end:
                sentence = reading.quote((clause.start, clause.end))
                quote = sentence if len(sentence.split()) <= 20 else quote
                break
        return None if looks_like_code(quote) else quote

    for bridge in question.lp_bridges:
        m = text.find_affirmed(bridge.cues) if bridge.cues else None
        if m and bridge.principle not in probed:
            return bridge.principle, situation(m.start, m.end), told_story
    preferred = view.round.principles + [p for p in view.catalog.principles if p not in view.round.principles]
    for name in preferred:
        principle = view.catalog.principles.get(name)
        if principle is None or name in probed:
            continue
        m = text.find_affirmed(principle.trigger_cues)
        if m:
            return name, situation(m.start, m.end), told_story
    return None
