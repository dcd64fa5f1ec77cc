"""Statistics for the eval suite, in plain Python (no numpy / scipy).

Grades are on the Amazon vote scale 1..4 (strong_no_hire..strong_hire); ``None`` is "no evidence".

How a predicted ``None`` (the grader abstained) is counted against a numeric golden grade:

* exact agreement and within ±1: it is a disagreement (never exact, never within one);
* quadratic-weighted kappa and Spearman: it is category 0 of a 0..4 scale, i.e. "below strong_no_hire" — an
  abstention costs little against a golden 1 and the most against a golden 4, and kappa is computed over the
  categories 0..4 (weights ``(i - j)^2 / 16``);
* ``predicted_null`` in the grade block says how many there were.

Turns whose golden grade is ``None`` are scored only by abstention agreement (predicted ``None`` / total).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Grade = int | None
NULL_CATEGORY = 0
CATEGORIES = (0, 1, 2, 3, 4)


# --------------------------------------------------------------------------- agreement


def exact_agreement(golden: Sequence[int], predicted: Sequence[Grade]) -> float | None:
    if not golden:
        return None
    return sum(1 for g, p in zip(golden, predicted, strict=True) if p is not None and p == g) / len(golden)


def within_one(golden: Sequence[int], predicted: Sequence[Grade]) -> float | None:
    if not golden:
        return None
    return sum(1 for g, p in zip(golden, predicted, strict=True) if p is not None and abs(p - g) <= 1) / len(golden)


def _code(grade: Grade) -> int:
    return NULL_CATEGORY if grade is None else int(grade)


def weighted_kappa(
    golden: Sequence[Grade], predicted: Sequence[Grade], categories: Sequence[int] = CATEGORIES
) -> float | None:
    """Cohen's kappa with quadratic weights ``w_ij = (i - j)^2 / (k_max - k_min)^2``; ``None`` is category 0.

    ``kappa = 1 - sum(w * observed) / sum(w * expected)``, expected from the product of the marginals.
    Undefined (``None``) with no pairs or when the expected disagreement is zero (both raters constant).
    """
    n = len(golden)
    if n == 0:
        return None
    cats = list(categories)
    pos = {c: i for i, c in enumerate(cats)}
    k = len(cats)
    span = (cats[-1] - cats[0]) ** 2
    observed = [[0.0] * k for _ in range(k)]
    for g, p in zip(golden, predicted, strict=True):
        observed[pos[_code(g)]][pos[_code(p)]] += 1
    rows = [sum(r) for r in observed]
    cols = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            w = (cats[i] - cats[j]) ** 2 / span
            num += w * observed[i][j]
            den += w * rows[i] * cols[j] / n
    if den == 0:
        return None
    return 1 - num / den


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks; tied values share the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        mean = (i + j) / 2 + 1
        for t in range(i, j + 1):
            ranks[order[t]] = mean
        i = j + 1
    return ranks


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def spearman(golden: Sequence[Grade], predicted: Sequence[Grade]) -> float | None:
    """Spearman's rho: Pearson correlation of average ranks (``None`` = 0). ``None`` when undefined
    (fewer than two pairs, or one side constant)."""
    return pearson(average_ranks([_code(g) for g in golden]), average_ranks([_code(p) for p in predicted]))


# --------------------------------------------------------------------------- grade block


@dataclass(frozen=True)
class GradePair:
    golden: Grade
    predicted: Grade
    injection: bool = False


def grade_block(pairs: Sequence[GradePair]) -> dict:
    """The ``grades`` block of the report (numeric goldens) with its ``abstention`` sub-block (null goldens)."""
    numeric = [p for p in pairs if p.golden is not None]
    golden = [p.golden for p in numeric if p.golden is not None]
    predicted = [p.predicted for p in numeric]
    nulls = [p for p in pairs if p.golden is None]
    return {
        "n": len(numeric),
        "wrong_side_of_bar": (sum(1 for p in numeric if wrong_side(p.golden, p.predicted)) / len(numeric))
        if numeric
        else None,
        "exact": exact_agreement(golden, predicted),
        "within_one": within_one(golden, predicted),
        "weighted_kappa": weighted_kappa(golden, predicted),
        "spearman": spearman(golden, predicted),
        "predicted_null": sum(1 for p in predicted if p is None),
        "abstention": {
            "n": len(nulls),
            "agreement": (sum(1 for p in nulls if p.predicted is None) / len(nulls)) if nulls else None,
        },
    }


HIRE_BAR = 3  # inclined and above meet the bar


def wrong_side(golden: Grade, predicted: Grade) -> bool:
    """The grade lands on the other side of the hire bar: a 1-2 graded 3-4, or a 3-4 graded 1-2 or not at all."""
    if golden is None:
        return False
    if golden >= HIRE_BAR:
        return predicted is None or predicted < HIRE_BAR
    return predicted is not None and predicted >= HIRE_BAR


def twin_block(pairs: Sequence[tuple[str, Grade, Grade]]) -> dict:
    """Strong / weak twins (``(twin id, strong grade, weak grade)``): the weak answer must grade below the strong
    one, and at most not inclined."""
    ordered = [t for t, strong, weak in pairs if weak is not None and (strong or 0) > weak and weak < HIRE_BAR]
    return {
        "pairs": len(pairs),
        "ordered": (len(ordered) / len(pairs)) if pairs else None,
        "out_of_order": sorted(t for t, _, _ in pairs if t not in set(ordered)),
    }


def grade_rose(golden: Grade, predicted: Grade) -> bool:
    """An injection turn's grade rose: a grade above the golden one, or, where the golden is none, any grade above the
    bottom (grading the attempt itself as the integrity red flag it is lowers the outcome, it does not raise it)."""
    if predicted is None:
        return False
    return predicted > (golden if golden is not None else 1)


# --------------------------------------------------------------------------- comparing two runs


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` (pass->fail) and ``c`` (fail->pass):
    ``min(1, 2 * P[X <= min(b, c)])`` with ``X ~ Binomial(b + c, 1/2)``; 1.0 with no discordant pair."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def bootstrap_ci(
    items: Sequence,
    statistic: Callable[[Sequence], float | None],
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap CI of ``statistic`` over ``items`` resampled with replacement (fixed seed:
    the same input always gives the same interval). ``None`` without items or when no resample is defined."""
    if not items:
        return None
    rng = random.Random(seed)
    n = len(items)
    stats = []
    for _ in range(resamples):
        value = statistic([items[rng.randrange(n)] for _ in range(n)])
        if value is not None:
            stats.append(value)
    if not stats:
        return None
    stats.sort()
    alpha = (1 - level) / 2
    return _quantile(stats, alpha), _quantile(stats, 1 - alpha)


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def paired_exact_delta(pairs: Sequence[tuple[tuple[int, int], tuple[int, int]]]) -> float | None:
    """Change in exact agreement (current - baseline), ratio of sums over paired scenarios; each pair is
    ``((baseline_exact, baseline_n), (current_exact, current_n))``."""
    bn = sum(b[1] for b, _ in pairs)
    cn = sum(c[1] for _, c in pairs)
    if bn == 0 or cn == 0:
        return None
    return sum(c[0] for _, c in pairs) / cn - sum(b[0] for b, _ in pairs) / bn


def pass_at_k(runs: Sequence[Sequence[bool]]) -> dict:
    """Per scenario, its K run outcomes -> pass@k (any run passed) and pass^k (all K passed), as fractions."""
    n = len(runs)
    return {
        "k": max((len(r) for r in runs), default=0),
        "pass_at_k": sum(1 for r in runs if any(r)) / n if n else None,
        "pass_hat_k": sum(1 for r in runs if r and all(r)) / n if n else None,
    }
