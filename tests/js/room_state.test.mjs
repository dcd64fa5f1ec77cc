// The interview room's frame reducer (frontend/js/room/state.js), frame by frame: `node --test tests/js/`.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  initialState,
  applyFrame,
  applyEvent,
  canSend,
  canEnd,
  displayStatus,
  errorCategory,
  restoredDraft,
  pendingOutcome,
  finishedInterviewerTurns,
  candidatesChanged,
  withholdsGrades,
  REJECTED,
  RETRYABLE,
} from "../../frontend/js/room/state.js";
import { ERROR_CODES } from "../../frontend/js/protocol.js";

const ROUND = { id: "ml_breadth", title: "ML breadth", duration_min: 55 };
const GRADE = { overall: 3, overall_label: "inclined", criteria: [], evidence: ["overfits"], notes: [] };

function stateFrame(status, turns, extra = {}) {
  return {
    type: "state",
    session_id: "s1",
    round: ROUND,
    level: "L5",
    brain: "offline",
    brain_label: "Offline rules brain",
    status,
    turns,
    limits: { max_answer_chars: 8000 },
    ...extra,
  };
}

const ask = (index, text) => ({ index, role: "interviewer", text, move: "ask" });
const said = (index, text) => ({ index, role: "candidate", text });

/** Apply frames and events in order: objects with a frame `type` go to applyFrame, {event} to applyEvent. */
function run(state, ...steps) {
  for (const s of steps) state = s.event ? applyEvent(state, s.event) : applyFrame(state, s);
  return state;
}

const effectTypes = (s) => s.effects.map((e) => e.type);

/** Connected, the first question asked: the candidate's turn. */
function awaiting() {
  return run(
    initialState(),
    { event: { type: "socket", status: "connected" } },
    stateFrame("speaking", []),
    { type: "interviewer_delta", text: "Explain " },
    { type: "interviewer_done", index: 0, move: "ask", text: "Explain bias and variance." },
  );
}

test("the initial state waits for the connection and sends nothing", () => {
  const s = initialState({ showGrades: false });
  assert.equal(s.status, "connecting");
  assert.equal(s.conn, "connecting");
  assert.equal(s.showGrades, false);
  assert.deepEqual(s.turns, []);
  assert.equal(displayStatus(s), "connecting");
  assert.equal(canSend(s, "an answer"), false);
  assert.equal(initialState().showGrades, true);
});

test("a state frame is a full reset and asks for the session to be remembered", () => {
  const s = applyFrame(initialState(), stateFrame("speaking", [said(1, "b"), ask(0, "a")]));
  assert.equal(s.gotState, true);
  assert.equal(s.status, "speaking");
  assert.equal(s.typing, true);
  assert.equal(s.epoch, 1);
  assert.deepEqual(s.turns.map((t) => t.index), [0, 1]);
  assert.deepEqual(s.round, ROUND);
  assert.equal(s.level, "L5");
  assert.equal(s.limits.max_answer_chars, 8000);
  assert.deepEqual(s.effects, [
    { type: "session_seen", info: { round: "ml_breadth", round_title: "ML breadth", level: "L5" } },
    { type: "brain_label", label: "Offline rules brain", brain: "offline" },
  ]);
});

test("streaming deltas accumulate into a live turn", () => {
  let s = run(initialState(), stateFrame("speaking", []));
  s = applyFrame(s, { type: "interviewer_delta", text: "Tell me " });
  assert.deepEqual(s.live, { text: "Tell me " });
  assert.equal(s.typing, false, "the typing dots give way to the words");
  s = applyFrame(s, { type: "interviewer_delta", text: "about a time." });
  s = applyFrame(s, { type: "interviewer_delta" }); // no text: nothing added
  assert.deepEqual(s.live, { text: "Tell me about a time." });
  assert.equal(s.status, "speaking");
  assert.deepEqual(s.turns, [], "a live turn is not a transcript turn yet");
});

