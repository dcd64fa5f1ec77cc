"""The rules of a round, enforced by the graph whatever the brain: LP quota, hint budget, time and question
budgets, the thread stack, and never asking a question twice.

``constraints`` says what the next move may be; ``enforce`` turns a brain's decision into one that obeys;
``apply`` turns the decision into the state update (thread stack transitions).
"""

from __future__ import annotations

from typing import Any

from app.core.ports import Constraints, Decision
from app.core.state import InterviewState, Thread, new_thread
from app.core.view import RoundView
from app.core.vocabulary import MOVES, STAR_TARGETS, Move


def constraints(view: RoundView) -> Constraints:
    """The moves the rules allow now."""
    state, rnd, thread = view.state, view.round, view.thread
    next_q = view.next_question_id()
    if not state["turns"]:
        if next_q is None:
            return Constraints(allowed=["wrap_up"], forced="wrap_up", reason="no question available")
        return Constraints(allowed=["ask"], next_question_id=next_q, forced="ask", reason="the round opens")
    if state["phase"] == "wrap_up":
        return Constraints(allowed=["end"], forced="end", reason="the candidate answered the wrap-up")
    if view.elapsed_min >= rnd.duration_min:
        return Constraints(allowed=["wrap_up"], forced="wrap_up", reason="time budget reached")

    allowed: list[Move] = []
    budget_left = len(set(state["asked_questions"])) < rnd.question_budget
    if next_q is not None and budget_left:
        allowed.append("ask")
    else:
        allowed.append("wrap_up")
    if thread is None:
        return Constraints(allowed=allowed, next_question_id=next_q if budget_left else None)
    if thread["kind"] == "technical":
        allowed += ["follow_up", "clarify"]
        if state["hints_used"] < rnd.hint_budget:
            allowed.append("hint")
        if len(state["principles_probed"]) < rnd.lp_quota:
            allowed.append("lp_pivot")
        if rnd.failure_probes:
            allowed.append("failure_probe")
    elif thread["kind"] == "lp":
        allowed += ["lp_follow_up", "clarify", "return"]
    else:  # failure
        allowed += ["failure_probe", "clarify", "return"]
    return Constraints(allowed=allowed, next_question_id=next_q if budget_left else None)


def enforce(decision: Decision, rules: Constraints, view: RoundView) -> Decision:
    """A decision that obeys the rules: forced moves win; a disallowed move falls back to the closest allowed
    one; ``ask`` always asks the planned, not-yet-asked question; principles must exist and be fresh."""
    if rules.forced:
        if decision.move == rules.forced and (rules.forced != "ask" or decision.question_id == rules.next_question_id):
            return decision
        return Decision(
            move=rules.forced,
            question_id=rules.next_question_id if rules.forced == "ask" else None,
            rationale=f"rule: {rules.reason}",
        )
    move = decision.move
    if move == "lp_pivot" and (
        decision.principle not in view.catalog.principles or decision.principle in view.state["principles_probed"]
    ):
        move = "follow_up"
    if move not in rules.allowed:
        fallback = next(m for m in ("return", "follow_up", "lp_follow_up", "ask", "wrap_up") if m in rules.allowed)
        decision = decision.model_copy(
            update={"move": fallback, "rationale": f"rule: {move} not allowed now; " + decision.rationale}
        )
    elif move != decision.move:
        decision = decision.model_copy(
            update={"move": move, "rationale": "rule: principle unknown or probed; " + decision.rationale}
        )
    if decision.move == "ask":
        decision = decision.model_copy(update={"question_id": rules.next_question_id})
    if decision.move not in MOVES:  # pragma: no cover - Move is a Literal; kept as a last guard
        raise ValueError(f"unknown move {decision.move!r}")
    answer = view.last_answer
    if decision.quote and (answer is None or decision.quote not in answer["text"]):
        decision = decision.model_copy(update={"quote": None})
    return _only_real_fields(decision, view)


