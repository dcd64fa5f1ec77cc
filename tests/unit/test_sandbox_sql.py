"""SQL runs through the sandbox (app/sandbox/sql.py), the same path the pad and the round use.

Every bank reference solution runs on a fresh read-only copy of its seeded data and matches; wrong solutions (ties,
NULLs, off by one, order, columns) fail with the right diff, and the diff never shows a reference row; attacks
(ATTACH, PRAGMA writes, writes, load_extension, huge cross joins, runaway recursion, blob bombs) are refused or
stopped with a clear message, and nothing one run does is seen by the next.
"""

from __future__ import annotations

import pytest

from app.content.catalog import Catalog
from app.content.models import Question
from app.sandbox.compare import compare, describe
from app.sandbox.sql import SqlSandbox


@pytest.fixture(scope="module")
def sandbox() -> SqlSandbox:
    return SqlSandbox(timeout_ms=500, max_rows=2000)


def _sql_questions(catalog: Catalog) -> list[Question]:
    return [q for q in catalog.questions.values() if q.sql is not None]


def _ref(q: Question) -> str:
    assert q.sql is not None
    return q.sql.solution_sql.strip().rstrip(";")


def test_the_bank_has_its_sql_questions(catalog: Catalog) -> None:
    assert len(_sql_questions(catalog)) >= 25


def test_every_reference_solution_passes_in_the_sandbox(catalog: Catalog, sandbox: SqlSandbox) -> None:
    failures = []
    for q in _sql_questions(catalog):
        run = sandbox.run_sync(q, q.sql.solution_sql)  # type: ignore[union-attr]
        if run.status != "ok" or not run.checked:
            failures.append(f"{q.id}: {run.status}: {run.summary}")
    assert not failures, "\n".join(failures)


def test_generic_wrong_solutions_fail_with_the_right_diff(catalog: Catalog, sandbox: SqlSandbox) -> None:
    """Mutants of every reference: one row short, one row too many, an extra column, and the order reversed."""
    problems = []
    for q in _sql_questions(catalog):
        ex = q.sql
        assert ex is not None
        n, ref = len(ex.expected_rows), _ref(q)
        mutants = {
            "more_rows": f"SELECT * FROM ({ref}) UNION ALL SELECT * FROM (SELECT * FROM ({ref}) LIMIT 1)",
            "columns": f"SELECT r.*, 1 AS extra_column FROM ({ref}) r",
        }
        if n >= 2:
            mutants["fewer_rows"] = f"SELECT * FROM ({ref}) LIMIT {n - 1}"
        for kind, query in mutants.items():
            run = sandbox.run_sync(q, query)
            if run.status != "wrong" or run.diff is None or kind not in run.diff.kinds:
                problems.append(f"{q.id} {kind}: {run.status} {run.diff.kinds if run.diff else ''} {run.summary}")
        if ex.ordered and n >= 2 and len({tuple(map(str, r)) for r in ex.expected_rows}) > 1:
            run = sandbox.run_sync(q, f"SELECT * FROM ({ref}) ORDER BY rowid DESC")
            reversed_run = sandbox.run_sync(q, f"WITH r AS ({ref}) SELECT * FROM r ORDER BY 1 DESC, 2 DESC")
            if not any(r.diff and "order" in r.diff.kinds for r in (run, reversed_run) if r.status == "wrong"):
                problems.append(f"{q.id} order: {reversed_run.status} {reversed_run.summary}")
    assert not problems, "\n".join(problems)


