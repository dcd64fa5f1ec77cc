"""The round follows the candidate's code (app/grading/runs.py, the run_code node), with the offline brain and a
real sandbox: code found in an answer, correctness graded from the run with the run as evidence, a follow-up aimed
at what went wrong (never the fix, leak-checked), a correct run moving on, and execution switched off."""

from __future__ import annotations

import dataclasses

import pytest

from app.brains.offline import OfflineBrain
from app.config import Settings
from app.content.catalog import Catalog
from app.core.grades import CriterionGrade, TurnGrade
from app.core.runs import PythonRun, RunRecord, SqlRun
from app.core.state import Turn
from app.grading.leaks import leaked_claims
from app.grading.runs import code_in_answer, grade_from_run, merged_text, run_level
from app.sandbox import make_runner
from tests.helpers import Round, done

ROW_NUMBER = (
    "SELECT d.name AS department, r.name AS employee, r.salary FROM (SELECT e.*, ROW_NUMBER() OVER "
    "(PARTITION BY e.department_id ORDER BY e.salary DESC) AS rn FROM employees e) r "
    "JOIN departments d ON d.id = r.department_id WHERE r.rn <= 3"
)
DENSE_RANK = ROW_NUMBER.replace("ROW_NUMBER()", "DENSE_RANK()")


def _round(catalog: Catalog, plan: list[str], execution: str = "on") -> Round:
    r = Round(OfflineBrain(), catalog, round_id="coding", level="L5", plan=plan)
    runner = make_runner(Settings(_env_file=None, code_execution=execution))
    r.driver.services = dataclasses.replace(r.driver.services, runner=runner)
    return r


def _of(frames: list[dict], kind: str) -> list[dict]:
    return [f for f in frames if f["type"] == kind]


def _turn(text: str, **extra: str) -> Turn:
    return Turn(index=1, role="candidate", text=text, **extra)  # type: ignore[typeddict-item]


# ---------------------------------------------------------------------------------------------- finding the code


def test_code_in_answer_finds_attached_fenced_and_typed_code(catalog: Catalog) -> None:
    sql_q, py_q = catalog.questions["sql-top-three-salaries"], catalog.questions["py-merge-sorted-lists"]
    assert code_in_answer(_turn("see pad", code="SELECT 1", language="sql"), sql_q) == "SELECT 1"
    assert code_in_answer(_turn("mine:\n```sql\nSELECT a FROM t\n```\nthanks"), sql_q) == "SELECT a FROM t"
    assert code_in_answer(_turn("I'd write SELECT name FROM employees WHERE salary > 3; it is simple"), sql_q) == (
        "SELECT name FROM employees WHERE salary > 3;"
    )
    assert code_in_answer(_turn("with ranked as (select 1 as x) select x from ranked"), sql_q) is not None
    assert code_in_answer(_turn("I would select the employees with the top salaries using a rank"), sql_q) is None
    assert code_in_answer(_turn("Move the status condition into WHERE"), sql_q) is None  # words, not a query
    typed = "Here:\nimport heapq\ndef merge_sorted_lists(a, b):\n    return list(heapq.merge(a, b))\nIt is linear."
    assert (
        code_in_answer(_turn(typed), py_q)
        == "import heapq\ndef merge_sorted_lists(a, b):\n    return list(heapq.merge(a, b))"
    )
    assert code_in_answer(_turn("I'd use two pointers"), py_q) is None
    assert code_in_answer(_turn("x", code="print(1)", language="python"), sql_q) is None  # the other language


def test_the_editors_code_is_quoted_in_the_answer_once() -> None:
    assert merged_text("My query.", "SELECT 1", "sql") == "My query.\n\n```sql\nSELECT 1\n```"
    assert merged_text("My query.\n\n```sql\nSELECT 1\n```", "SELECT 1", "sql").count("SELECT 1") == 1
    assert merged_text("", "SELECT 1", "sql") == "```sql\nSELECT 1\n```"


# ---------------------------------------------------------------------------------------------- grading


