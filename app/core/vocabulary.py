"""The fixed vocabulary of a round: levels, the 16 Leadership Principles, the interviewer's moves, STAR parts,
thread kinds, the vote scale and the error codes a client may see. One definition each; lists are derived."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Literal, get_args

Level = Literal["L4", "L5", "L6"]
LEVELS: tuple[Level, ...] = get_args(Level)

# The 16 Amazon Leadership Principles, exact names.
PRINCIPLE_NAMES: tuple[str, ...] = (
    "Customer Obsession",
    "Ownership",
    "Invent and Simplify",
    "Are Right, A Lot",
    "Learn and Be Curious",
    "Hire and Develop the Best",
    "Insist on the Highest Standards",
    "Think Big",
    "Bias for Action",
    "Frugality",
    "Earn Trust",
    "Dive Deep",
    "Have Backbone; Disagree and Commit",
    "Deliver Results",
    "Strive to be Earth's Best Employer",
    "Success and Scale Bring Broad Responsibility",
)

# The interviewer's moves: stored on every interviewer turn. To add one: add it here, say in
# app/interview/rules.py when it is allowed and what it does to the thread stack, and teach both brains to say it.
Move = Literal[
    "ask", "follow_up", "clarify", "hint", "lp_pivot", "lp_follow_up", "return", "failure_probe", "wrap_up", "end"
]
MOVES: tuple[Move, ...] = get_args(Move)

# The parts of a STAR story, in the order an interviewer asks for the missing ones.
StoryPart = Literal["situation", "task", "action", "result", "lessons"]
STORY_PARTS: tuple[str, ...] = get_args(StoryPart)
# What an STAR follow-up may target: a story part, or who did what ("ownership").
StarTarget = Literal["situation", "task", "action", "result", "lessons", "ownership"]
STAR_TARGETS: tuple[str, ...] = get_args(StarTarget)

# How a move is played, when the move alone does not say (the offline brain's lines follow it): probe a confident
# misconception, push a vague answer for its mechanism, move on after "I don't know", repeat the question, note that
# the candidate already answered, dig into a story the candidate just told, follow what the candidate's code did.
Tactic = Literal[
    "probe_misconception",
    "push_mechanism",
    "move_on",
    "repeat_question",
    "acknowledge_repeat",
    "dig_story",
    "follow_run",
]

# The discussion threads on a round's stack: the technical question, and the probes pushed on top of it.
ThreadKind = Literal["technical", "lp", "failure"]
Phase = Literal["interviewing", "wrap_up", "ended"]
# How a session shows its grading: ``practice`` sends every grade and what each move aimed at as the round goes;
# ``exam`` keeps grades, principles and aims on the server until the round has ended (app/server/exam.py).
SessionMode = Literal["exam", "practice"]
SESSION_MODES: tuple[SessionMode, ...] = get_args(SessionMode)

# What a graded candidate turn answered.
GradeKind = Literal["technical", "lp", "failure", "closing", "clarifying", "no_answer"]


class Vote(IntEnum):
    """The Amazon vote scale, used for every grade (criterion, turn, debrief)."""

    strong_no_hire = 1
    not_inclined = 2
    inclined = 3
    strong_hire = 4


VOTE_NAMES: tuple[str, ...] = tuple(v.name for v in Vote)


def level_label(level: int | None) -> str | None:
    """``3`` -> ``"inclined"``; ``None`` stays ``None`` (no evidence)."""
    return Vote(level).name if level is not None else None


class ErrorCode(StrEnum):
    """Codes of the ``error`` frames a client may receive (docs/protocol.md lists each with what was lost;
    frontend/js/protocol.js says how the page treats each; tests keep the three in step)."""

    answer_too_long = "answer_too_long"
    interviewer_speaking = "interviewer_speaking"
    round_ended = "round_ended"
    rate_limited = "rate_limited"
    invalid_frame = "invalid_frame"
    invalid_json = "invalid_json"
    frame_too_large = "frame_too_large"
    unknown_type = "unknown_type"
    audio_not_supported = "audio_not_supported"
    voice_not_started = "voice_not_started"
    audio_invalid = "audio_invalid"
    voice_unavailable = "voice_unavailable"
    internal_error = "internal_error"
    model_unavailable = "model_unavailable"
    model_output_invalid = "model_output_invalid"
    stale_turn = "stale_turn"
    not_owner = "not_owner"
    invalid_text = "invalid_text"
    storage_unavailable = "storage_unavailable"
