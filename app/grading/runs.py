"""Following what the candidate's code did, for both brains. Pure functions over the round view and a run.

- ``code_in_answer``: the code an answer carries: what the page's editor attached, or else code typed into the
  answer (a fenced block, a statement starting with SELECT / WITH, a ``def <entry point>(``).
- ``grade_from_run``: the correctness criteria (those whose key points are about the result: the criterion
  ``correctness``) graded from the run, with the run as evidence; communication and approach stay as the brain
  graded them from the conversation. Called by the graph after the brain's grade and ``enforce_evidence``.
- ``run_follow_up``: the offline brain's next move after a run: a failed or wrong run gets a follow-up aimed at what
  actually went wrong (row count, missing / extra rows, columns, order, failing tests, an error), phrased from the
  question's ``run_probes`` without giving the fix; a correct run moves on to complexity, edge cases or an extension.
  ``run_line`` says it; every probe is leak-checked (app/grading/leaks.py).
- ``run_notes``: the run, summarised for the LLM brain's turn prompt.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from app.core.grades import CriterionGrade, TurnGrade
from app.core.ports import Decision
from app.core.runs import Language, PythonRun, RunRecord, SqlRun
from app.grading.leaks import leaked_claims

if TYPE_CHECKING:
    from app.content.models import Question, RunProbe
    from app.core.state import Turn
    from app.core.view import RoundView

RESULT_CRITERIA = ("correctness",)
RUN_PROBES_PER_QUESTION = 2  # failed runs followed up per question; then the brain's usual moves take over
_SQL_KIND_ORDER = ("columns", "fewer_rows", "more_rows", "missing_rows", "extra_rows", "order")
_GENERIC = {
    "columns": "Which columns does the question ask for, and what is each of yours called?",
    "fewer_rows": "Which rows do you expect that it leaves out, and which part of the query drops them?",
    "more_rows": "Where do the extra rows come from? Walk me through which clause lets them in.",
    "missing_rows": "Take one row of your result and check it by hand against the data. Is it right?",
    "extra_rows": "Take one row of your result and check it by hand against the data. Is it right?",
    "order": "What order does the question ask for, and what does your ORDER BY do with ties?",
    "error": "What does that error tell you, and where does it come from?",
    "timeout": "What makes it run that long? Walk me through the work it does as the input grows.",
    "refused": "Queries here may only read the data. How would you get the same answer with a single SELECT?",
    "failed_test": "What input do you think that test uses, and what does your function return for it?",
}
_OK_FACT = {
    "sql": "That runs, and the result matches what I expected.",
    "python": "That runs, and it passes all the hidden tests.",
}
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.S)
_SQL_START = re.compile(r"(?:^|(?<=[\s:(]))(?:(?:SELECT|WITH)\b|(?im:^[ \t]*(?:select|with)\b))")


def exercise_language(question: Question | None) -> Language | None:
    if question is None:
        return None
    if question.sql is not None:
        return "sql"
    if question.python is not None:
        return "python"
    return None


# ---------------------------------------------------------------------------------------------- the code of an answer


def code_in_answer(turn: Turn, question: Question | None) -> str | None:
    """The code of a candidate turn for the question's exercise, or None."""
    language = exercise_language(question)
    if language is None or question is None:
        return None
    attached = turn.get("code")
    if attached and attached.strip() and turn.get("language", language) == language:
        return attached
    text = turn["text"]
    fenced = [(lang.lower(), body) for lang, body in _FENCE.findall(text) if body.strip()]
    fitting = [b for lang, b in fenced if lang in ("", language, "py" if language == "python" else "sqlite")]
    if fitting:
        return fitting[-1].strip("\n")
    if language == "sql":
        return _sql_in_text(text)
    assert question.python is not None
    return _python_in_text(text, question.python.entry_point)


def _sql_in_text(text: str) -> str | None:
    for m in _SQL_START.finditer(text):
        rest = text[m.start() :]
        end = rest.find(";")
        stop = rest.find("\n\n")
        cut = min(x for x in (end + 1 if end >= 0 else len(rest), stop if stop >= 0 else len(rest)))
        query = rest[:cut].strip()
        head = query.lower()
        if (head.startswith("select") and " from " in f" {head} ".replace("\n", " ")) or (
            head.startswith("with") and re.search(r"\bas\s*\(", head)
        ):
            return query
    return None


