"""The SQL question bank: every question validates, and every SQL exercise's reference solution runs.

For each question with an ``sql`` exercise, the schema, seed data and reference solution run in a fresh
in-memory SQLite database and the result must equal the stated ``expected_columns`` / ``expected_rows``
(order-insensitive unless ``ordered``; floats compared with a 1e-6 tolerance).

Depends only on ``app.content.models`` (pydantic) and PyYAML.
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.content.models import Question

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS_DIR = ROOT / "rubrics" / "questions"
SQL_DIR = QUESTIONS_DIR / "sql"
TOLERANCE = 1e-6

# Named SQL items from the candidate reports -> the topic tag that must appear on at least one SQL question.
NAMED_SQL_TAGS: dict[str, str] = {
    "2nd Highest Salary": "named_second_highest_salary",
    "Comments Histogram": "named_comments_histogram",
    "Top Three Salaries": "named_top_three_salaries",
    "Upsell Transactions": "named_upsell_transactions",
    "Rolling Bank Transactions": "named_rolling_bank_transactions",
    "Customer Orders": "named_customer_orders",
    "Closest SAT Scores": "named_closest_sat_scores",
    "Subscription Overlap": "named_subscription_overlap",
    "Average Quantity": "named_average_quantity",
    "Manager Team Sizes": "named_manager_team_sizes",
    "Random SQL Sample": "named_random_sql_sample",
    "Download Facts": "named_download_facts",
    "Flight Records": "named_flight_records",
    "Paired Products": "named_paired_products",
    "Swipe Precision": "named_swipe_precision",
    "Monthly Customer Report": "named_monthly_customer_report",
    "Longest Streak Users": "named_longest_streak_users",
    "Always Excited Users": "named_always_excited_users",
    "Cumulative Sales Since Last Restocking": "named_cumulative_sales_since_restocking",
    "Completed Shipments": "named_completed_shipments",
    "Neighborhoods with 0 users": "named_zero_user_neighborhoods",
}


QUESTION_FILES = sorted(QUESTIONS_DIR.rglob("*.y*ml"))


def _load_raw() -> tuple[list[tuple[Path, dict[str, Any]]], dict[Path, str]]:
    """Every question dict in every YAML file under rubrics/questions/, with the file it came from.

    A file that does not parse is reported by ``test_question_file_parses`` instead of breaking collection.
    """
    out: list[tuple[Path, dict[str, Any]]] = []
    errors: dict[Path, str] = {}
    for path in QUESTION_FILES:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            errors[path] = str(exc)
            continue
        for item in data.get("questions", []) or []:
            out.append((path, item))
    return out, errors


RAW, LOAD_ERRORS = _load_raw()
RAW_SQL_BANK = [(p, q) for p, q in RAW if SQL_DIR in p.parents]


def _qid(item: tuple[Path, dict[str, Any]]) -> str:
    path, q = item
    return str(q.get("id") or f"{path.name}:<no id>")


def _validated(q: dict[str, Any]) -> Question:
    return Question.model_validate(q)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("path", QUESTION_FILES, ids=[str(p.relative_to(QUESTIONS_DIR)) for p in QUESTION_FILES])
def test_question_file_parses(path: Path) -> None:
    assert path not in LOAD_ERRORS, f"{path}: {LOAD_ERRORS.get(path)}"


@pytest.mark.parametrize("item", RAW, ids=[_qid(i) for i in RAW])
def test_question_validates(item: tuple[Path, dict[str, Any]]) -> None:
    _validated(item[1])


def test_sql_bank_is_big_enough() -> None:
    sql_questions = [q for _, q in RAW_SQL_BANK if q.get("kind") == "sql"]
    assert len(sql_questions) >= 24, f"only {len(sql_questions)} SQL questions in {SQL_DIR}"


def test_question_ids_unique() -> None:
    ids = [q.get("id") for _, q in RAW]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate question ids: {dupes}"


@pytest.mark.parametrize("item", RAW_SQL_BANK, ids=[_qid(i) for i in RAW_SQL_BANK])
def test_sql_bank_question_shape(item: tuple[Path, dict[str, Any]]) -> None:
    q = _validated(item[1])
    topics = set(yaml.safe_load((ROOT / "rubrics" / "topics.yaml").read_text(encoding="utf-8"))["topics"])
    rounds = {r["id"] for r in yaml.safe_load((ROOT / "rubrics" / "rounds.yaml").read_text(encoding="utf-8"))["rounds"]}
    assert q.id.startswith("sql-"), q.id
    assert q.kind == "sql" and q.sql is not None
    assert "sql" in q.topics
    assert set(q.topics) <= topics, f"unknown topics {sorted(set(q.topics) - topics)}"
    assert set(q.rounds) <= rounds, f"unknown rounds {sorted(set(q.rounds) - rounds)}"
    assert 4 <= len(q.rubric.key_points) <= 6
    assert len(q.follow_ups) >= 3
    assert len(q.hints) >= 2
    assert 1 <= len(q.lp_bridges) <= 2
    assert q.rubric.mistakes or q.rubric.red_flags
    for c in q.rubric.criteria:
        assert all(getattr(c.anchors, a).strip() for a in ("strong_no_hire", "not_inclined", "inclined", "strong_hire"))
    cues = [c for k in q.rubric.key_points for c in k.cues]
    cues += [c for f in q.rubric.mistakes + q.rubric.red_flags for c in f.cues]
    assert all(c == c.lower() for c in cues), [c for c in cues if c != c.lower()]


# --------------------------------------------------------------------------- executable exercises


def _norm(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return float(v)
    return v


def _sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # None < numbers < strings, and floats rounded so near-equal values sort together.
    key = []
    for v in row:
        if v is None:
            key.append((0, 0.0, ""))
        elif isinstance(v, float):
            key.append((1, round(v, 6), ""))
        else:
            key.append((2, 0.0, str(v)))
    return tuple(key)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=0.0, abs_tol=TOLERANCE)
    return a == b


def _rows_equal(actual: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], ordered: bool) -> bool:
    if len(actual) != len(expected):
        return False
    if not ordered:
        actual, expected = sorted(actual, key=_sort_key), sorted(expected, key=_sort_key)
    return all(
        len(a) == len(e) and all(_same(x, y) for x, y in zip(a, e, strict=True))
        for a, e in zip(actual, expected, strict=True)
    )


SQL_ITEMS = [i for i in RAW if isinstance(i[1].get("sql"), dict)]


@pytest.mark.parametrize("item", SQL_ITEMS, ids=[_qid(i) for i in SQL_ITEMS])
def test_sql_solution_matches_expected(item: tuple[Path, dict[str, Any]]) -> None:
    q = _validated(item[1])
    ex = q.sql
    assert ex is not None
    con = sqlite3.connect(":memory:")
    try:
        con.executescript(ex.schema_sql)
        con.executescript(ex.seed_sql)
        cur = con.execute(ex.solution_sql.strip().rstrip(";"))
        columns = [d[0] for d in cur.description]
        rows = [tuple(_norm(v) for v in r) for r in cur.fetchall()]
    finally:
        con.close()
    assert columns == ex.expected_columns, f"{q.id}: columns {columns} != {ex.expected_columns}"
    expected = [tuple(_norm(v) for v in r) for r in ex.expected_rows]
    assert _rows_equal(rows, expected, ex.ordered), f"{q.id}: rows\n  got      {rows}\n  expected {expected}"


# --------------------------------------------------------------------------- named-item coverage


@pytest.mark.parametrize("name,tag", sorted(NAMED_SQL_TAGS.items()))
def test_named_sql_item_covered(name: str, tag: str) -> None:
    hits = [q.get("id") for _, q in RAW if q.get("kind") == "sql" and tag in (q.get("topics") or [])]
    assert hits, f"no SQL question carries {tag!r} for the named item {name!r}"
    assert all("sql" in (q.get("topics") or []) for _, q in RAW if q.get("id") in hits)
