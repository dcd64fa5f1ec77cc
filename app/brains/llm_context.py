"""The LLM brain's conversation: one message list, built from the round's state, that the interviewer's reply and the
grade of the same answer share up to their last message, laid out for provider prefix caching.

In order (docs/performance.md, "Prompt cost"):

1. **system**: the round's role, rules, moves, the Leadership Principles and the grading rules with the LP answer
   rubric (``interviewer_system`` + ``grader_system``): the same for every session of a round and level; then the
   current question's notes and rubric, with anchored examples per level built from its data (``question_notes``),
   and the summary of what is no longer quoted (``summary``). This part changes only when a question is asked or a
   chunk of history is summarised.
2. **the transcript** since the last summary, verbatim: interviewer turns as ``assistant`` messages, candidate turns as
   ``user`` messages inside ``<candidate_answer>`` tags. It only grows at its end between summaries: when it reaches
   ``llm_history_turns + llm_history_chunk_turns`` turns of the current question, the oldest chunk is summarised, and
   a new question starts a fresh transcript (its predecessor becomes one summary line).
3. **the instruction** of this call, last, inside the last user message: ``interviewer_turn`` (what the last
   answer's code did, where the round is, the allowed moves, the clock) or ``grader_turn`` (what the answer replies to, the criteria). A later call drops it
   from that message, so the next prompt starts with this one up to the end of the answer.

Roles alternate (system, user, assistant, user, ...), as strict chat templates require.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.content.models import Criterion, LevelBar, Question
from app.content.prompts import Prompts
from app.core.state import Turn
from app.core.view import RoundView
from app.grading.runs import run_notes

MAX_TURN_CHARS = 1500
JOINED = "(The candidate has joined the call.)"
CONTINUED = "(The interview goes on; the turns before this point are in the summary.)"
NO_ANSWER = "(No answer: the round is closing.)"


def data(text: str) -> str:
    """Candidate text as data: cut to size, and unable to close its own delimiter."""
    return text[:MAX_TURN_CHARS].replace("candidate_answer", "candidate-answer")


def answer_message(text: str) -> str:
    return f"<candidate_answer>\n{data(text)}\n</candidate_answer>"


# ---------------------------------------------------------------------------------------------- static prefix


def system_prefix(prompts: Prompts, view: RoundView) -> str:
    """Role, rules, moves, LP catalogue and grading rules: the same for every session of a round and level."""
    rnd, catalog = view.round, view.catalog
    principles = "\n".join(f"- {p.name}: {p.gist}" for p in catalog.principles.values())
    interviewer = prompts.render(
        "interviewer_system",
        round_title=rnd.title,
        level=view.level,
        level_note=rnd.levels[view.level],
        evaluates=", ".join(rnd.evaluates),
        persona=rnd.persona,
        principles=principles,
        failure_modes=", ".join(m.id for m in catalog.failure_ladder.modes),
    )
    lp = catalog.lp_rubric
    rubric = [_criterion_line(c) for c in lp.criteria]
    rubric.append("STAR parts: " + ", ".join(s.part for s in lp.star) + ".")
    grader = prompts.render("grader_system", lp_rubric="\n".join(rubric))
    return interviewer + "\n\n" + grader


def _criterion_line(c: Criterion, key_points: list[str] | None = None) -> str:
    a = c.anchors
    ids = f" [{', '.join(key_points)}]" if key_points else ""
    return (
        f"- {c.id} ({c.name}){ids}: 1 {a.strong_no_hire.strip()} | 2 {a.not_inclined.strip()} | "
        f"3 {a.inclined.strip()} | 4 {a.strong_hire.strip()}"
    )


# ---------------------------------------------------------------------------------------------- the question's notes


def question_notes(q: Question, view: RoundView) -> str:
    """The question's private notes: key points with what a correct answer states and the known wrong claims, the
    criteria with their level descriptions, anchored examples per level from the level's bars, and what the
    interviewer may use (follow-ups, hints, clarifications, LP bridges). All of it is the question's data."""
    r = q.rubric
    lines = [f"Question {q.id}: {q.title}. Asked as: {' '.join(q.prompt.split())}"]
    lines.append("Key points (id, weight: what a correct answer states; wrong: known wrong claims):")
    for k in r.key_points:
        says = [k.text] + [c.says for c in k.claims[:1] if c.says.strip() != k.text.strip()]
        lines.append(f"- {k.id} ({k.weight:g}): " + " / ".join(says))
        if k.wrong:
            lines.append("  wrong: " + " / ".join(w.says for w in k.wrong))
    lines.append(
        "Criteria (id [key points it rests on]: 1 strong_no_hire | 2 not_inclined | 3 inclined | 4 strong_hire):"
    )
    lines += [_criterion_line(c, c.key_points or None) for c in r.criteria]
    lines.append(
        f"Anchored examples at {view.level} (levels by the share of key-point weight stated with its mechanism):"
    )
    lines += anchors(q, view.catalog.grading.bars[view.level])
    if r.mistakes or r.red_flags:
        lines.append("Common mistakes and red flags: " + " / ".join(m.text for m in r.mistakes + r.red_flags))
    if q.follow_ups:
        lines.append(
            "Follow-ups (key point: question): " + " / ".join(f"{f.key_point}: {f.text}" for f in q.follow_ups)
        )
    if q.hints:
        lines.append("Hints (nudges, never the answer): " + " / ".join(h.text for h in q.hints))
    facts = [c.text for c in q.clarifications] + ([q.scope] if q.scope else [])
    if facts:
        lines.append("Facts you may state when asked: " + " / ".join(facts))
    if q.lp_bridges:
        lines.append("Leadership Principles bridges: " + " / ".join(f"{b.principle}: {b.bridge}" for b in q.lp_bridges))
    return "\n".join(lines)


