"""``devtools.processes.ChildServer``, the one helper that starts the fake LLM, the servers under test and under
benchmark, and llama.cpp's server: ready on a line or an HTTP URL, a clear error with the child's output when it
exits or hangs at start, a fresh port per attempt, and never a child left behind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from devtools.processes import PORT, ChildServer, ChildServerError


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-u", "-c", code, *args]


def test_ready_on_a_line_keeps_the_output_and_reaps_the_child() -> None:
    code = "import time; print('booting'); print('READY at 42'); print('serving'); time.sleep(60)"
    with ChildServer(python(code), ready_line="READY", name="liner") as child:
        pid = child.pid
        assert child.banner == "READY at 42"
        assert not gone(pid)
    assert child.proc is None and gone(pid)
    assert list(child.output)[:2] == ["booting", "READY at 42"]


def test_ready_on_a_url_with_a_free_port_and_a_log_file(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    server = ChildServer(
        [sys.executable, "-m", "http.server", PORT, "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        log_path=log,
        ready_url=f"http://127.0.0.1:{PORT}/",
        timeout_s=20,
    ).start()
    try:
        pid = server.pid
        assert server.port > 0
    finally:
        server.stop()
    assert gone(pid)
    assert "GET / HTTP" in log.read_text()


def test_a_child_that_exits_at_start_is_reported_with_its_output() -> None:
    child = ChildServer(python("import sys; print('bad config'); sys.exit(3)"), ready_line="READY", name="broken")
    with pytest.raises(ChildServerError, match=r"broken exited at start \(rc=3\):\nbad config"):
        child.start()
    assert child.proc is None


def test_each_attempt_gets_a_fresh_port(tmp_path: Path) -> None:
    log = tmp_path / "attempts.log"
    code = "import sys; print('port', sys.argv[1]); sys.exit(1)"
    child = ChildServer(python(code, PORT), log_path=log, ready_url=f"http://127.0.0.1:{PORT}/", attempts=2)
    with pytest.raises(ChildServerError, match=r"exited at start \(rc=1\)"):
        child.start()
    ports = [line.split()[1] for line in log.read_text().splitlines()]
    assert len(ports) == 2 and all(p.isdigit() for p in ports)


def test_a_child_that_never_gets_ready_is_stopped_after_the_timeout() -> None:
    code = "import os, time; print(os.getpid()); time.sleep(60)"
    child = ChildServer(python(code), ready_line="READY", timeout_s=1, grace_s=2, name="sleeper")
    with pytest.raises(ChildServerError, match=r"sleeper was not ready in 1 s"):
        child.start()
    assert child.proc is None and gone(int(child.output[0]))


def test_exactly_one_readiness_check() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ChildServer(["true"])
    with pytest.raises(ValueError, match="exactly one"):
        ChildServer(["true"], ready_url="http://127.0.0.1:1/", ready_line="x")
