"""What running the candidate's code produced: the results of a SQL or Python run, and a run as the round keeps it.

A run's ``status`` says what happened: ``ok`` (the result matches the reference, or every hidden test passed),
``wrong`` (it ran, and the result or some tests differ), ``error`` (it did not run: a syntax error, an exception, a
missing function), ``timeout`` (a time limit stopped it), ``refused`` (the sandbox refused it: a write, ATTACH, a
PRAGMA that writes, too many rows, execution switched off). ``checked`` is false for a scratch run (a question with
nothing to compare against): then ``ok`` only means it ran.

What a run shows never includes the reference: a SQL diff says how many rows are missing or extra and which
columns differ, never the expected rows; a Python run names the hidden tests and says which passed, never their code.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["sql", "python"]
RunStatus = Literal["ok", "wrong", "error", "timeout", "refused"]
RunSource = Literal["answer", "pad"]
# What a wrong SQL result gets wrong. A run probe (rubrics: ``run_probes``) is chosen by these.
SqlDiffKind = Literal["columns", "fewer_rows", "more_rows", "missing_rows", "extra_rows", "order"]
# A run probe's condition: a SQL diff kind, ``failed_test`` (any failing hidden test), ``test:<name>``, or a status.
RUN_PROBE_STATUSES = ("error", "timeout")

# A run as the state keeps it: a ``RunRecord`` dump; read it through ``RoundView.runs``.
RunDump = dict[str, Any]


class SqlDiff(BaseModel):
    """How a SQL result differs from the reference: counts and names only, never the reference rows."""

    model_config = ConfigDict(frozen=True)

    kinds: list[SqlDiffKind] = Field(default_factory=list)
    expected_rows: int = Field(description="How many rows the reference returns.")
    actual_rows: int
    missing: int = Field(0, description="Reference rows the result lacks (counted as a bag).")
    extra: int = Field(0, description="Result rows the reference lacks.")
    expected_columns: list[str] = Field(
        default_factory=list, description="The column names asked for (empty when the question names none)."
    )
    expected_width: int | None = Field(None, description="How many columns the reference returns.")
    actual_columns: list[str] = Field(default_factory=list)
    extra_examples: list[list[Any]] = Field(
        default_factory=list, description="A few of the candidate's own rows that the reference does not have."
    )
    first_misplaced: int | None = Field(None, description="Ordered results: the first row (0-based) out of place.")


class TestResult(BaseModel):
    """One hidden test of a Python question: its name, whether it passed, and why not (never its code)."""

    model_config = ConfigDict(frozen=True)
    __test__ = False  # not a pytest class

    name: str
    passed: bool
    error: str | None = Field(None, description="The exception type and message, without the test's source.")


class CodeRun(BaseModel):
    """What one run of the candidate's code produced."""

    model_config = ConfigDict(frozen=True)

    language: Language
    status: RunStatus
    checked: bool = Field(True, description="False: nothing to compare against (a scratch run).")
    summary: str = Field(description="One sentence: what happened, for the candidate and the interviewer.")
    error: str | None = None
    elapsed_ms: float = 0.0


class SqlRun(CodeRun):
    language: Literal["sql"] = "sql"
    columns: list[str] = Field(default_factory=list)
    rows: list[list[Any]] = Field(default_factory=list, description="The first rows of the result, for the grid.")
    row_count: int = 0
    truncated: bool = Field(False, description="The result had more rows than the grid shows.")
    diff: SqlDiff | None = None


class PythonRun(CodeRun):
    language: Literal["python"] = "python"
    stdout: str = ""
    stderr: str = ""
    tests: list[TestResult] = Field(default_factory=list)
    passed: int = 0
    total: int = 0
    sandbox: str = Field("", description="The isolation the run had: bwrap, unshare or rlimits.")

    @property
    def failing(self) -> list[TestResult]:
        return [t for t in self.tests if not t.passed]


AnyRun = SqlRun | PythonRun


class RunRecord(BaseModel):
    """A run as the round keeps it (state ``runs``, the session's pad runs, the transcript)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Unique within the session: 'turn-<index>' or 'pad-<n>'.")
    source: RunSource
    turn: int | None = Field(None, description="The candidate turn whose code ran (source answer).")
    question_id: str | None = None
    code: str
    at: float
    result: SqlRun | PythonRun = Field(discriminator="language")

    @property
    def status(self) -> RunStatus:
        return self.result.status


def run_record(dump: RunDump) -> RunRecord:
    return RunRecord.model_validate(dump)