test("interviewer_done finalises the live turn and moves status to awaiting_answer", () => {
  const live = run(initialState(), stateFrame("speaking", []), { type: "interviewer_delta", text: "Hello." });
  const s = applyFrame(live, { type: "interviewer_done", index: 0, move: "ask", text: "Hello, welcome." });
  assert.equal(s.live, null);
  assert.equal(s.status, "awaiting_answer");
  assert.deepEqual(s.turns, [
    { index: 0, role: "interviewer", text: "Hello, welcome.", move: "ask", principle: null, question_id: null },
  ]);
  assert.deepEqual(effectTypes(s), ["focus_answer"]);
  assert.deepEqual(finishedInterviewerTurns(live, s), [s.turns[0]]);

  // without `text` the streamed words are the turn
  const t = applyFrame(live, { type: "interviewer_done", index: 0, move: "ask" });
  assert.equal(t.turns[0].text, "Hello.");
});

test("a done frame with move end ends the round and waits for the debrief", () => {
  const s = applyFrame(awaiting(), { type: "interviewer_done", index: 1, move: "end", text: "Thanks." });
  assert.equal(s.status, "ended");
  assert.deepEqual(effectTypes(s), ["wait_for_debrief"]);
  assert.equal(canEnd(s), false);
});

test("the turn sent again after a reconnect replaces the one in the transcript", () => {
  const s0 = applyFrame(initialState(), stateFrame("awaiting_answer", [ask(0, "Q?")]));
  const s = applyFrame(s0, { type: "interviewer_done", index: 0, move: "ask", text: "Q?" });
  assert.equal(s.turns.length, 1);
  assert.equal(s.turns[0].question_id, null);
  assert.equal(s.status, "awaiting_answer");
});

test("sending an answer adds a pending candidate turn", () => {
  const s0 = awaiting();
  assert.equal(canSend(s0, "   "), false);
  assert.equal(canSend(s0, "High variance means overfitting"), true);
  const s = applyEvent(s0, { type: "send", text: "High variance means overfitting" });
  assert.deepEqual(s.pending, { text: "High variance means overfitting", prevStatus: "awaiting_answer" });
  assert.equal(s.status, "speaking");
  assert.equal(s.typing, true);
  assert.equal(s.turns.length, 1, "not in the transcript until the server takes it");
  assert.equal(canSend(s, "another"), false, "one answer at a time");
  assert.equal(applyEvent(s, { type: "send", text: "another" }), s);
});

test("an answer cannot be sent while disconnected, speaking or before the first state frame", () => {
  assert.equal(canSend(applyEvent(awaiting(), { type: "socket", status: "reconnecting" }), "x"), false);
  assert.equal(canSend(run(awaiting(), { type: "interviewer_delta", text: "a" }), "x"), false);
  assert.equal(canSend(applyEvent(initialState(), { type: "socket", status: "connected" }), "x"), false);
});

test("the first words of the reply mean the server took the pending answer", () => {
  const sent = applyEvent(awaiting(), { type: "send", text: "My answer" });
  const s = applyFrame(sent, { type: "interviewer_delta", text: "Why" });
  assert.equal(s.pending, null);
  assert.deepEqual(s.turns[1], { index: 1, role: "candidate", text: "My answer" });
  assert.deepEqual(pendingOutcome(sent, s), { kept: true, index: 1 });
  const done = applyFrame(s, { type: "interviewer_done", index: 2, move: "follow_up", text: "Why?" });
  assert.deepEqual(done.turns.map((t) => [t.index, t.role]), [[0, "interviewer"], [1, "candidate"], [2, "interviewer"]]);
});

test("interviewer_done alone places the pending answer just before it", () => {
  const sent = applyEvent(awaiting(), { type: "send", text: "My answer" });
  const s = applyFrame(sent, { type: "interviewer_done", index: 5, move: "follow_up", text: "Go on." });
  assert.deepEqual(s.turns.map((t) => t.index), [0, 4, 5]);
  assert.equal(s.turns[1].text, "My answer");
});

