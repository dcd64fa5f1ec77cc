"""REST endpoints for looking back (app/history/): the graded replay of a session, forks that re-answer a turn,
summaries and progress over the sessions a browser holds tokens for, and the practice round aimed at weak spots.

A browser proves which sessions are its own by sending their tokens (never a list of ids alone): a wrong token for
an id is simply left out, so no one learns anything about someone else's sessions. docs/protocol.md has the shapes.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal

from fastapi import APIRouter, Header, HTTPException, Request, status
from pydantic import BaseModel, Field

from app.core.vocabulary import SessionMode
from app.history.forks import ForkError, checkpoint_before, fork_round
from app.history.progress import Progress, SessionData, compute_progress
from app.history.replay import ForkRef, Replay, build_replay, is_ended, turn_summary
from app.server.deps import Bar, BarRaiser
from app.server.exam import replay_for, values_for, withholds
from app.store.links import SessionLink
from app.store.sqlite import SessionRecord

router = APIRouter(prefix="/api")

MAX_SESSIONS = 100  # tokens one request may carry


class SessionKey(BaseModel):
    session_id: str = Field(max_length=128)
    token: str = Field(max_length=256)


class SessionKeys(BaseModel):
    sessions: list[SessionKey] = Field(max_length=MAX_SESSIONS)


class PracticeRequest(SessionKeys):
    client_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    mode: SessionMode = Field("practice", description="The practice round's mode (exam: grades in the debrief).")


class ForkRequest(BaseModel):
    turn: int = Field(ge=1, description="The index of the candidate turn to answer again.")
    client_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    mode: SessionMode | None = Field(
        None,
        description="The fork's mode. Absent: practice (the new grade shows beside the old one at once), or exam when "
        "the forked round is an exam round still running (its grades are not out yet).",
    )


class QuestionTitle(BaseModel):
    id: str
    title: str


class Retry(BaseModel):
    """A fork's new answer at the forked turn, graded or not yet."""

    turn: int
    answered: bool
    overall: int | None = None
    overall_label: str | None = None
    confidence: str | None = None


class SessionSummary(BaseModel):
    session_id: str
    kind: str
    round: str
    round_title: str
    level: str
    brain: str
    mode: SessionMode
    status: Literal["ended", "in_progress"]
    created_at: float
    started_at: float | None = None
    ended_at: float | None = None
    vote: str | None = None
    vote_level: int | None = None
    questions: list[QuestionTitle]
    answers: int
    graded: int
    mean_level: float | None = None
    forked_from: ForkRef | None = None
    retry: Retry | None = None


class Summaries(BaseModel):
    sessions: list[SessionSummary]


class SessionStarted(BaseModel):
    session_id: str
    token: str = Field(description="The new session's bearer token; returned once, only its hash is stored.")
    round: str
    level: str
    brain: str
    mode: SessionMode
    kind: str
    forked_from: ForkRef | None = None
    focus: list[str] = Field(default_factory=list, description="practice: what the plan favours.")
    due: list[str] = Field(default_factory=list, description="practice: questions due for review, by title.")