def _only_real_fields(decision: Decision, view: RoundView) -> Decision:
    """Drop what a brain attached but does not exist or does not belong to the move: a principle outside the
    catalogue or on a non-LP move, a key point the question does not have, an unknown failure mode."""
    catalog = view.catalog
    base = view.technical_thread
    question = catalog.questions.get(base["question_id"]) if base and base["question_id"] else None
    key_points = {k.id for k in question.rubric.key_points} if question else set()
    update: dict[str, Any] = {}
    if decision.principle and (
        decision.move not in ("lp_pivot", "lp_follow_up") or decision.principle not in catalog.principles
    ):
        update["principle"] = None
    if decision.key_point and decision.key_point not in key_points:
        update["key_point"] = None
    if decision.failure_mode and decision.failure_mode not in {m.id for m in catalog.failure_ladder.modes}:
        update["failure_mode"] = None
    if decision.claim and (
        question is None or decision.claim not in {c.id for k in question.rubric.key_points for c in k.wrong}
    ):
        update["claim"], update["tactic"] = None, None if decision.tactic == "probe_misconception" else decision.tactic
    if decision.covered:
        known = key_points | set(STAR_TARGETS)
        update["covered"] = tuple(c for c in decision.covered if c in known)
    return decision.model_copy(update=update) if update else decision


def _follow_up_marks(decision: Decision) -> list[str]:
    """What a follow-up spends: its key point (or STAR part), and the probe or push it made (never made twice)."""
    if decision.tactic == "follow_run":  # following the candidate's run (app/grading/runs.py)
        return [f"run:{decision.run_probe or 'run'}", *([decision.key_point] if decision.key_point else [])]
    marks = [decision.key_point or decision.star_part or "generic"]
    if decision.tactic == "probe_misconception" and decision.claim:
        marks.append(f"probe:{decision.claim}")
    elif decision.tactic == "push_mechanism":
        marks.append("mech")
    return marks


def apply(decision: Decision, view: RoundView) -> dict[str, Any]:
    """The state update for ``decision``: the thread stack transition and the budgets it spends."""
    state: InterviewState = view.state
    decision = _only_real_fields(decision, view)  # fields a streamed reply filled in after the rules checked it
    stack: list[Thread] = [t.copy() for t in state["stack"]]
    update: dict[str, Any] = {}
    if stack and view.last_answer is not None:
        top = stack[-1]
        top["answers"] += 1
        top["covered"] = list(dict.fromkeys([*top["covered"], *decision.covered]))
    move = decision.move
    if move == "ask":
        stack = [new_thread("technical", decision.question_id)]
        update["asked_questions"] = [decision.question_id]
    elif move == "follow_up" and stack:
        stack[-1]["asked"] = stack[-1]["asked"] + _follow_up_marks(decision)
    elif move == "hint" and stack:
        stack[-1]["asked"] = stack[-1]["asked"] + [f"hint:{decision.key_point}"]
        update["hints_used"] = state["hints_used"] + 1
    elif move == "clarify" and stack:
        stack[-1]["asked"] = stack[-1]["asked"] + ["repeat" if decision.tactic == "repeat_question" else "clarify"]
    elif move == "lp_pivot":
        base = stack[0]["question_id"] if stack else None
        stack.append(new_thread("lp", base, principle=decision.principle))
        update["principles_probed"] = [decision.principle]
    elif move == "lp_follow_up" and stack:
        stack[-1]["asked"] = stack[-1]["asked"] + [decision.star_part or "generic"]
    elif move == "failure_probe":
        if stack and stack[-1]["kind"] == "failure":
            top = stack[-1]
            new_mode = decision.failure_mode is not None and decision.failure_mode != top["failure_mode"]
            top["step"] = decision.rung if decision.rung is not None else (0 if new_mode else top["step"] + 1)
            top["failure_mode"] = decision.failure_mode or top["failure_mode"]
        else:
            base = stack[0]["question_id"] if stack else None
            if stack:  # the opener or a ladder is asked once per question
                stack[0]["asked"] = stack[0]["asked"] + [f"failure:{decision.failure_mode or 'opener'}"]
            stack.append(new_thread("failure", base, failure_mode=decision.failure_mode))
            stack[-1]["step"] = decision.rung or 0
    elif move == "return":
        stack = stack[:1]
        if stack and decision.key_point:
            stack[0]["asked"] = stack[0]["asked"] + [decision.key_point]
    elif move == "wrap_up":
        update["phase"] = "wrap_up"
    elif move == "end":
        update["phase"] = "ended"
    update["stack"] = stack
    return update
