"""SQL runs: the candidate's query on a fresh read-only copy of the question's seeded SQLite data.

Layers, each enough on its own for what it guards:

- **A fresh copy per run.** The question's schema and seed data are built once into an in-memory database and
  serialised; every run deserialises its own copy, so nothing one run does is seen by the next.
- **An authorizer** that allows reading only: every write (INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, REINDEX,
  ANALYZE, VACUUM), ATTACH / DETACH, transactions, PRAGMAs other than a few read-only ones, and the functions
  ``load_extension``, ``readfile``, ``writefile`` and ``edit`` are refused with a clear error. ``query_only`` is set
  and extension loading stays off as well.
- **Limits** (``Connection.setlimit``): no attached databases, bounded string and blob sizes (no ``zeroblob(1e9)``),
  bounded SQL length and expression depth.
- **A time limit**: a progress handler interrupts the query once ``BARRAISER_SQL_TIMEOUT_MS`` has passed.
- **A row limit**: more than ``BARRAISER_SQL_MAX_ROWS`` rows and the run is refused (a runaway cross join).

Runs execute in a worker thread (sqlite3 releases the GIL while a statement runs), so the server keeps serving.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core.runs import SqlRun
from app.sandbox.compare import compare, describe

if TYPE_CHECKING:
    from app.content.models import Question, SqlExercise

GRID_ROWS = 200  # rows of a result sent to the page
CELL_CHARS = 200  # characters of a value the grid shows
_PROGRESS_OPS = 2000  # VM instructions between two checks of the clock

_READ_PRAGMAS = {"table_info", "table_xinfo", "table_list", "index_list", "index_info", "foreign_key_list"}
_REFUSED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}
_ALLOWED_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_RECURSIVE,
    sqlite3.SQLITE_PRAGMA,  # checked below: read-only pragmas only
}
_ACTIONS = (
    "ALTER_TABLE ANALYZE ATTACH CREATE_INDEX CREATE_TABLE CREATE_TEMP_INDEX CREATE_TEMP_TABLE CREATE_TEMP_TRIGGER "
    "CREATE_TEMP_VIEW CREATE_TRIGGER CREATE_VIEW CREATE_VTABLE DELETE DETACH DROP_INDEX DROP_TABLE DROP_TEMP_INDEX "
    "DROP_TEMP_TABLE DROP_TEMP_TRIGGER DROP_TEMP_VIEW DROP_TRIGGER DROP_VIEW DROP_VTABLE INSERT REINDEX SAVEPOINT "
    "TRANSACTION UPDATE"
).split()
_ACTION_NAMES = {
    getattr(sqlite3, f"SQLITE_{a}"): a.replace("_", " ") for a in _ACTIONS if hasattr(sqlite3, f"SQLITE_{a}")
}
_LIMITS = {
    "SQLITE_LIMIT_ATTACHED": 0,
    "SQLITE_LIMIT_LENGTH": 1_000_000,
    "SQLITE_LIMIT_SQL_LENGTH": 100_000,
    "SQLITE_LIMIT_EXPR_DEPTH": 200,
    "SQLITE_LIMIT_COMPOUND_SELECT": 100,
    "SQLITE_LIMIT_TRIGGER_DEPTH": 1,
}


class Refused(Exception):
    """The authorizer refused part of the query (its message says what)."""


@dataclass(frozen=True)
class _Seed:
    image: bytes
    tables: list[dict[str, object]]
    expected_columns: list[str]
    expected_rows: list[Sequence[Any]]
    ordered: bool


def _build(ex: SqlExercise) -> _Seed:
    con = sqlite3.connect(":memory:")
    try:
        con.executescript(ex.schema_sql)
        con.executescript(ex.seed_sql)
        con.commit()
        tables = []
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY rowid")]
        for name in names:
            cols = [{"name": r[1], "type": r[2] or ""} for r in con.execute(f'PRAGMA table_info("{name}")')]
            count = con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
            tables.append({"name": name, "columns": cols, "rows": count})
        image = con.serialize()
    finally:
        con.close()
    return _Seed(image, tables, list(ex.expected_columns), [tuple(r) for r in ex.expected_rows], ex.ordered)


def _statement(query: str) -> str:
    """One statement: trailing semicolons and comments trimmed; a second statement is refused by sqlite3 itself."""
    text = query.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    return text


class SqlSandbox:
    def __init__(self, timeout_ms: int = 2000, max_rows: int = 5000):
        self.timeout_s, self.max_rows = timeout_ms / 1000, max_rows
        self._seeds: dict[str, _Seed] = {}
        self._empty = _Seed(b"", [], [], [], False)  # a scratch run: an empty database
        self._lock = threading.Lock()

    def _seed(self, question: Question | None) -> _Seed | None:
        if question is None or question.sql is None:
            return None
        with self._lock:
            seed = self._seeds.get(question.id)
            if seed is None:
                seed = self._seeds[question.id] = _build(question.sql)
        return seed

    def tables(self, question: Question) -> list[dict[str, object]]:
        seed = self._seed(question)
        return seed.tables if seed else []

    async def run(self, question: Question | None, query: str) -> SqlRun:
        return await asyncio.to_thread(self.run_sync, question, query)

    def run_sync(self, question: Question | None, query: str) -> SqlRun:
        seed = self._seed(question)
        started = time.perf_counter()
        result = self._execute(seed or self._empty, _statement(query))
        elapsed = (time.perf_counter() - started) * 1000
        if isinstance(result, SqlRun):
            return result.model_copy(update={"elapsed_ms": elapsed})
        columns, rows = result
        base = {
            "columns": columns,
            "rows": [[_cell(v) for v in r] for r in rows[:GRID_ROWS]],
            "row_count": len(rows),
            "truncated": len(rows) > GRID_ROWS,
            "elapsed_ms": elapsed,
        }
        if seed is None:
            return SqlRun(status="ok", checked=False, summary=f"The query returned {_rows(len(rows))}.", **base)
        assert question is not None  # a seed is a question's
        prompt = question.prompt.lower()
        named = all(c.lower() in prompt for c in seed.expected_columns)  # the question says what to call them
        diff = compare(columns, rows, seed.expected_columns, seed.expected_rows, seed.ordered, names=named)
        if diff is None:
            return SqlRun(status="ok", summary=f"Correct: the result matches the expected {_rows(len(rows))}.", **base)
        return SqlRun(status="wrong", summary=describe(diff), diff=diff, **base)

    def _execute(self, seed: _Seed, query: str) -> tuple[list[str], list[tuple[Any, ...]]] | SqlRun:
        if not query:
            return SqlRun(status="error", summary="There is no query to run.", error="empty query")
        con = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        refusals: list[str] = []
        deadline = time.monotonic() + self.timeout_s
        try:
            if seed.image:
                con.deserialize(seed.image)
            if hasattr(con, "enable_load_extension"):  # absent when Python was built without extension loading
                con.enable_load_extension(False)
            con.execute("PRAGMA query_only = ON")
            for name, value in _LIMITS.items():
                con.setlimit(getattr(sqlite3, name), value)
            con.set_authorizer(_authorizer(refusals))
            con.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, _PROGRESS_OPS)
            try:
                cur = con.execute(query)
                if cur.description is None:
                    return SqlRun(
                        status="refused", summary="Only a query that returns rows can run here.", error="not a query"
                    )
                columns = [d[0] for d in cur.description]
                rows = cur.fetchmany(self.max_rows + 1)
            except sqlite3.DatabaseError as exc:
                return self._failure(exc, refusals, deadline)
            except (sqlite3.Warning, sqlite3.ProgrammingError) as exc:  # e.g. two statements at once
                message = str(exc).rstrip(".")
                return SqlRun(status="error", summary=f"The query did not run: {message}.", error=message)
            except MemoryError:
                return SqlRun(status="refused", summary="The query needed too much memory.", error="out of memory")
            if len(rows) > self.max_rows:
                return SqlRun(
                    status="refused",
                    summary=f"The query returns more than {self.max_rows:,} rows, the limit here; nothing is compared.",
                    error=f"more than {self.max_rows} rows",
                    columns=columns,
                    row_count=len(rows),
                )
            return columns, rows
        finally:
            con.close()

    def _failure(self, exc: sqlite3.DatabaseError, refusals: list[str], deadline: float) -> SqlRun:
        message = str(exc).rstrip(".")
        if refusals:
            what = refusals[0]
            if "sqlite_master" in what or "sqlite_temp_master" in what:
                what = "a change to the schema (CREATE, DROP, ALTER)"
            return SqlRun(
                status="refused", summary=f"Refused: {what}. Queries here may only read the data.", error=what
            )
        if "interrupted" in message and time.monotonic() >= deadline:
            ms = round(self.timeout_s * 1000)
            return SqlRun(
                status="timeout", summary=f"The query ran longer than {ms} ms and was stopped.", error=message
            )
        if "attempt to write a readonly database" in message or "query_only" in message:
            return SqlRun(status="refused", summary="Refused: the data is read-only here.", error=message)
        if re.search(r"too many attached|string or blob too big|too big", message):
            return SqlRun(status="refused", summary=f"Refused: {message}.", error=message)
        return SqlRun(status="error", summary=f"The query did not run: {message}.", error=message)


def _authorizer(refusals: list[str]):  # type: ignore[no-untyped-def]  # sqlite3's callback signature
    def check(action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None) -> int:
        if action == sqlite3.SQLITE_PRAGMA:
            if (arg1 or "").lower() in _READ_PRAGMAS:
                return sqlite3.SQLITE_OK
            refusals.append(f"PRAGMA {arg1}" + (f" = {arg2}" if arg2 is not None else ""))
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _REFUSED_FUNCTIONS:
            refusals.append(f"the function {arg2}()")
            return sqlite3.SQLITE_DENY
        if action in _ALLOWED_ACTIONS:
            return sqlite3.SQLITE_OK
        what = _ACTION_NAMES.get(action, f"action {action}")
        refusals.append(what + (f" {arg1}" if arg1 and action not in (sqlite3.SQLITE_TRANSACTION,) else ""))
        return sqlite3.SQLITE_DENY

    return check


def _cell(v: Any) -> Any:
    """A value as the grid shows it: long text and blobs are cut (the comparison saw them whole)."""
    if isinstance(v, bytes):
        v = f"<{len(v):,} bytes>" if len(v) > 64 else v.hex()
    if isinstance(v, str) and len(v) > CELL_CHARS:
        return v[:CELL_CHARS] + f"… ({len(v):,} characters)"
    return v


def _rows(n: int) -> str:
    return f"{n:,} row{'' if n == 1 else 's'}"
