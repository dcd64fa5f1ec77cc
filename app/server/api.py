"""REST endpoints: health, the round catalogue, session creation and the graded transcript. Every route declares
its response model (the shapes docs/protocol.md describes)."""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
from typing import Any, Literal

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from app import __version__
from app.core.durability import StorageError
from app.core.vocabulary import LEVELS, SessionMode
from app.interview.transcript import TranscriptTurn, transcript_runs, transcript_turns
from app.server.deps import Bar
from app.server.exam import debrief_for, turns_for
from app.server.voice import audio_path
from app.store.database import is_postgres
from app.store.links import SessionLink

router = APIRouter(prefix="/api")


class NewSession(BaseModel):
    round: str = Field(description="A round id from GET /api/rounds.")
    level: str = Field(description="L4, L5 or L6.")
    client_id: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="A random id the browser keeps, so recent questions are not repeated.",
    )
    question: str | None = Field(None, description="Start with this question (practise a specific one).")
    drill: bool = Field(False, description="A short round on `question` alone (plan = [question]: one question).")
    mode: SessionMode | None = Field(
        None,
        description="exam: grades and LP tags held until the debrief; practice: shown live. "
        "Absent: the round's default (exam for the bar raiser), practice for a drill.",
    )


class DatabaseHealth(BaseModel):
    state: Literal["ok", "read_only", "failing", "missing"]
    detail: str | None = Field(None, description="Why, when the state is not ok.")


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field("ok", description="degraded: the database does not take writes.")
    database: DatabaseHealth
    brain: str
    brain_label: str
    version: str
    model: str | None = Field(None, description="LLM brain: the interviewer model.")
    grader_model: str | None = Field(None, description="LLM brain: the grading model.")
    code_execution: str | None = Field(None, description="How the candidate's code runs: bwrap, unshare, rlimits, off.")
    voice: dict[str, Any] | None = Field(
        None, description="Voice mode: enabled, the VAD / STT / TTS adapters in use, which are loaded, load errors."
    )
    worker: int | None = Field(None, description="The id of the server process that answered (several workers).")
    database_kind: str | None = Field(None, description="sqlite or postgresql.")


class RoundInfo(BaseModel):
    id: str
    title: str
    duration_min: int
    levels: list[str]
    evaluates: list[str]
    lp_quota: int
    questions: int
    level_notes: dict[str, str]
    default_mode: SessionMode = Field(description="The mode a new session gets when none is asked for.")


class Rounds(BaseModel):
    levels: list[str]
    rounds: list[RoundInfo]


class QuestionChoice(BaseModel):
    id: str
    title: str
    kind: str
    topics: list[str]


class RoundQuestions(BaseModel):
    round: str
    level: str
    questions: list[QuestionChoice]


class SessionCreated(BaseModel):
    session_id: str
    token: str = Field(description="The session's bearer token; returned once, only its hash is stored.")
    round: str
    level: str
    brain: str
    mode: SessionMode


class Transcript(BaseModel):
    session_id: str
    round: str
    level: str
    brain: str
    mode: SessionMode
    status: Literal["ended", "in_progress"]
    turns: list[TranscriptTurn]
    debrief: dict[str, Any] | None = None
    runs: list[dict[str, Any]] = Field(default_factory=list, description="Every run of the candidate's code.")


@router.get("/health", response_model=Health, response_model_exclude_none=True)
async def health(bar: Bar) -> Health:
    llm = bar.brain.name == "llm"
    state, detail = bar.storage.health()
    return Health(
        status="ok" if state == "ok" else "degraded",
        database=DatabaseHealth(state=state, detail=detail),
        brain=bar.brain.name,
        brain_label=bar.brain.label,
        version=__version__,
        model=bar.settings.llm_model if llm else None,
        grader_model=bar.settings.grader_model if llm else None,
        code_execution=bar.runner.name,
        voice=bar.voice.describe(),
        worker=os.getpid(),
        database_kind="postgresql" if is_postgres(bar.settings.database_url) else "sqlite",
    )


@router.get("/rounds", response_model=Rounds)
async def rounds(bar: Bar) -> Rounds:
    return Rounds(
        levels=list(LEVELS),
        rounds=[
            RoundInfo(
                id=r.id,
                title=r.title,
                duration_min=r.duration_min,
                levels=list(r.levels),
                evaluates=r.evaluates,
                lp_quota=r.lp_quota,
                questions=r.question_budget,
                level_notes=dict(r.levels),
                default_mode=r.default_mode,
            )
            for r in bar.catalog.rounds.values()
        ],
    )


@router.get("/rounds/{round_id}/questions", response_model=RoundQuestions)
async def round_questions(round_id: str, bar: Bar, level: str = "L5") -> RoundQuestions:
    """The questions a candidate may choose to start with: titles and topics only, never the rubric."""
    catalog = bar.catalog
    if round_id not in catalog.rounds:
        raise HTTPException(404, f"unknown round {round_id!r}; valid rounds: {', '.join(catalog.rounds)}")
    if level not in LEVELS:
        raise HTTPException(422, f"unknown level {level!r}; valid levels: {', '.join(LEVELS)}")
    topics = catalog.topics
    return RoundQuestions(
        round=round_id,
        level=level,
        questions=[
            QuestionChoice(id=q.id, title=q.title, kind=q.kind, topics=[topics.get(t, t) for t in q.topics])
            for q in catalog.questions_for(round_id, level)
        ],
    )