for (const code of ["answer_too_long", "interviewer_speaking", "rate_limited", "invalid_frame", "audio_not_supported"]) {
  test(`a rejected error (${code}) drops the pending answer and puts it back in the box`, () => {
    const sent = applyEvent(awaiting(), { type: "send", text: "Too long an answer" });
    const s = applyFrame(sent, { type: "error", code, message: "No." });
    assert.equal(s.pending, null);
    assert.equal(s.turns.length, 1, "the answer never became a turn");
    assert.equal(s.status, "awaiting_answer");
    assert.equal(s.typing, false);
    assert.deepEqual(s.effects, [
      { type: "restore_answer", text: "Too long an answer" },
      { type: "toast", kind: "error", message: "No.", code, action: undefined },
    ]);
    assert.deepEqual(pendingOutcome(sent, s), { kept: false });
  });
}

for (const code of ["model_unavailable", "model_output_invalid", "internal_error"]) {
  test(`a retryable error (${code}) keeps the pending answer and offers a reconnect`, () => {
    const sent = applyEvent(awaiting(), { type: "send", text: "A fine answer" });
    const streaming = applyFrame(sent, { type: "interviewer_delta", text: "Par" });
    for (const before of [sent, streaming]) {
      const s = applyFrame(before, { type: "error", code, message: "The model is down." });
      assert.equal(s.pending, null);
      assert.deepEqual(s.turns[1], { index: 1, role: "candidate", text: "A fine answer" }, "the answer stays");
      assert.equal(s.live, null, "unfinished words are dropped");
      assert.equal(s.status, "unavailable");
      assert.equal(displayStatus(s), "unavailable");
      const toast = s.effects.find((e) => e.type === "toast");
      assert.deepEqual(toast.action, { label: code === "internal_error" ? "Reconnect" : "Retry", command: "restart" });
      assert.equal(effectTypes(s).includes("restore_answer"), false);
    }
  });
}

test("an error with an unknown code is only shown", () => {
  const sent = applyEvent(awaiting(), { type: "send", text: "x" });
  const s = applyFrame(sent, { type: "error", code: "something_new" });
  assert.deepEqual(s.pending, sent.pending);
  assert.equal(s.status, "speaking");
  assert.deepEqual(s.effects, [
    { type: "toast", kind: "error", message: "Something went wrong.", code: "something_new", action: undefined },
  ]);
  assert.equal(applyFrame(sent, { type: "error" }).effects[0].code, "error");
});

test("round_ended ends the round and waits for the debrief", () => {
  const sent = applyEvent(awaiting(), { type: "send", text: "late" });
  const s = applyFrame(sent, { type: "error", code: "round_ended", message: "Over." });
  assert.equal(s.status, "ended");
  assert.deepEqual(effectTypes(s), ["restore_answer", "wait_for_debrief", "toast"]);
});

test("ending: rate_limited and server faults cancel it, other errors don't", () => {
  const ending = applyEvent(awaiting(), { type: "end" });
  assert.equal(ending.ending, true);
  assert.equal(displayStatus(ending), "ending");
  assert.equal(canEnd(ending), false);
  assert.equal(applyEvent(ending, { type: "end" }), ending);
  assert.equal(applyFrame(ending, { type: "error", code: "rate_limited" }).ending, false);
  assert.equal(applyFrame(ending, { type: "error", code: "model_unavailable" }).ending, false);
  assert.equal(applyFrame(ending, { type: "error", code: "invalid_json" }).ending, true);
});

test("a state frame on reconnect replaces the turns and puts back an answer that never arrived", () => {
  const sent = applyEvent(awaiting(), { type: "send", text: "Lost on the way" });
  const dropped = run(sent, { event: { type: "socket", status: "reconnecting" } }, { event: { type: "socket", status: "connected" } });
  const s = applyFrame(dropped, stateFrame("awaiting_answer", [ask(0, "Explain bias and variance.")]));
  assert.equal(s.pending, null);
  assert.equal(s.epoch, dropped.epoch + 1);
  assert.deepEqual(s.turns, [ask(0, "Explain bias and variance.")]);
  assert.deepEqual(effectTypes(s), ["session_seen", "brain_label", "restore_answer", "toast"]);
  assert.equal(s.effects[2].text, "Lost on the way");
  assert.equal(s.effects[3].kind, "info");
  assert.equal(s.status, "awaiting_answer");
});

