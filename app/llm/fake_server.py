"""``barraiser fake-llm``: a scripted, OpenAI-compatible Chat Completions server on loopback, for tests and the
benchmark.

It speaks enough of the OpenAI HTTP API for the official ``openai`` SDK: ``POST /v1/chat/completions`` (JSON, or
server-sent events paced with ``asyncio.sleep`` so time to first token is measurable over a real socket) and
``GET /v1/models``. What it answers is driven by a script of rules (see ``docs/fake-llm.md``); with no matching
rule it produces a minimal valid instance of the request's JSON schema, ``{}`` in JSON mode, or a fixed sentence.
Faults (429 / 5xx, hangs, malformed JSON, truncation, dropped connections) are injected by rules.

Control endpoints for tests: ``POST /_fake/script``, ``GET /_fake/script``, ``GET /_fake/requests``,
``POST /_fake/reset``. ``FakeLLM`` runs the server in a child process (``python -m app.llm.fake_server``).

The request path is kept cheap (the benchmark drives ~100 concurrent sessions): plain ``json``, no pydantic,
stream chunks pre-rendered as bytes from string templates.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import collections
import itertools
import json
import logging
import math
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from app.processes import stop_process

PLAIN_TEXT = "This is the fake model."
PIECE_CHARS = 4
DEFAULT_MODEL = "fake-model"
READY_PREFIX = "fake-llm listening on "
PROJECT_ROOT = Path(__file__).resolve().parents[2]

MATCH_KEYS = {
    "model": str,
    "schema": str,
    "json_mode": bool,
    "stream": bool,
    "system_contains": str,
    "last_user_contains": str,
}
RULE_KEYS = {"match", "times", "ttft_ms", "tokens_per_s", "fault", "respond"}
FAULT_KEYS = {"status", "retry_after_s", "message", "hang_s", "malformed_json", "truncate", "disconnect"}
RESPOND_KEYS = {"json", "content"}
DEFAULTS_KEYS = {"ttft_ms", "tokens_per_s"}


class ScriptError(ValueError):
    """The script does not have the documented shape; the message says where."""


# ----------------------------------------------------------------------------- script


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or not math.isfinite(value):
        raise ScriptError(f"{where}: must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_keys(obj: Any, allowed: set[str], where: str) -> dict:
    if not isinstance(obj, dict):
        raise ScriptError(f"{where}: must be a mapping, got {type(obj).__name__}")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ScriptError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
    return obj


def validate_script(script: Any) -> dict:
    """Check a script and return a normalised copy: ``{"defaults": {...}, "rules": [...]}``. Each rule gets its
    response content pre-serialised under ``_content`` (so the request path does no ``json.dumps`` of it)."""
    if script is None:
        script = {}
    _check_keys(script, {"defaults", "rules"}, "script")
    defaults = _check_keys(script.get("defaults") or {}, DEFAULTS_KEYS, "defaults")
    out_defaults = {k: _number(v, f"defaults.{k}") for k, v in defaults.items() if v is not None}
    rules = script.get("rules") or []
    if not isinstance(rules, list):
        raise ScriptError("rules: must be a list")
    out_rules = []
    for i, rule in enumerate(rules):
        where = f"rules[{i}]"
        _check_keys(rule, RULE_KEYS, where)
        match = _check_keys(rule.get("match") or {}, set(MATCH_KEYS), f"{where}.match")
        for key, value in match.items():
            if not isinstance(value, MATCH_KEYS[key]):
                raise ScriptError(f"{where}.match.{key}: must be a {MATCH_KEYS[key].__name__}, got {value!r}")
        norm: dict[str, Any] = {"match": dict(match)}
        if rule.get("times") is not None:
            times = rule["times"]
            if isinstance(times, bool) or not isinstance(times, int) or times < 0:
                raise ScriptError(f"{where}.times: must be an integer >= 0, got {times!r}")
            norm["times"] = times
        for key in ("ttft_ms", "tokens_per_s"):
            if rule.get(key) is not None:
                norm[key] = _number(rule[key], f"{where}.{key}")
        if rule.get("fault") is not None:
            fault = dict(_check_keys(rule["fault"], FAULT_KEYS, f"{where}.fault"))
            if not fault:
                raise ScriptError(f"{where}.fault: empty")
            if "status" in fault:
                status = fault["status"]
                if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
                    raise ScriptError(f"{where}.fault.status: must be an HTTP error status 400..599, got {status!r}")
            for key in ("retry_after_s", "hang_s"):
                if key in fault:
                    fault[key] = _number(fault[key], f"{where}.fault.{key}")
            for key in ("malformed_json", "truncate", "disconnect"):
                if key in fault and not isinstance(fault[key], bool):
                    raise ScriptError(f"{where}.fault.{key}: must be true or false")
            if "message" in fault and not isinstance(fault["message"], str):
                raise ScriptError(f"{where}.fault.message: must be a string")
            norm["fault"] = fault
        if rule.get("respond") is not None:
            respond = _check_keys(rule["respond"], RESPOND_KEYS, f"{where}.respond")
            if "json" in respond:
                if "content" in respond:
                    raise ScriptError(f"{where}.respond: give either json or content, not both")
                norm["_content"] = json.dumps(respond["json"], ensure_ascii=False)
            elif "content" in respond:
                if not isinstance(respond["content"], str):
                    raise ScriptError(f"{where}.respond.content: must be a string")
                norm["_content"] = respond["content"]
            else:
                raise ScriptError(f"{where}.respond: needs json or content")
            norm["respond"] = dict(respond)
        out_rules.append(norm)
    return {"defaults": out_defaults, "rules": out_rules}


def load_script_file(path: str | Path) -> dict:
    """Read a script from a ``.json`` file or a YAML file (any other extension)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError
        raise ScriptError(f"{path}: {exc}") from exc
    return validate_script(data)


