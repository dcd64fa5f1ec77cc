"""Reading a candidate's turn once, for the grader and the decider alike: what kind of turn it is (an answer, a
clarifying question, "I don't know", a remark about the interview), what it does with each key point of the question
(stated, wrong, rejected misconception, mentioned, absent: app/grading/claims.py), the STAR parts of a story, how
hedged and how long it is, and whether it tries to instruct the grader."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from statistics import median_low

from app.content.catalog import Catalog
from app.content.models import MultipleChoice, Question
from app.core.view import RoundView
from app.grading.claims import Clause, PointReading, PointState, clauses, read_key_point
from app.grading.cues import Match, Text

_DONT_KNOW = re.compile(
    r"\b(?:i don'?t know|i do not know|no idea|not sure|i'?m not sure|i have no clue|no clue|i'?ll pass|"
    r"can'?t remember|cannot remember|i forget|idk|i'?m blanking|blanking|drawing a blank|draw a blank|"
    r"not familiar|haven'?t (?:used|worked with|seen|heard of)|never (?:used|worked with|heard of)|i'?m stuck|"
    r"(?:can'?t|cannot) (?:recall|think of)|i'?m trying to think|don'?t really know|not totally sure|"
    r"struggling to|hard to (?:pick|think of)|nothing comes to mind|let me think|"
    r"don'?t remember|can'?t recall|not sure where to start|no idea where to start|pass on this)\b"
)
_REPEAT_REQUEST = re.compile(
    r"\b(?:can you|could you|would you|can u) (?:please )?(?:repeat|rephrase|say that again|restate)|"
    r"what was the question|repeat the question|say the question again|i missed the question|sorry, what\b"
)
_ALREADY_ANSWERED = re.compile(
    r"\b(?:you (?:already |just )?asked (?:me )?(?:that|this)|asked (?:that|this) (?:one )?already|"
    r"i (?:already|just) (?:answered|said|covered|explained|told you)|as i (?:said|mentioned)(?: (?:before|earlier))?|"
    r"i answered (?:that|this) already|same question)"
)
_CLARIFY_OPENER = re.compile(
    r"^(?:can|could|should|may) i assume|^(?:do|did|does|is|are|was|were|will|would|should|can|could) (?:we|you|the|it|"
    r"this|that|there|i)\b|^(?:what|which|how|when|where|who|whose)\b|^(?:just )?to (?:clarify|confirm|make sure)|"
    r"^(?:quick|one) (?:question|clarification)|^before i (?:answer|start|begin)|^(?:are|is) (?:there|this|that)\b"
)
# a question sentence that is really a tentative answer: it proposes or asserts, unsure ("I guess it is X?")
_TENTATIVE = re.compile(
    r"^(?:(?:hmm+|um+|uh+|so|well|ok(?:ay)?|right|like)[,.\s]+)*(?:i guess|i think|i believe|i'?d say|maybe|perhaps|"
    r"probably|my guess is|i need|i should|we need|we should|it'?s|it is|that'?s|that is|because|so it'?s)\b"
)
# the candidate points back to what they have already told ("like I said, the bot filter")
_POINTS_BACK = re.compile(
    r"\b(?:like i said|as i said|as i mentioned|as i told you|like i mentioned|same as before|as before|"
    r"i (?:already )?(?:said|mentioned|told you|covered) (?:that|this|it)?\s*(?:already|before|earlier|at the start)|"
    r"i said that already|(?:i )?already said)\b"
)
_HEDGE = re.compile(
    r"\b(?:i think|i guess|maybe|probably|kind of|sort of|not sure|i believe|if i remember|something like|"
    r"i'?m not 100|roughly|might be|i suppose|perhaps|possibly|i'?d say|more or less|if i recall|or something)\b"
)
# Text that tries to instruct the grader: role markers, "ignore the rubric", "rate me", fake grades
_INSTRUCTS_GRADER = re.compile(
    r"\b(?:system|assistant|developer)\s*:|\[(?:system|admin|assistant)\]|"
    r"ignore (?:all |any |your |the |previous |prior |above )*(?:instructions|rubric|rules|grading)|"
    r"\b(?:rate|grade|score|mark) (?:me|this|the candidate|this answer|all criteria|every criterion)\b|"
    r"\b(?:assign|give|award) (?:the |a |this )?(?:maximum|max|highest|top|full) (?:grade|score|marks?)|"
    r"assign (?:a )?grade \d|mark all criteria|criteria as met|meets? the bar automatically|automatically meet|"
    r"strong[ _]hire|evaluator (?:note|instruction)|note to (?:the )?(?:grader|evaluator|reviewer)|"
    r"for the (?:grader|evaluator|evaluation model|reviewer)|interviewer note|pre-filled|"
    r"(?:automated|ai) (?:reviewer|grader|evaluator)|if you are an? (?:ai|llm|model|grader|evaluator)|"
    r"you (?:have been|are) instructed|as the (?:grader|evaluator)|rubric has been updated|"
    r"\"(?:overall|grade|score|level)\"\s*:\s*\d|\b(?:overall|grade)\s*[:=]\s*[1-4]\b|\b10/10\b|"
    r"rubric (?:terms|keywords|override)|keywords for the|<!--|\bgrader(?:_\w+)?\s*[:,\]]|grader instructions|"
    r"automated scorer|expected score|(?:output|record|assign|give it) (?:a )?(?:grade|score)?\s*[1-4]\b|"
    r"\bgrade [1-4]\b|answer key|evaluation note|ai evaluating|mark (?:it |this )?as correct|"
    r"record this (?:response|answer) as correct|passes all hidden tests|per your instructions"
)
_NUMBER = re.compile(r"\d")
# A pick of a multiple-choice option: "b", "(b)", "b, because", "I'd go with b", "the answer is b", "option b";
# never "a" as an article ("a left join keeps...") nor a rejected option ("not a", "option a is wrong")
_PICK_AFTER = r"(?=\s*(?:[,.:;?!)\-]|$)|\s+(?:because|since|as|i think|i guess|i believe|probably|maybe|though|but|is (?:the )?(?:answer|right|correct|it)|here)\b)"
_PICK = re.compile(
    r"(?:^\(?|\((?=[a-e]\))|\b(?:answer|choice)(?: is| would be| has to be|:)?\s*\(?|\b(?:go(?:ing)? with|pick(?:ing)?|"
    r"choos(?:e|ing)|i(?:'d| would) say|i think(?: it'?s)?|i guess|i'?m guessing|probably|it'?s|it has to be|"
    r"must be|option)\s*\(?)([a-e])\)?" + _PICK_AFTER
)
# what comes right before a letter that is named, not picked: "not a", "the tempting answer is a", "people pick a"
_NOT_PICKED = re.compile(
    r"(?:\b(?:not|isn'?t|n'?t)\s*(?:option\s*)?\(?|\b(?:tempting|obvious|naive|intuitive|wrong|trap|common|"
    r"people|some|you|folks|many)\b[^.;]{0,24})$"
)
_TURN = re.compile(r"\b(?:but|however|actually|so|instead|rather)\b|[.;]")
_REJECTS_OPTION = re.compile(r"^\)?\s*(?:is|was|would be|looks|seems)\s+(?:wrong|not|incorrect|a trap|tempting|out)")
STORY_KINDS = ("project", "behavioral")  # questions about the candidate's own past work
_WORD = re.compile(r"[a-z']+")


class Intent(StrEnum):
    """What a candidate turn is."""

    answer = "answer"
    clarify = "clarify"  # a clarifying question: answered, never graded
    repeat = "repeat"  # "can you repeat the question?": the question again, not graded
    already_answered = "already_answered"  # "you asked that already": move on, not graded
    dont_know = "dont_know"  # stuck: one hint, then move on; no evidence either way
    empty = "empty"  # nothing, or gibberish


@dataclass(frozen=True)
class StoryPart:
    part: str
    match: Match


@dataclass
class Reading:
    """One candidate turn, read against the question under discussion (if any)."""

    text: Text
    question: Question | None
    parts: list[Clause]
    points: dict[str, PointReading] = field(default_factory=dict)
    choice: str | None = None  # the option a multiple-choice answer picks (one, unambiguous), if any

    @cached_property
    def words(self) -> int:
        return self.text.words

    @cached_property
    def hedges(self) -> int:
        return len(_HEDGE.findall(self.text.folded))

    @cached_property
    def points_back(self) -> bool:
        """The turn refers to what the candidate said before ("like I said", "same as before")."""
        return bool(_POINTS_BACK.search(self.text.folded))

    @cached_property
    def instructs_grader(self) -> bool:
        return bool(_INSTRUCTS_GRADER.search(self.text.folded))

    @cached_property
    def question_form(self) -> bool:
        """The turn asks something: it ends with a question mark, or opens like a clarifying question and has one."""
        folded = self.text.folded.strip()
        if "?" not in folded:
            return False
        asked = [x for x in re.split(r"(?<=[.!?])\s+", folded) if x.endswith("?")]
        if asked and all(_TENTATIVE.match(x) for x in asked) and not _DONT_KNOW.search(folded):
            return False  # "I guess it is X?", "Maybe I need a RIGHT JOIN instead?": an answer, said unsurely
        return folded.endswith("?") or bool(_CLARIFY_OPENER.search(folded)) or self.statement_words <= 15

    @cached_property
    def statement_words(self) -> int:
        """Words in the turn's sentences that are not questions ("I'd assume left out." beside a question)."""
        sentences = re.split(r"(?<=[.!?])\s+", self.text.folded.strip())
        return sum(len(_WORD.findall(x)) for x in sentences if not x.endswith("?"))

    def having(self, *states: PointState) -> list[PointReading]:
        """The key point readings in one of ``states``, heaviest first."""
        return sorted((p for p in self.points.values() if p.state in states), key=lambda p: -p.key_point.weight)

    @cached_property
    def stated(self) -> list[PointReading]:
        return self.having(PointState.stated)

    @cached_property
    def wrong(self) -> list[PointReading]:
        return self.having(PointState.wrong)

    @cached_property
    def mentioned(self) -> list[PointReading]:
        return self.having(PointState.mentioned)

    @cached_property
    def substantive(self) -> bool:
        """Something of the question was said: a key point stated, rejected, wrong or at least mentioned."""
        return any(p.state is not PointState.absent for p in self.points.values())

    @cached_property
    def intent(self) -> Intent:
        folded = self.text.folded.strip()
        words = _WORD.findall(folded)
        if not words or _gibberish(words):
            return Intent.empty
        claimed = [p for p in self.points.values() if p.hit is not None and p.state is not PointState.absent]
        knows = bool(claimed) or bool(self.stated and not self.question_form)
        if len(words) <= 30 and _REPEAT_REQUEST.search(folded):
            return Intent.repeat
        if len(words) <= 30 and _ALREADY_ANSWERED.search(folded) and not knows:
            return Intent.already_answered
        if self.choice is not None:
            return Intent.answer  # a pick is an answer, however hedged ("c I think?")
        stated_claims = [p for p in claimed if p.state is PointState.stated]
        if (
            _DONT_KNOW.search(folded)
            and not self.wrong
            and len(stated_claims) <= 1
            and (len(words) <= 45 or not self.substantive)
        ):
            return Intent.dont_know  # stuck, perhaps knowing a fact or two: no evidence either way
        if self.question_form and len(words) <= 60 and (len(claimed) < 2 or self.statement_words <= 15):
            return Intent.clarify
        if len(words) <= 3 and not self.substantive:
            return Intent.dont_know if _DONT_KNOW.search(folded) else Intent.empty
        return Intent.answer

    def story_parts(self, catalog: Catalog) -> dict[str, Match]:
        """The STAR parts a story shows (cue phrases of the LP answer rubric, explicit "Task:" labels included)."""
        found: dict[str, Match] = {}
        for part in catalog.lp_rubric.star:
            m = self.text.find_any([*part.cues, f"{part.part}:"])
            if m:
                found[part.part] = m
        if "action" not in found and (m := self.text.search(FIRST_PERSON_ACTION)):
            found["action"] = m
        return found

    def quote(self, span: tuple[int, int]) -> str:
        """The clause (or phrase) at folded offsets ``span``, verbatim from the answer, trimmed of leading
        connectives ("but", "and", "so")."""
        start, end = self.text.original_span(*span)
        quote = self.text.original[start:end].strip(" ,;:-.!?\n\t")
        quote = re.sub(
            r"^(?:but|and|so|also|then|however|whereas|while|although|though|yet)\b[\s,]*", "", quote, flags=re.I
        )
        return quote.strip() or self.text.original[start:end].strip()


