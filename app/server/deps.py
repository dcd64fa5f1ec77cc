"""What request handlers need, as FastAPI dependencies: the app's services (``Bar``) and the session a bearer
token opens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.config import Settings
from app.content.catalog import Catalog
from app.core.ports import Brain, CodeRunner
from app.server.interviews import Interviews, RateLimiter
from app.server.owners import Owners
from app.store.database import Storage
from app.voice.stack import VoiceStack


@dataclass
class BarRaiser:
    """Everything a request handler needs, hung on ``app.state.bar`` by the app's lifespan."""

    settings: Settings
    catalog: Catalog
    brain: Brain
    runner: CodeRunner
    storage: Storage
    interviews: Interviews
    session_limiter: RateLimiter  # new sessions, per client address
    frame_limiter: RateLimiter  # client frames, per session (its token), whatever the sockets
    owners: Owners  # the one live socket of each session
    voice: VoiceStack  # the voice models of this process (loaded on first use)


def get_bar(connection: HTTPConnection) -> BarRaiser:
    """The app's services (works for HTTP requests and WebSockets alike)."""
    return connection.app.state.bar


Bar = Annotated[BarRaiser, Depends(get_bar)]
