"""The debrief says nothing the transcript contradicts.

Rounds from the eval suite (every hand-written scenario and a fixed sample of the blind-written ones) are played
through the real round graph with the offline brain; then every statement of the debrief is checked against the
transcript, independently of how the debrief was built:

- every pro, con and LP data point cites a candidate turn, and its quote is that turn's own words; a pro or con
  names it by the answer number the room and the replay show;
- "did not cover X" / a drill on a missed key point: no answer on that question states X (read again with the claims
  matcher), and the cited turn is an answer on that question;
- a drill on a missing STAR part: no story answer on that question has that part;
- "Strongest: ... Weakest: ..." names competencies that were graded, the strongest above the weakest;
- a vote only with graded evidence (else "insufficient_evidence"), and the counts of answers graded and of answers
  without evidence are the transcript's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.brains.offline import OfflineBrain
from app.brains.offline.reading import read_turn
from app.config import PROJECT_ROOT
from app.core.vocabulary import VOTE_NAMES
from app.evaluation.scenarios import Case, load_cases
from app.grading.claims import PointState
from tests.helpers import Round

SCENARIOS = PROJECT_ROOT / "evals" / "scenarios"
_BLIND_SAMPLE_EVERY = 12  # one blind scenario in this many (a fixed, spread-out sample)


def _cases(catalog) -> list[Case]:
    written = sorted(p for p in SCENARIOS.glob("*.yaml"))
    blind = sorted((SCENARIOS / "blind").glob("*.yaml"))[::_BLIND_SAMPLE_EVERY]
    return load_cases([*written, *blind], catalog)


async def _play(case: Case, catalog) -> dict:
    sc = case.scenario
    rnd = Round(OfflineBrain(), catalog, round_id=sc.round, level=sc.level, plan=case.full_plan(catalog), session=sc.id)
    frames = await rnd.open()
    for turn in sc.turns:
        if any(f["type"] == "debrief" for f in frames):
            break
        frames = await rnd.answer(turn.say)
    if not any(f["type"] == "debrief" for f in frames):
        await rnd.end()
    return await rnd.values()


def _check(values: dict, catalog) -> list[str]:
    """Every statement of the debrief that the transcript contradicts."""
    problems: list[str] = []
    debrief = values["debrief"]
    turns = {t["index"]: t for t in values["turns"]}
    candidate = {i: t for i, t in turns.items() if t["role"] == "candidate"}
    grades = {g["turn"]: g for g in values["grades"]}

    def cited(where: str, turn: int, quote: str | None) -> None:
        if turn not in candidate:
            problems.append(f"{where}: cites turn {turn}, which is not a candidate turn")
        elif quote and quote not in candidate[turn]["text"]:
            problems.append(f"{where}: quote {quote!r} is not in turn {turn}")

    number = {i: n for n, i in enumerate(sorted(candidate), 1)}  # the answer numbers the room and replay show
    for comp in debrief["competencies"]:
        for c in comp["citations"]:
            cited(f"{comp['id']} {c['kind']} {c['text']!r}", c["turn"], c.get("quote"))
            label = f"{c['text']} (answer {number.get(c['turn'])})"
            if label not in comp["pros"] + comp["cons"]:
                problems.append(f"{comp['id']}: {c['text']!r} is not shown as answer {number.get(c['turn'])}")
        if (comp["pros"] or comp["cons"]) and comp["level"] is None and not comp["citations"]:
            problems.append(f"{comp['id']}: pros or cons without a level or a citation")
    for p in debrief["lp_data_points"]:
        cited(f"LP data point {p['principle']}", p["turn"], p["quote"])

    # drills: what an answer missed, checked against every answer on that question
    for d in debrief["drills"]:
        question = catalog.questions[d["question_id"]]
        on_question = [i for i, g in grades.items() if g.get("question_id") == question.id and i in candidate]
        if d["turn"] is not None and d["turn"] not in on_question:
            problems.append(f"drill {d['title']!r}: cites turn {d['turn']}, not an answer on {question.id}")
        if d["key_point"] is not None:
            for i in on_question:
                point = read_turn(candidate[i]["text"], question).points[d["key_point"]]
                if point.state is PointState.stated and grades[i]["kind"] == "technical":
                    problems.append(f"drill says {question.id} missed {d['key_point']}, but turn {i} states it")
        else:
            part = re.sub(r"^the ", "", d["missed"])
            told = [i for i in on_question if part in grades[i].get("covered", [])]
            if told:
                problems.append(f"drill says a {question.id} story missed {part}, but turns {told} tell it")

    # the summary's ranking names graded competencies, the strongest above the weakest
    levels = {c["title"].lower(): c["level"] for c in debrief["competencies"]}
    m = re.search(r"Strongest: (.+?)\. Weakest: (.+?)\.", debrief["summary"])
    if m:
        strong, weak = levels.get(m.group(1)), levels.get(m.group(2))
        if strong is None or weak is None or strong <= weak:
            problems.append(f"summary ranks {m.group(1)} ({strong}) above {m.group(2)} ({weak})")

    evidenced = [g for g in grades.values() if g["overall"] is not None and g["kind"] != "closing"]
    if debrief["vote"] in VOTE_NAMES and not evidenced:
        problems.append(f"votes {debrief['vote']} with no graded answer")
    if debrief["vote"] == "insufficient_evidence" and debrief["vote_level"] is not None:
        problems.append("no vote, but a vote level")
    answers = [g for g in grades.values() if g["kind"] in ("technical", "lp", "failure", "no_answer")]
    if (debrief["turns_graded"], debrief["turns_without_evidence"]) != (
        len(answers),
        sum(1 for g in answers if g["overall"] is None),
    ):
        problems.append("the counts of answers graded / without evidence are not the transcript's")
    return problems


async def test_no_debrief_statement_is_contradicted_by_its_transcript(catalog) -> None:
    cases = _cases(catalog)
    assert len(cases) >= 100
    contradicted: dict[str, list[str]] = {}
    checked = 0
    for case in cases:
        values = await _play(case, catalog)
        assert values.get("debrief"), f"{case.id}: no debrief"
        checked += sum(len(c["citations"]) for c in values["debrief"]["competencies"]) + len(
            values["debrief"]["drills"]
        )
        if problems := _check(values, catalog):
            contradicted[case.id] = problems
    assert checked >= 500  # statements checked, not just rounds played
    assert not contradicted, "\n".join(f"{sid}: {p}" for sid, ps in contradicted.items() for p in ps)


@pytest.mark.parametrize("tampered", ["quote", "turn"])
async def test_the_check_catches_a_contradiction(catalog, tampered: str) -> None:
    """The checker itself: a debrief with a made-up quote or a wrong turn is caught."""
    case = next(c for c in _cases(catalog) if c.id == "ml-bias-variance-strong")
    values = await _play(case, catalog)
    citation = next(c for comp in values["debrief"]["competencies"] for c in comp["citations"] if c.get("quote"))
    if tampered == "quote":
        citation["quote"] = "words the candidate never said"
    else:
        citation["turn"] = max(t["index"] for t in values["turns"]) + 7
    assert _check(values, catalog)


def test_the_sample_spans_every_round(catalog) -> None:
    rounds = {c.scenario.round for c in _cases(catalog)}
    assert rounds >= set(catalog.rounds) - {"online_assessment"} or len(rounds) >= 9
    assert Path(SCENARIOS / "blind").is_dir()
