"""What the offline brain says for a decision: one small function per move (and per tactic of a follow-up), lines
from prompts/offline/lines.yaml and texts from the question bank.

Two rules hold for every line: the interviewer never says the same line twice in a round (a phrasing already used,
or one whose fixed words were, is skipped), and nothing it says states a claim of a key point the candidate has not
covered yet (app/grading/leaks.py): a follow-up or hint that would give the answer away is replaced by a generic one.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

from app.content.models import Question
from app.core.ports import Decision
from app.core.view import RoundView
from app.grading.leaks import leaked_claims
from app.grading.runs import run_line

_OWNERSHIP_PROBE = (
    'You said "we" a few times. What did you personally do, and what did others do?',
    "Which of those decisions were yours, and which were the team's?",
    "What was your own part in that, specifically?",
)
_GENERIC_FOLLOW_UP = "Walk me through the reasoning behind that, step by step."


def _fixed_parts(template: str) -> list[str]:
    return [literal.strip() for literal, _, _, _ in string.Formatter().parse(template) if literal.strip()]


def said_before(view: RoundView) -> list[str]:
    """Everything the interviewer has said in this round."""
    return [t["text"] for t in view.turns if t["role"] == "interviewer"]


def pick(view: RoundView, kind: str, **values: str) -> str:
    """A phrasing of ``kind`` not used yet in this round (rotating from the turn number), filled in."""
    variants = view.catalog.lines.lines[kind]
    used = said_before(view)

    def fresh(template: str) -> bool:
        longest = max(_fixed_parts(template), key=len, default="")
        return not (len(longest) >= 8 and any(longest in u for u in used))

    n = len(variants)
    order = [variants[(view.next_index + i) % n] for i in range(n)]
    for template in order:
        line = template.format(**values)
        if fresh(template) and line not in used:
            return line
    return order[0].format(**values)  # every phrasing used: the first in rotation (the content is still new)


def _fresh_text(view: RoundView, options: tuple[str, ...] | list[str]) -> str:
    used = said_before(view)
    return next((o for o in options if not any(o in u for u in used)), options[0])


def _uncovered(view: RoundView, question: Question) -> set[str]:
    base = view.technical_thread
    covered = set(base["covered"]) if base else set()
    return {k.id for k in question.rubric.key_points} - covered


def safe(view: RoundView, question: Question | None, line: str, target: str | None = None, names: bool = True) -> bool:
    """The line gives away nothing of a key point the candidate has not covered (app/grading/leaks.py)."""
    return question is None or not leaked_claims(line, question, _uncovered(view, question), target, names)


def follow_up_text(view: RoundView, question: Question, key_point: str | None) -> str | None:
    """The bank's follow-up on ``key_point``, unless it has been said already or would give an answer away."""
    used = said_before(view)
    for f in question.follow_ups:
        if f.key_point == key_point and not any(f.text in u for u in used) and safe(view, question, f.text, key_point):
            return f.text
    return None


def _quote(d: Decision) -> str:
    return d.quote or ""


# ---------------------------------------------------------------------------------------------- the moves


def _ask(view: RoundView, d: Decision) -> str:
    q = view.catalog.questions[d.question_id or ""]
    prompt = q.prompt.strip()
    if d.tactic == "move_on":
        return pick(view, "move_on", prompt=prompt, title=q.title)
    if not view.turns:
        rnd = view.round
        opening = pick(view, "opening", round_title=rnd.title, level=view.level, duration_min=str(rnd.duration_min))
        return opening + " " + pick(view, "ask_first", prompt=prompt, title=q.title)
    return pick(view, "ask_next", prompt=prompt, title=q.title)


def _technical_question(view: RoundView, d: Decision) -> Question:
    base = view.technical_thread if d.move == "return" else view.thread
    assert base is not None, "a follow-up or a return needs a question under discussion"
    return view.catalog.questions[base["question_id"] or ""]


def _follow_up(view: RoundView, d: Decision) -> str:
    if d.star_part == "ownership":
        return pick(view, "follow_up", follow_up=_fresh_text(view, _OWNERSHIP_PROBE), quote=_quote(d))
    if d.tactic == "follow_run":
        return run_line(view, d)
    q = _technical_question(view, d)
    if d.tactic == "probe_misconception" and d.claim:
        probe = next((c.probe for k in q.rubric.key_points for c in k.wrong if c.id == d.claim and c.probe), None)
        if probe and safe(view, q, probe, d.key_point):
            return pick(view, "probe_misconception", probe=probe, quote=_quote(d))
    if d.tactic == "push_mechanism" and d.quote:
        return pick(view, "push_mechanism", quote=d.quote)
    follow = follow_up_text(view, q, d.key_point)
    line = pick(view, "follow_up", follow_up=follow, quote=_quote(d)) if follow else None
    if d.tactic == "acknowledge_repeat":
        nxt = follow or pick(view, "follow_up_generic", title=q.title.lower(), quote=_quote(d))
        return pick(view, "acknowledge_repeat", next=nxt)
    return line or pick(view, "follow_up_generic", title=q.title.lower(), quote=_quote(d))


