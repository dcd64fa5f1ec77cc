"""The page's JavaScript: ESLint (frontend/eslint.config.js) is clean and the Node unit tests in tests/js/ pass.

Both need Node.js and frontend/node_modules; `python3 app/bootstrap.py test` installs them (Debian's nodejs and
npm, then `npm ci`).
"""

import shutil
import subprocess

import pytest

from app.config import PROJECT_ROOT

FRONTEND = PROJECT_ROOT / "frontend"
JS_TESTS = sorted((PROJECT_ROOT / "tests" / "js").glob("*.test.mjs"))


def _run(cmd: list[str], cwd) -> subprocess.CompletedProcess[str]:
    if shutil.which(cmd[0]) is None:
        pytest.fail(f"`{cmd[0]}` is not installed: run `python3 app/bootstrap.py test` (it installs Node.js and npm)")
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_eslint_is_clean():
    if not (FRONTEND / "node_modules" / ".bin" / "eslint").exists():
        pytest.fail(
            "frontend/node_modules has no ESLint: run `python3 app/bootstrap.py test` (or `npm ci` in frontend/)"
        )
    proc = _run(["npx", "--no-install", "eslint", "--max-warnings", "0", "."], FRONTEND)
    assert proc.returncode == 0, "ESLint (in frontend/):\n" + proc.stdout[-6000:] + proc.stderr[-2000:]


def test_js_unit_tests_pass():
    assert JS_TESTS, "no tests/js/*.test.mjs found"
    # the spec reporter ends with the failing tests and their assertions, so the tail of its output is what matters
    proc = _run(["node", "--test", "--test-reporter=spec", *map(str, JS_TESTS)], PROJECT_ROOT)
    assert proc.returncode == 0, "node --test tests/js/:\n" + proc.stdout[-8000:] + proc.stderr[-2000:]