test("a state frame on reconnect that has the pending answer keeps it without a word", () => {
  const sent = applyEvent(awaiting(), { type: "send", text: "  Arrived  " });
  const turns = [ask(0, "Q?"), said(1, "Arrived")];
  const s = applyFrame(sent, stateFrame("speaking", turns));
  assert.equal(s.pending, null);
  assert.deepEqual(s.turns, turns);
  assert.notEqual(s.turns[0], turns[0], "the frame's turns are copied");
  assert.deepEqual(effectTypes(s), ["session_seen", "brain_label"]);
  assert.equal(s.status, "speaking");
  assert.equal(s.typing, true);
});

test("a state frame clears a live turn: the server sends the whole turn again", () => {
  const live = run(awaiting(), { event: { type: "send", text: "a" } }, { type: "interviewer_delta", text: "Half" });
  const s = applyFrame(live, stateFrame("speaking", [ask(0, "Q?"), said(1, "a")]));
  assert.equal(s.live, null);
  assert.equal(s.typing, true);
});

test("a state frame of an ended round shows its debrief, or waits for it", () => {
  const debrief = { vote: "inclined", vote_level: 3 };
  const withDebrief = applyFrame(initialState(), stateFrame("ended", [ask(0, "Q?")], { debrief }));
  assert.deepEqual(withDebrief.debrief, debrief);
  assert.deepEqual(effectTypes(withDebrief).slice(-2), ["mark_ended", "show_debrief"]);
  const without = applyFrame(initialState(), stateFrame("ended", [ask(0, "Q?")]));
  assert.deepEqual(effectTypes(without).slice(-2), ["mark_ended", "wait_for_debrief"]);
});

test("turn_grade attaches to the right candidate turn", () => {
  const s0 = applyFrame(initialState(), stateFrame("awaiting_answer", [ask(0, "Q1"), said(1, "a1"), ask(2, "Q2"), said(3, "a2"), ask(4, "Q3")]));
  const s = applyFrame(s0, { type: "turn_grade", turn: 3, ...GRADE });
  assert.deepEqual(s.turns[3].grade, { turn: 3, ...GRADE }, "the frame less its `type`");
  assert.equal(s.turns[1].grade, undefined);
  assert.equal(s.turns[0], s0.turns[0], "untouched turns are the same objects");
  assert.notEqual(s.turns[3], s0.turns[3], "the graded turn is a new object");
  assert.equal(s0.turns[3].grade, undefined, "the previous state is unchanged");
  assert.equal(candidatesChanged(s0, s), true);
  assert.deepEqual(s.effects, []);
});

test("a grade that arrives before the reply places the pending answer at its index", () => {
  const sent = applyEvent(awaiting(), { type: "send", text: "Answer" });
  const s = applyFrame(sent, { type: "turn_grade", turn: 1, ...GRADE });
  assert.equal(s.pending, null);
  assert.deepEqual(s.turns[1], { index: 1, role: "candidate", text: "Answer", grade: { turn: 1, ...GRADE } });
  assert.deepEqual(pendingOutcome(sent, s), { kept: true, index: 1 });
});

test("a grade for an earlier answer leaves the pending one pending", () => {
  const s0 = applyFrame(initialState(), stateFrame("awaiting_answer", [ask(0, "Q1"), said(1, "a1"), ask(2, "Q2")]));
  const sent = applyEvent(applyEvent(s0, { type: "socket", status: "connected" }), { type: "send", text: "a2" });
  const s = applyFrame(sent, { type: "turn_grade", turn: 1, ...GRADE });
  assert.deepEqual(s.pending, sent.pending);
  assert.deepEqual(s.turns[1].grade, { turn: 1, ...GRADE });
});

