"""Mechanical aggregation of a round's turn grades into an Amazon-style debrief.

Structured-interview research favours combining ratings mechanically; this module does exactly that, from
the stored grades and their evidence only: competency levels, the vote, LP data points, pros / cons /
unknowns and a practice plan. Brains may rephrase the summary, never the numbers.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import median_low

from app.core.grades import Competency, Debrief, LPDataPoint, PrincipleOutcome, TurnGrade
from app.core.view import RoundView
from app.core.vocabulary import Vote

_MAX_ITEMS = 4


def _add(items: list[str], item: str) -> None:
    if item not in items and len(items) < _MAX_ITEMS:
        items.append(item)


def build_debrief(view: RoundView, brain: str) -> Debrief:
    catalog, rnd = view.catalog, view.round
    tpl = catalog.debrief
    grades = [g for g in view.grades if g.kind != "closing"]
    comps = {cid: Competency(id=cid, title=title) for cid, title in tpl.competencies.items()}
    levels: dict[str, list[int]] = defaultdict(list)

    for g in grades:
        for c in g.criteria:
            if c.level is None:
                continue
            # the turn's overall judgement (red flags, thin or parroted answers) bounds each of its criteria
            level = min(c.level, g.overall) if g.overall is not None else c.level
            comp_id = (
                tpl.lp_competency
                if g.kind in ("lp", "failure")
                else tpl.criterion_competency.get(c.id, tpl.default_competency)
            )
            comp = comps[comp_id]
            levels[comp_id].append(level)
            quote = f'{c.name}: "{c.evidence[0]}"'
            _add(comp.pros if level >= 3 else comp.cons, quote)

    # what the candidate never covered, per technical question (the last grade of each question knows)
    last_by_question: dict[str, TurnGrade] = {}
    for g in grades:
        if g.kind == "technical" and g.question_id:
            last_by_question[g.question_id] = g
    practice: list[str] = []
    for qid, g in last_by_question.items():
        question = catalog.questions.get(qid)
        if question is None:
            continue
        texts = {k.id: k.text for k in question.rubric.key_points}
        for kp in g.missed[:2]:
            _add(
                comps[tpl.default_competency].cons,
                f"{question.title}: did not cover that {texts[kp][0].lower()}{texts[kp][1:]}",
            )
            if len(practice) < 5:
                practice.append(f"{question.title}: {texts[kp]}")
    red_flags = [n for g in grades for n in g.notes if n.startswith("red flag")]
    for note in red_flags:
        _add(comps[tpl.default_competency].cons, note)

    for cid, comp in comps.items():
        comp.level = median_low(levels[cid]) if levels[cid] else None
        if comp.level is None:
            _add(comp.unknowns, f"no evidence on {comp.title.lower()} in this round")

    # Leadership Principles: data points and probed-vs-demonstrated
    lp_points: list[LPDataPoint] = []
    outcomes: list[PrincipleOutcome] = []
    for name in dict.fromkeys(view.state["principles_probed"]):
        answers = [g for g in grades if g.kind == "lp" and g.principle == name]
        graded = [g.overall for g in answers if g.overall is not None]
        best = max(graded) if graded else None
        outcomes.append(
            PrincipleOutcome(principle=name, probed=True, demonstrated=bool(best and best >= 3), level=best)
        )
        for g in answers:
            if g.evidence:
                polarity = "positive" if (g.overall or 0) >= 3 else "negative"
                lp_points.append(LPDataPoint(principle=name, quote=g.evidence[0], polarity=polarity, turn=g.turn))
        missing = sorted({m for g in answers for m in g.missed} - {c for g in answers for c in g.covered})
        if missing and len(practice) < 7:
            practice.append(f"{name} story: add the missing STAR parts ({', '.join(missing)})")
    lp_comp = comps[tpl.lp_competency]
    for name in rnd.principles:
        if name not in view.state["principles_probed"]:
            _add(lp_comp.unknowns, f"{name} was not probed")

    for g in grades:
        if g.kind == "lp":
            for c in g.criteria:
                if c.level is not None and c.level <= 2 and len(practice) < 8:
                    anchor = next((x.anchors.inclined for x in catalog.lp_rubric.criteria if x.id == c.id), None)
                    if anchor and f"STAR: {anchor}" not in practice:
                        practice.append(f"STAR: {anchor}")

    graded_levels = [c.level for c in comps.values() if c.level is not None]
    if graded_levels:
        vote = round(sum(graded_levels) / len(graded_levels))
        vote = min(vote, min(graded_levels) + 1)
        if red_flags:
            vote = min(vote, 2)
    else:
        vote = Vote.not_inclined.value
    vote = max(1, min(4, vote))
    with_evidence = sum(1 for g in grades if g.overall is not None)
    ranked = [(c.level, c) for c in comps.values() if c.level is not None]
    strongest = max(ranked, key=lambda lc: lc[0], default=(None, None))[1]
    weakest = min(ranked, key=lambda lc: lc[0], default=(None, None))[1]
    summary = (
        f"{Vote(vote).name.replace('_', ' ').capitalize()} for {rnd.title} at {view.level}: "
        f"{with_evidence} of {len(grades)} answers gave gradable evidence."
    )
    if not graded_levels:
        summary += " There was not enough evidence to support a hire."
    elif strongest and weakest and strongest.id != weakest.id:
        summary += f" Strongest: {strongest.title.lower()}. Weakest: {weakest.title.lower()}."
    return Debrief(
        vote=Vote(vote).name,
        vote_level=vote,
        brain=brain,
        summary=summary,
        competencies=list(comps.values()),
        lp_data_points=lp_points,
        principles=outcomes,
        practice_plan=practice,
        turns_graded=len(grades),
        turns_without_evidence=len(grades) - with_evidence,
    )
