"""Python runs: the candidate's code in a sandboxed child process, then the question's hidden tests against it.

The isolation is chosen at start-up (``BARRAISER_CODE_SANDBOX``, ``auto`` by default) from what the machine allows:

- ``bwrap`` (bubblewrap, when installed and working): new PID, network, mount, IPC and UTS namespaces (and a user
  namespace when the server is not root), a read-only root made of binds of the system and Python, a tmpfs work
  directory and /tmp, and ``nobody`` as the user.
- ``unshare`` (util-linux, as root, or with an unprivileged user namespace): new PID, network, mount, IPC and UTS
  namespaces; app/sandbox/jail.py builds the same read-only root itself, chroots into it and drops root.
- ``rlimits`` (the fallback when neither works): resource limits and an audit hook only, in a fresh temporary
  directory, as ``nobody`` when the server runs as root. It stops the obvious attempts (sockets, subprocesses,
  files outside the work directory) with a clear error, but it is **not** a security boundary: do not expose a
  server to untrusted users in this mode (switch execution off with ``BARRAISER_CODE_EXECUTION=off``).

Every mode sets the resource limits (CPU seconds, address space, file size, processes, open files, no core dumps),
starts the child in its own session, and kills it (its whole process group or namespace) at the wall-clock timeout.
stdout and stderr are kept up to a bound; the hidden tests' results come back on a separate pipe (fd 3).

The hidden tests are the question's ``python.tests``: a ``# case: <name>`` line starts a named test; without such
lines every top-level statement that checks something is a test of its own (with the statements before it).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import os
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from app.core.runs import PythonRun, TestResult

if TYPE_CHECKING:
    from app.content.models import Question

Backend = Literal["bwrap", "unshare", "rlimits"]
JAIL = Path(__file__).with_name("jail.py")
_CHILD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_MAX_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "MPLBACKEND": "Agg",
}


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 5.0
    cpu_s: int = 4
    memory_mb: int = 768
    processes: int = 16
    file_kb: int = 1024
    max_output_chars: int = 8000
    work_mb: int = 16


@dataclass(frozen=True)
class Case:
    name: str
    source: str


def split_tests(tests: str) -> tuple[str, list[Case]]:
    """(shared setup, the named hidden tests) of a question's test code."""
    lines = tests.splitlines()
    marks = [i for i, line in enumerate(lines) if line.strip().lower().startswith("# case:")]
    if marks:
        setup = "\n".join(lines[: marks[0]])
        cases = []
        for n, start in enumerate(marks):
            end = marks[n + 1] if n + 1 < len(marks) else len(lines)
            name = lines[start].split(":", 1)[1].strip() or f"test {n + 1}"
            cases.append(Case(name, "\n".join(lines[start + 1 : end])))
        return setup, cases
    tree = ast.parse(tests)
    setup_end, pending, cases = 0, [], []
    for node in tree.body:
        pending.append(node)
        if any(isinstance(n, ast.Assert | ast.Raise) for n in ast.walk(node)):
            start = pending[0].lineno - 1
            source = "\n".join(lines[start : node.end_lineno])
            message = node.msg.value if isinstance(node, ast.Assert) and isinstance(node.msg, ast.Constant) else None
            cases.append(Case(str(message) if message else f"test {len(cases) + 1}", source))
            pending = []
        elif not cases and isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef):
            pending.pop()
            setup_end = node.end_lineno or setup_end
    setup = "\n".join(lines[:setup_end]) if setup_end else ""
    # statements kept as setup were imports and helpers before the first test; the cases re-run nothing of them
    return setup, [c if c.source.strip() else Case(c.name, "pass") for c in cases]


def _system_paths() -> list[str]:
    """What a run may read: the system's libraries and the Python installation (never the project or its data)."""
    prefixes = {sys.base_prefix, sys.prefix, *site.getsitepackages()}
    paths = ["/usr", "/bin", "/lib", "/lib64", "/lib32", "/libx32", "/sbin", "/etc/ld.so.cache", "/etc/localtime"]
    real = os.path.realpath(sys.executable)
    prefixes.add(os.path.dirname(os.path.dirname(real)))
    for p in sorted(prefixes):
        if p and not any(p == q or p.startswith(q.rstrip("/") + "/") for q in paths):
            paths.append(p)
    return paths


def _nobody_can_read() -> bool:
    """rlimits mode as root: may the run become ``nobody`` and still read the Python installation?"""
    for top in {sys.base_prefix, sys.prefix}:
        path = Path(top)
        for p in [path, *path.parents]:
            try:
                mode = p.stat().st_mode
            except OSError:
                return False
            if not mode & 0o001 or (p == path and not mode & 0o004):
                return False
    return True


