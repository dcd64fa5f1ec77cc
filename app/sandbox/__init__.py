"""Running the candidate's code, isolated from the server: the ``CodeRunner`` adapter (app/core/ports.py).

``sql.py`` runs queries on a fresh read-only copy of the question's seeded SQLite data (authorizer, time and row
limits); ``compare.py`` diffs a result against the reference without revealing it; ``python.py`` runs Python in a
sandboxed child process (namespaces where the machine allows, rlimits otherwise; ``jail.py`` is the child's side).
``make_runner`` builds the runner the settings ask for; with ``BARRAISER_CODE_EXECUTION=off`` nothing runs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.config import Settings
from app.core.ports import CodeRunner
from app.core.runs import PythonRun, SqlRun
from app.sandbox.python import Limits, PythonSandbox
from app.sandbox.sql import SqlSandbox

if TYPE_CHECKING:
    from app.content.models import Question

log = logging.getLogger(__name__)
OFF_MESSAGE = "Code execution is switched off on this server; the interviewer reads your code instead."


class SandboxRunner:
    """Runs SQL in-process on read-only copies and Python in sandboxed child processes."""

    enabled = True

    def __init__(self, settings: Settings):
        self.sql = SqlSandbox(timeout_ms=settings.sql_timeout_ms, max_rows=settings.sql_max_rows)
        self.python = PythonSandbox(
            Limits(
                timeout_s=settings.code_timeout_s,
                cpu_s=settings.code_cpu_s,
                memory_mb=settings.code_memory_mb,
                processes=settings.code_max_processes,
                file_kb=settings.code_file_size_kb,
                max_output_chars=settings.code_max_output_chars,
            ),
            backend=settings.code_sandbox,
        )
        self.name: str = self.python.backend
        if self.name == "rlimits":
            log.warning(
                "Python runs are isolated by resource limits only (no bwrap or unshare here): do not expose this "
                "server to untrusted users, or set BARRAISER_CODE_EXECUTION=off"
            )

    async def run_sql(self, question: Question | None, query: str) -> SqlRun:
        return await self.sql.run(question, _plain(query))

    async def run_python(self, question: Question | None, code: str) -> PythonRun:
        return await self.python.run(question, _plain(code))

    def tables(self, question: Question) -> list[dict[str, object]]:
        return self.sql.tables(question)


class DisabledRunner:
    """Execution switched off: every run is refused with the same message; the schema is still shown."""

    enabled = False
    name = "off"

    def __init__(self) -> None:
        self.sql = SqlSandbox()

    async def run_sql(self, question: Question | None, query: str) -> SqlRun:
        return SqlRun(status="refused", checked=False, summary=OFF_MESSAGE, error="execution is off")

    async def run_python(self, question: Question | None, code: str) -> PythonRun:
        return PythonRun(status="refused", checked=False, summary=OFF_MESSAGE, error="execution is off")

    def tables(self, question: Question) -> list[dict[str, object]]:
        return self.sql.tables(question)


def _plain(code: str) -> str:
    """No-break spaces (pasted from a web page, or typed by some input methods) are plain spaces in code."""
    return code.replace("\u00a0", " ")


def make_runner(settings: Settings) -> CodeRunner:
    return SandboxRunner(settings) if settings.code_execution == "on" else DisabledRunner()
