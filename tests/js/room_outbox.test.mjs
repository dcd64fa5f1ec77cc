// Unconfirmed answers in the room's reducer (frontend/js/room/state.js): kept until answer_received, sent again
// with the same id after a reconnect, dropped only when confirmed or refused; take-over makes the room read-only.
import { test } from "node:test";
import assert from "node:assert/strict";

import { initialState, applyFrame, applyEvent, canSend, answerFrame, pendingTurn, newAnswerId } from "../../frontend/js/room/state.js";

const ROUND = { id: "ml_breadth", title: "ML breadth", duration_min: 55 };
const stateFrame = (status, turns) => ({ type: "state", session_id: "s1", round: ROUND, level: "L5", status, turns, limits: { max_answer_chars: 8000 } });
const ask = (index, text) => ({ index, role: "interviewer", text, move: "ask" });

function awaiting() {
  let s = applyEvent(initialState(), { type: "socket", status: "connected" });
  s = applyFrame(s, stateFrame("speaking", []));
  return applyFrame(s, { type: "interviewer_done", index: 0, move: "ask", text: "Q0" });
}

test("an answer frame carries its id and the turn it answers", () => {
  const s = awaiting();
  assert.equal(pendingTurn(s), 0);
  assert.deepEqual(answerFrame(s, " My answer ", "a1"), { type: "answer", text: "My answer", answer_id: "a1", turn: 0 });
  assert.match(newAnswerId(), /^[A-Za-z0-9_-]{1,64}$/);
});

test("a sent answer stays in the outbox until answer_received, even once the reply streams", () => {
  const sent = applyEvent(awaiting(), { type: "send", text: "My answer", id: "a1" });
  assert.deepEqual(sent.outbox, { id: "a1", turn: 0, text: "My answer" });
  assert.deepEqual(sent.effects, [{ type: "save_outbox", outbox: sent.outbox }]);
  const streaming = applyFrame(sent, { type: "interviewer_delta", text: "Why" });
  assert.equal(streaming.pending, null);
  assert.deepEqual(streaming.outbox, sent.outbox, "the first words are not a confirmation");
  const received = applyFrame(streaming, { type: "answer_received", answer_id: "a1", index: 1, turn: 0 });
  assert.equal(received.outbox, null);
  assert.deepEqual(received.effects, [{ type: "save_outbox", outbox: null }]);
  assert.equal(received.turns[1].saved, true);
  assert.equal(applyFrame(received, { type: "answer_received", answer_id: "other", index: 3, turn: 2 }), received);
});

test("after a reconnect an unconfirmed answer goes again, with the same id, when its turn waits", () => {
  const streaming = applyFrame(applyEvent(awaiting(), { type: "send", text: "My answer", id: "a1" }), { type: "interviewer_delta", text: "W" });
  let s = applyFrame(streaming, stateFrame("awaiting_answer", [ask(0, "Q0")]));
  assert.deepEqual(s.outbox, streaming.outbox);
  s = applyFrame(s, { type: "interviewer_done", index: 0, move: "ask", text: "Q0" });
  assert.deepEqual(s.effects, [{ type: "resend", frame: { type: "answer", text: "My answer", answer_id: "a1", turn: 0 } }]);
  assert.equal(s.status, "speaking");
  assert.equal(canSend(s, "another"), false);
});

test("a reconnect state that has the answer confirms it; one that moved on puts it back in the box", () => {
  const sent = applyEvent(awaiting(), { type: "send", text: "My answer", id: "a1" });
  const has = applyFrame(sent, stateFrame("speaking", [ask(0, "Q0"), { index: 1, role: "candidate", text: "My answer", answer_id: "a1" }]));
  assert.equal(has.outbox, null);
  const moved = applyFrame(sent, stateFrame("awaiting_answer", [ask(0, "Q0"), { index: 1, role: "candidate", text: "x", answer_id: "b" }, ask(2, "Q2")]));
  assert.equal(moved.outbox, null);
  assert.ok(moved.effects.some((e) => e.type === "restore_answer" && e.text === "My answer"));
});

test("the outbox survives a reload (it is read back from storage) and bad stored values are ignored", () => {
  assert.deepEqual(initialState({ outbox: { id: "a1", turn: 4, text: "kept" } }).outbox, { id: "a1", turn: 4, text: "kept" });
  assert.equal(initialState({ outbox: { id: "bad id!", turn: 4, text: "x" } }).outbox, null);
  assert.equal(initialState({ outbox: "junk" }).outbox, null);
});

test("a refused answer leaves the outbox; a server fault keeps it", () => {
  const sent = applyEvent(awaiting(), { type: "send", text: "My answer", id: "a1" });
  const refused = applyFrame(sent, { type: "error", code: "stale_turn", message: "moved on" });
  assert.equal(refused.outbox, null);
  assert.ok(refused.effects.some((e) => e.type === "restore_answer"));
  const fault = applyFrame(sent, { type: "error", code: "storage_unavailable", message: "disk full" });
  assert.deepEqual(fault.outbox, sent.outbox);
  assert.equal(fault.status, "unavailable");
});

test("taken over: read-only, with a button to take the session back", () => {
  const s = applyFrame(awaiting(), { type: "session_taken_over", message: "Opened in another tab." });
  assert.equal(s.takenOver, true);
  assert.equal(canSend(s, "x"), false);
  const toast = s.effects.find((e) => e.type === "toast");
  assert.deepEqual(toast.action, { label: "Use this tab", command: "take_over" });
  const closed = applyEvent(s, { type: "socket", status: "taken_over" });
  assert.equal(closed.conn, "taken_over");
  assert.deepEqual(closed.effects, [], "told once");
  assert.equal(applyEvent(closed, { type: "socket", status: "connected" }).takenOver, false);
});
