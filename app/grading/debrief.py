"""Mechanical aggregation of a round's turn grades into an Amazon-style debrief.

Structured-interview research favours combining ratings mechanically; this module does exactly that, from the stored
grades and their evidence only. Every pro and con cites the candidate turn it rests on; what a question's answers
missed is judged on all of that question's turns together (a failure thread counts for the project it dug into);
nothing is said of a competency the round gave no evidence on; with too little evidence there is no vote, and the
debrief says so. The practice plan is a list of drills: the question, the key point missed, what a strong answer
states. Brains may rephrase the summary, never the numbers.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import median_low
from typing import Literal

from app.content.catalog import Catalog
from app.content.models import Question
from app.core.grades import Citation, Competency, Debrief, Drill, LPDataPoint, PrincipleOutcome, TurnGrade
from app.core.view import RoundView
from app.core.vocabulary import Vote

_MAX_ITEMS = 4
_MAX_DRILLS = 6
_MIN_EVIDENCED_ANSWERS = 1  # fewer answers with evidence than this: no vote
INSUFFICIENT = "insufficient_evidence"
OFFLINE_CAVEAT = (
    "The offline rules brain judges what your answers state against the rubric's claims for each key point. It "
    "cannot check the numbers you quote, code you describe in words, or a line of reasoning it has no claim for; "
    "grades marked tentative are the least certain."
)


def _cite(
    comp: Competency, kind: Literal["pro", "con"], text: str, turn: int, number: int, quote: str | None = None
) -> None:
    """Cite transcript turn ``turn``; the text names it as the candidate's answer ``number`` (1-based, as the room
    and the replay number them)."""
    items = comp.pros if kind == "pro" else comp.cons
    labelled = f"{text} (answer {number})"
    if labelled in items or len(items) >= _MAX_ITEMS:
        return
    items.append(labelled)
    comp.citations.append(Citation(kind=kind, text=text, turn=turn, quote=quote))


def _competency(catalog: Catalog, grade: TurnGrade, criterion_id: str) -> str:
    tpl = catalog.debrief
    if grade.kind in ("lp", "failure"):
        return tpl.lp_competency
    if criterion_id in tpl.criterion_competency:
        return tpl.criterion_competency[criterion_id]
    question = catalog.questions.get(grade.question_id or "")
    return tpl.kind_competency.get(question.kind, tpl.default_competency) if question else tpl.default_competency


def _drill(question: Question, key_point_id: str, turn: int | None) -> Drill:
    kp = next(k for k in question.rubric.key_points if k.id == key_point_id)
    outline = [c.says for c in kp.claims[:2]] or [kp.text]
    return Drill(
        question_id=question.id, title=question.title, key_point=kp.id, missed=kp.text, outline=outline, turn=turn
    )


def build_debrief(view: RoundView, brain: str) -> Debrief:
    catalog, rnd = view.catalog, view.round
    tpl = catalog.debrief
    grades = [g for g in view.grades if g.kind not in ("closing", "clarifying")]
    answered = [g for g in grades if g.kind in ("technical", "lp", "failure", "no_answer")]
    evidenced = [g for g in answered if g.overall is not None]
    comps = {cid: Competency(id=cid, title=title) for cid, title in tpl.competencies.items()}
    levels: dict[str, list[int]] = defaultdict(list)
    notes: list[str] = []
    candidate_turns = [t["index"] for t in view.state["turns"] if t["role"] == "candidate"]
    number = {index: n for n, index in enumerate(candidate_turns, 1)}  # transcript index -> answer number

    for g in evidenced:
        for c in g.criteria:
            if c.level is None:
                continue
            # the turn's overall judgement (red flags, thin or parroted answers) bounds each of its criteria
            level = min(c.level, g.overall) if g.overall is not None else c.level
            comp_id = _competency(catalog, g, c.id)
            levels[comp_id].append(level)
            quote = c.evidence[0] if c.evidence else None
            _cite(
                comps[comp_id],
                "pro" if level >= 3 else "con",
                f'{c.name}: "{quote}"' if quote else c.name,
                g.turn,
                number.get(g.turn, g.turn),
                quote,
            )
        for note in g.notes:
            if note.startswith(("misconception:", "red flag:")):
                comp_id = tpl.lp_competency if g.kind in ("lp", "failure") else tpl.default_competency
                _cite(comps[comp_id], "con", note, g.turn, number.get(g.turn, g.turn))

    # what each question's answers missed, over all of the question's turns
    drills: list[Drill] = []
    by_question: dict[str, list[TurnGrade]] = defaultdict(list)
    for g in answered:
        if g.question_id:
            by_question[g.question_id].append(g)
    for qid in dict.fromkeys(view.state["asked_questions"]):
        question = catalog.questions.get(qid)
        turns = by_question.get(qid, [])
        if question is None or not any(g.overall is not None for g in turns):
            continue
        covered = {c for g in turns for c in g.covered}
        last = max(g.turn for g in turns)
        weights = {k.id: k.weight for k in question.rubric.key_points}
        missed = [k for k in sorted(weights, key=lambda k: -weights[k]) if k not in covered]
        comp = comps[tpl.kind_competency.get(question.kind, tpl.default_competency)]
        for kp_id in missed[:2]:
            drill = _drill(question, kp_id, last)
            missed_text = f"{question.title}: did not cover that {drill.missed[0].lower()}{drill.missed[1:]}"
            _cite(comp, "con", missed_text, last, number.get(last, last))
            if len(drills) < _MAX_DRILLS:
                drills.append(drill)
    for g in grades:
        if g.kind == "no_answer" and g.question_id in catalog.questions:
            title = catalog.questions[g.question_id].title
            notes.append(
                f'Answer {number.get(g.turn, g.turn)} on "{title}" gave nothing to grade (stuck, or no substance).'
            )

    for cid, comp in comps.items():
        comp.level = median_low(levels[cid]) if levels[cid] else None
    relevant = _relevant_competencies(view, evidenced)
    for cid, comp in comps.items():
        if comp.level is None and cid in relevant:
            comp.unknowns.append(f"no evidence on {comp.title.lower()} in this round")

    # Leadership Principles: data points and probed-vs-demonstrated
    lp_points: list[LPDataPoint] = []
    outcomes: list[PrincipleOutcome] = []
    for name in dict.fromkeys(view.state["principles_probed"]):
        story = [g for g in grades if g.kind == "lp" and g.principle == name]
        graded = [g.overall for g in story if g.overall is not None]
        # the story as a whole, as the competency reads it (its median), not its best moment
        story_level = median_low(graded) if graded else None
        outcomes.append(
            PrincipleOutcome(
                principle=name, probed=True, demonstrated=bool(story_level and story_level >= 3), level=story_level
            )
        )
        for g in story:
            if g.evidence:
                polarity = "positive" if (g.overall or 0) >= 3 else "negative"
                lp_points.append(LPDataPoint(principle=name, quote=g.evidence[0], polarity=polarity, turn=g.turn))
        heard = {c for g in story for c in g.covered}
        missing = [p for p in ("situation", "action", "result", "lessons") if p not in heard]
        if story and missing and len(drills) < _MAX_DRILLS:
            part = next(s for s in catalog.lp_rubric.star if s.part == missing[0])
            drills.append(
                Drill(
                    question_id=story[0].question_id or "",
                    title=f"{name} story",
                    missed=f"the {missing[0]}",
                    outline=[part.strong],
                    turn=story[-1].turn,
                )
            )
    lp_comp = comps[tpl.lp_competency]
    for name in rnd.principles:
        if name not in view.state["principles_probed"] and tpl.lp_competency in relevant:
            lp_comp.unknowns.append(f"{name} was not probed")

    graded_levels = [c.level for c in comps.values() if c.level is not None]
    red_flags = [n for g in evidenced for n in g.notes if n.startswith("red flag")]
    vote_level: int | None = None
    vote = INSUFFICIENT
    if len(evidenced) >= _MIN_EVIDENCED_ANSWERS and graded_levels:
        mean = round(sum(graded_levels) / len(graded_levels))
        level = max(1, min(4, mean, min(graded_levels) + 1))
        vote_level = min(level, 2) if red_flags else level
        vote = Vote(vote_level).name
    summary = _summary(view, vote, vote_level, comps, evidenced, answered)
    if len(evidenced) == 1 and vote_level is not None:
        notes.append("The vote rests on a single answer: treat it as a first impression, not a verdict.")
    tentative = sum(1 for g in evidenced if g.confidence == "low")
    if tentative:
        notes.append(f"{tentative} of {len(evidenced)} grades are tentative (the grader was not sure).")
    return Debrief(
        vote=vote,
        vote_level=vote_level,
        brain=brain,
        summary=summary,
        competencies=list(comps.values()),
        lp_data_points=lp_points,
        principles=outcomes,
        practice_plan=[_plan_line(d) for d in drills],
        drills=drills,
        turns_graded=len(answered),
        turns_without_evidence=len(answered) - len(evidenced),
        notes=notes,
        caveats=[OFFLINE_CAVEAT] if brain == "offline" else [],
    )


def _relevant_competencies(view: RoundView, evidenced: list[TurnGrade]) -> set[str]:
    """Competencies the round could have shown: those its questions' criteria map to, and LP when it probes them."""
    tpl = view.catalog.debrief
    out = {_competency(view.catalog, g, c.id) for g in evidenced for c in g.criteria}
    for qid in view.state["asked_questions"]:
        q = view.catalog.questions.get(qid)
        if q:
            out |= {
                tpl.criterion_competency.get(c.id, tpl.kind_competency.get(q.kind, tpl.default_competency))
                for c in q.rubric.criteria
            }
    if view.round.lp_quota or view.state["principles_probed"]:
        out.add(tpl.lp_competency)
    return out