# "I added", "I also built", "I personally told": first-person actions count as the A of STAR and as ownership
FIRST_PERSON_ACTION = re.compile(
    r"(?<![a-z])i (?:also |then |first |personally |finally |actually )?(?:[a-z]+ed|built|wrote|made|ran|led|set up|"
    r"took|found|did|chose|drove|got|put|sent|told|spent|kept|began|brought|dug|gave|held|met|paid|read|saw|shipped|"
    r"spoke|taught|thought|won|own|owned|lead)\b"
)


def _gibberish(words: list[str]) -> bool:
    vowelless = sum(1 for w in words if len(w) > 3 and not re.search(r"[aeiouy]", w))
    return vowelless / len(words) > 0.5


_EXPLAIN = re.compile(
    r"\b(?:because|so that|which means|means|that is why|since|therefore|if|when|for example|e\.g|for instance|so the|"
    r"otherwise|whereas|instead)\b"
)
_MIN_WORDS_PER_POINT = 5


def _stuffed(text: Text, named: int) -> bool:
    """Terms strung together without the words an explanation needs: few words per key point named, or a list of
    two-word fragments, and no connective at all."""
    if not named or _EXPLAIN.search(text.folded):
        return False
    fragments = [len(f.split()) for f in re.split(r"[.,;:\n]", text.folded) if f.strip()]
    return text.words / named < _MIN_WORDS_PER_POINT or median_low(fragments) <= 3


