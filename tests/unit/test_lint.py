"""The code stays clean under the project's ruff rules and formatter (pyproject.toml [tool.ruff])."""

import subprocess
import sys
from pathlib import Path

from app.config import PROJECT_ROOT

RUFF = Path(sys.executable).with_name("ruff")  # the one the test extra installed beside this interpreter


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RUFF), *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


def test_ruff_is_clean():
    proc = _ruff("check", ".")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-1000:]


def test_ruff_format_leaves_nothing_to_change():
    proc = _ruff("format", "--check", ".")
    assert proc.returncode == 0, "run `.venv/bin/ruff format .`:\n" + proc.stdout[-4000:] + proc.stderr[-1000:]
