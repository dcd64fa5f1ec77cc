"""A throwaway PostgreSQL cluster for the tests and the benchmark: ``initdb`` in a temporary folder, ``pg_ctl start``
on a free loopback port (its socket in that folder too), databases created on demand, and ``stop()`` that stops the
server and removes the folder. Run as root, the cluster belongs to the ``postgres`` user (PostgreSQL refuses to run
as root): its commands go through ``runuser``. Debian's binaries are found under /usr/lib/postgresql/N/bin, else on
PATH (``BARRAISER_PG_BINDIR`` names another folder).

``unavailable()`` says why no cluster can run here (no binaries, root without a ``postgres`` user), or None.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from devtools.processes import free_port

_DEBIAN = Path("/usr/lib/postgresql")
_RUN_AS = "postgres"  # who owns the cluster when we are root


def bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (the newest Debian version first), or None."""
    if os.environ.get("BARRAISER_PG_BINDIR"):
        return Path(os.environ["BARRAISER_PG_BINDIR"])
    if _DEBIAN.is_dir():
        versions = sorted((p for p in _DEBIAN.iterdir() if (p / "bin" / "initdb").exists()), key=_version, reverse=True)
        if versions:
            return versions[0] / "bin"
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.name)) or (0,)


def unavailable() -> str | None:
    """Why a throwaway cluster cannot run on this machine, or None when it can."""
    folder = bindir()
    if folder is None or not (folder / "initdb").exists() or not (folder / "pg_ctl").exists():
        return (
            "PostgreSQL is not installed (no initdb/pg_ctl under /usr/lib/postgresql/*/bin or on PATH); "
            "`python3 app/bootstrap.py test` installs Debian's postgresql when run as root"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(_RUN_AS)
        except KeyError:
            return "running as root and there is no 'postgres' user to own the test cluster (PostgreSQL refuses root)"
        if shutil.which("runuser") is None:
            return "running as root without runuser: cannot start PostgreSQL as the 'postgres' user"
    return None


class ThrowawayPostgres:
    """One PostgreSQL server for a test session or a benchmark run; ``url(db)`` for each database in it."""

    def __init__(self) -> None:
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        self.bin = bindir()
        self.folder = Path(tempfile.mkdtemp(prefix="barraiser-pg-"))
        self.data = self.folder / "data"
        self.port = 0
        self.root = os.geteuid() == 0
        if self.root:
            os.chmod(self.folder, 0o755)
            shutil.chown(self.folder, _RUN_AS, _RUN_AS)

    def _run(self, *cmd: str, timeout: float = 120) -> subprocess.CompletedProcess:
        argv = [str(self.bin / cmd[0]), *cmd[1:]]
        if self.root:
            argv = ["runuser", "-u", _RUN_AS, "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.folder)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr[-2000:]}")
        return result

    def start(self) -> ThrowawayPostgres:
        try:
            if not self.data.exists():
                self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
            self.port = self.port or free_port()
            options = (
                f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            self._run(
                "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"), "-w", "start"
            )
        except BaseException:
            self.stop()
            raise
        return self

    def restart(self, *, mode: str = "immediate") -> None:
        """Stop the server (``immediate``: as if it crashed) and start it again on the same port."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.data.exists() and (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=60)
            except (RuntimeError, subprocess.TimeoutExpired):
                time.sleep(0.5)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