def anchors(q: Question, bar: LevelBar) -> list[str]:
    """One anchored example per vote level, built from the key points (heaviest first) and the level's bar: what an
    answer at that level states, and for the bottom, a known wrong claim."""
    kps = sorted(q.rubric.key_points, key=lambda k: -k.weight)
    total = sum(k.weight for k in kps)

    def reaching(share: float) -> list:
        out, got = [], 0.0
        for k in kps:
            if got / total >= share:
                break
            out.append(k)
            got += k.weight
        return out

    def said(points: list) -> str:
        return " ".join(f'"{(k.claims[0].says if k.claims else k.text).strip()}"' for k in points)

    top, mid, low = reaching(bar.strong_hire), reaching(bar.inclined), reaching(bar.not_inclined)
    cues = [c for k in kps[:2] for c in k.cues[:1]]
    wrong = next((w.says for k in kps for w in k.wrong), None)
    bottom = (
        f'states a wrong claim, e.g. "{wrong}", or nothing the key points are about'
        if wrong
        else ("states nothing the key points are about")
    )
    return [
        f"- 4 strong_hire (>= {bar.strong_hire:.0%}): states {', '.join(k.id for k in top)}, e.g. {said(top)}",
        f"- 3 inclined (>= {bar.inclined:.0%}): states {', '.join(k.id for k in mid)}, e.g. {said(mid[-1:])}",
        f"- 2 not_inclined (>= {bar.not_inclined:.0%}): states {', '.join(k.id for k in low)}, or names terms "
        f"({', '.join(repr(c) for c in cues)}) without the mechanism",
        f"- 1 strong_no_hire: {bottom}",
    ]


# ---------------------------------------------------------------------------------------------- history


@dataclass(frozen=True)
class Window:
    """Where the verbatim transcript starts (``start``, an interviewer turn), and where the current question's
    transcript began (``question_start``, its ``ask`` turn)."""

    start: int
    question_start: int


