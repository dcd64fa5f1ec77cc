"""Child servers on loopback (the fake LLM, a server under test or under benchmark, llama.cpp's server): find a free
port, start a child and wait until it is ready, and stop it for sure so nothing is left behind."""

from __future__ import annotations

import atexit
import collections
import queue
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

PORT = "{port}"  # in a command or a ready URL: replaced by a free port chosen at start
# urllib that ignores any *_proxy variables: the children are on loopback, a proxy would only get in the way
LOOPBACK_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (some fixed ports on shared machines are taken)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen | None, grace_s: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Ask a child to stop with ``sig``, kill it if it is still running after ``grace_s``; always reap it."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


class ChildServerError(RuntimeError):
    """The child exited before it was ready, or was not ready in time; the message ends with its last output."""


class ChildServer:
    """A server in a child process, started and waited for until it is ready, always stopped and reaped.

    ``cmd`` runs with ``env`` (default: this process's environment) in ``cwd``; its stdin is ``/dev/null``, its
    stdout and stderr go to ``log_path`` (appended) or, without one, to an in-memory tail (``output``, the last
    ``keep_lines`` lines). Ready means exactly one of:

    - ``ready_url``: an HTTP GET of it answers 2xx (polled every ``poll_s``);
    - ``ready_line``: the child prints a line that starts with it (``banner`` is that line, stripped).

    If ``cmd`` or ``ready_url`` holds ``{port}``, ``start()`` puts a free port there (``port``), and tries again
    with another one, up to ``attempts`` times, when the child exits before it is ready (the port may be taken
    between probing and binding). ``stop()`` sends ``stop_signal``, kills after ``grace_s`` and reaps; it also runs
    at interpreter exit if nobody called it. Usable as a context manager."""

    def __init__(
        self,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        log_path: str | Path | None = None,
        ready_url: str | None = None,
        ready_line: str | None = None,
        timeout_s: float = 30.0,
        poll_s: float = 0.1,
        attempts: int = 3,
        stop_signal: int = signal.SIGTERM,
        grace_s: float = 10.0,
        name: str | None = None,
        keep_lines: int = 200,
    ):
        if (ready_url is None) == (ready_line is None):
            raise ValueError("give exactly one readiness check: ready_url or ready_line")
        self.cmd, self.env, self.cwd = list(cmd), env, cwd
        self.log_path = Path(log_path) if log_path is not None else None
        self.ready_url, self.ready_line = ready_url, ready_line
        self.timeout_s, self.poll_s, self.attempts = timeout_s, poll_s, max(1, attempts)
        self.stop_signal, self.grace_s = stop_signal, grace_s
        self.name = name or Path(self.cmd[0]).name
        self.proc: subprocess.Popen | None = None
        self.port = 0  # the port put in place of {port}, if any
        self.banner = ""  # the ready line (ready_line only)
        self.output: collections.deque[str] = collections.deque(maxlen=keep_lines)  # without a log file
        self._reader: threading.Thread | None = None
        self._lines: queue.Queue[str | None] | None = None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self) -> ChildServer:
        """Start the child and return once it is ready; on failure it is stopped and ``ChildServerError`` raised."""
        if self.proc is not None:
            return self
        with_port = any(PORT in part for part in [*self.cmd, self.ready_url or ""])
        rc = None
        for _attempt in range(self.attempts if with_port else 1):
            self.port = free_port() if with_port else 0
            try:
                self._spawn()
                if self._wait_ready():
                    return self
            except BaseException:
                self.stop()
                raise
            rc = self.proc.returncode
            self.stop()
        raise ChildServerError(f"{self.name} exited at start (rc={rc}):\n{self.log_tail()}")

    def _fill(self, text: str) -> str:
        return text.replace(PORT, str(self.port)) if self.port else text

    def _spawn(self) -> None:
        cmd = [self._fill(part) for part in self.cmd]
        env = None if self.env is None else dict(self.env)
        piped = self.ready_line is not None or self.log_path is None
        log: IO[bytes] | None = None
        if self.log_path is not None:
            log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                cmd,
                cwd=self.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if piped else log,
                stderr=subprocess.STDOUT,
            )
        except BaseException:
            if log is not None:
                log.close()
            raise
        if log is not None and not piped:
            log.close()  # the child has its own copy; with a pipe, the reader writes it and closes it
        atexit.register(self.stop)
        if piped:
            self._lines = queue.Queue() if self.ready_line is not None else None
            self._reader = threading.Thread(
                target=self._read, args=(self.proc.stdout, log, self._lines), name=f"{self.name}-output", daemon=True
            )
            self._reader.start()

    def _read(self, stream: IO[bytes], log: IO[bytes] | None, lines: queue.Queue[str | None] | None) -> None:
        """Drain the child's output for its whole life (a full pipe would block it) into the tail and the log file,
        and into ``lines`` while the start waits for the ready line (``None`` at the end of the output)."""
        try:
            for raw in stream:
                if log is not None:
                    log.write(raw)
                    log.flush()
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self.output.append(line)
                if lines is not None and self._lines is lines:
                    lines.put(line)
        finally:
            if log is not None:
                log.close()
            if lines is not None and self._lines is lines:
                lines.put(None)

    def _wait_ready(self) -> bool:
        """True when ready, False when the child exited first; ``ChildServerError`` after ``timeout_s``."""
        deadline = time.monotonic() + self.timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            if self.ready_line is not None:
                try:
                    line = self._lines.get(timeout=min(remaining, 0.5))
                except queue.Empty:
                    continue
                if line is None:  # end of output: the child is exiting
                    self.proc.wait(timeout=5)
                    return False
                if line.startswith(self.ready_line):
                    self.banner, self._lines = line.strip(), None
                    return True
                continue
            if self.proc.poll() is not None:
                return False
            if self._answers(self._fill(self.ready_url)):
                return True
            time.sleep(self.poll_s)
        raise ChildServerError(f"{self.name} was not ready in {self.timeout_s:g} s:\n{self.log_tail()}")

    def _answers(self, url: str) -> bool:
        try:
            with LOOPBACK_HTTP.open(url, timeout=2) as resp:
                return 200 <= resp.status < 300
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def log_tail(self, lines: int = 30) -> str:
        """The child's last output lines (from the log file if there is one)."""
        if self.log_path is None:
            return "\n".join(list(self.output)[-lines:])
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the child (``stop_signal``, then kill after ``grace_s``) and reap it; a no-op if not running."""
        proc, self.proc = self.proc, None
        atexit.unregister(self.stop)
        if proc is None:
            return
        try:
            stop_process(proc, self.grace_s, self.stop_signal)
        finally:
            if self._reader is not None:
                self._reader.join(timeout=2)
                self._reader = None
            if proc.stdout is not None:
                proc.stdout.close()
            self._lines = None

    def __enter__(self) -> ChildServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
