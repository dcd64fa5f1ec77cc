"""The FastAPI application: wires settings, content, brain, storage and the round graph together, and serves
the REST API, the interview WebSocket and the static page."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.brains import make_brain
from app.config import Settings, get_settings
from app.content.catalog import load_catalog
from app.interview.graph import build_graph
from app.interview.nodes import Services
from app.interview.session import RoundDriver
from app.sandbox import make_runner
from app.server import api, ws
from app.server.deps import BarRaiser
from app.server.interviews import Interviews, RateLimiter
from app.store.sqlite import open_storage
from app.voice.stack import VoiceStack

# The page loads only its own files; candidate text can never become script or markup.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


_TOKEN_IN_URL = re.compile(r"(token=)[^&\s\"']+")
_SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error")  # the access lines and the WebSocket "[accepted]" lines


class RedactTokens(logging.Filter):
    """Session tokens travel in the WebSocket URL (``?token=``), which uvicorn logs: keep them out of the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_URL.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_URL.sub(r"\1[redacted]", record.msg)
        return True


def redact_tokens_in_server_logs() -> None:
    for name in _SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    catalog = load_catalog(settings.rubrics_dir, settings.prompts_dir)  # fails fast with file: field: reason
    brain = make_brain(settings)
    runner = make_runner(settings)
    voice = VoiceStack(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redact_tokens_in_server_logs()  # here, after the server has configured its logging
        async with open_storage(settings.sqlite_path) as storage:
            services = Services(brain=brain, catalog=catalog, runner=runner)
            driver = RoundDriver(build_graph(storage.checkpointer), services)
            app.state.bar = BarRaiser(
                settings=settings,
                catalog=catalog,
                brain=brain,
                runner=runner,
                storage=storage,
                interviews=Interviews(driver),
                session_limiter=RateLimiter(settings.max_sessions_per_minute),
                voice=voice,
            )
            if settings.voice_enabled and settings.voice_preload:
                asyncio.get_running_loop().run_in_executor(voice.model_pool, voice.warm_quietly)
            try:
                yield
            finally:
                await brain.aclose()
                voice.close()

    app = FastAPI(
        title="Bar Raiser",
        version=__version__,
        lifespan=lifespan,
        description="Mock interviewer for the Amazon Data Scientist loop. See docs/protocol.md.",
    )
    app.state.brain_label = brain.label

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    app.include_router(api.router)
    app.include_router(ws.router)
    index = settings.frontend_dir / "index.html"
    app.mount("/static", StaticFiles(directory=settings.frontend_dir), name="static")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    return app
