"""Compare a report with an earlier one (``--baseline``), paired by scenario id: which checks flipped, a McNemar
exact test over the scenarios' pass/fail, and a paired bootstrap CI for the change in exact grade agreement."""

from __future__ import annotations

import json
from pathlib import Path

from app.evaluation.metrics import bootstrap_ci, mcnemar_exact, paired_exact_delta

RESAMPLES = 2000
SEED = 0


class BaselineError(Exception):
    pass


def load_baseline(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BaselineError(f"{path}: cannot read the baseline report: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise BaselineError(f"{path}: not an eval report (no `results` list)")
    return data


def _tally(result: dict) -> tuple[int, int]:
    """(exact, n) over the turns with a numeric golden grade."""
    if isinstance(result.get("grade_tally"), dict):
        return int(result["grade_tally"]["exact"]), int(result["grade_tally"]["n"])
    turns = [t for t in result.get("turns", []) if t.get("golden") is not None and t.get("index") is not None]
    return sum(1 for t in turns if t.get("predicted") == t["golden"]), len(turns)


def _checks(result: dict) -> dict[str, bool]:
    return {c["name"]: bool(c["passed"]) for c in result.get("checks", [])}


def compare(current: dict, baseline: dict, file: str = "") -> dict:
    cur = {r["id"]: r for r in current["results"]}
    base = {r["id"]: r for r in baseline["results"]}
    paired = [i for i in cur if i in base]
    flips = []
    pass_to_fail = fail_to_pass = 0
    for sid in paired:
        b, c = base[sid], cur[sid]
        if b["passed"] and not c["passed"]:
            pass_to_fail += 1
        elif not b["passed"] and c["passed"]:
            fail_to_pass += 1
        bc, cc = _checks(b), _checks(c)
        for name in cc:
            if name in bc and bc[name] != cc[name]:
                flips.append(
                    {
                        "id": sid,
                        "check": name,
                        "from": "pass" if bc[name] else "fail",
                        "to": "pass" if cc[name] else "fail",
                    }
                )
    items = [(_tally(base[sid]), _tally(cur[sid])) for sid in paired]
    items = [it for it in items if it[0][1] and it[1][1]]
    bn, cn = sum(b[1] for b, _ in items), sum(c[1] for _, c in items)
    ci = bootstrap_ci(items, paired_exact_delta, resamples=RESAMPLES, seed=SEED)
    return {
        "file": file,
        "paired": len(paired),
        "only_current": [i for i in cur if i not in base],
        "only_baseline": [i for i in base if i not in cur],
        "flips": flips,
        "mcnemar": {
            "pass_to_fail": pass_to_fail,
            "fail_to_pass": fail_to_pass,
            "p_value": mcnemar_exact(pass_to_fail, fail_to_pass),
        },
        "exact_delta": {
            "scenarios": len(items),
            "baseline": sum(b[0] for b, _ in items) / bn if bn else None,
            "current": sum(c[0] for _, c in items) / cn if cn else None,
            "delta": paired_exact_delta(items),
            "ci95": list(ci) if ci else None,
            "resamples": RESAMPLES,
            "seed": SEED,
        },
    }
