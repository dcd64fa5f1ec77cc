"""Pydantic models of the interview content: rounds, questions with rubrics, Leadership Principles,
the failure-case ladder and the offline brain's spoken lines.

The YAML in ``rubrics/`` and ``prompts/`` is loaded into these models; adding a question or a principle
never needs a code change. Every model forbids unknown keys so a typo is a load error, not a silent no-op.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from app.core.vocabulary import LEVELS, PRINCIPLE_NAMES, Level, SessionMode, StoryPart


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""A non-empty, stripped string (cue phrases, probes...)."""


# --------------------------------------------------------------------------- rubric pieces


class Anchors(Strict):
    """What an answer looks like at each vote level (behaviourally anchored)."""

    strong_no_hire: str
    not_inclined: str
    inclined: str
    strong_hire: str


class LevelBar(Strict):
    """The share of a criterion's key-point weight an answer must state (with its mechanism) for each level."""

    strong_hire: float = Field(gt=0, le=1)
    inclined: float = Field(gt=0, le=1)
    not_inclined: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> LevelBar:
        if not self.not_inclined < self.inclined < self.strong_hire:
            raise ValueError("expected not_inclined < inclined < strong_hire")
        return self


class Criterion(Strict):
    id: str
    name: str
    anchors: Anchors
    bars: dict[Level, LevelBar] = Field(
        default_factory=dict, description="Per-level bars for this criterion (default: rubrics/grading.yaml)."
    )
    key_points: list[str] = Field(
        default_factory=list,
        description="Key point ids that give evidence for this criterion; empty = all key points.",
    )


class Claim(Strict):
    """A statement an answer can make, recognised when one phrase of every group appears in the same clause
    (app/grading/claims.py: clause splitting, negation and "a common mistake is ..." framing)."""

    id: str
    says: str = Field(description="The statement, as the interviewer's notes put it.")
    all: list[list[Text]] = Field(
        min_length=1,
        description="Groups of interchangeable phrases; the claim is made when each group has a phrase in one clause.",
    )
    ordered: bool = Field(False, description="The groups must appear in this order (cause before effect).")
    probe: str | None = Field(
        None, description="For a wrong claim: a question that makes the candidate test it, without giving the fix."
    )

    @field_validator("all")
    @classmethod
    def _no_empty_group(cls, v: list[list[str]]) -> list[list[str]]:
        if any(not group for group in v):
            raise ValueError("every group needs at least one phrase")
        return v


class KeyPoint(Strict):
    id: str
    text: str = Field(description="What a strong answer says, in the interviewer's private notes.")
    cues: list[Text] = Field(
        min_length=1, description="Phrases that show the topic came up (a mention, not yet the mechanism)."
    )
    weight: float = Field(1.0, gt=0)
    claims: list[Claim] = Field(
        default_factory=list, description="What a correct answer states; any one, affirmed, covers the key point."
    )
    wrong: list[Claim] = Field(
        default_factory=list,
        description="Inversions and misconceptions of this key point; affirmed, they are evidence for a low level.",
    )


class RedFlag(Strict):
    id: str
    text: str
    cues: list[Text] = Field(min_length=1)


class FollowUp(Strict):
    key_point: str = Field(description="The key point this follow-up probes.")
    text: str


class Hint(Strict):
    key_point: str | None = None
    text: str
    cost: int = Field(
        1, ge=1, le=3, description="How much the hint gives away, 1 (a nudge) to 3; not read by the brains yet."
    )


class LPBridge(Strict):
    principle: str
    bridge: str = Field(description="The pivot line; {quote} is replaced by the candidate's own phrase.")
    cues: list[str] = Field(default_factory=list, description="Phrases in an answer that invite this pivot.")


class Clarification(Strict):
    cues: list[Text] = Field(min_length=1)
    text: str
    gives: list[str] = Field(
        default_factory=list,
        description="Claims this fact of the setting states on purpose (a candidate who asks is told the budget, "
        "the spec for an edge case...): the static leak test (tests/unit/test_leaks.py) allows these and no others.",
    )


