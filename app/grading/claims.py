"""Claims, not words: whether an answer *states* a key point, states one of its known inversions or
misconceptions, or only names its terms.

A claim (``app.content.models.Claim``) is made when every one of its phrase groups is found inside one clause of
the answer. Clauses are sentences cut further at contrast words ("but", "whereas", "while", "however") and at
", and", so "precision is about all the fraud, and recall is about the flagged orders" states neither definition.
A claim is **negated** when a negation ("not", "doesn't", "never"...) sits in its clause before its last phrase
and outside the phrases themselves ("high bias doesn't mean overfitting"); it is **framed** when its clause (or the
clause just before it in the sentence) reports it as someone else's mistake ("a common mistake is to say...",
"people often think..."). A wrong claim that is framed or negated is a misconception the candidate rejected.

Offsets are into the normalised text of :class:`app.grading.cues.Text` and map back to verbatim quotes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from app.content.models import Claim, KeyPoint
from app.grading.cues import Text, cue_pattern

# where a clause ends: sentence ends, semicolons, contrast words, ", and", a spaced dash (line breaks are folded into
# spaces: a query typed over several lines is one statement until its ";")
_CLAUSE_BREAK = re.compile(
    r"[.!?;](?=\s|$)|,\s*and\s|\s-\s|"
    r"(?P<turn>\s(?:but|whereas|while|whilst|however|although|though|yet|except that)\b|"
    r",\s*(?=(?:it'?s|it is|that'?s|that is|they'?re|this is)\b))"  # "HH isn't 4, it's 6": the correction is its own
)
# a conditional is one statement, contrast and consequent included: "if training error is low but validation error is
# much higher, that is variance" (its turns do not cut until the sentence ends)
_CONDITIONAL = re.compile(r"\W*(?:if|when|whenever|once)\b")
# where a framing ("a common mistake is...") stops carrying over to the next clause
_SENTENCE_BREAK = re.compile(r"[.!?;](?=\s|$)")
# what separates the words before a claim from a negation earlier in its clause ("I didn't have time, so I ...")
_NEGATION_BARRIER = re.compile(r",|\b(?:so|because|since|which|and|then|therefore|thus|hence)\b")
_NEGATION_WINDOW = 4  # words before a claim's first phrase a negation can reach
_NEGATION = re.compile(r"\b(?:not|never|no|cannot|neither|nor|none)\b|n't\b")
_INTERJECTION_NO = re.compile(r"^\W*no\b[,!.]")  # "No, precision is ..." answers, it does not negate
_FRAME = re.compile(
    r"common (?:mistake|misconception|error|trap|confusion)|misconception|\bmyth\b|"
    r"(?:people|folks|candidates|some|many|most) (?:often |sometimes |usually |commonly |tend to )?"
    r"(?:think|say|assume|believe|confuse|mix up|claim|argue)|"
    r"a lot of people|it'?s tempting|tempting to|contrary to|i used to think|used to believe|"
    r"(?:it'?s|is|would be) (?:wrong|incorrect|a mistake|misleading) to|wrong to (?:say|think)|"
    r"(?:not|isn't|is not) (?:true|right|correct) that|"
    r"(?:people|folks|candidates|teams|analysts) (?:often|usually|sometimes|commonly|tend to|typically)\b|"
    r"\b(?:which|that) (?:is|'s|was) (?:wrong|incorrect|a mistake)|that'?s wrong\b"
)
# frames that only reject what follows them: "use the snapshot date instead of today()" chooses the first
_FRAME_AFTER = re.compile(r"\b(?:rather than|instead of)\b")
# a consequence that rejects what came before it: "going over her head would have burned trust"
_REJECTED_BY_CONSEQUENCE = re.compile(
    r"\b(?:would have|would've|would)\s+(?:been (?:a mistake|wrong|worse|unfair|pointless)|burned|burnt|hurt|damaged|"
    r"backfired|undermined|broken|killed|poisoned|made (?:it|things) worse)\b"
)


class Stance(StrEnum):
    """How a clause relates to a claim it contains."""

    affirmed = "affirmed"  # asserted by the candidate
    rejected = "rejected"  # negated or framed as someone else's mistake


@dataclass(frozen=True)
class Clause:
    start: int  # offsets into Text.folded
    end: int
    sentence: int  # index of the sentence it belongs to


@dataclass(frozen=True)
class ClaimHit:
    claim: Claim
    stance: Stance
    clause: Clause
    spans: tuple[tuple[int, int], ...]  # the matched phrases, folded offsets


def clauses(text: Text) -> list[Clause]:
    """The answer's clauses, in order."""
    folded = text.folded
    sentence_ends = [m.end() for m in _SENTENCE_BREAK.finditer(folded)]
    cuts = sorted({0, len(folded), *_cuts(folded)})
    out: list[Clause] = []
    sentence = 0
    for start, end in zip(cuts, cuts[1:], strict=False):
        # a clause that starts at a sentence's closing "." belongs to the next sentence
        while sentence < len(sentence_ends) and sentence_ends[sentence] <= start + 1:
            sentence += 1
        if folded[start:end].strip(" .,;!?-\n"):
            out.append(Clause(start, end, sentence))
    return out


