"""``app/`` type-checks under mypy at the strictness pyproject.toml [tool.mypy] sets (with pydantic's plugin)."""

import subprocess
import sys
from pathlib import Path

from app.config import PROJECT_ROOT

MYPY = Path(sys.executable).with_name("mypy")  # the one the test extra installed beside this interpreter


def test_mypy_finds_no_type_error_in_app():
    proc = subprocess.run([str(MYPY)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