WRONG = [
    # ties: a shared top salary comes back again
    (
        "sql-second-highest-salary",
        "SELECT salary AS second_highest_salary FROM employees ORDER BY salary DESC LIMIT 1 OFFSET 1",
        {"missing_rows", "extra_rows"},
        "returns one row, as expected, but not the expected one",
    ),
    # ties: ROW_NUMBER drops one of two tied employees, so a department loses its third salary
    (
        "sql-top-three-salaries",
        "SELECT d.name AS department, r.name AS employee, r.salary FROM (SELECT e.*, ROW_NUMBER() OVER "
        "(PARTITION BY e.department_id ORDER BY e.salary DESC) AS rn FROM employees e) r "
        "JOIN departments d ON d.id = r.department_id WHERE r.rn <= 3",
        {"fewer_rows", "missing_rows"},
        "returns 5 rows where 6 are expected",
    ),
    # NULLs: NOT IN over a column with a NULL finds nothing
    (
        "sql-zero-user-neighborhoods",
        "SELECT name AS neighborhood_name FROM neighborhoods WHERE id NOT IN (SELECT neighborhood_id FROM users)",
        {"fewer_rows", "missing_rows"},
        "returns 0 rows where 2 are expected",
    ),
    # a filter on the right table in WHERE turns the LEFT JOIN into an inner one
    (
        "sql-left-join-filter-trap",
        "SELECT c.name AS customer_name, COUNT(o.id) AS completed_orders_2024 FROM customers c "
        "LEFT JOIN orders o ON o.customer_id = c.id WHERE o.status = 'completed' "
        "AND o.order_date >= '2024-01-01' AND o.order_date < '2025-01-01' GROUP BY c.id, c.name",
        {"fewer_rows", "missing_rows"},
        "where 4 are expected",
    ),
]


@pytest.mark.parametrize("qid,query,kinds,phrase", WRONG, ids=[w[0] for w in WRONG])
def test_wrong_solutions_fail_with_the_right_diff(
    catalog: Catalog, sandbox: SqlSandbox, qid: str, query: str, kinds: set[str], phrase: str
) -> None:
    q = catalog.questions[qid]
    run = sandbox.run_sync(q, query)
    assert run.status == "wrong" and run.diff is not None, run.summary
    assert kinds <= set(run.diff.kinds), run.diff.kinds
    assert phrase in run.summary
    # the diff and the summary carry counts and names, never a reference row that the result lacks
    assert q.sql is not None
    shown = run.summary + repr(run.diff.extra_examples) + repr(run.rows)
    result_values = {str(v) for row in run.rows for v in row}
    for row in q.sql.expected_rows:
        for value in row:
            if isinstance(value, str) and value not in result_values:
                assert value not in shown, f"{value!r} from the reference is shown"


def test_the_diff_reads_plainly() -> None:
    d = compare(["a"], [(1,), (2,), (3,)], ["a"], [(1,), (2,), (3,), (4,)], ordered=False)
    assert d is not None and describe(d) == "Your query returns 3 rows where 4 are expected."
    d = compare(["salary"], [(300,)], ["second_highest_salary"], [(200,)], ordered=False)
    assert d is not None and d.kinds == ["columns", "missing_rows", "extra_rows"]
    assert describe(d).startswith("Your query's columns are salary where the question asks for second_highest_salary")
    d = compare(["a"], [(2,), (1,)], ["a"], [(1,), (2,)], ordered=True)
    assert d is not None and d.kinds == ["order"] and d.first_misplaced == 0
    assert compare(["a"], [(2,), (1,)], ["a"], [(1,), (2,)], ordered=False) is None
    # numbers compare as numbers, with a tolerance; a numeric string is its number; names are case-insensitive
    assert compare(["A"], [(1.0000001,), ("2",), (True,)], ["a"], [(1,), (2,), (1,)], ordered=False) is None


ATTACKS = [
    ("ATTACH DATABASE '/tmp/barraiser-attack.db' AS x", "refused", "ATTACH"),
    ("PRAGMA writable_schema = 1", "refused", "PRAGMA writable_schema"),
    ("PRAGMA query_only = 0", "refused", "PRAGMA query_only"),
    ("PRAGMA journal_mode = WAL", "refused", "PRAGMA journal_mode"),
    ("SELECT load_extension('/tmp/evil.so')", "refused", "load_extension"),
    ("INSERT INTO employees VALUES (9, 'Mal', 1, 1)", "refused", "INSERT"),
    ("UPDATE employees SET salary = 0", "refused", "UPDATE"),
    ("DELETE FROM employees", "refused", "DELETE"),
    ("DROP TABLE employees", "refused", "change to the schema"),
    ("CREATE TABLE t (x)", "refused", "change to the schema"),
    ("CREATE TEMP TABLE t AS SELECT 1", "refused", "Refused"),
    ("BEGIN", "refused", "TRANSACTION"),
    ("VACUUM INTO '/tmp/barraiser-copy.db'", "refused", "Refused"),
    ("SELECT zeroblob(1000000000)", "refused", "too big"),
    ("SELECT randomblob(2000000000)", "refused", "too big"),
    ("SELECT * FROM employees a, employees b, employees c, employees d, employees e, employees f", "refused", "rows"),
    (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT COUNT(*) FROM n",
        "timeout",
        "longer than 500 ms",
    ),
    (
        "SELECT COUNT(*) FROM employees a, employees b, employees c, employees d, employees e, employees f, "
        "employees g, employees h, employees i, employees j, employees k",
        "timeout",
        "longer than",
    ),
    ("SELECT 1; DELETE FROM employees", "error", "one statement"),
    ("SELEC 1", "error", "syntax error"),
]