test("a grade for an unknown turn keeps it for the grade panel", () => {
  const s = applyFrame(awaiting(), { type: "turn_grade", turn: 7, ...GRADE });
  assert.deepEqual(s.turns.at(-1), { index: 7, role: "candidate", text: "", grade: { turn: 7, ...GRADE } });
});

test("a grade without an integer turn is ignored", () => {
  const s0 = awaiting();
  assert.equal(applyFrame(s0, { type: "turn_grade", turn: "1", ...GRADE }), s0);
});

test("debrief ends the round", () => {
  const s = applyFrame(awaiting(), { type: "debrief", vote: "inclined", vote_level: 3, summary: "Solid." });
  assert.equal(s.status, "ended");
  assert.deepEqual(s.debrief, { vote: "inclined", vote_level: 3, summary: "Solid." });
  assert.deepEqual(effectTypes(s), ["mark_ended", "show_debrief"]);
  assert.equal(canSend(s, "more"), false);
});

test("the REST transcript delivers a debrief that did not come on the socket", () => {
  const ended = applyFrame(awaiting(), { type: "interviewer_done", index: 1, move: "end", text: "Bye." });
  const transcript = { turns: [ask(0, "Q?"), ask(1, "Bye.")], debrief: { vote: "inclined" } };
  const s = applyEvent(ended, { type: "transcript", transcript });
  assert.deepEqual(s.debrief, { vote: "inclined" });
  assert.equal(s.turns, transcript.turns);
  assert.deepEqual(effectTypes(s), ["show_debrief"]);
  assert.equal(applyEvent(s, { type: "transcript", transcript }), s, "only once");
  assert.equal(applyEvent(ended, { type: "transcript", transcript: { turns: [] } }), ended, "no debrief yet");
});

test("unknown frames and events are ignored", () => {
  const s = awaiting();
  assert.equal(applyFrame(s, { type: "barge_in_ack", text: "x" }), s);
  assert.equal(applyFrame(s, { text: "no type" }), s);
  assert.equal(applyFrame(s, null), s);
  assert.equal(applyEvent(s, { type: "nonsense" }), s);
  assert.equal(applyEvent(s, undefined), s);
});

test("no frame changes the state it is given", () => {
  const s0 = applyEvent(awaiting(), { type: "send", text: "a" });
  const snapshot = JSON.stringify(s0);
  for (const f of [
    stateFrame("speaking", [ask(0, "Q")]),
    { type: "interviewer_delta", text: "x" },
    { type: "interviewer_done", index: 2, move: "ask", text: "Q2" },
    { type: "turn_grade", turn: 1, ...GRADE },
    { type: "debrief", vote: "inclined" },
    { type: "error", code: "answer_too_long" },
    { type: "error", code: "internal_error" },
  ]) {
    const next = applyFrame(s0, f);
    assert.notEqual(next, s0);
    assert.equal(JSON.stringify(s0), snapshot, f.type);
  }
});

test("effects are a fresh list on every step", () => {
  const s = applyFrame(initialState(), stateFrame("speaking", []));
  const t = applyFrame(s, { type: "interviewer_delta", text: "x" });
  assert.deepEqual(t.effects, []);
  assert.equal(s.effects.length, 2);
});

test("socket status: counts failed reconnects and asks whether the session still exists", () => {
  let s = applyEvent(initialState(), { type: "socket", status: "reconnecting" });
  assert.equal(s.conn, "reconnecting");
  assert.deepEqual(effectTypes(s), ["check_session"], "never connected: ask at once");
  s = applyEvent(s, { type: "socket", status: "reconnecting" });
  assert.deepEqual(effectTypes(s), []);

  let t = awaiting();
  const checks = [];
  for (let i = 0; i < 5; i += 1) {
    t = applyEvent(t, { type: "socket", status: "reconnecting" });
    checks.push(effectTypes(t).includes("check_session"));
  }
  assert.deepEqual(checks, [false, false, false, true, false], "connected before: the fourth failure asks");
  t = applyEvent(t, { type: "socket", status: "connected" });
  assert.equal(t.failedChecks, 0);
  assert.deepEqual(effectTypes(applyEvent(t, { type: "socket", status: "unauthorized" })), ["refused"]);
  assert.equal(applyEvent(t, { type: "socket", status: "paused" }).conn, "paused");
});

