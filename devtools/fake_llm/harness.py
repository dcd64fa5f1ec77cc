"""``FakeLLM``: the fake LLM server in a child process on a free loopback port, for tests, the benchmark and the
cassette recorder; it sends scripts to it and reads its request log."""

from __future__ import annotations

import collections
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from app.config import PROJECT_ROOT
from devtools.fake_llm.asgi import READY_PREFIX
from devtools.fake_llm.script import validate_script
from devtools.processes import LOOPBACK_HTTP, ChildServer


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
        self.url = ""  # http://127.0.0.1:PORT
        self.port = 0
        self._child: ChildServer | None = None

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    @property
    def proc(self):
        """The child's ``subprocess.Popen`` while it runs, else None."""
        return None if self._child is None else self._child.proc

    @property
    def output(self) -> collections.deque[str]:
        """The child's last output lines (for diagnostics)."""
        return collections.deque() if self._child is None else self._child.output

    def start(self) -> FakeLLM:
        if self.proc is not None:
            return self
        cmd = [sys.executable, "-m", "devtools.fake_llm.cli", "--host", self.host, "--port", "0"]
        if self.ttft_ms is not None:
            cmd += ["--ttft-ms", str(self.ttft_ms)]
        if self.tokens_per_s is not None:
            cmd += ["--tokens-per-s", str(self.tokens_per_s)]
        if isinstance(self.script, (str, Path)):
            cmd += ["--script", str(self.script)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        self._child = ChildServer(
            cmd,
            env=env,
            cwd=PROJECT_ROOT,
            ready_line=READY_PREFIX,
            timeout_s=self.startup_timeout_s,
            grace_s=5,
            name="fake-llm",
        ).start()
        try:
            self.url = self._child.banner[len(READY_PREFIX) :].strip()
            self.port = int(self.url.rsplit(":", 1)[1])
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
            with LOOPBACK_HTTP.open(request, timeout=10) as resp:
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
        if self._child is not None:
            self._child.stop()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
