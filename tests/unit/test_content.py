"""The content as data: the whole bank validates, covers every topic of the reports, and lint reports each
problem as file: field: reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from app.cli import main as cli
from app.config import PROJECT_ROOT
from app.content.catalog import ContentError, load_catalog
from app.core.vocabulary import PRINCIPLE_NAMES


def test_bank_is_large_and_every_topic_has_questions(catalog):
    assert len(catalog.questions) >= 80
    used = {t for q in catalog.questions.values() for t in q.topics}
    assert set(catalog.topics) - used == set(), "topics with no question"


def test_every_round_of_the_loop_is_playable_at_every_level(catalog):
    expected = {
        "recruiter_screen",
        "online_assessment",
        "phone_screen",
        "coding",
        "ml_breadth",
        "ml_depth",
        "project_deep_dive",
        "science_application",
        "system_design",
        "causal_inference",
        "bar_raiser",
    }
    assert set(catalog.rounds) == expected
    for rnd in catalog.rounds.values():
        for level in ("L4", "L5", "L6"):
            plan = catalog.plan_questions(rnd.id, level, seed="x")
            assert len(plan) >= rnd.question_budget or len(plan) == len(catalog.questions_for(rnd.id, level))
            assert plan, f"{rnd.id} {level} has no questions"
    assert [s.rounds for s in catalog.full_loop][0] == ["recruiter_screen"]
    assert "bar_raiser" in catalog.full_loop[-1].rounds


def test_all_sixteen_principles_with_probes_and_cues(catalog):
    assert list(catalog.principles) == list(PRINCIPLE_NAMES)
    for p in catalog.principles.values():
        assert len(p.probes) >= 5 and p.trigger_cues and p.star_follow_ups and p.signal_cues


def test_rubrics_have_anchored_criteria_and_mapped_follow_ups(catalog):
    for q in catalog.questions.values():
        assert len(q.rubric.criteria) >= 3, q.id
        ids = {k.id for k in q.rubric.key_points}
        assert all(f.key_point in ids for f in q.follow_ups), q.id


def test_plan_never_repeats_and_respects_exclusions(catalog):
    plan = catalog.plan_questions("ml_breadth", "L5", seed="a", exclude={"ml-bias-variance"})
    assert len(plan) == len(set(plan)) and "ml-bias-variance" not in plan
    assert plan == catalog.plan_questions("ml_breadth", "L5", seed="a", exclude={"ml-bias-variance"})


@pytest.fixture
def broken_content(tmp_path: Path) -> tuple[Path, Path]:
    rubrics = tmp_path / "rubrics"
    shutil.copytree(PROJECT_ROOT / "rubrics", rubrics)
    shutil.copytree(PROJECT_ROOT / "prompts", tmp_path / "prompts")
    path = rubrics / "questions" / "ml" / "bias_variance.yaml"
    data = yaml.safe_load(path.read_text())
    q = data["questions"][0]
    data["questions"].append(dict(q, id="ml-l1-vs-l2"))  # duplicate id from another file
    q = data["questions"][0] = dict(
        q, lp_bridges=[dict(b) for b in q["lp_bridges"]], follow_ups=[dict(f) for f in q["follow_ups"]]
    )
    q["lp_bridges"][0]["principle"] = "Be Nice"
    q["follow_ups"][0]["key_point"] = "nowhere"
    path.write_text(yaml.safe_dump(data))
    return rubrics, tmp_path / "prompts"


def test_lint_reports_file_field_and_reason(broken_content, capsys, monkeypatch):
    with pytest.raises(ContentError) as exc:
        load_catalog(*broken_content)
    text = str(exc.value)
    assert "rubrics/questions/ml/bias_variance.yaml: questions[ml-bias-variance]" in text
    assert "questions[ml-bias-variance]: lp_bridges[0].principle: unknown principle 'Be Nice'" in text
    assert "questions[ml-bias-variance]: follow_ups[0].key_point: maps to unknown key point 'nowhere'" in text
    assert "duplicate id" in text

    monkeypatch.setenv("BARRAISER_RUBRICS_DIR", str(broken_content[0]))
    monkeypatch.setenv("BARRAISER_PROMPTS_DIR", str(broken_content[1]))
    assert cli(["bank", "lint"]) == 1
    err = capsys.readouterr().err
    assert "bias_variance.yaml" in err and "problem(s)" in err


def test_bank_lint_and_stats_cli(capsys):
    assert cli(["bank", "lint"]) == 0
    assert capsys.readouterr().out.startswith("ok:")
    assert cli(["bank", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["questions"] >= 80
    assert {"rounds", "topics", "levels", "principles"} <= set(stats)
    assert stats["principles"]["Dive Deep"]["probes"] >= 5
