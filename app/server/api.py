"""REST endpoints: health, the round catalogue, session creation and the graded transcript."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Header, HTTPException, Request, status
from pydantic import BaseModel, Field

from app import __version__
from app.content.models import LEVELS
from app.interview.transcript import transcript_turns

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


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    bar = request.app.state.bar
    body = {"status": "ok", "brain": bar.brain.name, "brain_label": bar.brain.label, "version": __version__}
    if bar.brain.name == "llm":
        body |= {"model": bar.settings.llm_model, "grader_model": bar.settings.grader_model}
    return body


@router.get("/rounds")
async def rounds(request: Request) -> dict[str, Any]:
    catalog = request.app.state.bar.catalog
    return {
        "levels": list(LEVELS),
        "rounds": [
            {
                "id": r.id,
                "title": r.title,
                "duration_min": r.duration_min,
                "levels": list(r.levels),
                "evaluates": r.evaluates,
                "lp_quota": r.lp_quota,
                "questions": r.question_budget,
                "level_notes": r.levels,
            }
            for r in catalog.rounds.values()
        ],
    }


@router.get("/rounds/{round_id}/questions")
async def round_questions(round_id: str, request: Request, level: str = "L5") -> dict[str, Any]:
    """The questions a candidate may choose to start with: titles and topics only, never the rubric."""
    catalog = request.app.state.bar.catalog
    if round_id not in catalog.rounds:
        raise HTTPException(404, f"unknown round {round_id!r}; valid rounds: {', '.join(catalog.rounds)}")
    if level not in LEVELS:
        raise HTTPException(422, f"unknown level {level!r}; valid levels: {', '.join(LEVELS)}")
    topics = catalog.topics
    return {
        "round": round_id,
        "level": level,
        "questions": [
            {"id": q.id, "title": q.title, "kind": q.kind, "topics": [topics.get(t, t) for t in q.topics]}
            for q in catalog.questions_for(round_id, level)
        ],
    }


@router.post("/sessions", status_code=status.HTTP_201_CREATED)
async def create_session(body: NewSession, request: Request) -> dict[str, Any]:
    bar = request.app.state.bar
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
    client = request.client.host if request.client else "unknown"
    if not bar.session_limiter.allow(client):
        raise HTTPException(
            429, f"more than {bar.settings.max_sessions_per_minute} new sessions a minute; try again shortly"
        )
    recent: set[str] = set()
    if body.client_id and bar.settings.recent_sessions_window:
        for sid in await bar.storage.sessions.recent(body.client_id, bar.settings.recent_sessions_window):
            recent |= set((await bar.interviews.snapshot(sid)).values.get("asked_questions", []))
    first = [body.question] if body.question else []
    plan = first + catalog.plan_questions(
        body.round, body.level, seed=secrets.token_hex(8), exclude=set(first), avoid=recent
    )
    record, token = await bar.storage.sessions.create(body.round, body.level, bar.brain.name, plan, body.client_id)
    return {
        "session_id": record.id,
        "token": token,
        "round": record.round_id,
        "level": record.level,
        "brain": record.brain,
    }


@router.get("/sessions/{session_id}/transcript")
async def transcript(
    session_id: str, request: Request, token: str | None = None, authorization: str | None = Header(None)
) -> dict[str, Any]:
    bar = request.app.state.bar
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    if await bar.storage.sessions.get(session_id) is None:
        raise HTTPException(404, f"no session {session_id!r}")
    record = await bar.storage.sessions.authorize(session_id, token)
    if record is None:
        raise HTTPException(401, "missing or wrong token", headers={"WWW-Authenticate": "Bearer"})
    snap = await bar.interviews.snapshot(session_id)
    values = snap.values or {}
    ended = values.get("phase") == "ended" and not snap.next
    return {
        "session_id": record.id,
        "round": record.round_id,
        "level": record.level,
        "brain": record.brain,
        "status": "ended" if ended else "in_progress",
        "turns": transcript_turns(values),
        "debrief": values.get("debrief"),
    }