def _token(token: str | None, authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return token


async def _authorized(bar: BarRaiser, session_id: str, token: str | None) -> SessionRecord:
    if await bar.storage.sessions.get(session_id) is None:
        raise HTTPException(404, f"no session {session_id!r}")
    record = await bar.storage.sessions.authorize(session_id, token)
    if record is None:
        raise HTTPException(401, "missing or wrong token", headers={"WWW-Authenticate": "Bearer"})
    return record


async def _owned(bar: BarRaiser, keys: SessionKeys) -> list[SessionRecord]:
    """The sessions whose tokens are right, each once, in the order given; the others are left out."""
    records: dict[str, SessionRecord] = {}
    for key in keys.sessions:
        if key.session_id in records:
            continue
        record = await bar.storage.sessions.authorize(key.session_id, key.token)
        if record is not None:
            records[record.id] = record
    return list(records.values())


def _allow_new_session(request: Request, bar: BarRaiser) -> None:
    client = request.client.host if request.client else "unknown"
    if not bar.session_limiter.allow(client):
        raise HTTPException(
            429, f"more than {bar.settings.max_sessions_per_minute} new sessions a minute; try again shortly"
        )


@router.get("/sessions/{session_id}/replay", response_model=Replay, response_model_exclude_none=False)
async def replay(
    session_id: str, bar: Bar, token: str | None = None, authorization: str | None = Header(None)
) -> Replay:
    record = await _authorized(bar, session_id, _token(token, authorization))
    snap = await bar.interviews.snapshot(session_id)
    link = await bar.storage.links.get(session_id)
    forked_from, original_started_at = None, None
    if link.kind == "fork" and link.source_session is not None and link.source_turn is not None:
        source = (await bar.interviews.snapshot(link.source_session)).values or {}
        forked_from = ForkRef(
            session_id=link.source_session, turn=link.source_turn, original=turn_summary(source, link.source_turn)
        )
        original_started_at = source.get("started_at")
    replay = build_replay(
        session_id=record.id,
        values=snap.values or {},
        pending=snap.next,
        catalog=bar.catalog,
        round_id=record.round_id,
        level=record.level,
        brain=record.brain,
        created_at=record.created_at,
        kind=link.kind,
        forked_from=forked_from,
        original_started_at=original_started_at,
        focus=link.focus,
        pad_runs=[r.model_dump(mode="json") for r in await bar.storage.pads.runs(record.id)],
        mode=record.mode,
    )
    return replay_for(replay, record.mode)


@router.post("/sessions/lookup", response_model=Summaries)
async def lookup(body: SessionKeys, bar: Bar) -> Summaries:
    """Summaries of the sessions these tokens open (a wrong token for an id is left out), newest first."""
    out: list[SessionSummary] = []
    for record in await _owned(bar, body):
        snap = await bar.interviews.snapshot(record.id)
        out.append(_summary(bar, record, snap.values or {}, snap.next, await bar.storage.links.get(record.id)))
    out.sort(key=lambda s: -s.created_at)
    return Summaries(sessions=out)


def _summary(
    bar: BarRaiser, record: SessionRecord, values: dict[str, Any], pending: tuple[str, ...], link: SessionLink
) -> SessionSummary:
    catalog = bar.catalog
    rnd = catalog.rounds.get(record.round_id)
    ended = is_ended(values, pending)
    values = values_for(values, record.mode, ended)  # exam mode: no grades before the end
    turns = values.get("turns", [])
    since = (link.source_turn or 0) if link.kind == "fork" else 0
    grades = [g for g in values.get("grades", []) if g["turn"] >= since]
    levels = [g["overall"] for g in grades if g.get("overall") is not None]
    debrief = values.get("debrief") or {}
    asked = list(dict.fromkeys(values.get("asked_questions", [])))
    forked_from, retry = None, None
    if link.kind == "fork" and link.source_session is not None and link.source_turn is not None:
        forked_from = ForkRef(session_id=link.source_session, turn=link.source_turn)
        grade = next((g for g in grades if g["turn"] == link.source_turn), None)
        retry = Retry(
            turn=link.source_turn,
            answered=len(turns) > link.source_turn,
            overall=grade.get("overall") if grade else None,
            overall_label=grade.get("overall_label") if grade else None,
            confidence=grade.get("confidence") if grade else None,
        )
    last_at = next((t["at"] for t in reversed(turns) if isinstance(t.get("at"), int | float)), None)
    return SessionSummary(
        session_id=record.id,
        kind=link.kind,
        round=record.round_id,
        round_title=rnd.title if rnd else record.round_id,
        level=record.level,
        brain=record.brain,
        mode=record.mode,
        status="ended" if ended else "in_progress",
        created_at=record.created_at,
        started_at=values.get("started_at"),
        ended_at=last_at if ended else None,
        vote=debrief.get("vote"),
        vote_level=debrief.get("vote_level"),
        questions=[QuestionTitle(id=q, title=catalog.questions[q].title) for q in asked if q in catalog.questions],
        answers=sum(1 for t in turns[since:] if t["role"] == "candidate"),
        graded=len(levels),
        mean_level=round(sum(levels) / len(levels), 2) if levels else None,
        forked_from=forked_from,
        retry=retry,
    )


async def _session_data(bar: BarRaiser, keys: SessionKeys) -> list[SessionData]:
    data: list[SessionData] = []
    for record in await _owned(bar, keys):
        snap = await bar.interviews.snapshot(record.id)
        link = await bar.storage.links.get(record.id)
        values = snap.values or {}
        data.append(
            SessionData(
                session_id=record.id,
                round_id=record.round_id,
                level=record.level,
                created_at=record.created_at,
                values=values_for(values, record.mode, is_ended(values, snap.next)),
                kind=link.kind,
                from_turn=(link.source_turn or 0) if link.kind == "fork" else 0,
            )
        )
    return data


@router.post("/progress", response_model=Progress)
async def progress(body: SessionKeys, bar: Bar) -> Progress:
    """Progress over the sessions these tokens open: series per round, topic and principle, the weakest areas,
    the questions due for review, and the suggested practice round."""
    return compute_progress(await _session_data(bar, body), bar.catalog, time.time())


@router.post("/practice", status_code=status.HTTP_201_CREATED, response_model=SessionStarted)
async def practice(body: PracticeRequest, request: Request, bar: Bar) -> SessionStarted:
    """Start the suggested practice round: its plan favours the weak areas and key points, due questions first."""
    sessions = await _session_data(bar, body)
    suggestion = compute_progress(sessions, bar.catalog, time.time()).suggestion
    if suggestion is None:
        raise HTTPException(422, "no graded sessions to practise from: finish a round first")
    _allow_new_session(request, bar)
    recent: set[str] = set()
    for s in sorted(sessions, key=lambda x: -x.created_at)[: bar.settings.recent_sessions_window]:
        recent |= set(s.values.get("asked_questions", []))
    plan = bar.catalog.plan_questions(
        suggestion.round,
        suggestion.level,
        seed=secrets.token_hex(8),
        avoid=recent,
        prefer=suggestion.prefer,
        due=suggestion.due_ids,
    )
    record, token = await bar.storage.sessions.create(
        suggestion.round, suggestion.level, bar.brain.name, plan, body.client_id, body.mode
    )
    focus = {"areas": suggestion.focus, "due": suggestion.due}
    await bar.storage.links.add(SessionLink(record.id, "practice", focus=focus))
    return SessionStarted(
        session_id=record.id,
        token=token,
        round=record.round_id,
        level=record.level,
        brain=record.brain,
        mode=record.mode,
        kind="practice",
        focus=suggestion.focus,
        due=suggestion.due,
    )


@router.post("/sessions/{session_id}/fork", status_code=status.HTTP_201_CREATED, response_model=SessionStarted)
async def fork(
    session_id: str,
    body: ForkRequest,
    request: Request,
    bar: Bar,
    token: str | None = None,
    authorization: str | None = Header(None),
) -> SessionStarted:
    """Answer candidate turn ``turn`` again: a new session copied from the checkpoint just before it (the original
    is not changed), waiting for the new answer."""
    source = await _authorized(bar, session_id, _token(token, authorization))
    snap = await bar.interviews.snapshot(session_id)
    values = snap.values or {}
    turns = values.get("turns", [])
    if not (body.turn < len(turns) and turns[body.turn]["role"] == "candidate"):
        raise HTTPException(422, f"turn {body.turn} is not an answer of session {session_id}")
    if await checkpoint_before(bar.interviews.driver, session_id, body.turn) is None:
        raise HTTPException(422, f"session {session_id} has no checkpoint before turn {body.turn}")
    # a fork copies the grades before its turn: one of an exam round still running stays in exam mode
    running_exam = withholds(source.mode, is_ended(values, snap.next))
    if running_exam and body.mode == "practice":
        raise HTTPException(
            422, "this exam round is still running: a retry of it is in exam mode too (its grades come in the debrief)"
        )
    mode: SessionMode = body.mode or ("exam" if running_exam else "practice")
    _allow_new_session(request, bar)
    record, new_token = await bar.storage.sessions.create(
        source.round_id, source.level, source.brain, source.plan, body.client_id, mode
    )
    try:
        await fork_round(bar.interviews.driver, session_id, body.turn, record.id, time.time())
    except ForkError as exc:
        raise HTTPException(422, str(exc)) from exc
    await bar.storage.links.add(SessionLink(record.id, "fork", source_session=session_id, source_turn=body.turn))
    return SessionStarted(
        session_id=record.id,
        token=new_token,
        round=record.round_id,
        level=record.level,
        brain=record.brain,
        mode=record.mode,
        kind="fork",
        forked_from=ForkRef(session_id=session_id, turn=body.turn),
    )