@pytest.mark.parametrize("query,status,phrase", ATTACKS, ids=[a[0][:40] for a in ATTACKS])
def test_attacks_are_contained_with_a_clear_message(
    catalog: Catalog, sandbox: SqlSandbox, query: str, status: str, phrase: str
) -> None:
    q = catalog.questions["sql-second-highest-salary"]
    run = sandbox.run_sync(q, query)
    assert run.status == status, run.summary
    assert phrase.lower() in run.summary.lower(), run.summary
    # and the next run sees the data untouched
    after = sandbox.run_sync(q, q.sql.solution_sql)  # type: ignore[union-attr]
    assert after.status == "ok"
    count = sandbox.run_sync(q, "SELECT COUNT(*) AS n FROM employees")
    assert count.rows == [[5]]


def test_a_run_is_fast_on_the_banks_data(catalog: Catalog, sandbox: SqlSandbox) -> None:
    q = catalog.questions["sql-top-three-salaries"]
    sandbox.run_sync(q, q.sql.solution_sql)  # type: ignore[union-attr]  # builds the seed once
    runs = [sandbox.run_sync(q, q.sql.solution_sql).elapsed_ms for _ in range(20)]  # type: ignore[union-attr]
    assert sorted(runs)[10] < 200  # generous: the goal (50 ms p50) is reported by the benchmark, not asserted


def test_a_huge_value_is_cut_for_the_grid(catalog: Catalog, sandbox: SqlSandbox) -> None:
    run = sandbox.run_sync(None, "SELECT printf('%.*c', 100000, 'x') AS big")
    assert run.status == "ok" and len(run.rows[0][0]) < 300 and "characters" in run.rows[0][0]


def test_a_question_without_data_gets_a_scratch_run(sandbox: SqlSandbox) -> None:
    run = sandbox.run_sync(None, "SELECT 1 NOT IN (2, NULL) AS x")
    assert run.status == "ok" and not run.checked and run.rows == [[None]]


def test_the_schema_is_shown_not_the_answer(catalog: Catalog, sandbox: SqlSandbox) -> None:
    tables = sandbox.tables(catalog.questions["sql-top-three-salaries"])
    assert [t["name"] for t in tables] == ["departments", "employees"]
    assert {c["name"] for c in tables[1]["columns"]} == {"id", "name", "salary", "department_id"}  # type: ignore[union-attr]


def test_column_names_count_only_when_the_question_gives_them(catalog) -> None:
    """Walked in the browser: a right LEFT JOIN answer was 'not yet right' for naming its columns name and
    completed_orders, names the question never gives."""
    q = catalog.questions["sql-left-join-filter-trap"]
    assert q.sql is not None and not any(c.lower() in q.prompt.lower() for c in q.sql.expected_columns)
    renamed = ", ".join(f"{c} AS x{i}" for i, c in enumerate(q.sql.expected_columns))
    run = SqlSandbox().run_sync(q, f"SELECT {renamed} FROM ({q.sql.solution_sql.strip().rstrip(';')})")
    assert run.status == "ok", run.summary
    narrow = SqlSandbox().run_sync(
        q, f"SELECT {q.sql.expected_columns[0]} FROM ({q.sql.solution_sql.strip().rstrip(';')})"
    )
    assert narrow.status == "wrong" and narrow.diff is not None and narrow.diff.expected_columns == []
    assert f"1 column where {len(q.sql.expected_columns)} are expected" in narrow.summary
    d = compare(["salary"], [(200,)], ["second_highest_salary"], [(200,)], ordered=False)  # a name the prompt gives
    assert d is not None and d.kinds == ["columns"]