def _cuts(folded: str) -> list[int]:
    """Where clauses start: every break, except a contrast or a correction inside a conditional."""
    out: list[int] = []
    conditional = bool(_CONDITIONAL.match(folded))
    for m in _CLAUSE_BREAK.finditer(folded):
        if m.group("turn") is not None and conditional:
            continue
        out.append(m.start())
        conditional = bool(_CONDITIONAL.match(folded, m.end()))
    return out


@lru_cache(maxsize=16384)
def _group_pattern(group: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{cue_pattern(c).pattern})" for c in sorted(group, key=len, reverse=True)))


def _spans_in(
    folded: str, clause: Clause, claim: Claim, max_gap_words: int | None = None
) -> tuple[tuple[int, int], ...] | None:
    """One matched span per group inside the clause (in order when the claim says so), or None. With
    ``max_gap_words``, the phrases must also sit within that many words of one another."""
    spans: list[tuple[int, int]] = []
    cursor = clause.start
    for group in claim.all:
        pattern = _group_pattern(tuple(group))
        m = pattern.search(folded, cursor if claim.ordered else clause.start, clause.end)
        if m is None:
            return None
        spans.append((m.start(), m.end()))
        if claim.ordered:
            cursor = m.end()
    if max_gap_words is not None and len(spans) > 1:
        ordered = sorted(spans)
        for (_, end), (start, _) in zip(ordered, ordered[1:], strict=False):
            if len(folded[end:start].split()) > max_gap_words:
                return None
    return tuple(spans)


_CODE = re.compile(
    r"\b(?:select|from|where|join|group by|order by|partition by|having|over|limit|def|return|import|lambda|"
    r"for|in|if|else)\b|==|!=|<=|>=|\(\)|\.\w+\("
)


def _is_code(segment: str) -> bool:
    """A query or a code line: its NOT, IS NOT NULL and != are logic, not the candidate negating a claim."""
    return len(_CODE.findall(segment)) >= 3


def _negated(folded: str, clause: Clause, spans: Sequence[tuple[int, int]]) -> bool:
    """A negation between the claim's phrases, or just before its first one (a few words, nothing like ", so" or
    "because" in between), and not inside a phrase itself. Code is never negated this way."""
    if _is_code(folded[clause.start : clause.end]):
        return False
    first = min(start for start, _ in spans)
    last = max(end for _, end in spans)
    before = folded[clause.start : first]
    barriers = list(_NEGATION_BARRIER.finditer(before))
    lead_start = clause.start + (barriers[-1].end() if barriers else 0)
    interjection = _INTERJECTION_NO.match(folded[lead_start:first])
    if interjection is not None:
        lead_start += interjection.end()
    lead = folded[lead_start:first]
    words = lead.split()
    if len(words) > _NEGATION_WINDOW:
        cut = len(lead) - len(" ".join(words[-_NEGATION_WINDOW:])) - 1
        lead_start, lead = lead_start + cut, lead[cut:]
    for segment, offset in ((lead, lead_start), (folded[first:last], first)):
        for m in _NEGATION.finditer(segment):
            pos = offset + m.start()
            if not any(s <= pos < e for s, e in spans):
                return True
    return False


_CONTRAST_START = re.compile(r"\W*(?:but|whereas|while|whilst|however|although|though|yet|except)\b")


def _framed(folded: str, clause: Clause, previous: Clause | None, spans: Sequence[tuple[int, int]] = ()) -> bool:
    """The clause reports the claim as a mistake: a frame in it (for "instead of" / "rather than", before the
    claim; for a bad consequence, "would have burned trust", after it), or in the clause before it in the same sentence unless this clause turns against it ("people often say
    X, but Y": Y is the candidate's own)."""
    if _FRAME.search(folded, clause.start, clause.end):
        return True
    after = _FRAME_AFTER.search(folded, clause.start, clause.end)
    if after is not None and spans and min(s for s, _ in spans) > after.start():
        return True
    consequence = _REJECTED_BY_CONSEQUENCE.search(folded, clause.start, clause.end)
    if consequence is not None and spans and max(e for _, e in spans) <= consequence.start():
        return True
    if previous is None or previous.sentence != clause.sentence:
        return False
    if _CONTRAST_START.match(folded, clause.start):
        return False
    return bool(_FRAME.search(folded, previous.start, previous.end))


