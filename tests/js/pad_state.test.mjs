// The code pad in the room's reducer (frontend/js/room/state.js): `pad` and `run_result` frames, the Run event,
// runs in the `state` frame, and the answer text that quotes the pad's code: `node --test tests/js/`.
import { test } from "node:test";
import assert from "node:assert/strict";

import { initialState, applyFrame, applyEvent, canRun, latestRun, withCode, canSend } from "../../frontend/js/room/state.js";

const ROUND = { id: "coding", title: "Coding", duration_min: 55 };
const PAD = {
  type: "pad",
  question_id: "sql-top-three-salaries",
  title: "Top Three Salaries",
  language: "sql",
  fixed: true,
  checked: true,
  tables: [{ name: "employees", columns: [{ name: "id", type: "INTEGER" }] }],
  entry_point: null,
  tests: [],
  code: "SELECT 1",
  execution: true,
  message: null,
};

function run(id, source, status, question = "sql-top-three-salaries") {
  return { id, source, turn: source === "answer" ? 1 : null, question_id: question, code: "SELECT 1", at: 1,
    result: { language: "sql", status, checked: true, summary: status, columns: ["x"], rows: [[1]], row_count: 1 } };
}

function connected(runs = []) {
  let s = initialState();
  s = applyEvent(s, { type: "socket", status: "connected" });
  return applyFrame(s, { type: "state", session_id: "s", round: ROUND, level: "L5", status: "awaiting_answer",
    turns: [{ index: 0, role: "interviewer", text: "Q?", move: "ask", question_id: "sql-top-three-salaries" }],
    runs, execution: { enabled: true, sandbox: "unshare" } });
}

test("a pad frame shows the pad and asks the page to draw it", () => {
  const s = applyFrame(connected(), PAD);
  assert.equal(s.pad.question_id, "sql-top-three-salaries");
  assert.equal(s.pad.language, "sql");
  assert.equal(s.pad.code, "SELECT 1");
  assert.deepEqual(s.effects, [{ type: "show_pad" }]);
  assert.equal(applyFrame(connected(), { ...PAD, language: "cobol" }).pad.language, "sql");
});

test("a pad frame with shown false hides the pad", () => {
  const s = applyFrame(applyFrame(connected(), PAD), { type: "pad", question_id: "ml-bias-variance", shown: false });
  assert.equal(s.pad, null);
  assert.deepEqual(s.effects, [{ type: "hide_pad" }]);
  assert.ok(!canRun(s));
});

test("Run is allowed once at a time, and the result clears it", () => {
  let s = applyFrame(connected(), PAD);
  assert.ok(canRun(s));
  s = applyEvent(s, { type: "run" });
  assert.equal(s.running, true);
  assert.ok(!canRun(s));
  assert.equal(applyEvent(s, { type: "run" }), s); // a second click while running changes nothing
  s = applyFrame(s, { type: "run_result", run: run("pad-1", "pad", "wrong") });
  assert.equal(s.running, false);
  assert.equal(s.runs.length, 1);
  assert.deepEqual(s.effects.map((e) => e.type), ["run_result"]);
  assert.equal(latestRun(s).id, "pad-1");
});

test("an answer's run does not end a pad run in flight, and runs are kept in order", () => {
  let s = applyEvent(applyFrame(connected(), PAD), { type: "run" });
  s = applyFrame(s, { type: "run_result", run: run("turn-1", "answer", "ok") });
  assert.equal(s.running, true);
  s = applyFrame(s, { type: "run_result", run: run("turn-1", "answer", "ok") }); // the same run again: replaced
  assert.equal(s.runs.length, 1);
  s = applyFrame(s, { type: "run_result", run: run("pad-2", "pad", "ok", "another-question") });
  assert.equal(latestRun(s).id, "turn-1"); // the latest run of the pad's own question
});

test("no Run without a pad, a connection, or when execution is off", () => {
  assert.ok(!canRun(connected()));
  const off = applyFrame(connected(), { ...PAD, execution: false, message: "switched off" });
  assert.ok(!canRun(off));
  assert.equal(off.pad.message, "switched off");
  const offline = applyEvent(applyFrame(connected(), PAD), { type: "socket", status: "reconnecting" });
  assert.ok(!canRun(offline));
});

test("the state frame carries every run; a reconnect clears a run in flight", () => {
  let s = applyEvent(applyFrame(connected(), PAD), { type: "run" });
  s = applyFrame(s, { type: "state", session_id: "s", round: ROUND, level: "L5", status: "awaiting_answer", turns: [],
    runs: [run("pad-1", "pad", "ok"), { bad: true }], execution: { enabled: false, sandbox: "off" } });
  assert.equal(s.running, false);
  assert.deepEqual(s.runs.map((r) => r.id), ["pad-1"]);
  assert.deepEqual(s.execution, { enabled: false, sandbox: "off" });
});

test("malformed run_result frames are ignored", () => {
  const s = applyFrame(connected(), PAD);
  assert.equal(applyFrame(s, { type: "run_result" }), s);
  assert.equal(applyFrame(s, { type: "run_result", run: { id: 3 } }), s);
});

test("the answer quotes the pad's code once, so the server stores exactly what was sent", () => {
  assert.equal(withCode("My query.", "SELECT 1\n", "sql"), "My query.\n\n```sql\nSELECT 1\n```");
  assert.equal(withCode("", "SELECT 1", "sql"), "```sql\nSELECT 1\n```");
  assert.equal(withCode("Just words", "", "sql"), "Just words");
  assert.equal(withCode("SELECT 1 is mine", "SELECT 1", "sql"), "SELECT 1 is mine");
  const s = applyFrame(connected(), PAD);
  assert.ok(canSend(s, withCode("", "SELECT 1", "sql"))); // code alone is an answer
});