def _jail_work(paths: list[str]) -> str:
    """The work directory's path inside the new root: one that no read-only path lies under."""
    for candidate in ("/sandbox", "/sandbox-work", "/run-work"):
        if not any(p == candidate or p.startswith(candidate + "/") for p in paths):
            return candidate
    return "/w"


def _sys_path() -> list[str]:
    keep = [sys.base_prefix, sys.prefix]
    return [p for p in sys.path if p and any(p.startswith(k) for k in keep) and os.path.isdir(p)]


def _probe(cmd: list[str]) -> bool:
    try:
        return subprocess.run([*cmd, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


_UNSHARE = ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--net", "--ipc", "--uts"]


def _bwrap_prefix(paths: list[str], limits: Limits) -> list[str]:
    """bubblewrap's arguments. As root, no user namespace: the jail then drops to ``nobody`` itself, so that the
    process limit counts a real unprivileged user (in a user namespace it would count root, who is exempt)."""
    cmd = ["bwrap", "--die-with-parent", "--new-session"]
    if os.geteuid() == 0:
        cmd += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    else:
        cmd += ["--unshare-all", "--cap-drop", "ALL", "--uid", "65534", "--gid", "65534"]
    size, work = str(limits.work_mb * 1024 * 1024), _jail_work(paths)
    cmd += ["--perms", "1777", "--size", size, "--tmpfs", "/tmp", "--perms", "1777", "--size", size, "--tmpfs", work]
    cmd += ["--dev", "/dev", "--proc", "/proc"]
    made: set[str] = set()
    for p in paths:
        if os.path.islink(p) and os.path.dirname(p) == "/":
            cmd += ["--symlink", os.readlink(p), p]
            continue
        if not os.path.exists(p):
            continue
        # the directories above a bind: traversable by nobody (bwrap would copy /root's 0700)
        parents = [str(a) for a in reversed(Path(p).parents) if str(a) != "/" and str(a) not in made]
        for a in parents:
            cmd += ["--perms", "0755", "--dir", a]
            made.add(a)
        cmd += ["--ro-bind", p, p]
    cmd += ["--ro-bind", str(JAIL), "/jail.py", "--chdir", work, "--remount-ro", "/"]
    return cmd


def detect_backend(wanted: str = "auto") -> tuple[Backend, list[str]]:
    """The isolation to use and the command prefix that gives it (``[]`` for rlimits)."""
    if wanted in ("auto", "bwrap") and shutil.which("bwrap"):
        if _probe(["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--"]):
            return "bwrap", ["bwrap"]
    if wanted in ("auto", "unshare") and shutil.which("unshare"):
        if os.geteuid() == 0 and _probe([*_UNSHARE, "--"]):
            return "unshare", _UNSHARE
        user = ["unshare", "--user", "--map-root-user", *_UNSHARE[1:]]
        if _probe([*user, "--"]):
            return "unshare", user
    if wanted not in ("auto", "rlimits"):
        raise RuntimeError(f"BARRAISER_CODE_SANDBOX={wanted} is not available on this machine")
    return "rlimits", []


class PythonSandbox:
    def __init__(self, limits: Limits | None = None, backend: str = "auto", concurrency: int = 2):
        self.limits = limits or Limits()
        self.backend, self._prefix = detect_backend(backend)
        self._paths = _system_paths()
        self._slots = asyncio.Semaphore(concurrency)
        self._python = os.path.realpath(sys.executable) if self.backend != "rlimits" else sys.executable
        self._cases: dict[str, tuple[str, list[Case]]] = {}

    def cases(self, question: Question | None) -> tuple[str, list[Case]]:
        ex = question.python if question is not None else None
        if ex is None:
            return "", []
        assert question is not None
        if question.id not in self._cases:
            self._cases[question.id] = split_tests(ex.tests)
        return self._cases[question.id]

    def _job(self, code: str, entry: str | None, setup: str, cases: list[Case], work: str, root: str) -> dict:
        lim = self.limits
        return {
            "mode": self.backend,
            "root": root,
            "work": work,
            "jail_work": _jail_work(self._paths),
            "ro_paths": self._paths,
            "work_mb": lim.work_mb,
            # as root, the jail becomes nobody (in rlimits mode only if nobody can still read the Python install)
            "drop_root": os.geteuid() == 0 and (self.backend != "rlimits" or _nobody_can_read()),
            "cpu_s": lim.cpu_s,
            "memory_mb": lim.memory_mb,
            "file_kb": lim.file_kb,
            "processes": lim.processes,
            "sys_path": _sys_path(),
            "env": _CHILD_ENV,
            "code": code,
            "entry_point": entry,
            "setup": setup,
            "cases": [{"name": c.name, "source": c.source} for c in cases],
        }

    def _command(self, mode_work: str) -> list[str]:
        if self.backend == "bwrap":
            return [*_bwrap_prefix(self._paths, self.limits), "--", self._python, "-I", "-S", "/jail.py"]
        if self.backend == "unshare":
            return [*self._prefix, "--", self._python, "-I", "-S", str(JAIL)]
        return [self._python, "-I", "-S", str(JAIL)]

    async def run(self, question: Question | None, code: str) -> PythonRun:
        async with self._slots:
            return await self._run(question, code)

    async def _run(self, question: Question | None, code: str) -> PythonRun:
        ex = question.python if question is not None else None
        setup, cases = self.cases(question)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="barraiser-run-") as tmp:
            work, root = os.path.join(tmp, "work"), os.path.join(tmp, "root")
            os.makedirs(work)
            os.makedirs(root)
            if os.geteuid() == 0 and self.backend == "rlimits":
                os.chown(work, 65534, 65534)
            job = self._job(code, ex.entry_point if ex else None, setup, cases, work, root)
            events, stdout, stderr, outcome, code_ = await self._spawn(job, work)
        elapsed = (time.perf_counter() - started) * 1000
        return _result(
            events,
            stdout,
            stderr,
            outcome,
            cases,
            checked=ex is not None,
            sandbox=self.backend,
            limits=self.limits,
            elapsed=elapsed,
            returncode=code_,
        )

    async def _spawn(self, job: dict, work: str) -> tuple[list[dict], str, str, str, int | None]:
        read_fd, write_fd = os.pipe()
        job = {**job, "result_fd": write_fd}
        lim = self.limits
        try:
            proc = await asyncio.create_subprocess_exec(
                *self._command(work),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(write_fd,),
                start_new_session=True,
                cwd=work if self.backend == "rlimits" else "/",
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **_CHILD_ENV},
            )
        finally:
            os.close(write_fd)
        loop = asyncio.get_running_loop()
        results = _PipeReader(read_fd, loop, limit=1_000_000)
        assert proc.stdin and proc.stdout and proc.stderr
        cap = lim.max_output_chars * 4
        flood = asyncio.Event()
        out_task = asyncio.create_task(_read_capped(proc.stdout, cap, flood))
        err_task = asyncio.create_task(_read_capped(proc.stderr, cap, flood))
        outcome = "exited"
        try:
            proc.stdin.write(json.dumps(job).encode())
            await proc.stdin.drain()
            proc.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass
        waiter = asyncio.create_task(proc.wait())
        flooded = asyncio.create_task(flood.wait())
        try:
            done, _ = await asyncio.wait({waiter, flooded}, timeout=lim.timeout_s, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                outcome = "timeout"
            elif waiter not in done:
                outcome = "output"
        finally:
            flooded.cancel()
            _kill(proc.pid)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        stdout = await out_task
        stderr = await err_task
        events = await results.close()
        if outcome == "exited" and proc.returncode and proc.returncode < 0:
            outcome = f"signal:{-proc.returncode}"
        elif outcome == "exited" and self._prefix and proc.returncode and 128 < proc.returncode < 160:
            outcome = f"signal:{proc.returncode - 128}"  # bwrap / unshare report the child's signal as 128 + n
        return events, stdout, stderr, outcome, proc.returncode


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def _read_capped(stream: asyncio.StreamReader, cap: int, flood: asyncio.Event) -> str:
    """Up to ``cap`` bytes of a stream; past that, ``flood`` is set (the run is stopped) and the rest is drained."""
    data = bytearray()
    while chunk := await stream.read(65536):
        if len(data) < cap:
            data.extend(chunk[: cap - len(data)])
        else:
            flood.set()
    return data.decode("utf-8", "replace")


class _PipeReader:
    """The results pipe, read as JSON lines in the background."""

    def __init__(self, fd: int, loop: asyncio.AbstractEventLoop, limit: int):
        self.fd, self.loop, self.limit = fd, loop, limit
        self.buffer = bytearray()
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._read)
        self.closed = False

    def _read(self) -> None:
        try:
            chunk = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        if not chunk:
            self._stop()
            return
        if len(self.buffer) < self.limit:
            self.buffer.extend(chunk)

    def _stop(self) -> None:
        if not self.closed:
            self.closed = True
            self.loop.remove_reader(self.fd)

    async def close(self) -> list[dict]:
        with contextlib.suppress(BlockingIOError, OSError):
            while chunk := os.read(self.fd, 65536):
                if len(self.buffer) < self.limit:
                    self.buffer.extend(chunk)
        self._stop()
        os.close(self.fd)
        events = []
        for line in self.buffer.decode("utf-8", "replace").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                e = json.loads(line)
                if isinstance(e, dict):
                    events.append(e)
        return events


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n] + f"\n… ({len(text) - n:,} more characters not shown)"


