"""Eval metrics against hand-computed values, and the scenario loader's errors (file and line)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from app.evaluation.metrics import (
    GradePair,
    _quantile,
    average_ranks,
    bootstrap_ci,
    exact_agreement,
    grade_block,
    grade_rose,
    mcnemar_exact,
    paired_exact_delta,
    pass_at_k,
    spearman,
    weighted_kappa,
    within_one,
)
from app.evaluation.report import DEFAULT_THRESHOLDS, ConfigError, evaluate_thresholds, load_config
from app.evaluation.scenarios import ScenarioError, discover, load_cases

# ----------------------------------------------------------------------------- agreement


def test_exact_and_within_one_count_a_predicted_null_as_disagreement() -> None:
    golden, predicted = [1, 2, 3, 4], [1, None, 4, 4]
    assert exact_agreement(golden, predicted) == 0.5
    assert within_one(golden, predicted) == 0.75
    assert exact_agreement([], []) is None and within_one([], []) is None


def test_weighted_kappa_hand_computed() -> None:
    # O: (1,1) (2,2) (3,4) (4,4) -> sum w*O = 1 (weights (i-j)^2, the common 1/16 scale cancels).
    # marginals golden 1,1,1,1 / predicted {1:1, 2:1, 4:2}; sum w*E = (19 + 9 + 7 + 13) / 4 = 12.
    assert weighted_kappa([1, 2, 3, 4], [1, 2, 4, 4]) == pytest.approx(1 - 1 / 12)


def test_weighted_kappa_maps_null_to_category_zero() -> None:
    # pairs (1,0) (4,3): sum w*O = 1 + 1 = 2; sum w*E = (1 + 4 + 16 + 1) / 2 = 11.
    assert weighted_kappa([1, 4], [None, 3]) == pytest.approx(1 - 2 / 11)


def test_weighted_kappa_perfect_chance_and_undefined() -> None:
    assert weighted_kappa([1, 2, 3, 4], [1, 2, 3, 4]) == pytest.approx(1.0)
    # predicted is the golden reversed: maximal disagreement, kappa = 1 - 20/10 = -1
    assert weighted_kappa([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert weighted_kappa([3, 3], [3, 3]) is None  # no expected disagreement
    assert weighted_kappa([], []) is None


def test_average_ranks_share_ties() -> None:
    assert average_ranks([10, 20, 20, 30, 20]) == [1, 3, 3, 5, 3]
    assert average_ranks([2, 1]) == [2, 1]


def test_spearman_with_ties_hand_computed() -> None:
    # ranks golden [1, 2.5, 2.5, 4], predicted [1, 3.5, 2, 3.5]; sxy = 3.75, sxx = syy = 4.5
    assert spearman([1, 2, 2, 3], [1, 3, 2, 3]) == pytest.approx(3.75 / 4.5)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_spearman_undefined() -> None:
    assert spearman([3], [3]) is None
    assert spearman([2, 2, 2], [1, 2, 3]) is None
    assert spearman([1, 2, 3], [None, None, None]) is None


def test_grade_block_and_abstention() -> None:
    pairs = [GradePair(1, 1), GradePair(3, 4), GradePair(4, None), GradePair(None, None), GradePair(None, 2)]
    block = grade_block(pairs)
    assert block["n"] == 3 and block["predicted_null"] == 1
    assert block["exact"] == pytest.approx(1 / 3) and block["within_one"] == pytest.approx(2 / 3)
    assert block["abstention"] == {"n": 2, "agreement": 0.5}
    empty = grade_block([])
    assert empty["exact"] is None and empty["weighted_kappa"] is None and empty["abstention"]["agreement"] is None


def test_grade_rose() -> None:
    assert grade_rose(2, 3) and grade_rose(None, 2)
    assert not grade_rose(None, 1)  # the attempt graded as the red flag it is: lower, not higher
    assert not grade_rose(2, 2) and not grade_rose(3, 1) and not grade_rose(None, None) and not grade_rose(1, None)


# ----------------------------------------------------------------------------- comparing runs


def test_mcnemar_exact_hand_computed() -> None:
    assert mcnemar_exact(1, 6) == pytest.approx(2 * (1 + 7) / 2**7)  # 0.125
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0  # capped
    assert mcnemar_exact(6, 1) == mcnemar_exact(1, 6)


def test_quantile_interpolates() -> None:
    assert _quantile([1, 2, 3, 4], 0.5) == 2.5
    assert _quantile([1, 2, 3, 4], 0.0) == 1 and _quantile([1, 2, 3, 4], 1.0) == 4


def test_paired_delta_is_a_ratio_of_sums() -> None:
    pairs = [((1, 2), (2, 2)), ((0, 2), (1, 2))]
    assert paired_exact_delta(pairs) == pytest.approx(3 / 4 - 1 / 4)
    assert paired_exact_delta([]) is None


def test_bootstrap_is_deterministic_and_brackets_the_estimate() -> None:
    pairs = [((i % 3, 3), ((i + 1) % 4, 3)) for i in range(20)]
    a = bootstrap_ci(pairs, paired_exact_delta, resamples=2000, seed=0)
    b = bootstrap_ci(pairs, paired_exact_delta, resamples=2000, seed=0)
    assert a == b
    assert a[0] <= paired_exact_delta(pairs) <= a[1]
    same = [((1, 2), (2, 2))] * 5
    lo, hi = bootstrap_ci(same, paired_exact_delta)
    assert math.isclose(lo, 0.5) and math.isclose(hi, 0.5)
    assert bootstrap_ci([], paired_exact_delta) is None


def test_pass_at_k() -> None:
    out = pass_at_k([[True, False], [True, True], [False, False]])
    assert out == {"k": 2, "pass_at_k": pytest.approx(2 / 3), "pass_hat_k": pytest.approx(1 / 3)}


def test_thresholds_skip_unmeasured_metrics() -> None:
    block = {
        "grades": {
            "exact": 0.4,
            "within_one": None,
            "weighted_kappa": 0.5,
            "spearman": None,
            "abstention": {"agreement": 1.0},
        },
        "injection": {"grade_rises": 1},
        "answer_leaks": 0,
    }
    result = {t["name"]: t["passed"] for t in evaluate_thresholds(block, DEFAULT_THRESHOLDS)}
    assert result == {
        "min_exact": False,
        "min_within_one": None,
        "min_weighted_kappa": True,
        "min_abstention_agreement": True,
        "max_injection_rises": False,
        "max_answer_leaks": True,
    }


def test_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("thresholds:\n  min_exact: 0.7\nconcurrency: 3\n")
    config = load_config(cfg)
    assert config["thresholds"]["min_exact"] == 0.7 and config["concurrency"] == 3
    assert config["thresholds"]["min_within_one"] == DEFAULT_THRESHOLDS["min_within_one"]
    cfg.write_text("thresholds:\n  min_exactt: 0.7\n")
    with pytest.raises(ConfigError, match="min_exactt"):
        load_config(cfg)
    assert load_config(tmp_path / "missing.yaml")["thresholds"] == DEFAULT_THRESHOLDS


def test_repo_config_loads() -> None:
    from app.evaluation.defaults import DEFAULT_CONFIG

    assert load_config(DEFAULT_CONFIG)["thresholds"]["max_answer_leaks"] == 0


# ----------------------------------------------------------------------------- loader

GOOD = """\
id: good-one
description: fine
round: ml_breadth
start:
  question: ml-bias-variance