def _return(view: RoundView, d: Decision) -> str:
    q = _technical_question(view, d)
    follow = follow_up_text(view, q, d.key_point) or _GENERIC_FOLLOW_UP
    return pick(view, "return", title=q.title, follow_up=follow)


def _clarify(view: RoundView, d: Decision) -> str:
    q = view.question
    if d.tactic == "repeat_question" and q is not None:
        return pick(view, "repeat_question", prompt=q.prompt.strip(), title=q.title)
    answer = view.last_answer
    if q is not None and answer is not None:
        from app.grading.cues import Text

        text = Text(answer["text"])
        used = said_before(view)
        for c in q.clarifications:
            # clarifications and the scope are the setting's facts, reviewed as content (tests/unit/test_leaks.py)
            if text.find_any(c.cues) and c.text not in used:
                return c.text
        if q.scope and not any(q.scope in u for u in used):
            return pick(view, "clarify_scope", scope=q.scope)
    return pick(view, "clarify_default")


def _hint(view: RoundView, d: Decision) -> str:
    q = view.question
    hints = q.hints if q else []
    used = said_before(view)
    fresh = [
        h for h in hints if not any(h.text in u for u in used) and (q is None or safe(view, q, h.text, h.key_point))
    ]
    hint = next((h.text for h in fresh if h.key_point == d.key_point), None) or (
        fresh[0].text if fresh else "Start from the definition and build up from there."
    )
    stuck = view.last_answer is not None and len(view.last_answer["text"].split()) < 12
    return pick(view, "nudge_empty" if stuck else "hint", hint=hint)


def _lp_pivot(view: RoundView, d: Decision) -> str:
    principle = view.catalog.principles[d.principle or ""]
    if d.tactic == "dig_story" and d.quote:
        follow = _fresh_text(view, principle.star_follow_ups or ["What did you do, and how did it end?"])
        return pick(view, "lp_dig_story", quote=d.quote, follow_up=follow)
    bridges = view.question.lp_bridges if view.question else []
    bridge = next((b.bridge for b in bridges if b.principle == d.principle), None)
    if bridge and "{quote}" in bridge:
        if d.quote and not any(bridge.split("{quote}")[-1].strip() in u for u in said_before(view)):
            return bridge.format(quote=d.quote)
        bridge = None
    probe = _fresh_text(view, principle.probes[view.next_index % len(principle.probes) :] + principle.probes)
    kind = "lp_pivot" if d.quote else "lp_pivot_unquoted"
    return pick(view, kind, quote=_quote(d), probe=probe, bridge=bridge or probe)


def _lp_follow_up(view: RoundView, d: Decision) -> str:
    if d.star_part == "ownership":
        return pick(view, "lp_follow_up", follow_up=_fresh_text(view, _OWNERSHIP_PROBE))
    part = next((s for s in view.catalog.lp_rubric.star if s.part == d.star_part), None)
    if part is not None:
        text = _fresh_text(view, part.follow_ups)
    else:
        principle = view.catalog.principles.get(view.thread["principle"] or "") if view.thread else None
        text = _fresh_text(
            view, (principle.star_follow_ups if principle else []) or ["What did you do, and how did it end?"]
        )
    return pick(view, "lp_follow_up", follow_up=text)


def _failure_probe(view: RoundView, d: Decision) -> str:
    ladder = view.catalog.failure_ladder
    if d.failure_mode is None:
        probe = ladder.opener
    else:
        mode = next(m for m in ladder.modes if m.id == d.failure_mode)
        rung = d.rung if d.rung is not None else 0
        probe = mode.ladder[min(rung, len(mode.ladder) - 1)]
    if d.quote:
        return pick(view, "failure_probe", quote=d.quote, probe=probe)
    return pick(view, "failure_probe_unquoted", probe=probe)


_MOVES: dict[str, Callable[[RoundView, Decision], str]] = {
    "ask": _ask,
    "follow_up": _follow_up,
    "return": _return,
    "clarify": _clarify,
    "hint": _hint,
    "lp_pivot": _lp_pivot,
    "lp_follow_up": _lp_follow_up,
    "failure_probe": _failure_probe,
    "wrap_up": lambda view, d: pick(view, "wrap_up"),
    "end": lambda view, d: pick(view, "end"),
}


def render(view: RoundView, decision: Decision) -> str:
    """The interviewer's words for ``decision``."""
    return re.sub(r"\s+", " ", _MOVES[decision.move](view, decision)).strip()