@router.post("/sessions", status_code=status.HTTP_201_CREATED, response_model=SessionCreated)
async def create_session(body: NewSession, request: Request, bar: Bar) -> SessionCreated:
    catalog = bar.catalog
    if body.round not in catalog.rounds:
        raise HTTPException(422, f"unknown round {body.round!r}; valid rounds: {', '.join(catalog.rounds)}")
    if body.level not in LEVELS:
        raise HTTPException(422, f"unknown level {body.level!r}; valid levels: {', '.join(LEVELS)}")
    if body.question is not None and body.question not in {q.id for q in catalog.questions_for(body.round, body.level)}:
        raise HTTPException(
            422,
            f"question {body.question!r} is not in the {body.round} round at {body.level}; "
            "see `barraiser bank stats` or rubrics/questions/",
        )
    if body.drill and body.question is None:
        raise HTTPException(422, "a drill needs the question to drill")
    # the peer's address: behind a trusted proxy uvicorn has already put the X-Forwarded-For client here
    # (BARRAISER_TRUSTED_PROXIES); from anyone else that header is ignored
    client = request.client.host if request.client else "unknown"
    if not bar.session_limiter.allow(client):
        raise HTTPException(
            429, f"more than {bar.settings.max_sessions_per_minute} new sessions a minute; try again shortly"
        )
    state, detail = bar.storage.health()
    if state != "ok":
        raise HTTPException(503, f"new sessions cannot be saved right now (database {state}: {detail})")
    recent: set[str] = set()
    if body.client_id and bar.settings.recent_sessions_window:
        for sid in await bar.storage.sessions.recent(body.client_id, bar.settings.recent_sessions_window):
            recent |= set((await bar.interviews.snapshot(sid)).values.get("asked_questions", []))
    first = [body.question] if body.question else []
    if body.drill:
        plan = first
    else:
        plan = first + catalog.plan_questions(
            body.round, body.level, seed=secrets.token_hex(8), exclude=set(first), avoid=recent
        )
    try:
        mode = body.mode or ("practice" if body.drill else catalog.rounds[body.round].default_mode)
        record, token = await bar.storage.sessions.create(
            body.round, body.level, bar.brain.name, plan, body.client_id, mode
        )
        if body.drill:
            await bar.storage.links.add(SessionLink(record.id, "drill"))
    except (StorageError, sqlite3.Error) as exc:
        raise HTTPException(503, f"new sessions cannot be saved right now: {exc}") from exc
    return SessionCreated(
        session_id=record.id,
        token=token,
        round=record.round_id,
        level=record.level,
        brain=record.brain,
        mode=record.mode,
    )


@router.get("/sessions/{session_id}/audio/{audio_id}", response_class=FileResponse)
async def recording(
    session_id: str, audio_id: str, bar: Bar, token: str | None = None, authorization: str | None = Header(None)
) -> FileResponse:
    """The recording of a spoken answer (a candidate turn's ``audio.id``), as a 16 kHz mono WAV."""
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    if not re.fullmatch(r"[0-9a-f]{32}", audio_id):
        raise HTTPException(404, "no such recording")
    if await bar.storage.sessions.authorize(session_id, token) is None:
        raise HTTPException(401, "missing or wrong token", headers={"WWW-Authenticate": "Bearer"})
    path = audio_path(bar.settings.voice_audio_dir, session_id, audio_id)
    if not path.is_file():
        raise HTTPException(404, "no such recording (recordings may be turned off or over the size limit)")
    return FileResponse(path, media_type="audio/wav", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/sessions/{session_id}/transcript", response_model=Transcript)
async def transcript(
    session_id: str, bar: Bar, token: str | None = None, authorization: str | None = Header(None)
) -> Transcript:
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    if await bar.storage.sessions.get(session_id) is None:
        raise HTTPException(404, f"no session {session_id!r}")
    record = await bar.storage.sessions.authorize(session_id, token)
    if record is None:
        raise HTTPException(401, "missing or wrong token", headers={"WWW-Authenticate": "Bearer"})
    try:
        point = await bar.interviews.driver.recover(session_id)
    except StorageError as exc:
        raise HTTPException(503, f"the session cannot be read right now: {exc}") from exc
    values = point.values
    ended = point.standing == "ended"
    return Transcript(
        session_id=record.id,
        round=record.round_id,
        level=record.level,
        brain=record.brain,
        mode=record.mode,
        status="ended" if ended else "in_progress",
        turns=turns_for(transcript_turns(values), record.mode, ended),
        debrief=debrief_for(values, record.mode, ended),
        runs=transcript_runs(values, [r.model_dump(mode="json") for r in await bar.storage.pads.runs(session_id)]),
    )