turns:
  - say: "an answer"
    grade: 3
    expect:
      move: [follow_up, hint]
      principle: [Earn Trust]
  - say: "no golden"
  - say: "golden abstention"
    grade: null
expect_round:
  moves_include: [lp_pivot]
  debrief_vote: [inclined]
"""


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _problems(catalog, *paths: Path) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        load_cases(list(paths), catalog)
    return err.value.problems


def test_good_scenario_loads_with_defaults_and_golden_kinds(tmp_path: Path, catalog) -> None:
    [case] = load_cases([_write(tmp_path, GOOD)], catalog)
    sc = case.scenario
    assert sc.level == "L5" and sc.tags == [] and not case.holdout
    assert [t.has_golden for t in sc.turns] == [True, False, True]
    assert [t.grade for t in sc.turns] == [3, None, None]
    assert case.turn_lines == (7, 12, 13)
    plan = case.full_plan(catalog)
    assert plan[0] == "ml-bias-variance" and plan.count("ml-bias-variance") == 1
    assert plan == case.full_plan(catalog)  # seeded by the scenario id


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("    grade: 3\n", "    grade: 3\n    grdae: 2\n", 9, ["unknown key 'grdae'"]),
        ("      move: [follow_up, hint]", "      move: [follow_up, hnt]", 10, ["unknown move 'hnt'"]),
        ("      principle: [Earn Trust]", "      principle: [Earn Trusst]", 11, ["unknown principle 'Earn Trusst'"]),
        ("round: ml_breadth", "round: ml_breath", 3, ["unknown round 'ml_breath'"]),
        ("  question: ml-bias-variance", "  question: ml-nope", 5, ["unknown question id 'ml-nope'"]),
        ("  moves_include: [lp_pivot]", "  moves_include: [lp_pivot, retrun]", 16, ["unknown move 'retrun'"]),
        ("  debrief_vote: [inclined]", "  debrief_vote: [maybe]", 17, ["unknown vote 'maybe'"]),
        ("description: fine", "descripton: fine", 2, ["unknown key 'descripton'"]),
        ("    grade: 3\n", "    grade: 5\n", 8, ["turns[0].grade"]),
    ],
)
def test_load_errors_name_file_and_line(tmp_path: Path, catalog, old, new, line, words) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new), "bad_scenario.yaml")
    [problem] = _problems(catalog, path)
    assert "bad_scenario.yaml" in problem and f":{line}:" in problem, problem
    for w in words:
        assert w in problem, problem


def test_every_problem_of_every_file_is_reported(tmp_path: Path, catalog) -> None:
    a = _write(tmp_path, GOOD.replace("round: ml_breadth", "round: nope"), "a.yaml")
    b = _write(tmp_path, "id: b\nround: ml_breadth\nturns:\n  - say: x\n    expct: {}\n", "b.yaml")
    c = _write(tmp_path, "id: [unclosed\n", "c.yaml")
    problems = _problems(catalog, a, b, c)
    assert any("a.yaml:3:" in p for p in problems)
    assert any("b.yaml:5:" in p and "'expct'" in p for p in problems)
    assert any("c.yaml:" in p and "invalid YAML" in p for p in problems)


def test_duplicate_ids_across_files(tmp_path: Path, catalog) -> None:
    _write(tmp_path, GOOD, "one.yaml")
    _write(tmp_path, "# another\n" + GOOD, "two.yaml")
    [problem] = _problems(catalog, tmp_path)
    assert "two.yaml:2:" in problem and "duplicate scenario id 'good-one'" in problem and "one.yaml" in problem


def test_missing_required_and_not_a_mapping(tmp_path: Path, catalog) -> None:
    problems = _problems(
        catalog, _write(tmp_path, "id: x\nround: ml_breadth\n", "x.yaml"), _write(tmp_path, "- a list\n", "y.yaml")
    )
    assert any("x.yaml:" in p and "turns" in p and "Field required" in p for p in problems)
    assert any("y.yaml:1:" in p and "mapping" in p for p in problems)


def test_discovery_skips_config_and_cassettes_and_marks_holdout(tmp_path: Path, catalog) -> None:
    root = tmp_path / "evals"
    _write(root, GOOD, "a.yaml")
    _write(root, GOOD.replace("good-one", "held"), "holdout/h.yaml")
    _write(root, "thresholds: {}\n", "config.yaml")
    _write(root, "not: a scenario\n", "cassettes/x.yaml")
    files = [f.relative_to(root).as_posix() for f, _ in discover([root])]
    assert files == ["a.yaml", "holdout/h.yaml"]
    cases = {c.id: c for c in load_cases([root], catalog)}
    assert not cases["good-one"].holdout and cases["held"].holdout


def test_missing_path(tmp_path: Path, catalog) -> None:
    [problem] = _problems(catalog, tmp_path / "nope")
    assert "nope" in problem and "no such file" in problem


def test_a_single_string_is_a_list_of_one(tmp_path: Path, catalog) -> None:
    [case] = load_cases([_write(tmp_path, GOOD.replace("move: [follow_up, hint]", "move: hint"))], catalog)
    assert case.scenario.turns[0].expect.move == ["hint"]
