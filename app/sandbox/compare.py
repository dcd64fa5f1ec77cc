"""A SQL result against the reference result: as a bag of rows, or in order when the question asks for an order.

The diff says what differs (row counts, missing and extra rows, column names, order) and shows a few of the
candidate's own extra rows; it never shows a reference row. Values compare loosely where SQL engines differ:
integers and floats as numbers (1e-6 tolerance), booleans as 0 / 1, a numeric string as its number.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from app.core.runs import SqlDiff, SqlDiffKind

TOLERANCE = 1e-6
_EXAMPLES = 3  # extra rows of the candidate's shown in the diff


def _norm(v: Any) -> Any:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float):
        return None if isinstance(v, float) and math.isnan(v) else float(v)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, str):
        s = v.strip()
        try:
            f = float(s)
        except ValueError:
            return v
        return f if math.isfinite(f) and s and s[0] in "+-.0123456789" else v
    return v


def _key(v: Any) -> tuple[int, float, str]:
    """Hashable, tolerance-aware: floats are rounded to the tolerance's grid."""
    if v is None:
        return (0, 0.0, "")
    if isinstance(v, float):
        return (1, round(v / TOLERANCE) * TOLERANCE if abs(v) < 1e12 else v, "")
    return (2, 0.0, str(v))


def _row_key(row: Sequence[Any]) -> tuple[tuple[int, float, str], ...]:
    return tuple(_key(_norm(v)) for v in row)


def _same(a: Any, b: Any) -> bool:
    a, b = _norm(a), _norm(b)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=TOLERANCE)
    return bool(a == b)


def _rows_same(a: Sequence[Any], b: Sequence[Any]) -> bool:
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))


def _bag_diff(
    actual: Sequence[Sequence[Any]], expected: Sequence[Sequence[Any]]
) -> tuple[int, int, list[Sequence[Any]]]:
    """(missing, extra, the extra rows): matched by value with the tolerance, as multisets."""
    want = Counter(_row_key(r) for r in expected)
    extra_rows: list[Sequence[Any]] = []
    for row in actual:
        k = _row_key(row)
        if want[k] > 0:
            want[k] -= 1
        else:
            # a near-miss at the grid's edge: look for a value-equal row still wanted
            near = next((w for w, n in want.items() if n > 0 and _keys_close(w, k)), None)
            if near is not None:
                want[near] -= 1
            else:
                extra_rows.append(row)
    return sum(want.values()), len(extra_rows), extra_rows


def _keys_close(a: tuple[tuple[int, float, str], ...], b: tuple[tuple[int, float, str], ...]) -> bool:
    return len(a) == len(b) and all(
        x[0] == y[0] and x[2] == y[2] and math.isclose(x[1], y[1], abs_tol=2 * TOLERANCE)
        for x, y in zip(a, b, strict=True)
    )


def compare(
    columns: list[str],
    rows: Sequence[Sequence[Any]],
    expected_columns: list[str],
    expected_rows: Sequence[Sequence[Any]],
    ordered: bool,
    names: bool = True,
) -> SqlDiff | None:
    """None when the result matches the reference; else what differs. ``names``: the question names its result's
    columns, so they must match (case aside); else only their number counts and the reference's names stay unsaid."""
    kinds: list[SqlDiffKind] = []
    if names and [c.lower() for c in columns] != [c.lower() for c in expected_columns]:
        kinds.append("columns")
    elif not names and len(columns) != len(expected_columns):
        kinds.append("columns")
    missing, extra, extra_rows = _bag_diff(rows, expected_rows)
    if len(rows) < len(expected_rows):
        kinds.append("fewer_rows")
    elif len(rows) > len(expected_rows):
        kinds.append("more_rows")
    if missing:
        kinds.append("missing_rows")
    if extra:
        kinds.append("extra_rows")
    first_misplaced = None
    if ordered and not missing and not extra and len(rows) == len(expected_rows):
        first_misplaced = next(
            (i for i, (a, e) in enumerate(zip(rows, expected_rows, strict=True)) if not _rows_same(a, e)), None
        )
        if first_misplaced is not None:
            kinds.append("order")
    if not kinds:
        return None
    return SqlDiff(
        kinds=kinds,
        expected_rows=len(expected_rows),
        actual_rows=len(rows),
        missing=missing,
        extra=extra,
        expected_columns=list(expected_columns) if names else [],
        expected_width=len(expected_columns),
        actual_columns=list(columns),
        extra_examples=[list(r) for r in extra_rows[:_EXAMPLES]],
        first_misplaced=first_misplaced,
    )


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def describe(diff: SqlDiff) -> str:
    """The diff in one sentence, e.g. 'Your query returns 3 rows where 4 are expected.' (counts and names only)."""
    parts = []
    if "columns" in diff.kinds and diff.expected_columns:
        got = ", ".join(diff.actual_columns) or "no columns"
        parts.append(f"its columns are {got} where the question asks for {', '.join(diff.expected_columns)}")
    elif "columns" in diff.kinds:
        width = diff.expected_width or 0
        parts.append(
            f"it returns {_n(len(diff.actual_columns), 'column')} where {width} {'is' if width == 1 else 'are'} expected"
        )
    if diff.actual_rows != diff.expected_rows:
        verb = "is" if diff.expected_rows == 1 else "are"
        parts.append(f"it returns {_n(diff.actual_rows, 'row')} where {diff.expected_rows} {verb} expected")
        if diff.missing and diff.extra:
            parts.append(f"{_n(diff.missing, 'expected row')} {'is' if diff.missing == 1 else 'are'} missing")
    elif diff.missing or diff.extra:
        if diff.actual_rows == 1:
            parts.append("it returns one row, as expected, but not the expected one")
        else:
            which = "one of them differs" if diff.extra == 1 else f"{diff.extra} of them differ"
            parts.append(
                f"it returns the right number of rows ({diff.actual_rows}), but {which} from the expected result"
            )
    if "order" in diff.kinds and diff.first_misplaced is not None:
        parts.append(f"the rows are right but out of order from row {diff.first_misplaced + 1} on")
    if not parts:
        return "Your query's result differs from the expected one."
    first = parts[0]
    for plain, own in (
        ("it returns", "your query returns"),
        ("its columns", "your query's columns"),
        ("the rows", "your query's rows"),
    ):
        first = first.replace(plain, own, 1)
    return "; ".join([first[0].upper() + first[1:], *parts[1:]]) + "."