test("toggling the grade panel asks for the choice to be stored", () => {
  const s = applyEvent(initialState({ showGrades: true }), { type: "toggle_grades" });
  assert.equal(s.showGrades, false);
  assert.deepEqual(s.effects, [{ type: "save_show_grades", show: false }]);
  assert.equal(applyEvent(s, { type: "toggle_grades" }).showGrades, true);
});

test("the error categories come from protocol.js", () => {
  for (const [code, category] of Object.entries(ERROR_CODES)) {
    assert.ok(category === "rejected" || category === "retryable", code);
    assert.equal(errorCategory(code), category);
    assert.equal(REJECTED.has(code), category === "rejected");
    assert.equal(RETRYABLE.has(code), category === "retryable");
  }
  assert.ok(REJECTED.has("audio_not_supported"));
  assert.equal(errorCategory("toString"), null);
  assert.equal(errorCategory(undefined), null);
});

test("an answer put back in the box goes before what was typed since", () => {
  assert.equal(restoredDraft("", "lost"), "lost");
  assert.equal(restoredDraft("  ", "lost"), "lost");
  assert.equal(restoredDraft("new words", "lost"), "lost\n\nnew words");
  assert.equal(restoredDraft("it was lost here", "lost"), "it was lost here");
});

test("exam mode: grade frames and principles are ignored until the round has ended", () => {
  const exam = run(
    initialState(),
    { event: { type: "socket", status: "connected" } },
    stateFrame("awaiting_answer", [ask(0, "Tell me about a time."), said(1, "I pushed back."),
      { index: 2, role: "interviewer", text: "Why?", move: "follow_up", principle: "Earn Trust" },
      { ...said(3, "Data."), grade: GRADE }], { mode: "exam" }),
  );
  assert.equal(exam.mode, "exam");
  assert.equal(withholdsGrades(exam), true);
  // even if a server sent them, the page keeps no grade and no principle
  assert.equal(exam.turns[2].principle, undefined);
  assert.equal(exam.turns[3].grade, undefined);
  const graded = applyFrame(exam, { type: "turn_grade", turn: 3, ...GRADE });
  assert.equal(graded, exam, "a grade frame is ignored");
  const pivot = applyFrame(exam, { type: "interviewer_done", index: 4, move: "lp_pivot", principle: "Ownership", text: "Tell me more." });
  assert.equal(pivot.turns.find((t) => t.index === 4).principle, null);

  // the end: the debrief and the state frame of the ended round show everything
  const ended = run(pivot, stateFrame("ended", [ask(0, "Q"), { ...said(1, "A"), grade: GRADE },
    { index: 2, role: "interviewer", text: "Why?", move: "lp_pivot", principle: "Earn Trust" }],
  { mode: "exam", debrief: { vote: "inclined" } }));
  assert.equal(withholdsGrades(ended), false);
  assert.deepEqual(ended.turns[1].grade, GRADE);
  assert.equal(ended.turns[2].principle, "Earn Trust");
});

test("practice mode keeps grades and principles as they come", () => {
  const s = run(awaiting(), stateFrame("awaiting_answer", [ask(0, "Q"), said(1, "A")], { mode: "practice" }));
  assert.equal(withholdsGrades(s), false);
  const graded = applyFrame(s, { type: "turn_grade", turn: 1, ...GRADE });
  assert.equal(graded.turns[1].grade.overall, 3);
  const pivot = applyFrame(graded, { type: "interviewer_done", index: 2, move: "lp_pivot", principle: "Ownership", text: "T" });
  assert.equal(pivot.turns[2].principle, "Ownership");
  assert.equal(initialState().mode, "practice", "before the first state frame: practice (the server decides)");
});