def _python_in_text(text: str, entry: str) -> str | None:
    m = re.search(rf"(?m)^[ \t]*def[ \t]+{re.escape(entry)}[ \t]*\(", text)
    if not m:
        return None
    lines = text[m.start() :].splitlines()
    indent = len(lines[0]) - len(lines[0].lstrip())
    body = [lines[0][indent:]]
    for line in lines[1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent and not line.lstrip().startswith(("def ", "@")):
            break
        body.append(line[indent:] if len(line) - len(line.lstrip()) >= indent else line.lstrip())
    imports = [ln.strip() for ln in text[: m.start()].splitlines() if re.match(r"\s*(import|from)\s+\w", ln)]
    return "\n".join([*imports, *body]).rstrip()


def merged_text(text: str, code: str | None, language: str | None) -> str:
    """The answer's words with the editor's code quoted after them (so graders, quotes and the transcript see it)."""
    if not code or not code.strip() or code.strip() in text:
        return text
    fence = f"```{language or ''}\n{code.strip()}\n```"
    return f"{text.rstrip()}\n\n{fence}" if text.strip() else fence


# ---------------------------------------------------------------------------------------------- grading


def result_key_points(question: Question) -> set[str]:
    criteria = [c for c in question.rubric.criteria if c.id in RESULT_CRITERIA]
    all_kps = {k.id for k in question.rubric.key_points}
    return {k for c in criteria for k in (c.key_points or all_kps)}


def run_level(run: RunRecord) -> int:
    """What the run says of correctness: 4 correct, 2 partly right, 1 wrong, failing or refused."""
    r = run.result
    if r.status == "ok":
        return 4
    if r.status != "wrong":
        return 1
    if isinstance(r, SqlRun) and r.diff is not None:
        d = r.diff
        right = d.expected_rows - d.missing
        return 2 if "columns" not in d.kinds and d.expected_rows and right * 2 >= d.expected_rows else 1
    if isinstance(r, PythonRun) and r.total:
        return 2 if r.passed * 2 >= r.total else 1
    return 1


def _quote(code: str) -> str:
    return next((ln.strip() for ln in code.splitlines() if ln.strip()), code.strip())[:200]


def grade_from_run(grade: TurnGrade, run: RunRecord | None, question: Question | None) -> TurnGrade:
    """The correctness criteria graded from what the code did, with the run as evidence; the rest untouched."""
    if run is None or question is None or not run.result.checked or run.turn != grade.turn:
        return grade
    level, summary = run_level(run), run.result.summary
    quote = _quote(run.code)
    criteria = list(grade.criteria)
    names = {c.id: c.name for c in question.rubric.criteria}
    graded = False
    for cid in RESULT_CRITERIA:
        if cid not in names:
            continue
        graded = True
        i = next((n for n, c in enumerate(criteria) if c.id == cid), None)
        new = CriterionGrade(id=cid, name=names[cid], level=level, evidence=[quote], run=summary)
        if i is None:
            criteria.insert(0, new)
        else:
            criteria[i] = new
    if not graded:
        return grade
    old = grade.overall
    if old is None:
        overall = level
    elif level == 4:
        overall = max(old, 3)
    else:
        overall = min(old, max(level, 2))
    kps = result_key_points(question)
    covered = sorted(set(grade.covered) | kps) if level == 4 else grade.covered
    missed = [k for k in grade.missed if k not in kps] if level == 4 else grade.missed
    kind = "technical" if grade.kind in ("clarifying", "no_answer") else grade.kind
    return grade.model_copy(
        update={
            "criteria": criteria,
            "overall": overall,
            "evidence": list(dict.fromkeys([*grade.evidence, quote])),
            "notes": [*grade.notes, f"run: {summary}"],
            "covered": covered,
            "missed": missed,
            "kind": kind,
            "confidence": "high",
        }
    )


# ---------------------------------------------------------------------------------------------- following the run


def _probes(question: Question) -> list[RunProbe]:
    ex = question.sql or question.python
    return list(ex.run_probes) if ex is not None else []


def _conditions(run: RunRecord) -> list[str]:
    """What went wrong, most telling first: the keys a run probe is chosen by."""
    r = run.result
    if r.status in ("error", "timeout", "refused"):
        return [r.status]
    if isinstance(r, SqlRun) and r.diff is not None:
        return [k for k in _SQL_KIND_ORDER if k in r.diff.kinds]
    if isinstance(r, PythonRun):
        return [f"test:{t.name}" for t in r.failing] + ["failed_test"]
    return []


def probe_key(run: RunRecord) -> str:
    conditions = _conditions(run)
    return "ok" if run.result.status == "ok" else (conditions[0] if conditions else run.result.status)


def _said(view: RoundView) -> list[str]:
    return [t["text"] for t in view.turns if t["role"] == "interviewer"]


def _uncovered(view: RoundView, question: Question) -> set[str]:
    base = view.technical_thread
    covered = set(base["covered"]) if base else set()
    return {k.id for k in question.rubric.key_points} - covered


def _safe(view: RoundView, question: Question, line: str, target: str | None = None, names: bool = False) -> bool:
    return not leaked_claims(line, question, _uncovered(view, question), target, names)


def _fresh_follow_up(view: RoundView, question: Question, key_point: str) -> str | None:
    said = _said(view)
    for f in question.follow_ups:
        if f.key_point == key_point and not any(f.text in s for s in said) and _safe(view, question, f.text, key_point):
            return f.text
    return None


def run_follow_up(view: RoundView, run: RunRecord) -> Decision | None:
    """A follow-up aimed at what the run actually did, or None (the brain's usual moves then decide)."""
    question, thread = view.question, view.thread
    if question is None or thread is None or thread["kind"] != "technical" or not run.result.checked:
        return None
    asked = thread["asked"]
    kps = result_key_points(question)
    if run.result.status == "ok":
        used = sum(
            1 for a in asked if not a.startswith(("hint:", "clarify", "repeat", "failure:", "mech", "probe:", "run:"))
        )
        if used >= view.round.follow_ups_per_question:
            return None
        covered = set(thread["covered"]) | kps
        order = sorted(question.rubric.key_points, key=lambda k: (k.id in kps, -k.weight))
        for kp in order:
            if kp.id in covered or kp.id in asked or not _fresh_follow_up(view, question, kp.id):
                continue
            return Decision(
                move="follow_up",
                key_point=kp.id,
                tactic="follow_run",
                run_probe="ok",
                covered=tuple(sorted(kps)),
                rationale=f"the code is correct ({run.result.summary}); on to {kp.id}",
            )
        return None
    if sum(1 for a in asked if a.startswith("run:")) >= RUN_PROBES_PER_QUESTION:
        return None
    key = probe_key(run)
    return Decision(
        move="follow_up",
        tactic="follow_run",
        run_probe=key,
        rationale=f"the code ran: {run.result.summary}",
    )


def _probe_text(view: RoundView, question: Question, run: RunRecord) -> tuple[str, str | None]:
    """The question to ask after the facts, and the condition it answers (a ``test:<name>``, a diff kind...)."""
    said = _said(view)
    conditions = _conditions(run)
    probes = _probes(question)
    for cond in conditions:
        for p in probes:
            if p.when == cond and not any(p.text in s for s in said) and _safe(view, question, p.text):
                return p.text, cond
    generic_key = next((c for c in conditions if c in _GENERIC), "failed_test" if conditions else "error")
    return _GENERIC.get(generic_key, _GENERIC["error"]), None


def _facts(run: RunRecord, aimed: str | None = None) -> str:
    r = run.result
    if isinstance(r, PythonRun) and r.status == "wrong":
        failing = [t.name for t in r.failing]
        first = aimed[5:] if aimed and aimed.startswith("test:") else (failing[0] if failing else "one")
        more = f" (and {len(failing) - 1} more)" if len(failing) > 1 else ""
        return f"Your function passes {r.passed} of {r.total} hidden tests; it fails '{first}'{more}."
    if isinstance(r, PythonRun) and r.status in ("error", "timeout"):
        return r.summary.replace("Your code did not run:", "Your code fails:", 1)
    return r.summary


def run_line(view: RoundView, decision: Decision) -> str:
    """The words of a ``follow_run`` follow-up: the run's facts, then a question that points at the cause."""
    run, question = view.last_run, view.question
    if run is None or question is None:
        return "Walk me through what your code does, step by step."
    if decision.run_probe == "ok":
        follow = _fresh_follow_up(view, question, decision.key_point or "") if decision.key_point else None
        fact = _OK_FACT[run.result.language]
        return f"{fact} {follow}" if follow else f"{fact} What is its time complexity?"
    probe, aimed = _probe_text(view, question, run)
    line = f"{_facts(run, aimed)} {probe}"
    if not _safe(view, question, line):
        line = f"{_facts(run)} {_GENERIC['error' if run.result.status != 'wrong' else 'missing_rows']}"
    return line


def run_notes(view: RoundView, execution: bool = True) -> str:
    """For the LLM brain's turn prompt: what the last answer's code did (or that nothing ran, and why)."""
    question = view.question
    language = exercise_language(question)
    if language is None:
        return ""
    if not execution:
        return (
            "\n\n# The candidate's code\nCode execution is switched off on this server: nothing runs. Judge the code by "
            "reading it, and say so if the candidate asks."
        )
    run = view.last_run
    if run is None:
        return (
            "\n\n# The candidate's code\nNo code of this answer ran (none attached, or the question is already solved)."
        )
    r = run.result
    lines = [f"Their {language} ran on the question's data: {r.status}. {r.summary}"]
    if isinstance(r, PythonRun) and r.tests:
        lines.append("Hidden tests: " + "; ".join(f"{t.name}: {'pass' if t.passed else 'FAIL'}" for t in r.tests))
    if r.status == "ok":
        lines.append("It is correct: move on to complexity, edge cases or an extension; do not re-check the result.")
    else:
        lines.append(
            "Follow up on what actually went wrong (name the facts of the run) with a question that points at the "
            "cause. Never give the fix, the expected rows or the hidden tests."
        )
    return "\n\n# The candidate's code, as it ran\n" + "\n".join(lines)