_FUNCTION_WORDS = frozenset(
    "a an the is are was were be been it its this that these those of to for with on in at by from as and or so "
    "if then than because but not no i we you they he she my our your their would will can could should do does "
    "did has have had which what when where who how".split()
)
_SOUP_MAX_FUNCTION_SHARE = 0.12


def _term_soup(text: Text) -> bool:
    """A string of terms with (almost) none of the words a sentence is made of: "overfit underfit learning curve"."""
    words = re.findall(r"[a-z']+", text.folded)
    return len(words) >= 4 and sum(w in _FUNCTION_WORDS for w in words) / len(words) < _SOUP_MAX_FUNCTION_SHARE


def read_turn(answer: str, question: Question | None) -> Reading:
    """Read ``answer`` against ``question``'s key points (none when no technical question is open). A key point
    written without claims is read from its cues. An answer that is a list of terms states nothing: what it names is
    a mention."""
    text = Text(answer)
    parts = clauses(text)
    reading = Reading(text=text, question=question, parts=parts)
    if question is not None:
        loose = question.kind in STORY_KINDS
        points = {kp.id: read_key_point(text, kp, parts, loose) for kp in question.rubric.key_points}
        named = sum(1 for p in points.values() if p.state is not PointState.absent)
        code = question.kind in ("sql", "python") or len(_CODE_TOKENS.findall(answer)) >= 4  # code is terse
        soup = not code and _term_soup(text)
        # a string of terms states nothing, even when its words happen to fall into a claim's groups; a terse list
        # of fragments states no key point that is read from its cues alone
        downgrade = [
            p
            for p in points.values()
            if p.state is PointState.stated and (soup or (p.hit is None and _stuffed(text, named)))
        ]
        for p in downgrade:
            mention = p.mention or (p.hit.spans[0] if p.hit else None)
            points[p.key_point.id] = PointReading(p.key_point, PointState.mentioned, mention=mention)
        if question.choices is not None and (pick := picked_option(text, question.choices)) is not None:
            # the pick states the choice's key point, or gets it wrong: whatever words the answer wraps it in
            reading.choice, span = pick
            kp = points[question.choices.key_point].key_point
            if reading.choice not in question.choices.answer:
                points[kp.id] = PointReading(kp, PointState.wrong, mention=span)
            elif points[kp.id].state is not PointState.stated:
                points[kp.id] = PointReading(kp, PointState.stated, mention=span, depth=1)
        reading.points = points
    return reading


