"""The fake LLM's server: a scripted, OpenAI-compatible Chat Completions ASGI app, its state, and running it under
uvicorn on loopback (``barraiser fake-llm``, docs/fake-llm.md).

It speaks enough of the OpenAI HTTP API for the official ``openai`` SDK: ``POST /v1/chat/completions`` (JSON, or
server-sent events paced with ``asyncio.sleep`` so time to first token is measurable over a real socket) and
``GET /v1/models``. What it answers is driven by a script of rules (``script.py``); with no matching rule it
produces a minimal valid instance of the request's JSON schema (``schema_instance.py``), ``{}`` in JSON mode, or a
fixed sentence. Faults (429 / 5xx, hangs, malformed JSON, truncation, dropped connections) are injected by rules.

Control endpoints for tests: ``POST /_fake/script``, ``GET /_fake/script``, ``GET /_fake/requests``,
``POST /_fake/reset``.

The request path is kept cheap (the benchmark drives ~100 concurrent sessions): plain ``json``, no pydantic,
stream chunks pre-rendered as bytes from string templates.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
import time
from typing import Any

from devtools.fake_llm.schema_instance import schema_instance
from devtools.fake_llm.script import ScriptError, public_script, validate_script

PLAIN_TEXT = "This is the fake model."
PIECE_CHARS = 4
DEFAULT_MODEL = "fake-model"
READY_PREFIX = "fake-llm listening on "  # the line printed once the server listens, followed by its URL


# ----------------------------------------------------------------------------- requests


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") if isinstance(part, dict) and isinstance(part.get("text"), str) else ""
            for part in content
        )
    return ""


class ChatRequest:
    """What the rules and the default response need from a request body, computed once."""

    __slots__ = (
        "body",
        "model",
        "stream",
        "include_usage",
        "schema_name",
        "schema",
        "json_mode",
        "system_text",
        "last_user",
        "prompt_chars",
        "max_tokens",
    )

    def __init__(self, body: dict):
        self.body = body
        self.model = body.get("model") if isinstance(body.get("model"), str) else DEFAULT_MODEL
        self.stream = bool(body.get("stream"))
        opts = body.get("stream_options")
        self.include_usage = bool(self.stream and isinstance(opts, dict) and opts.get("include_usage"))
        fmt = body.get("response_format")
        fmt = fmt if isinstance(fmt, dict) else {}
        self.json_mode = fmt.get("type") == "json_object"
        self.schema_name = self.schema = None
        if fmt.get("type") == "json_schema" and isinstance(fmt.get("json_schema"), dict):
            self.schema_name = fmt["json_schema"].get("name")
            self.schema = fmt["json_schema"].get("schema", {})
        system, users, chars = [], [], 0
        for message in body.get("messages") or []:
            if not isinstance(message, dict):
                continue
            text = _text_of(message.get("content"))
            chars += len(text)
            role = message.get("role")
            if role in ("system", "developer"):
                system.append(text)
            elif role == "user":
                users.append(text)
        self.system_text = "\n".join(system)
        self.last_user = users[-1] if users else ""
        self.prompt_chars = chars
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        self.max_tokens = limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else None

    def matches(self, match: dict) -> bool:
        for key, want in match.items():
            if key == "model":
                ok = self.model == want
            elif key == "schema":
                ok = self.schema_name == want
            elif key == "json_mode":
                ok = self.json_mode == want
            elif key == "stream":
                ok = self.stream == want
            elif key == "system_contains":
                ok = want in self.system_text
            else:  # last_user_contains
                ok = want in self.last_user
            if not ok:
                return False
        return True

    def default_content(self) -> str:
        if self.schema is not None:
            return json.dumps(schema_instance(self.schema), ensure_ascii=False)
        if self.json_mode:
            return "{}"
        return PLAIN_TEXT


def split_pieces(text: str, size: int = PIECE_CHARS) -> list[str]:
    """~``size``-character pieces. Slicing a ``str`` works on code points, so a multi-byte character is never
    split."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def break_json(text: str) -> str:
    """Content that no JSON parser accepts: the first two thirds, so objects and strings are left open."""
    cut = text[: max(1, len(text) * 2 // 3)]
    return cut if cut != text else text + "{"


# ----------------------------------------------------------------------------- state and ASGI app


class FakeState:
    """The script, the per-rule use counters and the request log. Touched only from the event loop."""

    def __init__(self, script: dict | None = None, ttft_ms: float | None = None, tokens_per_s: float | None = None):
        self.cli_ttft_ms, self.cli_tokens_per_s = ttft_ms, tokens_per_s
        self.requests: list[dict] = []
        self.set_script(script if script is not None else {"defaults": {}, "rules": []})

    def set_script(self, script: dict) -> None:
        """``script`` must already be validated (``validate_script``)."""
        self.script = script
        self.used = [0] * len(script["rules"])

    def reset(self) -> None:
        self.requests = []
        self.used = [0] * len(self.script["rules"])

    def match(self, req: ChatRequest) -> tuple[int | None, dict | None]:
        for i, rule in enumerate(self.script["rules"]):
            times = rule.get("times")
            if times is not None and self.used[i] >= times:
                continue
            if req.matches(rule["match"]):
                self.used[i] += 1
                return i, rule
        return None, None

    def pacing(self, rule: dict | None) -> tuple[float, float]:
        """(ttft seconds, tokens per second): the rule, else the CLI flag, else the script's defaults, else 0."""
        values = []
        for key, cli in (("ttft_ms", self.cli_ttft_ms), ("tokens_per_s", self.cli_tokens_per_s)):
            if rule is not None and key in rule:
                values.append(rule[key])
            elif cli is not None:
                values.append(cli)
            else:
                values.append(self.script["defaults"].get(key, 0.0))
        return values[0] / 1000.0, values[1]


class _InjectedDisconnect(Exception):
    """Raised after a partial response: uvicorn then closes the socket mid-body (fault ``disconnect``)."""


class _DropInjected(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _InjectedDisconnect))


_JSON = [(b"content-type", b"application/json")]
_SSE = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
}


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