class Rubric(Strict):
    criteria: list[Criterion] = Field(min_length=3)
    key_points: list[KeyPoint] = Field(min_length=1)
    mistakes: list[RedFlag] = Field(default_factory=list, description="Common mistakes (cost a level).")
    red_flags: list[RedFlag] = Field(default_factory=list, description="Red flags (cap the grade).")

    @model_validator(mode="after")
    def _references_resolve(self) -> Rubric:
        ids = [k.id for k in self.key_points]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate key point ids: {sorted(dupes)}")
        for c in self.criteria:
            unknown = set(c.key_points) - set(ids)
            if unknown:
                raise ValueError(f"criterion {c.id!r} names unknown key points {sorted(unknown)}")
        claim_ids = [c.id for k in self.key_points for c in k.claims + k.wrong]
        dupes = {i for i in claim_ids if claim_ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate claim ids: {sorted(dupes)}")
        return self


# --------------------------------------------------------------------------- questions

QuestionKind = Literal["concept", "sql", "python", "probability", "design", "case", "behavioral", "project", "mcq"]


RUN_PROBE_KINDS = ("columns", "fewer_rows", "more_rows", "missing_rows", "extra_rows", "order", "error", "timeout")


class RunProbe(Strict):
    """What the interviewer asks when the candidate's code ran and went wrong in one way: a question that points at
    the cause without giving the fix (app/grading/runs.py says the facts of the run before it)."""

    when: str = Field(
        description="A SQL diff kind (columns, fewer_rows, more_rows, missing_rows, extra_rows, order), error, timeout, "
        "failed_test (any failing hidden test) or test:<name> (that hidden test)."
    )
    text: str

    @field_validator("when")
    @classmethod
    def _known_condition(cls, v: str) -> str:
        if v not in RUN_PROBE_KINDS and v != "failed_test" and not (v.startswith("test:") and len(v) > 5):
            raise ValueError(
                f"unknown run probe condition {v!r}; known: {', '.join(RUN_PROBE_KINDS)}, failed_test, test:<name>"
            )
        return v


class SqlExercise(Strict):
    """An executable SQL question: schema + seed data, a reference solution and its expected result."""

    schema_sql: str
    seed_sql: str
    solution_sql: str
    expected_columns: list[str]
    expected_rows: list[list[str | int | float | None]]
    ordered: bool = Field(False, description="Whether row order matters when checking a result.")
    run_probes: list[RunProbe] = Field(
        default_factory=list, description="Follow-ups on a wrong run, by what it got wrong (first match wins)."
    )


class PythonExercise(Strict):
    """An executable Python question: a reference solution and the tests it must pass."""

    entry_point: str
    solution: str
    tests: str = Field(
        description="Python code with assert statements that call entry_point; a '# case: <name>' line starts a named "
        "hidden test (the lines before the first one are shared setup)."
    )
    run_probes: list[RunProbe] = Field(
        default_factory=list, description="Follow-ups on a failing run, by the test that failed (first match wins)."
    )


class ChoiceOption(Strict):
    id: str
    text: str


class MultipleChoice(Strict):
    options: list[ChoiceOption] = Field(min_length=2)
    answer: list[str] = Field(min_length=1, description="Ids of the correct options.")
    key_point: str = Field(
        description="The key point a pick states: the right option states it, a wrong option gets it wrong."
    )

    @model_validator(mode="after")
    def _answers_exist(self) -> MultipleChoice:
        ids = {o.id for o in self.options}
        if not set(self.answer) <= ids:
            raise ValueError(f"answer {self.answer} names options that do not exist ({sorted(ids)})")
        return self


class Question(Strict):
    id: str
    title: str
    kind: QuestionKind
    rounds: list[str] = Field(min_length=1)
    levels: list[Level] = Field(default_factory=lambda: list(LEVELS))
    topics: list[str] = Field(min_length=1)
    prompt: str
    rubric: Rubric
    follow_ups: list[FollowUp] = Field(default_factory=list)
    hints: list[Hint] = Field(default_factory=list)
    lp_bridges: list[LPBridge] = Field(default_factory=list)
    clarifications: list[Clarification] = Field(default_factory=list)
    scope: str | None = Field(
        None,
        description="What the interviewer says to a clarifying question no clarification matches: the setting and "
        "assumptions, never a part of the solution.",
    )
    scope_gives: list[str] = Field(default_factory=list, description="Claims the scope states on purpose.")
    sql: SqlExercise | None = None
    python: PythonExercise | None = None
    choices: MultipleChoice | None = None
    source: str | None = Field(None, description="Attribution when adapted from a permissively licensed bank.")

    @model_validator(mode="after")
    def _internal_references(self) -> Question:
        kp = {k.id for k in self.rubric.key_points}
        problems = []
        for i, f in enumerate(self.follow_ups):
            if f.key_point not in kp:
                problems.append(f"follow_ups[{i}].key_point: maps to unknown key point {f.key_point!r}")
        for i, h in enumerate(self.hints):
            if h.key_point is not None and h.key_point not in kp:
                problems.append(f"hints[{i}].key_point: maps to unknown key point {h.key_point!r}")
        claims = {c.id for k in self.rubric.key_points for c in k.claims}
        given = [(f"clarifications[{i}].gives", g) for i, c in enumerate(self.clarifications) for g in c.gives]
        for where, g in [*given, *(("scope_gives", g) for g in self.scope_gives)]:
            if g not in claims:
                problems.append(f"{where}: unknown claim {g!r}")
        for i, b in enumerate(self.lp_bridges):
            if b.principle not in PRINCIPLE_NAMES:
                problems.append(f"lp_bridges[{i}].principle: unknown principle {b.principle!r}")
        if self.kind == "sql" and self.sql is None:
            problems.append("sql: a sql question needs a `sql` exercise (schema, seed, solution, expected result)")
        if self.kind == "mcq" and self.choices is None:
            problems.append("choices: an mcq question needs `choices`")
        if self.choices is not None and self.choices.key_point not in kp:
            problems.append(f"choices.key_point: unknown key point {self.choices.key_point!r}")
        if problems:
            raise ValueError(" | ".join(problems))
        return self


# --------------------------------------------------------------------------- principles


class StarCue(Strict):
    """Cues for one part of a STAR answer, and the follow-ups that ask for it when it is missing (several
    phrasings: the interviewer never says the same line twice in a round)."""

    part: StoryPart
    cues: list[Text] = Field(min_length=1)
    follow_ups: list[Text] = Field(min_length=3)
    strong: Text = Field(description="What a strong answer gives for this part: the debrief's drill outline.")


class Principle(Strict):
    name: str
    gist: str
    probes: list[str] = Field(min_length=1)
    star_follow_ups: list[str] = Field(default_factory=list)
    positive_signals: list[str] = Field(default_factory=list)
    red_flags: list[str] = Field(default_factory=list)
    trigger_cues: list[str] = Field(default_factory=list, description="Phrases in a technical answer inviting a pivot.")
    signal_cues: list[str] = Field(default_factory=list, description="Phrases in an LP answer that fit this principle.")

    @field_validator("name")
    @classmethod
    def _exact_name(cls, v: str) -> str:
        if v not in PRINCIPLE_NAMES:
            raise ValueError(f"unknown principle {v!r}; the 16 names are: {', '.join(PRINCIPLE_NAMES)}")
        return v


class LPAnswerRubric(Strict):
    """How an answer to a Leadership Principles probe is graded."""

    criteria: list[Criterion] = Field(min_length=3)
    star: list[StarCue] = Field(min_length=4)
    ownership_cues: list[Text] = Field(min_length=1, description="First-person action phrases.")
    collective_cues: list[Text] = Field(min_length=1, description='"We" phrases that hide who did what.')
    result_cues: list[Text] = Field(min_length=1)


class PrinciplesFile(Strict):
    principles: list[Principle]
    answer_rubric: LPAnswerRubric

    @model_validator(mode="after")
    def _unique_names(self) -> PrinciplesFile:
        """Each principle once (that all sixteen are present is checked with the catalogue's cross-references)."""
        names = [p.name for p in self.principles]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate principles: {sorted(dupes)}")
        return self


# --------------------------------------------------------------------------- failure-case ladder


class FailureMode(Strict):
    id: str
    name: str
    cues: list[Text] = Field(min_length=1, description="Phrases that show the candidate met this failure.")
    ladder: list[str] = Field(min_length=3, description="Probes from what happened, to root cause, to prevention.")
    principles: list[str] = Field(default_factory=list)


class FailureLadderFile(Strict):
    opener: str = Field(description="The probe used when the candidate has named no failure yet.")
    modes: list[FailureMode] = Field(min_length=1)
    answered_by: list[list[Text]] = Field(
        default_factory=list,
        description="Per rung of every ladder (what happened, root cause, the fix, prevention): phrases that show "
        "the candidate already told it, so that rung is not asked.",
    )


class CommunicationPolicy(Strict):
    hedges_per_100_words: float = Field(3.0, gt=0, description="Above this, communication is one level lower.")
    ramble_words: int = Field(220, ge=50, description="Longer than this with little stated: one level lower.")


class GradingPolicy(Strict):
    """How the offline grader turns what an answer states into levels (rubrics/grading.yaml)."""

    bars: dict[Level, LevelBar]
    credit: dict[Literal["stated", "rejected_misconception", "mentioned"], float] = Field(
        description="What each reading of a key point is worth, as a share of its weight (wrong and absent: 0)."
    )
    shallow_credit: float = Field(
        0.7, gt=0, le=1, description="Share of a stated key point's credit when only one of its several claims is made."
    )
    communication: CommunicationPolicy = Field(default_factory=CommunicationPolicy)

    @model_validator(mode="after")
    def _every_level(self) -> GradingPolicy:
        missing = [lv for lv in LEVELS if lv not in self.bars]
        if missing:
            raise ValueError(f"bars: missing levels {missing}")
        return self


# --------------------------------------------------------------------------- topics and rounds


class TopicsFile(Strict):
    topics: dict[str, Text] = Field(min_length=1, description="Topic id -> what it covers.")


class QuestionMix(Strict):
    topics: list[str] = Field(min_length=1, description="Questions tagged with any of these topics qualify.")
    count: int = Field(ge=1)


class Round(Strict):
    id: str
    title: str
    duration_min: int = Field(ge=5)
    evaluates: list[str] = Field(min_length=1)
    question_mix: list[QuestionMix] = Field(min_length=1)
    lp_quota: int = Field(ge=0, le=4, description="Leadership Principles probes this interviewer may run.")
    principles: list[str] = Field(default_factory=list, description="Principles this round usually covers.")
    persona: str
    levels: dict[Level, str] = Field(description="What changes at each level.")
    failure_probes: bool = Field(False, description="Dig into failure cases (project deep dives, bar raiser).")
    follow_ups_per_question: int = Field(2, ge=0)
    hint_budget: int = Field(2, ge=0)
    exam_by_default: bool = Field(
        False, description="New sessions of this round start in exam mode (grades and LP tags held until the debrief)."
    )

    @field_validator("principles")
    @classmethod
    def _known_principles(cls, v: list[str]) -> list[str]:
        unknown = [p for p in v if p not in PRINCIPLE_NAMES]
        if unknown:
            raise ValueError(f"unknown principles {unknown}")
        return v

    @property
    def question_budget(self) -> int:
        return sum(m.count for m in self.question_mix)

    @property
    def default_mode(self) -> SessionMode:
        """The mode a new session of this round gets when none is asked for."""
        return "exam" if self.exam_by_default else "practice"


class LoopStage(Strict):
    rounds: list[str] = Field(min_length=1)
    note: str = ""


class RoundsFile(Strict):
    rounds: list[Round] = Field(min_length=1)
    full_loop: list[LoopStage] = Field(default_factory=list)


# --------------------------------------------------------------------------- debrief template


class DebriefTemplate(Strict):
    """The structure both brains fill in at the end of a round."""

    competencies: dict[str, str] = Field(description="Competency id -> title, e.g. technical_depth.")
    criterion_competency: dict[str, str] = Field(
        default_factory=dict, description="Rubric criterion id -> competency id; unlisted criteria count as default."
    )
    default_competency: str = "technical_depth"
    kind_competency: dict[str, str] = Field(
        default_factory=dict, description="Question kind -> the competency its unlisted criteria count for."
    )
    lp_competency: str = Field("leadership_principles", description="Where answers to LP probes count.")
    vote_rules: dict[str, str] = Field(
        default_factory=dict, description="Vote name -> what it means (documentation; the vote rule is in code)."
    )
    practice_plan_intro: str = Field("", description="Heading of the practice plan (not read by the page yet).")

    @model_validator(mode="after")
    def _competencies_exist(self) -> DebriefTemplate:
        targets = (
            set(self.criterion_competency.values())
            | set(self.kind_competency.values())
            | {self.default_competency, self.lp_competency}
        )
        unknown = targets - set(self.competencies)
        if unknown:
            raise ValueError(f"unknown competencies {sorted(unknown)}; defined: {sorted(self.competencies)}")
        return self


# --------------------------------------------------------------------------- the offline brain's spoken lines

# Placeholders each kind of line may use; a template naming anything else is a load error.
LINE_PLACEHOLDERS: dict[str, set[str]] = {
    "opening": {"round_title", "level", "duration_min"},
    "ask_first": {"prompt", "title"},
    "ask_next": {"prompt", "title"},
    "move_on": {"prompt", "title"},
    "follow_up": {"follow_up", "quote"},
    "probe_misconception": {"probe", "quote"},
    "push_mechanism": {"quote"},
    "follow_up_generic": {"title", "quote"},
    "clarify_scope": {"scope"},
    "clarify_default": set(),
    "repeat_question": {"prompt", "title"},
    "acknowledge_repeat": {"next"},
    "hint": {"hint"},
    "nudge_empty": {"hint"},
    "lp_pivot": {"quote", "probe", "bridge"},
    "lp_pivot_unquoted": {"probe", "bridge"},
    "lp_dig_story": {"quote", "follow_up"},
    "lp_follow_up": {"follow_up"},
    "return": {"title", "follow_up"},
    "failure_probe": {"quote", "probe"},
    "failure_probe_unquoted": {"probe"},
    "wrap_up": set(),
    "end": set(),
}


class SpokenLines(Strict):
    """Templates the offline brain speaks, one list of variants per kind of line."""

    lines: dict[str, list[Text]]

    @model_validator(mode="after")
    def _known_placeholders(self) -> SpokenLines:
        import string

        missing = set(LINE_PLACEHOLDERS) - set(self.lines)
        if missing:
            raise ValueError(f"lines missing: {sorted(missing)}")
        for kind, variants in self.lines.items():
            if kind not in LINE_PLACEHOLDERS:
                raise ValueError(f"unknown line kind {kind!r}; known: {sorted(LINE_PLACEHOLDERS)}")
            if not variants:
                raise ValueError(f"lines.{kind}: needs at least one variant")
            for v in variants:
                names = {f for _, f, _, _ in string.Formatter().parse(v) if f}
                unknown = names - LINE_PLACEHOLDERS[kind]
                if unknown:
                    raise ValueError(
                        f"lines.{kind}: unknown placeholder(s) {sorted(unknown)}; "
                        f"allowed: {sorted(LINE_PLACEHOLDERS[kind]) or 'none'}"
                    )
        return self