def _public_script(script: dict) -> dict:
    rules = [{k: v for k, v in rule.items() if not k.startswith("_")} for rule in script["rules"]]
    return {"defaults": script["defaults"], "rules": rules}


# ----------------------------------------------------------------------------- schema-driven defaults

_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "email": "ok@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "duration": "P1D",
}
_MINIMAL_DEPTH = 24  # below this depth anyOf prefers a null branch (stops recursive Optional[...] models)
_MAX_DEPTH = 64


def _resolve_ref(root: Any, ref: str) -> Any:
    if not ref.startswith("#"):
        raise ValueError(f"only local $ref is supported, got {ref!r}")
    node = root
    for part in ref[1:].split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _is_null_schema(schema: Any) -> bool:
    return isinstance(schema, dict) and (
        schema.get("type") == "null" or schema.get("const", 0) is None or schema.get("enum") == [None]
    )


def _number_instance(schema: dict, integer: bool) -> int | float:
    lo, hi = schema.get("minimum"), schema.get("maximum")
    xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if xlo is True:  # draft 4 boolean form
        xlo, lo = lo, None
    if xhi is True:
        xhi, hi = hi, None
    if isinstance(xlo, bool):
        xlo = None
    if isinstance(xhi, bool):
        xhi = None
    if lo is not None:
        value = lo
    elif xlo is not None:
        value = math.floor(xlo) + 1 if integer else xlo + 1
    else:
        value = 1
    if hi is not None and value > hi:
        value = hi
    if xhi is not None and value >= xhi:
        below = lo if lo is not None else xlo
        if integer:
            value = math.ceil(xhi) - 1
        elif below is not None:
            value = (below + xhi) / 2
        else:
            value = xhi - 1
    if integer:
        value = math.ceil(value)
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0 and value % step:
            value += step - value % step
        return int(value)
    return value


def _string_instance(schema: dict) -> str:
    text = _FORMATS.get(schema.get("format", ""), "ok")
    min_len, max_len = schema.get("minLength"), schema.get("maxLength")
    if isinstance(min_len, int) and len(text) < min_len:
        text += "k" * (min_len - len(text))
    if isinstance(max_len, int) and len(text) > max_len:
        text = text[:max_len]
    return text


