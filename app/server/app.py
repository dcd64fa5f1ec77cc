"""The FastAPI application: wires settings, content, brain, storage and the round graph together, and serves
the REST API, the interview WebSocket and the static page."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import __version__
from app.brains import make_brain
from app.config import Settings, get_settings
from app.content.catalog import load_catalog
from app.interview.graph import build_graph
from app.interview.nodes import Services
from app.interview.session import RoundDriver
from app.sandbox import make_runner
from app.server import api, history, ws
from app.server.deps import BarRaiser
from app.server.interviews import Interviews, RateLimiter
from app.server.owners import LocalOwners, Owners, PostgresOwners
from app.store.database import is_postgres, open_database
from app.voice.stack import VoiceStack

# The page loads only its own files; candidate text can never become script or markup. Its socket goes only to
# its own host: connect-src names it (``'self'`` alone does not cover ws: in every browser).
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src {connect}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": _CSP.format(connect="'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


def security_headers_for(host: str | None) -> dict[str, str]:
    """The security headers, with the socket's host (the request's own, if it is a well-formed host) in
    ``connect-src``."""
    headers = dict(SECURITY_HEADERS)
    if host and _HOST.match(host):
        headers["Content-Security-Policy"] = _CSP.format(connect=f"'self' ws://{host} wss://{host}")
    return headers


class BodyLimit:
    """Refuse HTTP request bodies over ``max_bytes`` with 413 (by Content-Length at once, else as they stream in),
    so no request can make the server hold or parse more than that."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await self._too_large(send)
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        body = f'{{"detail": "request body over {self.max_bytes} bytes"}}'.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


_TOKEN_IN_URL = re.compile(r"(token=)[^&\s\"']+")
_SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error")  # the access lines and the WebSocket "[accepted]" lines


class QuietBadFrames(logging.Filter):
    """uvicorn logs a client's invalid UTF-8 frame as an ERROR with a traceback (it closes the socket with 1007,
    which is right): one line at INFO is enough for a client's mistake."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Invalid UTF-8 sequence received from client"):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
        return True


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
        for kind in (RedactTokens, QuietBadFrames):
            if not any(isinstance(f, kind) for f in logger.filters):
                logger.addFilter(kind())


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    catalog = load_catalog(settings.rubrics_dir, settings.prompts_dir)  # fails fast with file: field: reason
    brain = make_brain(settings)
    runner = make_runner(settings)
    voice = VoiceStack(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redact_tokens_in_server_logs()  # here, after the server has configured its logging
        try:
            async with open_database(
                settings.database_url, prune=settings.prune_checkpoints, pool_size=settings.database_pool_size
            ) as storage:
                driver = RoundDriver(
                    build_graph(storage.checkpointer),
                    Services(brain=brain, catalog=catalog, runner=runner),
                    durable=storage.checkpointer,
                )
                owners: Owners = (
                    await PostgresOwners(settings.database_url, takeover_s=settings.owner_takeover_s).start()
                    if is_postgres(settings.database_url)
                    else LocalOwners()
                )
                app.state.bar = BarRaiser(
                    settings=settings,
                    catalog=catalog,
                    brain=brain,
                    runner=runner,
                    storage=storage,
                    interviews=Interviews(driver),
                    session_limiter=RateLimiter(settings.max_sessions_per_minute),
                    frame_limiter=RateLimiter(settings.max_frames_per_minute),
                    owners=owners,
                    voice=voice,
                )
                if settings.voice_enabled and settings.voice_preload:
                    asyncio.get_running_loop().run_in_executor(voice.model_pool, voice.warm_quietly)
                try:
                    yield
                finally:
                    await owners.aclose()
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
        response.headers.update(security_headers_for(request.headers.get("host")))
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 with what was wrong where, never the offending value echoed back (it may be huge)."""
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))[:300], "type": e.get("type")}
            for e in exc.errors()[:20]
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    app.include_router(api.router)
    app.include_router(history.router)
    app.include_router(ws.router)
    index = settings.frontend_dir / "index.html"
    app.mount("/static", StaticFiles(directory=settings.frontend_dir), name="static")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    return app
