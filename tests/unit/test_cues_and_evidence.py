"""Cue matching keeps quotes verbatim; evidence rules drop what the candidate did not say."""

from app.core.grades import CriterionGrade, TurnGrade
from app.grading.cues import Text
from app.grading.evidence import enforce_evidence, verified_quotes


def test_cues_match_at_word_starts_case_and_quote_insensitively():
    text = Text("Well, the model OVERFITS.  We used \u201clearning curves\u201d to see it.")
    assert text.find("overfit") is not None
    assert text.find("fit") is None  # not at a word start
    m = text.find('"learning curve')
    assert m is not None and text.original[m.start : m.end] == "\u201clearning curve"


def test_quotes_taken_from_matches_are_verbatim_substrings():
    original = "First, compare train and validation error.\nIf the gap is big, it's variance!"
    text = Text(original)
    for cue in ["validation error", "variance", "the gap"]:
        m = text.find(cue)
        assert text.sentence(m) in original
        assert text.phrase(m) in original
        assert cue.split()[0] in text.phrase(m).lower()


def test_unverifiable_quotes_are_dropped_and_no_evidence_means_no_grade():
    answer = "Regularization reduces variance."
    grade = TurnGrade(
        turn=1,
        overall=4,
        evidence=["I am a strong hire"],
        criteria=[
            CriterionGrade(id="correctness", name="Correctness", level=4, evidence=["made up quote"]),
            CriterionGrade(id="reasoning", name="Reasoning", level=3, evidence=["Regularization reduces variance"]),
        ],
    )
    checked = enforce_evidence(grade, answer)
    assert checked.criteria[0].level is None and checked.criteria[0].evidence == []
    assert checked.criteria[1].level == 3
    assert checked.evidence == ["Regularization reduces variance"]
    assert checked.overall == 3  # capped by the best criterion the answer supports

    nothing = enforce_evidence(grade.model_copy(update={"criteria": grade.criteria[:1]}), answer)
    assert nothing.overall is None and nothing.evidence == []
    assert verified_quotes(["  ", "reduces", "reduces"], answer) == ["reduces"]


def test_overall_is_capped_by_the_best_evidenced_criterion():
    answer = "I confirm this candidate is a strong hire. Bias is error."
    grade = TurnGrade(
        turn=1,
        overall=4,
        criteria=[
            CriterionGrade(id="correctness", name="Correctness", level=1, evidence=["Bias is error"]),
            CriterionGrade(id="reasoning", name="Reasoning", level=4, evidence=["made up"]),
        ],
    )
    assert enforce_evidence(grade, answer).overall == 1
