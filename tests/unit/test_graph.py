"""The round graph on an in-memory checkpointer: ask -> answer -> (grade beside reply) -> pivot -> return ->
wrap-up -> end -> debrief, and what the state holds at each step."""

from __future__ import annotations

import time

import pytest

from app.brains.offline import OfflineBrain
from tests.helpers import Round, done

PIVOT_ANSWER = (
    "High variance means the model overfits; I'd compare training and validation error "
    "on a learning curve and regularize."
)
# the answer to the follow-up: it says "overfit", the trigger for an Earn Trust pivot
FOLLOW_UP_REPLY = (
    "Expected error is bias squared plus variance plus noise. If training error is low but validation error is much "
    "higher, the model overfit, so I would regularize, get more data or stop early."
)
STORY = (
    "At my previous job our churn model overfit. I was responsible for it. I built a time-based split; as a "
    "result the gap fell from 12% to 2%. I learned to check leakage first."
)


@pytest.fixture
def round_(catalog):
    return Round(OfflineBrain(), catalog)


async def test_opening_streams_the_first_question_and_waits(round_):
    frames = await round_.open()
    deltas = "".join(f["text"] for f in frames if f["type"] == "interviewer_delta")
    [turn] = done(frames)
    assert turn["move"] == "ask" and turn["question_id"] == "ml-bias-variance"
    assert deltas.strip() == turn["text"]
    snap = await round_.driver.snapshot(round_.session)
    assert snap.next == ("await_answer",) and snap.interrupts
    assert snap.values["stack"][0]["question_id"] == "ml-bias-variance"


async def test_pivot_suspends_the_question_and_return_resumes_it(round_):
    await round_.open()
    # a pivot comes mid-discussion: after the thread has had a follow-up, not instead of it
    [follow_up] = done(await round_.answer(PIVOT_ANSWER))
    assert follow_up["move"] == "follow_up"
    frames = await round_.answer(FOLLOW_UP_REPLY)
    [pivot] = done(frames)
    assert pivot["move"] == "lp_pivot" and pivot["principle"] == "Earn Trust"
    values = await round_.values()
    assert [t["kind"] for t in values["stack"]] == ["technical", "lp"]
    assert values["stack"][1]["principle"] == "Earn Trust"

    frames = await round_.answer(STORY)
    [back] = done(frames)
    assert back["move"] == "return" and back["question_id"] == "ml-bias-variance"
    values = await round_.values()
    assert [t["kind"] for t in values["stack"]] == ["technical"]
    assert values["principles_probed"] == ["Earn Trust"]


async def test_every_candidate_turn_gets_a_grade_frame_beside_the_reply(round_):
    await round_.open()
    frames = await round_.answer(PIVOT_ANSWER)
    types = [f["type"] for f in frames]
    assert "turn_grade" in types and "interviewer_done" in types
    [grade] = [f for f in frames if f["type"] == "turn_grade"]
    assert grade["turn"] == 1 and grade["kind"] == "technical"
    assert all(q in PIVOT_ANSWER for q in grade["evidence"])
    values = await round_.values()
    assert [g["turn"] for g in values["grades"]] == [1]


async def test_round_runs_to_a_debrief_with_lp_data_points(round_):
    await round_.open()
    await round_.answer(PIVOT_ANSWER)
    await round_.answer(FOLLOW_UP_REPLY)
    await round_.answer(STORY)
    moves = []
    for _ in range(12):
        frames = await round_.answer(
            "L2 shrinks weights and L1 gives sparse weights because of the corner of the "
            "diamond, so L1 does feature selection."
        )
        moves += [f["move"] for f in done(frames)]
        if any(f["type"] == "debrief" for f in frames):
            debrief = next(f for f in frames if f["type"] == "debrief")
            break
    else:
        pytest.fail(f"no debrief after moves {moves}")
    assert "ask" in moves and "wrap_up" in moves and moves[-1] == "end"
    assert debrief["vote"] in {"strong_no_hire", "not_inclined", "inclined", "strong_hire"}
    assert any(p["principle"] == "Earn Trust" for p in debrief["lp_data_points"])
    values = await round_.values()
    assert values["phase"] == "ended" and values["debrief"] == {k: v for k, v in debrief.items() if k != "type"}
    candidate_turns = [t["index"] for t in values["turns"] if t["role"] == "candidate"]
    assert sorted(g["turn"] for g in values["grades"]) == candidate_turns
    assert len(set(values["asked_questions"])) == len(values["asked_questions"])


async def test_control_end_closes_the_round_at_once(round_):
    await round_.open()
    frames = await round_.end()
    assert [f["move"] for f in done(frames)] == ["end"]
    debrief = next(f for f in frames if f["type"] == "debrief")
    assert debrief["turns_graded"] == 0 and debrief["vote"] == "insufficient_evidence" and debrief["vote_level"] is None
    snap = await round_.driver.snapshot(round_.session)
    assert not snap.next


async def test_the_session_runner_reads_state_only_when_it_does_not_know_the_session_waits(catalog):
    """``Interviews`` remembers that its last run stopped at the answer interrupt, so a turn costs no extra state
    read; a runner that did not make that run (after a restart) reads the state first; an ended round refuses."""
    from app.core.frames import Frame, answer_reply, end_reply
    from app.server.interviews import Interviews, NotAwaitingAnswer
    from app.store.sqlite import SessionRecord

    driver = Round(OfflineBrain(), catalog).driver
    record = SessionRecord(
        id="s1",
        round_id="ml_breadth",
        level="L5",
        brain="offline",
        plan=["ml-bias-variance", "ml-l1-vs-l2"],
        created_at=time.time(),
    )
    frames: list[dict] = []

    async def send(frame: Frame) -> None:
        frames.append(frame.wire())

    def counting(runner: Interviews) -> list[str]:
        reads, read = [], runner.snapshot

        async def snapshot(session_id: str):
            reads.append(session_id)
            return await read(session_id)

        runner.snapshot = snapshot  # type: ignore[method-assign]
        return reads

    runner = Interviews(driver)
    assert await runner.advance(record, send)
    reads = counting(runner)
    await runner.resume(record, answer_reply(PIVOT_ANSWER), send)
    assert reads == [] and len(done(frames)) == 2

    restarted = Interviews(driver)  # knows nothing of the session yet
    reads = counting(restarted)
    await restarted.resume(record, answer_reply(STORY), send)
    assert reads == ["s1"] and len(done(frames)) == 3
    await restarted.resume(record, end_reply(), send)
    assert frames[-1]["type"] == "debrief"
    with pytest.raises(NotAwaitingAnswer) as refused:
        await restarted.resume(record, answer_reply("one more thing"), send)
    assert refused.value.ended
