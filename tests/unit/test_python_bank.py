"""The question bank's executable Python exercises.

Loads every YAML file under rubrics/questions/, validates each question against the content models, and
for every question carrying a `python:` exercise runs its reference solution and then its asserts in a
fresh namespace. Also checks that each named coding item from the candidate reports has a question.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from app.content.models import Question, RoundsFile, TopicsFile

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS_DIR = ROOT / "rubrics" / "questions"
CODING_DIR = QUESTIONS_DIR / "coding"

# Third-party modules a reference solution may import; anything else must be the standard library.
OPTIONAL_MODULES = ("numpy", "scipy", "pandas")


QUESTION_FILES = sorted(QUESTIONS_DIR.rglob("*.yaml"))


def _load_file(path: Path) -> list[Question]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [Question.model_validate(item) for item in data.get("questions", []) or []]


def _load_all() -> tuple[list[tuple[Path, Question]], dict[Path, str]]:
    """Every question that validates; a broken file is reported by its own test, not at collection."""
    out: list[tuple[Path, Question]] = []
    errors: dict[Path, str] = {}
    for path in QUESTION_FILES:
        try:
            out.extend((path, q) for q in _load_file(path))
        except Exception as exc:  # noqa: BLE001 - surfaced by test_question_file_validates
            errors[path] = f"{type(exc).__name__}: {exc}"
    return out, errors


QUESTIONS, LOAD_ERRORS = _load_all()
PYTHON_QUESTIONS = [q for _, q in QUESTIONS if q.python is not None]
CODING_QUESTIONS = [q for p, q in QUESTIONS if CODING_DIR in p.parents]


@pytest.mark.parametrize("path", QUESTION_FILES, ids=[str(p.relative_to(QUESTIONS_DIR)) for p in QUESTION_FILES])
def test_question_file_validates(path: Path) -> None:
    assert path not in LOAD_ERRORS, LOAD_ERRORS.get(path)
    _load_file(path)


def _imported_roots(source: str) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_question_ids_are_unique() -> None:
    ids = [q.id for _, q in QUESTIONS]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate question ids: {dupes}"


@pytest.mark.parametrize("question", PYTHON_QUESTIONS, ids=[q.id for q in PYTHON_QUESTIONS])
def test_reference_solution_passes_its_tests(question: Question) -> None:
    ex = question.python
    assert ex is not None
    needed = sorted(_imported_roots(ex.solution + "\n" + ex.tests) & set(OPTIONAL_MODULES))
    for mod in needed:
        try:
            pytest.importorskip(mod)
        except pytest.skip.Exception:
            print(f"[python bank] {question.id}: skipped, {mod} is not installed")
            raise
    namespace: dict = {"__name__": f"bank_{question.id.replace('-', '_')}"}
    exec(compile(ex.solution, f"<{question.id} solution>", "exec"), namespace)
    assert callable(namespace.get(ex.entry_point)), f"solution does not define {ex.entry_point}()"
    exec(compile(ex.tests, f"<{question.id} tests>", "exec"), namespace)


@pytest.mark.parametrize("question", PYTHON_QUESTIONS, ids=[q.id for q in PYTHON_QUESTIONS])
def test_tests_call_the_entry_point(question: Question) -> None:
    ex = question.python
    assert ex is not None
    assert ex.entry_point in ex.tests, "the tests never call the entry point"
    assert "assert" in ex.tests


# named item -> (topic tag, minimum number of questions carrying it)
NAMED_CODING_ITEMS = {
    "Merge Sorted Lists": ("named_merge_sorted_lists", 1),
    "Prime to N": ("named_prime_to_n", 1),
    "Recurring Character": ("named_recurring_character", 1),
    "Exam Scores": ("named_exam_scores", 1),
    "Compute Deviation": ("named_compute_deviation", 1),
    "Jars and Coins": ("named_jars_and_coins", 1),
    "Permutation Palindrome": ("named_permutation_palindrome", 1),
    "2D binary search": ("named_2d_binary_search", 2),
    "Chamfer distance": ("named_chamfer_distance", 2),
}


@pytest.mark.parametrize("item", sorted(NAMED_CODING_ITEMS))
def test_named_item_has_a_question(item: str) -> None:
    tag, minimum = NAMED_CODING_ITEMS[item]
    carrying = [q.id for _, q in QUESTIONS if tag in q.topics]
    assert len(carrying) >= minimum, f"{item}: needs {minimum} question(s) tagged {tag}, found {carrying}"


def test_area_tasks_are_covered() -> None:
    def has(*tags: str) -> bool:
        return any(set(tags) <= set(q.topics) for q in CODING_QUESTIONS)

    assert has("string_manipulation")
    assert has("pandas")
    assert has("binary_search", "named_2d_binary_search")
    assert has("geometry", "named_chamfer_distance")
    assert sum("pandas" in q.topics for q in CODING_QUESTIONS) >= 3
    assert len(CODING_QUESTIONS) >= 16


def test_coding_questions_follow_the_house_style() -> None:
    topics = set(TopicsFile.model_validate(yaml.safe_load((ROOT / "rubrics" / "topics.yaml").read_text())).topics)
    rounds = {
        r.id for r in RoundsFile.model_validate(yaml.safe_load((ROOT / "rubrics" / "rounds.yaml").read_text())).rounds
    }
    problems: list[str] = []
    for q in CODING_QUESTIONS:
        if not (q.id.startswith("py-") or q.id.startswith("prob-")):
            problems.append(f"{q.id}: id must start with py- or prob-")
        if unknown := set(q.topics) - topics:
            problems.append(f"{q.id}: unknown topics {sorted(unknown)}")
        if unknown := set(q.rounds) - rounds:
            problems.append(f"{q.id}: unknown rounds {sorted(unknown)}")
        if q.kind == "python" and q.python is None:
            problems.append(f"{q.id}: a python question needs a python exercise")
        if not 4 <= len(q.rubric.key_points) <= 6:
            problems.append(f"{q.id}: {len(q.rubric.key_points)} key points (want 4-6)")
        if len(q.follow_ups) < 3 or len(q.hints) < 2 or not q.lp_bridges:
            problems.append(f"{q.id}: needs >=3 follow-ups, >=2 hints and an LP bridge")
        cues = [c for k in q.rubric.key_points for c in k.cues]
        cues += [c for f in q.rubric.mistakes + q.rubric.red_flags for c in f.cues]
        cues += [c for b in q.lp_bridges for c in b.cues]
        if upper := [c for c in cues if c != c.lower()]:
            problems.append(f"{q.id}: cues must be lowercase: {upper}")
    assert not problems, "\n".join(problems)