def schema_instance(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """A small valid instance of ``schema``: required properties in the schema's order, the first ``enum`` value
    or ``const``, ``"ok"`` for strings, ``minimum`` (or 1) for numbers, ``True`` for booleans, ``minItems`` items
    for arrays, the first non-null branch of ``anyOf`` / ``oneOf``, ``$ref`` resolved against the root."""
    if root is None:
        root = schema
    if schema is True or schema is None:
        return "ok"
    if schema is False or not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    if "$ref" in schema:
        return schema_instance(_resolve_ref(root, schema["$ref"]), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return next((v for v in enum if v is not None), enum[0])
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            non_null = [b for b in branches if not _is_null_schema(b)]
            if depth >= _MINIMAL_DEPTH and len(non_null) < len(branches) or not non_null:
                return None
            return schema_instance(non_null[0], root, depth + 1)
    if isinstance(schema.get("allOf"), list):
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            while isinstance(part, dict) and "$ref" in part:
                part = _resolve_ref(root, part["$ref"])
            if not isinstance(part, dict):
                continue
            for k, v in part.items():
                if k == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **v}
                elif k == "required":
                    merged["required"] = list(dict.fromkeys([*merged.get("required", []), *v]))
                else:
                    merged.setdefault(k, v)
        return schema_instance(merged, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((t for t in kind if t != "null"), "null")
    if kind is None:
        if "properties" in schema or "required" in schema or "additionalProperties" in schema:
            kind = "object"
        elif "items" in schema or "prefixItems" in schema:
            kind = "array"
        elif any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
            kind = "number"
        else:
            kind = "string"
    if kind == "object":
        props = schema.get("properties") or {}
        required = schema.get("required") or []
        out = {}
        for name, sub in props.items():
            if name in required:
                out[name] = schema_instance(sub, root, depth + 1)
        extra = schema.get("additionalProperties")
        for name in required:
            if name not in out:
                out[name] = schema_instance(extra if isinstance(extra, dict) else True, root, depth + 1)
        return out
    if kind == "array":
        count = schema.get("minItems") or 0
        prefix = schema.get("prefixItems") or []
        items = schema.get("items", True)
        out_list = [schema_instance(p, root, depth + 1) for p in prefix[:count]]
        while len(out_list) < count:
            out_list.append(schema_instance(items, root, depth + 1))
        return out_list
    if kind == "string":
        return _string_instance(schema)
    if kind == "integer":
        return _number_instance(schema, True)
    if kind == "number":
        return _number_instance(schema, False)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "ok"


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
            await _send_json(send, 200, _public_script(self.state.script))
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


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port, printed on start)")
    parser.add_argument(
        "--ttft-ms",
        type=float,
        default=None,
        help="delay before the first streamed token, ms (overrides the script's defaults)",
    )
    parser.add_argument(
        "--tokens-per-s",
        type=float,
        default=None,
        help="streamed pieces per second, 0 = unthrottled (overrides the script's defaults)",
    )
    parser.add_argument("--script", default=None, help="rules file, YAML or JSON (see docs/fake-llm.md)")


def _run_args(args: argparse.Namespace, settings: Any = None) -> int:
    for flag in ("ttft_ms", "tokens_per_s"):
        value = getattr(args, flag)
        if value is not None and (value < 0 or not math.isfinite(value)):
            print(f"--{flag.replace('_', '-')} must be >= 0", file=sys.stderr)
            return 2
    try:
        script = load_script_file(args.script) if args.script else None
    except (OSError, ScriptError) as exc:
        print(f"fake-llm: bad script: {exc}", file=sys.stderr)
        return 2
    try:
        return run(args.host, args.port, script, args.ttft_ms, args.tokens_per_s)
    except OSError as exc:
        print(f"fake-llm: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2


def add_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``barraiser fake-llm`` on the ``barraiser`` sub-command parsers; its handler is called as
    ``handler(args, settings)`` like the others."""
    parser = subparsers.add_parser("fake-llm", help="serve a scripted fake OpenAI-compatible LLM (tests, benchmark)")
    _add_arguments(parser)
    parser.set_defaults(handler=_run_args)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.llm.fake_server",
        description="Scripted fake OpenAI-compatible LLM server (docs/fake-llm.md).",
    )
    _add_arguments(parser)
    return _run_args(parser.parse_args(argv))


# ----------------------------------------------------------------------------- the test / benchmark helper


class FakeLLM:
    """The fake server in a child process on a free loopback port.

    ``with FakeLLM() as fake: AsyncOpenAI(base_url=fake.base_url, api_key="x")``. ``script`` is a dict (sent
    after start) or a path to a YAML / JSON file (passed as ``--script``)."""

    def __init__(
        self,
        script: dict | str | Path | None = None,
        *,
        ttft_ms: float | None = None,
        tokens_per_s: float | None = None,
        host: str = "127.0.0.1",
        startup_timeout_s: float = 20.0,
    ):
        self.script, self.ttft_ms, self.tokens_per_s = script, ttft_ms, tokens_per_s
        self.host, self.startup_timeout_s = host, startup_timeout_s
        self.proc: subprocess.Popen | None = None
        self.url = ""  # http://127.0.0.1:PORT
        self.port = 0
        self.output: collections.deque[str] = collections.deque(maxlen=200)  # the child's last output lines
        self._reader: threading.Thread | None = None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def start(self) -> FakeLLM:
        if self.proc is not None:
            return self
        cmd = [sys.executable, "-m", "app.llm.fake_server", "--host", self.host, "--port", "0"]
        if self.ttft_ms is not None:
            cmd += ["--ttft-ms", str(self.ttft_ms)]
        if self.tokens_per_s is not None:
            cmd += ["--tokens-per-s", str(self.tokens_per_s)]
        if isinstance(self.script, (str, Path)):
            cmd += ["--script", str(self.script)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            cmd,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        atexit.register(self.stop)
        lines: queue.Queue[str | None] = queue.Queue()

        def read(stream) -> None:
            for line in stream:
                self.output.append(line.rstrip("\n"))
                lines.put(line)
            lines.put(None)

        self._reader = threading.Thread(target=read, args=(self.proc.stdout,), name="fake-llm-output", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.startup_timeout_s
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError("fake-llm did not start in time:\n" + "\n".join(self.output))
                try:
                    line = lines.get(timeout=min(remaining, 0.5))
                except queue.Empty:
                    continue
                if line is None:
                    self.proc.wait(timeout=5)
                    raise RuntimeError(f"fake-llm exited with {self.proc.returncode}:\n" + "\n".join(self.output))
                if line.startswith(READY_PREFIX):
                    self.url = line[len(READY_PREFIX) :].strip()
                    self.port = int(self.url.rsplit(":", 1)[1])
                    break
            if isinstance(self.script, dict):
                self.set_script(self.script)
        except BaseException:
            self.stop()
            raise
        return self

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"content-type": "application/json"}
        )
        try:
            with self._opener.open(request, timeout=10) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise RuntimeError(f"fake-llm {method} {path}: HTTP {exc.code}: {detail}") from None

    def set_script(self, script: dict) -> None:
        """Replace the script (and reset the rule counters). Raises ``RuntimeError`` if it does not validate."""
        validate_script(script)  # fail fast, with the same messages, in the caller's process
        self._call("POST", "/_fake/script", script)

    def requests(self) -> list[dict]:
        """Every chat request received, in order: ``{"path", "body", "rule", "t"}`` (``rule``: matched index)."""
        return self._call("GET", "/_fake/requests")

    def reset(self) -> None:
        """Forget the received requests and reset the rule counters (the script stays)."""
        self._call("POST", "/_fake/reset", {})

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        atexit.unregister(self.stop)
        if proc is None:
            return
        stop_process(proc, grace_s=5)
        if self._reader is not None:
            self._reader.join(timeout=2)
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
