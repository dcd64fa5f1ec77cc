"""Cue-phrase matching for the offline brain: find rubric cues in a candidate's words and cut verbatim quotes.

Matching is case-insensitive, treats curly quotes as straight ones and runs of white space as one space, and a
cue must start at a word boundary ("overfit" matches "overfitting" but not "nonoverfit"). Every span found maps
back to the original text, so quotes taken from it are verbatim substrings of what the candidate wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
_SENTENCE_END = re.compile(r"[.!?;](?=\s|$)|\n")  # "0.9" and "e.g." inside a sentence do not end it
_NEGATION = re.compile(r"\b(never|not|no|without|n't|nt|neither|nor|hardly)\b|n't\b")
_DANGLING = {
    "the",
    "a",
    "an",
    "and",
    "or",
    "to",
    "of",
    "in",
    "on",
    "for",
    "with",
    "when",
    "because",
    "that",
    "which",
    "is",
    "was",
    "but",
    "so",
    "if",
    "we",
    "i",
    "it",
    "my",
    "our",
    "this",
}
_CLAUSE_END = re.compile(r"[,;:]\s|\s[-\u2013\u2014]\s|\s\(|\)\s")
_MAX_QUOTE_CHARS = 200


@dataclass(frozen=True)
class Match:
    cue: str
    start: int  # offsets into the original text
    end: int


class Text:
    """A candidate turn prepared for matching; keeps the map from normalised to original offsets."""

    def __init__(self, original: str):
        self.original = original
        chars: list[str] = []
        index: list[int] = []
        previous_space = True
        for i, ch in enumerate(original.translate(_FOLD)):
            if ch.isspace():
                if previous_space:
                    continue
                ch, previous_space = " ", True
            else:
                previous_space = False
                low = ch.lower()
                ch = low if len(low) == 1 else ch
            chars.append(ch)
            index.append(i)
        self.folded = "".join(chars)
        self._index = index

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Offsets into the normalised text -> offsets into the original (for verbatim quotes)."""
        if end <= start:
            return self._index[start], self._index[start]
        return self._index[start], self._index[end - 1] + 1

    def find(self, cue: str) -> Match | None:
        """The first occurrence of ``cue`` starting at a word boundary, or ``None``."""
        m = cue_pattern(cue).search(self.folded)
        if not m:
            return None
        start = self._index[m.start()]
        end = self._index[m.end() - 1] + 1
        return Match(cue, start, end)

    def search(self, pattern: re.Pattern[str]) -> Match | None:
        """The first match of a regular expression over the normalised text, mapped back to the original."""
        m = pattern.search(self.folded)
        if not m:
            return None
        return Match(m.group(0), self._index[m.start()], self._index[m.end() - 1] + 1)

    def find_any(self, cues: list[str]) -> Match | None:
        """The earliest match among ``cues``."""
        found = [m for m in (self.find(c) for c in cues) if m]
        return min(found, key=lambda m: m.start) if found else None

    def negated(self, match: Match) -> bool:
        """Whether the words just before a match negate it ("never overfit", "would not call it", "don't")."""
        before = self.original[max(0, match.start - 40) : match.start].lower().translate(_FOLD)
        return bool(_NEGATION.search(" ".join(before.split()[-4:])))

    def find_affirmed(self, cues: list[str]) -> Match | None:
        """The earliest match among ``cues`` that is not negated."""
        found = [m for cue in cues for m in self._find_all(cue) if not self.negated(m)]
        return min(found, key=lambda m: m.start) if found else None

    def _find_all(self, cue: str) -> list[Match]:
        return [
            Match(cue, self._index[m.start()], self._index[m.end() - 1] + 1)
            for m in cue_pattern(cue).finditer(self.folded)
        ]

    def count(self, cues: list[str]) -> int:
        return sum(len(cue_pattern(c).findall(self.folded)) for c in cues)

    def sentence(self, match: Match) -> str:
        """The sentence (or clause) around a match, verbatim, trimmed to a readable length."""
        text = self.original
        start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, match.start)), default=0)
        end_m = _SENTENCE_END.search(text, match.end)
        end = end_m.start() if end_m else len(text)
        if end - start > _MAX_QUOTE_CHARS:
            start = max(start, match.start - _MAX_QUOTE_CHARS // 2)
            end = min(end, match.end + _MAX_QUOTE_CHARS // 2)
        return text[start:end].strip()

    def phrase_at(self, start: int, end: int, max_words: int = 14) -> str:
        """The clause around original offsets ``start:end`` (see :meth:`phrase`)."""
        return self.phrase(Match("", start, end), max_words)

    def phrase(self, match: Match, max_words: int = 14) -> str:
        """The clause around a match (split at commas, semicolons, dashes), verbatim, for quoting back."""
        sentence = self.sentence(match)
        offset = self.original.find(sentence, max(0, match.start - len(sentence)))
        rel_start, rel_end = match.start - offset, match.end - offset
        bounds = [0] + [m.end() for m in _CLAUSE_END.finditer(sentence)] + [len(sentence)]
        start = max(b for b in bounds if b <= rel_start)
        end = min(b for b in bounds if b >= rel_end)
        clause = sentence[start:end]
        words = clause.split()
        if len(words) > max_words:
            before = sentence[start:rel_start].split()
            keep_before = before[-(max_words // 2) :] if before else []
            after = sentence[rel_end:end].split()
            clause = " ".join(keep_before) + (" " if keep_before else "") + sentence[rel_start:rel_end]
            rest = " ".join(after[: max_words - len(keep_before) - 1])
            if rest:
                clause += ("" if sentence[rel_end : rel_end + 1] != " " else " ") + rest
        clause = clause.strip(" ,;:-").lstrip(".!?) ")  # never a quote that opens with the last one's full stop
        while (tail := clause.rsplit(" ", 1)) and len(tail) == 2 and tail[1].lower() in _DANGLING:
            clause = tail[0]
        return clause if clause and clause in self.original else sentence[rel_start:rel_end]

    @property
    def words(self) -> int:
        return len(self.folded.split())


def fold_cue(cue: str) -> str:
    """A cue as it appears in folded text (the literal its pattern matches)."""
    return " ".join(cue.translate(_FOLD).lower().split())


@lru_cache(maxsize=8192)
def cue_pattern(cue: str) -> re.Pattern[str]:
    """A cue matches at a word start and as a prefix ("overfit" matches "overfitting"); a cue ending in a word of one
    or two characters ("answer is c", "option b") must end there too, or "answer is c" would match "answer is clear"."""
    folded = fold_cue(cue)
    prefix = r"(?<![a-z0-9_])" if folded[:1].isalnum() else ""
    last = re.split(r"[^a-z0-9]", folded)[-1]
    suffix = r"(?![a-z0-9])" if last and len(last) <= 2 and folded[-1:].isalnum() else ""
    return re.compile(prefix + re.escape(folded) + suffix)
