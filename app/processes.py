"""Child processes on loopback (the fake LLM, a server under test or under benchmark): find a free port, and stop a
child for sure so nothing is left behind."""

from __future__ import annotations

import signal
import socket
import subprocess


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (some fixed ports on shared machines are taken)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen | None, grace_s: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Ask a child to stop with ``sig``, kill it if it is still running after ``grace_s``; always reap it."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