def _record(result: SqlRun | PythonRun, turn: int = 1) -> RunRecord:
    return RunRecord(
        id=f"turn-{turn}", source="answer", turn=turn, question_id="q", code="SELECT 1\nFROM t", at=0.0, result=result
    )


def test_grade_from_run_grades_correctness_from_the_run(catalog: Catalog) -> None:
    q = catalog.questions["sql-top-three-salaries"]
    brain = TurnGrade(
        turn=1,
        overall=2,
        criteria=[
            CriterionGrade(id="correctness", name="x", level=2, evidence=["a"]),
            CriterionGrade(id="edge_cases", name="y", level=3, evidence=["b"]),
        ],
        evidence=["a", "b"],
    )
    ok = grade_from_run(brain, _record(SqlRun(status="ok", summary="Correct.")), q)
    c = {x.id: x for x in ok.criteria}
    assert (
        c["correctness"].level == 4 and c["correctness"].run == "Correct." and c["correctness"].evidence == ["SELECT 1"]
    )
    assert c["edge_cases"].level == 3  # conversation-graded criteria are left alone
    assert ok.overall == 3 and ok.confidence == "high" and "run: Correct." in ok.notes
    wrong = grade_from_run(brain.model_copy(update={"overall": 4}), _record(SqlRun(status="error", summary="Boom.")), q)
    assert {x.id: x.level for x in wrong.criteria}["correctness"] == 1 and wrong.overall == 2
    unrelated = grade_from_run(brain, _record(SqlRun(status="ok", summary="Correct."), turn=3), q)
    assert unrelated == brain  # the run of another turn grades nothing here
    scratch = grade_from_run(brain, _record(SqlRun(status="ok", checked=False, summary="Ran.")), q)
    assert scratch == brain
    no_words = grade_from_run(TurnGrade(turn=1, kind="no_answer"), _record(SqlRun(status="ok", summary="Correct.")), q)
    assert no_words.overall == 4 and no_words.kind == "technical"


def test_run_levels() -> None:
    from app.core.runs import SqlDiff, TestResult

    half = SqlDiff(kinds=["fewer_rows", "missing_rows"], expected_rows=6, actual_rows=5, missing=1)
    assert run_level(_record(SqlRun(status="wrong", summary="", diff=half))) == 2
    cols = SqlDiff(kinds=["columns"], expected_rows=6, actual_rows=6)
    assert run_level(_record(SqlRun(status="wrong", summary="", diff=cols))) == 1
    tests = [TestResult(name=str(i), passed=i < 1) for i in range(4)]
    assert run_level(_record(PythonRun(status="wrong", summary="", tests=tests, passed=1, total=4))) == 1
    assert run_level(_record(PythonRun(status="timeout", summary=""))) == 1


# ---------------------------------------------------------------------------------------------- the round


async def test_a_wrong_query_gets_a_follow_up_on_what_went_wrong_and_a_fix_moves_on(catalog: Catalog) -> None:
    r = _round(catalog, ["sql-top-three-salaries", "py-merge-sorted-lists"])
    await r.open()
    frames = await r.answer(f"My query:\n```sql\n{ROW_NUMBER}\n```")
    run = _of(frames, "run_result")[0]["run"]
    assert run["source"] == "answer" and run["turn"] == 1 and run["result"]["status"] == "wrong"
    follow = done(frames)[0]
    assert follow["move"] == "follow_up"
    assert "5 rows where 6 are expected" in follow["text"] and "Raj and Kim both earn 85" in follow["text"]
    q = catalog.questions["sql-top-three-salaries"]
    assert not leaked_claims(follow["text"], q, [k.id for k in q.rubric.key_points], names=False)
    grade = _of(frames, "turn_grade")[0]
    correctness = next(c for c in grade["criteria"] if c["id"] == "correctness")
    assert correctness["level"] == 2 and "5 rows where 6" in correctness["run"]
    answer_text = (await r.values())["turns"][1]["text"]
    assert correctness["evidence"] and all(e in answer_text for e in grade["evidence"])

    frames = await r.answer(f"Fixed:\n```sql\n{DENSE_RANK}\n```")
    assert _of(frames, "run_result")[0]["run"]["result"]["status"] == "ok"
    nxt = done(frames)[0]
    assert nxt["move"] == "follow_up" and nxt["text"].startswith("That runs, and the result matches")
    assert next(c for c in _of(frames, "turn_grade")[0]["criteria"] if c["id"] == "correctness")["level"] == 4

    # solved: later answers' code is not run again (an extension is not the question's query)
    frames = await r.answer("For the whole company: SELECT name FROM employees ORDER BY salary DESC LIMIT 3")
    assert not _of(frames, "run_result")
    values = await r.values()
    assert [x["turn"] for x in values["runs"]] == [1, 3]