def window(turns: list[Turn], history: int, chunk: int) -> Window:
    """The verbatim window: from the current question's ``ask`` turn, less whole chunks of ``chunk`` turns once
    more than ``history + chunk - 1`` turns are verbatim. Between two summaries it only grows at its end."""
    chunk += chunk % 2  # whole exchanges: the window starts on an interviewer turn
    asks = [t["index"] for t in turns if t["role"] == "interviewer" and t.get("move") == "ask"]
    question_start = asks[-1] if asks else 0
    n = len(turns) - question_start
    k = max(0, (n - history) // chunk)
    return Window(start=question_start + k * chunk, question_start=question_start)


def summary(view: RoundView, w: Window) -> str:
    """What is no longer quoted: one line per earlier question, one for the summarised part of this one. Made from
    turns before ``w.start`` and their grades only, so it stays the same until the window moves."""
    catalog, turns = view.catalog, view.turns
    grades = {g.turn: g.overall for g in view.grades if g.turn < w.start}
    asks = [t["index"] for t in turns if t["role"] == "interviewer" and t.get("move") == "ask"]
    lines = []
    for a, b in zip(asks, [*asks[1:], w.start], strict=False):
        b = min(b, w.start)
        if a >= b:
            continue
        part = turns[a:b]
        q = catalog.questions.get(part[0].get("question_id") or "")
        title = f"'{q.title}'" if q else "the question"
        label = "Earlier on this question" if a == w.question_start else f"Question {title}"
        lines.append(f"- {label}: {_segment(part, grades)}")
    return "\n".join(lines) or "(nothing yet)"


def _segment(part: list[Turn], grades: dict[int, int | None]) -> str:
    answers = [t for t in part if t["role"] == "candidate"]
    asked = list(
        dict.fromkeys(str(t.get("key_point")) for t in part if t["role"] == "interviewer" and t.get("key_point"))
    )
    probes = list(
        dict.fromkeys(str(t.get("principle")) for t in part if t.get("move") == "lp_pivot" and t.get("principle"))
    )
    failure = any(t.get("move") == "failure_probe" for t in part)
    levels = [grades.get(t["index"]) for t in answers]
    tally = ", ".join(f"{levels.count(lv)}x {lv or 'none'}" for lv in (4, 3, 2, 1, None) if levels.count(lv))
    out = [f"{len(answers)} answer(s) (grades: {tally or 'none'})"]
    if asked:
        out.append(f"asked about {', '.join(asked)}")
    if probes:
        out.append(f"LP probe of {', '.join(probes)}")
    if failure:
        out.append("a failure-case probe")
    return "; ".join(out) + "."


def _interviewer_message(t: Turn) -> str:
    return json.dumps({"move": t.get("move"), "utterance": t["text"][:MAX_TURN_CHARS]}, ensure_ascii=False)


def conversation(
    prompts: Prompts, view: RoundView, history: int, chunk: int, instruction: str, upcoming: str | None = None
) -> list[dict]:
    """The messages of one call: the stable prefix, the verbatim transcript, and ``instruction`` last. Before any
    question is open, the notes are those of ``upcoming`` (the question the opening asks), so the first answer's
    calls find the opening's prompt cached."""
    w = window(view.turns, history, chunk)
    q = view.catalog.questions.get(view.technical_question_id or upcoming or "")
    context = prompts.render(
        "question_context",
        question_notes=question_notes(q, view) if q else "(no question open yet)",
        summary=summary(view, w),
    )
    messages: list[dict] = [
        {"role": "system", "content": system_prefix(prompts, view) + "\n\n" + context},
        {"role": "user", "content": CONTINUED if w.start > 0 else JOINED},
    ]
    for t in view.turns[w.start :]:
        if t["role"] == "interviewer":
            messages.append({"role": "assistant", "content": _interviewer_message(t)})
        elif messages[-1]["role"] == "user":  # two candidate turns in a row (never in a round): keep alternation
            messages[-1] = {**messages[-1], "content": messages[-1]["content"] + "\n" + answer_message(t["text"])}
        else:
            messages.append({"role": "user", "content": answer_message(t["text"])})
    if messages[-1]["role"] == "assistant":  # the round closes with no new answer
        messages.append({"role": "user", "content": NO_ANSWER})
    last = messages[-1]
    messages[-1] = {**last, "content": last["content"] + "\n\n" + instruction}
    return messages


# ---------------------------------------------------------------------------------------------- the last message


def thread_line(view: RoundView) -> str:
    """Where the round is (changes every turn, so it goes in the last message)."""
    catalog, parts = view.catalog, []
    for t in view.state["stack"]:
        if t["kind"] == "technical":
            q = catalog.questions[t["question_id"] or ""]
            asked = list(dict.fromkeys(a for a in t["asked"] if a != "generic"))
            parts.append(
                f"Technical question '{q.title}': {t['answers']} answer(s); key points covered: "
                f"{', '.join(t['covered']) or 'none'}; already asked: {', '.join(asked) or 'nothing yet'}."
            )
        elif t["kind"] == "lp":
            p = catalog.principles[t["principle"] or ""]
            parts.append(
                f"Suspended for a Leadership Principles probe of {p.name}; STAR parts heard: "
                f"{', '.join(t['covered']) or 'none'}; STAR follow-ups: {' / '.join(p.star_follow_ups[:3])}."
            )
        else:
            mode = next((m for m in catalog.failure_ladder.modes if m.id == t["failure_mode"]), None)
            ladder = " -> ".join(mode.ladder) if mode else catalog.failure_ladder.opener
            parts.append(
                f"Suspended for a failure-case probe ({t['failure_mode'] or 'opener'}, rung {t['step']}): {ladder}"
            )
    state = view.state
    parts.append(
        f"Principles probed: {', '.join(state['principles_probed']) or 'none'}. "
        f"Hints used: {state['hints_used']} of {view.round.hint_budget}."
    )
    return "\n".join(parts if view.state["stack"] else ["The round is starting.", *parts])


def turn_instruction(
    prompts: Prompts,
    view: RoundView,
    allowed: list[str],
    next_question_id: str | None,
    forced: str | None,
    reason: str,
    note: str = "",
    execution: bool = True,
) -> str:
    """The interviewer's instruction for this turn: what the last answer's code did (coding questions), where the
    round is, the clock, the allowed moves, a forced move and ``note``."""
    next_q = ""
    if next_question_id and "ask" in allowed:
        nq = view.catalog.questions[next_question_id]
        next_q = f"If you ask, the next question is '{nq.title}'."
    instruction = f"You must make the move '{forced}' now ({reason})." if forced else ""
    run = run_notes(view, execution=execution).strip()
    return prompts.render(
        "interviewer_turn",
        run=run + "\n\n" if run else "",
        thread=thread_line(view),
        clock=f"Minutes elapsed: {view.elapsed_min:.0f} of {view.round.duration_min}.",
        allowed=", ".join(allowed),
        next_question=next_q,
        instruction=" ".join(x for x in (instruction, note) if x),
    )


def grade_instruction(prompts: Prompts, view: RoundView, answered: Turn | None) -> tuple[str, list[tuple[str, str]]]:
    """The grader's instruction for the last answer, and the criteria (id, name) it grades."""
    catalog, thread = view.catalog, view.thread
    assert thread is not None, "a graded answer belongs to a thread"
    move = answered.get("move") if answered else None
    extra = ""
    if thread["kind"] in ("lp", "failure"):
        criteria = catalog.lp_rubric.criteria
        if thread["kind"] == "lp":
            p = catalog.principles[thread["principle"] or ""]
            extra = (
                f"The principle probed: {p.name} ({p.gist}). Signals: {'; '.join(p.positive_signals)}. "
                f"Red flags: {'; '.join(p.red_flags)}."
            )
        star = answered.get("star_part") if answered and move in ("lp_follow_up", "follow_up") else None
        if star:
            answers = (
                f"It answers a STAR follow-up asking for the {star}: grade that part of the story, not the whole story."
            )
        elif thread["kind"] == "failure":
            answers = f"It answers a failure-case probe (rung {thread['step']}): grade how well it tells that rung."
        else:
            answers = "It answers a Leadership Principles probe: grade the story."
        criterion_ids = ", ".join(c.id for c in criteria) + " (the Leadership Principles answer rubric)"
    else:
        q = catalog.questions[thread["question_id"] or ""]
        criteria = q.rubric.criteria
        target = answered.get("key_point") if answered and move in ("follow_up", "hint", "return") else None
        kp = next((k for k in q.rubric.key_points if k.id == target), None)
        if kp is not None:
            answers = f"It answers a {move} on key point {kp.id} ({kp.text}): grade how well it answers that point."
        else:
            answers = f"It answers the question '{q.title}' as a whole."
        criterion_ids = ", ".join(c.id for c in criteria)
    text = prompts.render(
        "grader_turn",
        answers=answers,
        criteria=criterion_ids,
        level=view.level,
        level_note=view.round.levels[view.level],
        extra=extra,
    )
    return text, [(c.id, c.name) for c in criteria]