def _windows(parts: Sequence[Clause], width: int) -> list[tuple[Clause, Clause | None]]:
    """Each clause (width 1), or each run of two consecutive clauses read as one (width 2), with the clause before."""
    if width <= 1:
        return [(c, parts[i - 1] if i else None) for i, c in enumerate(parts)]
    return [
        (Clause(c.start, parts[i + 1].end, c.sentence), parts[i - 1] if i else None) for i, c in enumerate(parts[:-1])
    ]


_WRONG_CLAIM_GAP = 8  # words: "precision is X and recall is Y" must not make the swapped claim "precision ... Y"


def find_claim(
    text: Text, claim: Claim, parts: Sequence[Clause] | None = None, width: int = 1, max_gap_words: int | None = None
) -> ClaimHit | None:
    """Where the answer makes ``claim``: its last affirmed hit, else its first rejected one, else None."""
    folded = text.folded
    parts = clauses(text) if parts is None else parts
    rejected: ClaimHit | None = None
    affirmed: ClaimHit | None = None
    for clause, previous in _windows(parts, width):
        spans = _spans_in(folded, clause, claim, max_gap_words)
        if spans is None:
            continue
        if _negated(folded, clause, spans) or _framed(folded, clause, previous, spans):
            rejected = rejected or ClaimHit(claim, Stance.rejected, clause, spans)
        else:
            affirmed = ClaimHit(claim, Stance.affirmed, clause, spans)  # the last one: the answer's last word
    return affirmed or rejected


class PointState(StrEnum):
    """What an answer did with one key point."""

    stated = "stated"  # a claim of the key point, affirmed
    rejected_misconception = "rejected_misconception"  # a wrong claim, named only to reject it
    mentioned = "mentioned"  # its terms, no claim: a buzzword without the mechanism
    wrong = "wrong"  # a wrong claim, affirmed: a confident misconception
    absent = "absent"


@dataclass(frozen=True)
class PointReading:
    key_point: KeyPoint
    state: PointState
    hit: ClaimHit | None = None  # the claim (right or wrong) behind the state
    mention: tuple[int, int] | None = None  # for a mention: the matched cue, folded offsets
    depth: int = 0  # how many of the key point's claims the answer states (stated: at least one)

    @property
    def span(self) -> tuple[int, int] | None:
        """Where in the answer the evidence for this reading is (folded offsets of its clause or cue)."""
        if self.hit is not None:
            return self.hit.clause.start, self.hit.clause.end
        return self.mention


def _last(hits: list[ClaimHit]) -> ClaimHit | None:
    last: ClaimHit | None = None
    for h in hits:
        if last is None or _later(h, last):
            last = h
    return last


def _later(a: ClaimHit, b: ClaimHit) -> bool:
    """Whether ``a`` is the answer's last word compared with ``b`` (a later clause, or later in the same one)."""
    if a.clause.start != b.clause.start:
        return a.clause.start > b.clause.start
    return max(e for _, e in a.spans) >= max(e for _, e in b.spans)


def read_key_point(text: Text, key_point: KeyPoint, parts: Sequence[Clause], loose: bool = False) -> PointReading:
    """What the answer did with ``key_point``. A key point without claims falls back to its cues (a cue counts as
    stated), so content written before claims existed still grades. ``loose`` (stories: "Two things I set up. A
    reconciliation check...") also lets a correct claim span two consecutive clauses; a wrong claim never does."""
    wrong = [h for c in key_point.wrong if (h := find_claim(text, c, parts, max_gap_words=_WRONG_CLAIM_GAP))]
    affirmed_wrong = _last([h for h in wrong if h.stance is Stance.affirmed])
    right = [h for c in key_point.claims if (h := find_claim(text, c, parts))]
    if loose and not any(h.stance is Stance.affirmed for h in right):
        right += [h for c in key_point.claims if (h := find_claim(text, c, parts, width=2))]
    affirmed_right = _last([h for h in right if h.stance is Stance.affirmed])
    if affirmed_wrong is not None and (affirmed_right is None or _later(affirmed_wrong, affirmed_right)):
        return PointReading(key_point, PointState.wrong, affirmed_wrong)  # the last word on it is the wrong one
    if affirmed_right is not None:
        depth = len({h.claim.id for h in right if h.stance is Stance.affirmed})
        return PointReading(key_point, PointState.stated, affirmed_right, depth=depth)
    if wrong:
        return PointReading(key_point, PointState.rejected_misconception, wrong[0])
    m = _group_pattern(tuple(key_point.cues)).search(text.folded)
    if m is None:
        return PointReading(key_point, PointState.absent)
    state = PointState.mentioned if key_point.claims else PointState.stated
    return PointReading(key_point, state, mention=(m.start(), m.end()))
