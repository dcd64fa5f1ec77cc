"""The offline rules brain: a deterministic interviewer that needs no model, reading only the content in rubrics/
and prompts/. Four parts: ``reading`` (what a candidate turn says, read once), ``grader`` (the grade, against what the
turn answers), ``decider`` (the next move), ``lines`` (the words for it)."""

from __future__ import annotations

from app.brains.offline.decider import OfflineDecider
from app.brains.offline.grader import OfflineGrader
from app.brains.offline.lines import render
from app.brains.speech import TextSpeech
from app.core.grades import Debrief, TurnGrade
from app.core.ports import Constraints, Decision, Draft, Speech
from app.core.view import RoundView
from app.grading.debrief import build_debrief

LABEL = "Offline rules brain (no language model)"


class OfflineBrain:
    """Deterministic rules over the rubric data. Same input, same interview, same grades."""

    name = "offline"
    label = LABEL

    def __init__(self, stream_delay_s: float = 0.0):
        self._delay = stream_delay_s
        self._grader = OfflineGrader()
        self._decider = OfflineDecider()

    async def aclose(self) -> None:
        """Nothing to release: the rules brain holds no connections."""

    async def grade(self, view: RoundView) -> TurnGrade:
        return self._grader.grade(view)

    async def decide(self, view: RoundView, constraints: Constraints) -> Draft:
        """The decision alone: the words are rendered from whatever decision the rules keep (``speak``)."""
        return Draft(self._decider.decide(view, constraints))

    def render(self, view: RoundView, decision: Decision) -> str:
        """The interviewer's words for a decision."""
        return render(view, decision)

    def speak(self, view: RoundView, decision: Decision) -> Speech:
        return TextSpeech(render(view, decision), self._delay)

    async def debrief(self, view: RoundView) -> Debrief:
        return build_debrief(view, brain=self.name)
