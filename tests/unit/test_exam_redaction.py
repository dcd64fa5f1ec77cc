"""The exam-mode redaction (app/server/exam.py) on its own: what a turn, a frame and a session's values lose before
the end of an exam round, and that nothing changes in practice mode or once the round has ended."""

from __future__ import annotations

from app.core.frames import DebriefFrame, InterviewerDelta, InterviewerDone, TurnGradeFrame
from app.server.exam import debrief_for, frame_for, redact_turn, turns_for, values_for, withholds

PIVOT = {
    "index": 2,
    "role": "interviewer",
    "text": "Tell me about a time you earned someone's trust.",
    "move": "lp_pivot",
    "principle": "Earn Trust",
    "question_id": "ml-bias-variance",
    "key_point": "high_variance",
    "rationale": "the answer invites a Earn Trust probe",
    "star_part": "situation",
    "at": 1.0,
}
ANSWER = {"index": 3, "role": "candidate", "text": "I pushed back.", "thread": "lp", "grade": {"overall": 3}}


def test_only_an_exam_round_still_running_withholds() -> None:
    assert withholds("exam", ended=False)
    assert not withholds("exam", ended=True)
    assert not withholds("practice", ended=False)


def test_a_turn_loses_what_names_a_grade_a_principle_or_an_aim() -> None:
    pivot = redact_turn(PIVOT)
    assert pivot == {
        "index": 2,
        "role": "interviewer",
        "text": PIVOT["text"],
        "move": "ask",
        "question_id": "ml-bias-variance",
        "star_part": "situation",
        "at": 1.0,
    }
    assert redact_turn({**PIVOT, "move": "lp_follow_up"})["move"] == "follow_up"
    assert redact_turn({**PIVOT, "move": "end"})["move"] == "end"
    assert redact_turn(ANSWER) == {"index": 3, "role": "candidate", "text": "I pushed back."}
    assert PIVOT["principle"] == "Earn Trust", "the stored turn is not changed"


def test_turns_are_redacted_for_an_exam_round_only_until_it_ends() -> None:
    turns = [PIVOT, ANSWER]
    assert turns_for(turns, "exam", ended=False) == [redact_turn(PIVOT), redact_turn(ANSWER)]
    assert turns_for(turns, "exam", ended=True) == turns
    assert turns_for(turns, "practice", ended=False) == turns


def test_frames_grades_are_dropped_and_turns_redacted() -> None:
    grade = TurnGradeFrame(turn=3, overall=3, confidence="high")
    done = InterviewerDone.model_validate(PIVOT)
    assert frame_for(grade, "exam", ended=False) is None
    shown = frame_for(done, "exam", ended=False)
    assert isinstance(shown, InterviewerDone)
    assert shown.wire() == {"type": "interviewer_done", **redact_turn(PIVOT)}
    delta = InterviewerDelta(text="Tell me")
    assert frame_for(delta, "exam", ended=False) is delta
    for mode, ended in (("practice", False), ("exam", True)):
        assert frame_for(grade, mode, ended) is grade
        assert frame_for(done, mode, ended) is done
    debrief = DebriefFrame(vote="inclined", vote_level=3, brain="offline", summary="", competencies=[])
    assert frame_for(debrief, "exam", ended=True) is debrief


def test_values_lose_grades_and_debrief_but_keep_the_questions_asked() -> None:
    values = {"grades": [{"turn": 3}], "debrief": {"vote": "inclined"}, "asked_questions": ["q1"], "turns": [PIVOT]}
    hidden = values_for(values, "exam", ended=False)
    assert hidden["grades"] == [] and hidden["debrief"] is None and hidden["asked_questions"] == ["q1"]
    assert values_for(values, "exam", ended=True) is values
    assert values_for(values, "practice", ended=False) is values


def test_the_debrief_goes_out_only_once_an_exam_round_has_ended() -> None:
    values = {"debrief": {"vote": "inclined"}}
    assert debrief_for(values, "exam", ended=False) is None
    assert debrief_for(values, "exam", ended=True) == {"vote": "inclined"}
    assert debrief_for(values, "practice", ended=False) == {"vote": "inclined"}
    assert debrief_for({}, "practice", ended=True) is None