def _result(
    events: list[dict[str, Any]],
    stdout: str,
    stderr: str,
    outcome: str,
    cases: list[Case],
    *,
    checked: bool,
    sandbox: str,
    limits: Limits,
    elapsed: float,
    returncode: int | None = None,
) -> PythonRun:
    n = limits.max_output_chars
    base: dict[str, Any] = {
        "stdout": _clip(stdout, n),
        "stderr": _clip(stderr, n),
        "sandbox": sandbox,
        "elapsed_ms": elapsed,
        "checked": checked,
    }
    by_name = {e["name"]: e for e in events if e.get("event") == "case"}
    running = next((e["name"] for e in reversed(events) if e.get("event") == "case_start"), None)
    loaded = next((e for e in events if e.get("event") == "loaded"), None)
    setup = next((e for e in events if e.get("event") == "setup"), None)
    tests = []
    for c in cases:
        e = by_name.get(c.name)
        if e is not None:
            tests.append(TestResult(name=c.name, passed=bool(e.get("passed")), error=e.get("error")))
        elif c.name == running:
            tests.append(TestResult(name=c.name, passed=False, error=_stopped(outcome, limits)))
        else:
            tests.append(TestResult(name=c.name, passed=False, error="not run"))
    passed = sum(t.passed for t in tests)
    base.update(tests=tests if loaded and loaded.get("ok") else [], passed=passed, total=len(cases))
    stopped = outcome != "exited"
    why = _stopped(outcome, limits)
    if outcome in ("timeout", "signal:24"):
        where = f" in the hidden test '{running}'" if running and running not in by_name else ""
        return PythonRun(status="timeout", summary=f"Stopped: {why}{where}.", error=why, **base)
    if loaded is None or not loaded.get("ok"):
        if loaded is not None:
            why = str(loaded.get("error"))
        elif not stopped:
            why = f"the process exited (code {returncode}) before your code finished"
        return PythonRun(status="error", summary=f"Your code did not run: {why}.", error=why, **base)
    if setup is not None and not setup.get("ok"):
        error = f"the hidden tests could not start: {setup.get('error')}"
        return PythonRun(status="error", summary=error[0].upper() + error[1:] + ".", error=error, **base)
    if not checked:
        if stopped:
            return PythonRun(status="error", summary=f"Your code was stopped: {why}.", error=why, **base)
        return PythonRun(status="ok", summary="Your code ran (this question has no hidden tests).", **base)
    if len(by_name) < len(cases):
        if not stopped:
            why = f"the process exited (code {returncode}) during the hidden test '{running}'"
        return PythonRun(status="error", summary=f"Your code was stopped: {why}.", error=why, **base)
    if passed == len(cases):
        return PythonRun(status="ok", summary=f"All {len(cases)} hidden tests pass.", **base)
    failing = [t.name for t in tests if not t.passed]
    names = ", ".join(f"'{x}'" for x in failing[:3]) + (f" and {len(failing) - 3} more" if len(failing) > 3 else "")
    return PythonRun(status="wrong", summary=f"{passed} of {len(cases)} hidden tests pass; failing: {names}.", **base)


def _stopped(outcome: str, limits: Limits) -> str:
    if outcome == "timeout":
        return f"it ran longer than {limits.timeout_s:g} s"
    if outcome == "signal:24":
        return f"it used more than {limits.cpu_s} s of CPU time"
    if outcome == "signal:25":
        return f"it wrote a file larger than {limits.file_kb} KiB"
    if outcome == "signal:9":
        return "it was killed (a resource limit)"
    if outcome == "output":
        return f"it printed more than {limits.max_output_chars * 4:,} characters"
    if outcome.startswith("signal:"):
        return f"it was stopped by signal {outcome.split(':')[1]}"
    return "it stopped"
