"""Shared fixtures: the real content catalog, per-test settings on a temporary SQLite file, an in-process
client, a real uvicorn server on a free port (stopped by the fixture), and a throwaway PostgreSQL cluster (one per
test session, a fresh database per test; ``database_url`` runs a test on both back ends)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT, Settings
from app.content.catalog import Catalog, load_catalog
from devtools import postgres as throwaway_postgres
from devtools.processes import PORT, ChildServer

ARTIFACTS = PROJECT_ROOT / "test-artifacts"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch):
    """Tests build their own settings: a developer's BARRAISER_* or OPENAI_* variables (a real endpoint, another
    database) must not leak into them or into the servers they start."""
    for name in list(os.environ):
        if name.startswith(("BARRAISER_", "OPENAI_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(PROJECT_ROOT / "rubrics", PROJECT_ROOT / "prompts")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[throwaway_postgres.ThrowawayPostgres]:
    """One PostgreSQL server for the whole test session (in a temporary folder, on a free port); skipped, with the
    reason, only where PostgreSQL cannot run at all."""
    reason = throwaway_postgres.unavailable()
    if reason:
        pytest.skip(f"PostgreSQL cannot run here: {reason}")
    cluster = throwaway_postgres.ThrowawayPostgres().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: throwaway_postgres.ThrowawayPostgres) -> str:
    """A new empty database in the session's cluster."""
    return postgres_cluster.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test runs once on a SQLite file and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'barraiser.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'barraiser.db'}", _env_file=None)


@pytest.fixture
def client(settings: Settings):
    from fastapi.testclient import TestClient

    from app.server.app import create_app

    with TestClient(create_app(settings)) as c:
        yield c


class LiveServer(ChildServer):
    """``barraiser serve`` in a child process on a free loopback port, ready once ``/api/health`` answers."""

    def __init__(self, db_path: Path, log_path: Path, env: dict[str, str] | None = None):
        self.db_path = db_path
        super().__init__(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", PORT],
            env={**os.environ, "BARRAISER_DATABASE_URL": f"sqlite:///{db_path}", **(env or {})},
            cwd=PROJECT_ROOT,
            log_path=log_path,
            ready_url=f"http://127.0.0.1:{PORT}/api/health",
            name="server",
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path / "live.db", tmp_path / "server.log").start()
    try:
        yield server
    finally:
        server.stop()
