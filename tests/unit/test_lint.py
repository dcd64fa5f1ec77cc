"""The code stays clean under the project's ruff rules (pyproject.toml [tool.ruff])."""

import subprocess
import sys
from pathlib import Path

from app.config import PROJECT_ROOT


def test_ruff_is_clean():
    ruff = Path(sys.executable).with_name("ruff")  # the one the test extra installed beside this interpreter
    proc = subprocess.run(
        [str(ruff), "check", "app", "tests"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-1000:]