def _summary(
    view: RoundView,
    vote: str,
    vote_level: int | None,
    comps: dict[str, Competency],
    evidenced: list[TurnGrade],
    answered: list[TurnGrade],
) -> str:
    rnd = view.round
    if vote_level is None:
        return (
            f"No vote for {rnd.title} at {view.level}: {len(evidenced)} of {len(answered)} answers gave gradable "
            "evidence, too little to judge against the bar."
        )
    summary = (
        f"{vote.replace('_', ' ').capitalize()} for {rnd.title} at {view.level}: "
        f"{len(evidenced)} of {len(answered)} answers gave gradable evidence."
    )
    ranked = [(c.level, len(c.citations), c) for c in comps.values() if c.level is not None]
    if len(ranked) >= 2:
        strongest = max(ranked, key=lambda x: (x[0], x[1]))[2]
        weakest = min(ranked, key=lambda x: (x[0], -x[1]))[2]
        if strongest.id != weakest.id and (strongest.level or 0) > (weakest.level or 0):
            summary += f" Strongest: {strongest.title.lower()}. Weakest: {weakest.title.lower()}."
    return summary


def _plan_line(d: Drill) -> str:
    outline = " ".join(s.rstrip(".") + "." for s in d.outline)
    return f"{d.title}: practise {d.missed[0].lower()}{d.missed[1:].rstrip('.')}. A strong answer: {outline}"