async def _send_json(send, status: int, obj: Any, headers: list | None = None) -> None:
    body = _dumps(obj)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": _JSON + [(b"content-length", str(len(body)).encode())] + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": body})


def _error(message: str, status: int, code: str | None = None) -> dict:
    return {
        "error": {
            "message": message,
            "type": _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error"),
            "param": None,
            "code": code,
        }
    }


async def _wait_disconnect(receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


class FakeApp:
    """The ASGI application (used without FastAPI to keep per-request CPU low)."""

    def __init__(self, state: FakeState):
        self.state = state
        self._ids = itertools.count(1)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        if path == "/v1/chat/completions" and method == "POST":
            await self.chat(raw, receive, send)
        elif path == "/v1/models" and method == "GET":
            await _send_json(
                send,
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "created": 0, "owned_by": "fake-llm"} for m in self._models()
                    ],
                },
            )
        elif path.startswith("/v1/models/") and method == "GET":
            await _send_json(
                send, 200, {"id": path[len("/v1/models/") :], "object": "model", "created": 0, "owned_by": "fake-llm"}
            )
        elif path == "/_fake/script" and method == "POST":
            try:
                script = validate_script(json.loads(raw or b"{}"))
            except (ValueError, ScriptError) as exc:
                await _send_json(send, 400, _error(str(exc), 400, "invalid_script"))
                return
            self.state.set_script(script)
            await _send_json(send, 200, {"ok": True, "rules": len(script["rules"])})
        elif path == "/_fake/script" and method == "GET":
            await _send_json(send, 200, public_script(self.state.script))
        elif path == "/_fake/requests" and method == "GET":
            await _send_json(send, 200, self.state.requests)
        elif path == "/_fake/reset" and method == "POST":
            self.state.reset()
            await _send_json(send, 200, {"ok": True})
        else:
            await _send_json(send, 404, _error(f"no route {method} {scope['path']}", 404, "unknown_url"))

    def _models(self) -> list[str]:
        names = [DEFAULT_MODEL]
        for rule in self.state.script["rules"]:
            model = rule["match"].get("model")
            if model and model not in names:
                names.append(model)
        return names

    async def chat(self, raw: bytes, receive, send) -> None:
        state = self.state
        try:
            body = json.loads(raw)
        except ValueError:
            state.requests.append(
                {"path": "/v1/chat/completions", "body": raw.decode("utf-8", "replace"), "rule": None, "t": time.time()}
            )
            await _send_json(send, 400, _error("request body is not JSON", 400, "invalid_json"))
            return
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            state.requests.append({"path": "/v1/chat/completions", "body": body, "rule": None, "t": time.time()})
            await _send_json(send, 400, _error("'messages' must be a list", 400, "invalid_request"))
            return
        req = ChatRequest(body)
        index, rule = state.match(req)
        state.requests.append({"path": "/v1/chat/completions", "body": body, "rule": index, "t": time.time()})
        ttft, tps = state.pacing(rule)
        fault = rule.get("fault", {}) if rule else {}
        watcher: asyncio.Task | None = None
        try:
            if fault.get("hang_s"):
                watcher = asyncio.ensure_future(_wait_disconnect(receive))
                await asyncio.wait((watcher,), timeout=fault["hang_s"])
                if watcher.done():
                    return
            if "status" in fault:
                status = fault["status"]
                headers = []
                if "retry_after_s" in fault:
                    after = fault["retry_after_s"]
                    headers = [
                        (b"retry-after", f"{after:g}".encode()),
                        (b"retry-after-ms", str(int(round(after * 1000))).encode()),
                    ]
                message = fault.get("message") or f"fake-llm injected HTTP {status}"
                code = "rate_limit_exceeded" if status == 429 else None
                await _send_json(send, status, _error(message, status, code), headers)
                return
            content = rule["_content"] if rule and "_content" in rule else req.default_content()
            if fault.get("malformed_json"):
                content = break_json(content)
            pieces = split_pieces(content)
            finish = "stop"
            if fault.get("truncate"):
                pieces = pieces[: len(pieces) // 2]
                finish = "length"
            if req.max_tokens is not None and len(pieces) > req.max_tokens:
                pieces = pieces[: req.max_tokens]
                finish = "length"
            prompt_tokens = (req.prompt_chars + 3) // 4
            cid = f"chatcmpl-fake{next(self._ids)}"
            if req.stream:
                if watcher is None:
                    watcher = asyncio.ensure_future(_wait_disconnect(receive))
                await self._stream(
                    send, req, cid, pieces, finish, prompt_tokens, ttft, tps, watcher, bool(fault.get("disconnect"))
                )
            else:
                await self._complete(
                    send, req, cid, pieces, finish, prompt_tokens, ttft, tps, bool(fault.get("disconnect"))
                )
        finally:
            if watcher is not None and not watcher.done():
                watcher.cancel()

    async def _complete(self, send, req, cid, pieces, finish, prompt_tokens, ttft, tps, disconnect) -> None:
        delay = ttft + (max(len(pieces) - 1, 0) / tps if tps > 0 else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        body = _dumps(
            {
                "id": cid,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": req.model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": "".join(pieces),
                            "refusal": None,
                            "annotations": [],
                        },
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(pieces),
                    "total_tokens": prompt_tokens + len(pieces),
                },
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": _JSON + [(b"content-length", str(len(body)).encode())],
            }
        )
        if disconnect:
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise _InjectedDisconnect()
        await send({"type": "http.response.body", "body": body})

    async def _stream(self, send, req, cid, pieces, finish, prompt_tokens, ttft, tps, watcher, disconnect) -> None:
        usage_tail = ',"usage":null' if req.include_usage else ""
        head = (
            f'data: {{"id":"{cid}","object":"chat.completion.chunk","created":{int(time.time())},'
            f'"model":{json.dumps(req.model)},"system_fingerprint":"fp_fake","choices":[{{"index":0,"delta":'
        )
        tail = '},"logprobs":null,"finish_reason":null}]' + usage_tail + "}\n\n"
        role_chunk = head + '{"role":"assistant","content":"","refusal":null' + tail
        await send({"type": "http.response.start", "status": 200, "headers": _SSE})
        loop = asyncio.get_running_loop()
        if ttft > 0:
            await asyncio.wait((watcher,), timeout=ttft)
            if watcher.done():
                return
        sent_limit = len(pieces) // 2 if disconnect else len(pieces)
        start = loop.time()
        interval = 1.0 / tps if tps > 0 else 0.0
        first = role_chunk
        for i in range(sent_limit):
            if i and interval:
                delay = start + i * interval - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if watcher.done():
                    return
            chunk = head + '{"content":' + json.dumps(pieces[i]) + tail
            await send({"type": "http.response.body", "body": (first + chunk).encode(), "more_body": True})
            first = ""
        if disconnect:
            if first:
                await send({"type": "http.response.body", "body": first.encode(), "more_body": True})
            raise _InjectedDisconnect()
        end = first + head + "{}" + f',"logprobs":null,"finish_reason":"{finish}"}}]' + usage_tail + "}\n\n"
        if req.include_usage:
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(pieces),
                "total_tokens": prompt_tokens + len(pieces),
            }
            end += (
                f'data: {{"id":"{cid}","object":"chat.completion.chunk","created":{int(time.time())},'
                f'"model":{json.dumps(req.model)},"system_fingerprint":"fp_fake","choices":[],'
                f'"usage":{json.dumps(usage)}}}\n\n'
            )
        end += "data: [DONE]\n\n"
        await send({"type": "http.response.body", "body": end.encode(), "more_body": False})


# ----------------------------------------------------------------------------- running the server


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _serve(host: str, port: int, state: FakeState) -> None:
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(
        FakeApp(state),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        backlog=2048,
        timeout_keep_alive=30,
    )
    logging.getLogger("uvicorn.error").addFilter(_DropInjected())
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        print(f"{READY_PREFIX}http://{_url_host(host)}:{sock.getsockname()[1]}", flush=True)
    await task


def run(
    host: str = "127.0.0.1",
    port: int = 0,
    script: dict | None = None,
    ttft_ms: float | None = None,
    tokens_per_s: float | None = None,
) -> int:
    """Serve until SIGINT / SIGTERM. ``script`` must be validated."""
    state = FakeState(script, ttft_ms, tokens_per_s)
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_serve(host, port, state))
    return 0
