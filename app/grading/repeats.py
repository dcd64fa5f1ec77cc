"""The no-repeat rule, as text: which questions an interviewer line asks and which of its sentences were already said.

A line *repeats* when it asks again a question of five words or more already asked in the round, or says again a
sentence of five words or more already said (lower case, words only, so punctuation and case do not hide a
repeat). The evals count repeated questions with ``asked_questions`` (app/evaluation/runner.py); the LLM brain checks
every sentence it is about to say with ``repeated_sentence`` (app/brains/llm_words.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_QUESTION = re.compile(r"[^.?!]*\?")
_SENTENCE = re.compile(r"[^.?!]*[.?!]+|[^.?!]+$")
_WORD = re.compile(r"[a-z0-9']+")
MIN_WORDS = 5  # shorter sentences ("Why?", "Go on.") are not a repeat worth refusing


def normalised(text: str) -> str:
    """Lower case, words only, single spaces."""
    return " ".join(_WORD.findall(text.lower()))


def asked_questions(text: str) -> list[str]:
    """The questions in an interviewer line, normalised."""
    return [normalised(q) for q in _QUESTION.findall(text)]


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, normalised, of ``MIN_WORDS`` words or more."""
    out = [normalised(s) for s in _SENTENCE.findall(text)]
    return [s for s in out if len(s.split()) >= MIN_WORDS]


def repeated_sentence(sentence: str, said: Iterable[str]) -> str | None:
    """The earlier line that already said ``sentence`` (a question or a statement of ``MIN_WORDS`` words or more),
    or None."""
    key = normalised(sentence)
    if len(key.split()) < MIN_WORDS:
        return None
    for line in said:
        if key in sentences(line):
            return line
    return None
