"""The bank's facts of the setting give nothing away unless they say so: checked here, once, as content.

Clarifications and the scope are said to a candidate who may have covered nothing yet, so they state no claim of any
key point, except the ones they declare in ``gives`` / ``scope_gives`` (a latency budget, the spec for an edge case:
what a real interviewer tells a candidate who asks). Probes, follow-ups and hints are checked at run time against
what is still uncovered (app/grading/leaks.py).
"""

from __future__ import annotations

import pytest

from app.config import PROJECT_ROOT
from app.content.catalog import load_catalog
from app.content.models import Question
from app.grading.leaks import leaked_claims

CATALOG = load_catalog(PROJECT_ROOT / "rubrics", PROJECT_ROOT / "prompts")
QUESTIONS = sorted(CATALOG.questions.values(), key=lambda q: q.id)


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.id)
def test_setting_facts_state_only_the_claims_they_declare(question: Question) -> None:
    every = [k.id for k in question.rubric.key_points]
    lines = [("scope", question.scope, question.scope_gives)] if question.scope else []
    lines += [(f"clarifications[{i}]", c.text, c.gives) for i, c in enumerate(question.clarifications)]
    leaks = {}
    for where, text, gives in lines:
        undeclared = [c for c in leaked_claims(text, question, every, names=False) if c not in gives]
        if undeclared:
            leaks[where] = undeclared
    assert not leaks, f"{question.id}: facts of the setting that state claims they do not declare in `gives`"