async def test_a_python_answer_runs_its_hidden_tests(catalog: Catalog) -> None:
    r = _round(catalog, ["py-merge-sorted-lists", "sql-top-three-salaries"])
    await r.open()
    code = (
        "def merge_sorted_lists(a, b):\n    out, i, j = [], 0, 0\n    while i < len(a) and j < len(b):\n"
        "        if a[i] <= b[j]:\n            out.append(a[i]); i += 1\n        else:\n"
        "            out.append(b[j]); j += 1\n    return out"
    )
    frames = await r.answer(f"Two pointers:\n```python\n{code}\n```")
    result = _of(frames, "run_result")[0]["run"]["result"]
    assert result["status"] == "wrong" and result["passed"] < result["total"]
    follow = done(frames)[0]["text"]
    assert "hidden tests" in follow and "it fails 'empty lists'" in follow and "empty" in follow.split("?")[0]
    assert "assert" not in follow


async def test_with_execution_off_nothing_runs(catalog: Catalog) -> None:
    r = _round(catalog, ["sql-top-three-salaries", "py-merge-sorted-lists"], execution="off")
    await r.open()
    frames = await r.answer(f"```sql\n{ROW_NUMBER}\n```")
    assert not _of(frames, "run_result")
    assert (await r.values())["runs"] == []
    assert "rows where" not in done(frames)[0]["text"]


async def test_other_rounds_are_unchanged(catalog: Catalog) -> None:
    r = _round(catalog, ["ml-bias-variance"])
    r.start["round_id"] = "ml_breadth"
    await r.open()
    frames = await r.answer("High variance means overfitting; SELECT x FROM t would not help here.")
    assert not _of(frames, "run_result")


@pytest.mark.parametrize("qid", ["sql-second-highest-salary", "py-prime-to-n"])
def test_every_run_probe_passes_the_leak_check(catalog: Catalog, qid: str) -> None:
    for q in catalog.questions.values():
        ex = q.sql or q.python
        for probe in ex.run_probes if ex else []:
            assert not leaked_claims(probe.text, q, [k.id for k in q.rubric.key_points], names=False), (q.id, probe)


async def test_the_llm_brain_gets_the_run_in_its_turn_prompt(catalog: Catalog) -> None:
    from app.core.view import RoundView
    from app.grading.runs import run_notes

    r = _round(catalog, ["sql-top-three-salaries", "py-merge-sorted-lists"])
    await r.open()
    await r.answer(f"```sql\n{ROW_NUMBER}\n```")
    values = await r.values()
    # the view as the brain sees it right after that answer: the answer last, its run in the state
    state = {**values, "turns": values["turns"][:2]}
    notes = run_notes(RoundView(state, catalog))  # type: ignore[arg-type]
    assert "ran on the question's data: wrong" in notes and "5 rows where 6 are expected" in notes
    assert "Never give the fix" in notes
    assert "switched off" in run_notes(RoundView(state, catalog), execution=False)  # type: ignore[arg-type]
    other = {**state, "stack": [{**state["stack"][0], "question_id": "ml-bias-variance"}]}
    assert run_notes(RoundView(other, catalog)) == ""  # type: ignore[arg-type]  # the prompt is unchanged elsewhere
