"""The LLM brain's prompt templates (``prompts/llm/*.md``), loaded and checked: each template may use only its
declared ``$placeholders``, and must use the required ones. Write ``$$`` for a literal dollar sign."""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from app.content.catalog import ContentError, ContentProblem

# template name -> placeholders it must use
TEMPLATES: dict[str, set[str]] = {
    # the conversation's stable prefix: role, rules, moves, LP catalogue (static per round and level), the grading
    # rules with the LP answer rubric (static), then the current question's notes and the summary (static between
    # summaries); the turn's instruction (interviewer_turn or grader_turn) comes last
    "interviewer_system": {
        "round_title",
        "level",
        "level_note",
        "evaluates",
        "persona",
        "principles",
        "failure_modes",
    },
    "grader_system": {"lp_rubric"},
    "question_context": {"question_notes", "summary"},
    "interviewer_turn": {"run", "thread", "clock", "allowed", "next_question", "instruction"},
    "grader_turn": {"answers", "criteria", "level", "level_note", "extra"},
    "debrief_system": set(),
    "debrief_request": {"round_title", "level", "debrief", "lp_answers"},
}


@dataclass(frozen=True)
class Prompts:
    templates: dict[str, string.Template]

    def render(self, name: str, **values: str) -> str:
        return self.templates[name].substitute(**values).strip()


def load_prompts(prompts_dir: Path) -> Prompts:
    problems: list[ContentProblem] = []
    templates: dict[str, string.Template] = {}
    for name, required in TEMPLATES.items():
        path = prompts_dir / "llm" / f"{name}.md"
        rel = f"prompts/llm/{name}.md"
        if not path.exists():
            problems.append(ContentProblem(rel, "-", "file is missing"))
            continue
        template = string.Template(path.read_text(encoding="utf-8"))
        if not template.is_valid():
            problems.append(ContentProblem(rel, "-", "invalid $placeholder (write $$ for a dollar sign)"))
            continue
        used = set(template.get_identifiers())
        if used - required:
            problems.append(
                ContentProblem(
                    rel, "placeholders", f"unknown {sorted(used - required)}; allowed: {sorted(required) or 'none'}"
                )
            )
        if required - used:
            problems.append(ContentProblem(rel, "placeholders", f"missing {sorted(required - used)}"))
        templates[name] = template
    if problems:
        raise ContentError(problems)
    return Prompts(templates)