def parts_told_before(view: RoundView) -> set[str]:
    """The STAR parts the candidate has already told about the story under discussion: when the technical question
    is itself a story (a project or behavioural question), every earlier answer on it is the same story, on
    whatever thread (an LP pivot, a failure probe) it was told; else none."""
    question = view.catalog.questions.get(view.technical_question_id or "")
    if question is None or question.kind not in STORY_KINDS:
        return set()
    earlier = " ".join(view.question_answers()[:-1])
    return set(read_turn(earlier, None).story_parts(view.catalog)) if earlier else set()


def picked_option(text: Text, choices: MultipleChoice) -> tuple[str, tuple[int, int]] | None:
    """The one option an answer picks, with where (folded offsets): by its letter ("b", "(b)", "I'd go with b"), else
    by quoting an option's own text when that text is distinctive (4+ characters, found for one option only).
    None when it picks none, or several (an answer weighing options without settling is not a pick)."""
    ids = {o.id for o in choices.options}
    folded = text.folded
    picks: dict[str, tuple[int, int]] = {}
    for m in _PICK.finditer(folded):
        letter = m.group(1)
        before = _TURN.split(folded[max(0, m.start(1) - 40) : m.start(1)])[-1]  # from the last "but" / "so" on
        if letter not in ids or _NOT_PICKED.search(before):
            continue
        if _REJECTS_OPTION.search(folded[m.end(1) : m.end(1) + 24]):
            continue
        picks.setdefault(letter, (m.start(), m.end()))
    if len(picks) == 1:
        return next(iter(picks.items()))
    if picks:
        return None
    quoted = [
        (o.id, i)
        for o in choices.options
        if len(o.text) >= 4 and (i := folded.find(Text(o.text).folded.strip(" ."))) >= 0
    ]
    if len({oid for oid, _ in quoted}) == 1:
        oid, i = quoted[0]
        return oid, (i, i + len(Text(next(o.text for o in choices.options if o.id == oid)).folded.strip(" .")))
    return None


_CODE_TOKENS = re.compile(
    r"\b(?:select|from|where|join|group by|order by|def|return|import|lambda)\b|[=<>!]=|\w\(|\)|\[|\]|_\w|\w\.\w",
    re.I,
)


def looks_like_code(phrase: str) -> bool:
    """A query or code fragment: not something to quote back to the candidate."""
    return len(_CODE_TOKENS.findall(phrase)) >= 2


def has_number(text: str) -> bool:
    return bool(_NUMBER.search(text))
