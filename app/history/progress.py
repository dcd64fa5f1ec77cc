"""Progress across a browser's sessions, computed from their graded transcripts, and the practice round that
follows from it.

- **Series**: per round, per topic and per Leadership Principle, one point per session: the mean overall level of
  that session's graded answers in that area (1..4 on the vote scale; answers without evidence are not counted).
  A fork only counts the answers given after the fork point (the earlier ones are the original's).
- **Weakest areas**: topics and principles whose mean over their last three sessions is below ``inclined``, lowest
  first; and **weak key points**: what the latest session on a question still missed (its debrief's drills, or the
  last graded answer's ``missed`` while the round is in progress).
- **Spaced repetition** of missed questions (a Leitner box per question): a session whose graded answers on a
  question average below ``inclined`` puts the question in box 0 (due at once); each later session at ``inclined``
  or better moves it up a box, due again after 1, 3, 7 and 21 days; past the last box it is mastered and drops out.
- **Practice next**: the round and level of the latest session in the weakest area, a plan that prefers that
  round's questions on the weak topics, principles and key points, with the due questions first
  (``Catalog.plan_questions``).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.content.catalog import Catalog

DAY_S = 86_400.0
INTERVALS_DAYS = (0.0, 1.0, 3.0, 7.0, 21.0)  # box -> days until the question is due again
SUCCESS_LEVEL = 3.0  # inclined
RECENT_SESSIONS = 3  # an area's weakness is judged on its last few sessions
GRADED_KINDS = {"technical", "lp", "failure"}
NAMED_ITEM = "named_"  # topics that tag one named question (rubrics/topics.yaml) are not areas of their own

AreaKind = Literal["round", "topic", "principle"]


@dataclass(frozen=True)
class SessionData:
    """One session the browser holds a token for: its record and its graph state."""

    session_id: str
    round_id: str
    level: str
    created_at: float
    values: dict[str, Any]
    kind: str = "interview"
    from_turn: int = 0  # a fork: grades of turns before this one belong to the original


class Point(BaseModel):
    session_id: str
    at: float = Field(description="When the session was created (seconds since the epoch).")
    level: float = Field(description="Mean overall level of the session's graded answers in this area (1..4).")
    answers: int


class Series(BaseModel):
    kind: AreaKind
    id: str
    label: str
    points: list[Point]


class WeakArea(BaseModel):
    kind: AreaKind
    id: str
    label: str
    mean: float = Field(description="Mean level over the area's last sessions.")
    sessions: int
    rounds: list[str] = Field(description="Rounds in which it was graded, latest first.")


class WeakKeyPoint(BaseModel):
    question_id: str
    question: str
    key_point: str
    text: str
    session_id: str


class DueQuestion(BaseModel):
    question_id: str
    title: str
    rounds: list[str]
    box: int = Field(description="Leitner box: 0 = just missed; each success moves it up.")
    last_at: float
    last_level: float
    due_at: float
    due: bool


class Suggestion(BaseModel):
    round: str
    round_title: str
    level: str
    focus: list[str] = Field(description="What the plan favours, as shown to the candidate.")
    due: list[str] = Field(description="Due questions of this round, by title.")
    prefer: dict[str, float] = Field(description="Weights for the planner (topic id, principle, key point id).")
    due_ids: list[str]


class Progress(BaseModel):
    sessions: int
    graded_answers: int
    series: list[Series]
    weakest: list[WeakArea]
    weak_key_points: list[WeakKeyPoint]
    due: list[DueQuestion]
    suggestion: Suggestion | None = None


def _graded(session: SessionData) -> list[dict[str, Any]]:
    return [
        g
        for g in session.values.get("grades", [])
        if g.get("overall") is not None
        and g.get("kind", "technical") in GRADED_KINDS
        and g["turn"] >= session.from_turn
    ]


def _mean(xs: Iterable[float]) -> float:
    return round(statistics.fmean(xs), 2)


def _drilled(session: SessionData) -> dict[str, list[str]]:
    """question id -> key points the session still missed on it (debrief drills; else the last graded answer)."""
    debrief = session.values.get("debrief") or {}
    out: dict[str, list[str]] = defaultdict(list)
    if debrief:
        for d in debrief.get("drills", []):
            if d.get("key_point"):
                out[d["question_id"]].append(d["key_point"])
            else:
                out.setdefault(d["question_id"], [])
        return dict(out)
    last: dict[str, dict[str, Any]] = {}
    for g in session.values.get("grades", []):
        if g.get("kind", "technical") == "technical" and g.get("question_id") and g["turn"] >= session.from_turn:
            last[g["question_id"]] = g
    return {q: list(g["missed"]) for q, g in last.items() if g.get("missed")}


def compute_progress(sessions: list[SessionData], catalog: Catalog, now: float) -> Progress:
    sessions = sorted(sessions, key=lambda s: s.created_at)
    points: dict[tuple[AreaKind, str], list[Point]] = defaultdict(list)
    rounds_of: dict[tuple[AreaKind, str], list[tuple[float, str, str]]] = defaultdict(list)
    # question id -> [(at, mean level)] per session with graded answers on it
    outcomes: dict[str, list[tuple[float, float]]] = defaultdict(list)
    latest_missed: dict[str, tuple[SessionData, list[str]]] = {}
    total = 0
    for s in sessions:
        graded = _graded(s)
        total += len(graded)
        areas: dict[tuple[AreaKind, str], list[int]] = defaultdict(list)
        per_question: dict[str, list[int]] = defaultdict(list)
        for g in graded:
            level = int(g["overall"])
            areas[("round", s.round_id)].append(level)
            qid = g.get("question_id")
            q = catalog.questions.get(qid) if qid else None
            if g.get("kind") == "lp" and g.get("principle"):
                areas[("principle", g["principle"])].append(level)
            elif q is not None:
                per_question[q.id].append(level)
                for topic in q.topics:
                    if not topic.startswith(NAMED_ITEM):
                        areas[("topic", topic)].append(level)
        for key, levels in areas.items():
            points[key].append(
                Point(session_id=s.session_id, at=s.created_at, level=_mean(levels), answers=len(levels))
            )
            rounds_of[key].append((s.created_at, s.round_id, s.level))
        for qid, levels in per_question.items():
            outcomes[qid].append((s.created_at, _mean(levels)))
        drilled = _drilled(s)
        for qid in set(per_question) | set(drilled):
            if qid not in catalog.questions:
                continue
            if drilled.get(qid):
                latest_missed[qid] = (s, drilled[qid])
            else:
                latest_missed.pop(qid, None)

    series = [
        Series(kind=kind, id=ident, label=_label(catalog, kind, ident), points=pts)
        for (kind, ident), pts in sorted(points.items(), key=lambda kv: (kv[0][0], _label(catalog, *kv[0])))
    ]
    weakest: list[WeakArea] = []
    for (kind, ident), pts in points.items():
        if kind == "round":
            continue
        recent = pts[-RECENT_SESSIONS:]
        mean = _mean(p.level for p in recent)
        if mean < SUCCESS_LEVEL:
            seen = sorted(rounds_of[(kind, ident)], reverse=True)
            weakest.append(
                WeakArea(
                    kind=kind,
                    id=ident,
                    label=_label(catalog, kind, ident),
                    mean=mean,
                    sessions=len(pts),
                    rounds=list(dict.fromkeys(r for _, r, _ in seen)),
                )
            )
    weakest.sort(key=lambda w: (w.mean, -w.sessions, w.label))

    weak_kps: list[WeakKeyPoint] = []
    for qid, (s, kps) in sorted(latest_missed.items(), key=lambda kv: -kv[1][0].created_at):
        q = catalog.questions[qid]
        texts = {k.id: k.text for k in q.rubric.key_points}
        weak_kps += [
            WeakKeyPoint(question_id=qid, question=q.title, key_point=k, text=texts[k], session_id=s.session_id)
            for k in kps
            if k in texts
        ]

    due = _spaced_repetition(outcomes, catalog, now)
    progress = Progress(
        sessions=len(sessions),
        graded_answers=total,
        series=series,
        weakest=weakest[:8],
        weak_key_points=weak_kps[:12],
        due=due,
    )
    progress.suggestion = suggest(progress, sessions, catalog)
    return progress


def _spaced_repetition(
    outcomes: dict[str, list[tuple[float, float]]], catalog: Catalog, now: float
) -> list[DueQuestion]:
    out: list[DueQuestion] = []
    for qid, events in outcomes.items():
        box: int | None = None  # None: never missed, not tracked
        for _, level in sorted(events):
            if level < SUCCESS_LEVEL:
                box = 0
            elif box is not None:
                box += 1
        if box is None or box >= len(INTERVALS_DAYS):
            continue  # never missed, or mastered
        last_at, last_level = max(events)
        due_at = last_at + INTERVALS_DAYS[box] * DAY_S
        q = catalog.questions[qid]
        out.append(
            DueQuestion(
                question_id=qid,
                title=q.title,
                rounds=list(q.rounds),
                box=box,
                last_at=last_at,
                last_level=last_level,
                due_at=due_at,
                due=due_at <= now,
            )
        )
    out.sort(key=lambda d: (d.due_at, d.title))
    return out


def suggest(progress: Progress, sessions: list[SessionData], catalog: Catalog) -> Suggestion | None:
    """The practice round: where the weakest area was last graded (else the weakest round, else the latest
    session's round), with planner weights for the weak areas and key points and that round's due questions."""
    if not sessions:
        return None
    latest_level: dict[str, str] = {}
    for s in sorted(sessions, key=lambda x: x.created_at):
        latest_level[s.round_id] = s.level
    round_id: str | None = None
    for w in progress.weakest:
        round_id = next((r for r in w.rounds if r in catalog.rounds), None)
        if round_id:
            break
    if round_id is None:
        by_round = [
            (statistics.fmean(p.level for p in se.points[-RECENT_SESSIONS:]), se.id)
            for se in progress.series
            if se.kind == "round" and se.id in catalog.rounds
        ]
        round_id = min(by_round)[1] if by_round else sessions[-1].round_id
    if round_id not in catalog.rounds:
        return None
    level = latest_level.get(round_id, sessions[-1].level)
    rnd = catalog.rounds[round_id]
    in_round = {q.id for q in catalog.questions_for(round_id, level)}
    prefer: dict[str, float] = {}
    focus: list[str] = []
    for rank, w in enumerate(progress.weakest[:4]):
        weight = 3.0 - rank * 0.5
        prefer[w.id] = max(prefer.get(w.id, 0.0), weight)
        focus.append(w.label)
    for k in progress.weak_key_points[:6]:
        prefer[k.key_point] = max(prefer.get(k.key_point, 0.0), 1.0)
        for topic in catalog.questions[k.question_id].topics:
            if topic.startswith(NAMED_ITEM):
                continue
            prefer[topic] = max(prefer.get(topic, 0.0), 0.5)
    due = [d for d in progress.due if d.due and d.question_id in in_round]
    return Suggestion(
        round=round_id,
        round_title=rnd.title,
        level=level,
        focus=focus,
        due=[d.title for d in due],
        prefer=prefer,
        due_ids=[d.question_id for d in due],
    )


def _label(catalog: Catalog, kind: AreaKind, ident: str) -> str:
    if kind == "round":
        rnd = catalog.rounds.get(ident)
        return rnd.title if rnd else ident
    if kind == "topic":
        return catalog.topics.get(ident, ident)
    return ident
