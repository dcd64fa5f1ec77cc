// The graded replay's pure parts: validation of replays and imports (frontend/js/replay/model.js), the Markdown
// report (replay/report.js), the chart's scales (charts/line.js), the round clock (room/clock.js) and drafts
// (drafts.js). `node --test tests/js/`.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  validateReplay,
  highlightSegments,
  gradeQuotes,
  stripItems,
  filterOptions,
  turnMatches,
  formatDuration,
  timingParts,
  clockAt,
  aimOf,
  retriesByTurn,
  exportName,
  runsOf,
} from "../../frontend/js/replay/model.js";
import { replayMarkdown, mdEscape } from "../../frontend/js/replay/report.js";
import { lineChartModel } from "../../frontend/js/charts/line.js";
import { roundClock } from "../../frontend/js/room/clock.js";

const ANSWER = "Bias is underfitting. Variance is overfitting, so I compare train and validation error.";

function sample(extra = {}) {
  return {
    format: "barraiser-replay",
    version: 1,
    session_id: "abcdef1234567890",
    kind: "interview",
    round: "ml_breadth",
    round_title: "ML breadth",
    duration_min: 55,
    level: "L5",
    brain: "offline",
    status: "ended",
    created_at: 1000,
    started_at: 1000,
    ended_at: 1300,
    turns: [
      { index: 0, role: "interviewer", text: "Explain bias and variance.", move: "ask", question_id: "ml-bv", rationale: "the round opens", at: 1010 },
      {
        index: 1, role: "candidate", text: ANSWER, at: 1082, question_id: "ml-bv", thread: "technical",
        timing: { think_s: 72, chars: ANSWER.length, words: 13 },
        grade: {
          overall: 3, overall_label: "inclined", confidence: "low", answers: null,
          criteria: [
            { id: "c", name: "Correctness", level: 3, label: "inclined", evidence: ["Bias is underfitting", "not in the answer"] },
            { id: "d", name: "Diagnosis", level: 2, label: "not_inclined", evidence: ["compare train and validation error"] },
          ],
          evidence: ["Variance is overfitting", "compare train and validation error"],
          notes: ["n"], covered: ["a"], missed: ["decomposition"], red_flags: [],
        },
      },
      { index: 2, role: "interviewer", text: "Tell me about a time...", move: "lp_pivot", principle: "Dive Deep", question_id: "ml-bv", at: 1100, rationale: "pivot on 'compare'" },
      { index: 3, role: "candidate", text: "<img src=x onerror=alert(1)> I dug in.", at: 1200, principle: "Dive Deep", thread: "lp", question_id: "ml-bv" },
      { index: 4, role: "interviewer", text: "Back to it.", move: "return", key_point: "decomposition", question_id: "ml-bv", at: 1210 },
    ],
    questions: {
      "ml-bv": { id: "ml-bv", title: "Bias-variance", kind: "concept", topics: ["Bias-variance trade-off"],
        key_points: [{ id: "decomposition", text: "Error splits into bias squared, variance and noise." }] },
    },
    debrief: { vote: "inclined", vote_level: 3, summary: "Solid.", practice_plan: ["Practise the decomposition."], caveats: [] },
    ...extra,
  };
}

test("a replay validates; evidence not in the answer is dropped", () => {
  const r = validateReplay(sample());
  assert.equal(r.ok, true);
  const g = r.replay.turns[1].grade;
  assert.deepEqual(g.criteria[0].evidence, ["Bias is underfitting"]);
  assert.equal(g.confidence, "low");
  assert.equal(r.replay.turns[3].grade, null);
  assert.equal(r.replay.turns[3].text, "<img src=x onerror=alert(1)> I dug in."); // kept as text, shown as text
});

test("bad files are refused with a reason", () => {
  assert.equal(validateReplay(null).ok, false);
  assert.equal(validateReplay([]).ok, false);
  assert.match(validateReplay({ format: "other", turns: [], round: "x" }).error, /Unknown format/);
  assert.match(validateReplay({ round: "x" }).error, /no turns/);
  assert.match(validateReplay({ turns: [] }).error, /round/);
  assert.match(validateReplay({ round: "x", turns: new Array(601).fill({}) }).error, /Too many turns/);
});

test("hostile fields are bounded and typed", () => {
  const bad = sample({ session_id: "x".repeat(1000), kind: "<script>", level: { a: 1 } });
  bad.turns.push({ index: 5, role: "admin", text: "x" }, { index: 6, role: "candidate", text: 42, grade: { overall: 9, evidence: [1, {}] } });
  const r = validateReplay(bad).replay;
  assert.equal(r.session_id.length, 128);
  assert.equal(r.kind, "interview");
  assert.equal(r.level, null);
  assert.equal(r.turns.length, 6);
  const last = r.turns[5];
  assert.equal(last.text, "");
  assert.equal(last.grade.overall, null);
  assert.deepEqual(last.grade.evidence, []);
});

test("an older transcript download imports too", () => {
  const t = { session_id: "s", round: "ml_breadth", level: "L5", status: "ended",
    turns: [{ index: 0, role: "interviewer", text: "Q", move: "ask" }, { index: 1, role: "candidate", text: "A b", grade: { overall: 2, evidence: ["A"] } }] };
  const r = validateReplay(t);
  assert.equal(r.ok, true);
  assert.equal(r.replay.round_title, "ml_breadth");
  assert.deepEqual(r.replay.turns[1].timing, { think_s: null, chars: 3, words: 2 });
});

test("evidence is cut out of the answer, overlaps included", () => {
  const segs = highlightSegments("abcdefgh", ["cde", "def", "zz", "gh"]);
  assert.deepEqual(segs, [
    { text: "ab", quotes: [] },
    { text: "c", quotes: [0] },
    { text: "de", quotes: [0, 1] },
    { text: "f", quotes: [1] },
    { text: "gh", quotes: [3] },
  ]);
  assert.equal(segs.map((s) => s.text).join(""), "abcdefgh");
  assert.deepEqual(highlightSegments("plain", []), [{ text: "plain", quotes: [] }]);
  assert.deepEqual(highlightSegments("", ["x"]), []);
  const r = validateReplay(sample()).replay;
  const quotes = gradeQuotes(r.turns[1].grade);
  assert.deepEqual(quotes, ["Variance is overfitting", "compare train and validation error", "Bias is underfitting"]);
  const marked = highlightSegments(ANSWER, quotes).filter((s) => s.quotes.length).map((s) => s.text);
  assert.deepEqual(marked, ["Bias is underfitting", "Variance is overfitting", "compare train and validation error"]);
});

test("the strip, the filters and the aims", () => {
  const r = validateReplay(sample()).replay;
  assert.deepEqual(stripItems(r).map((i) => [i.kind, i.label]), [
    ["question", "Q1"], ["answer", "A1"], ["pivot", "LP"], ["answer", "A2"], ["return", "\u21A9"],
  ]);
  assert.deepEqual(filterOptions(r).map((o) => o.value), ["all", "q:ml-bv", "p:Dive Deep"]);
  assert.deepEqual(r.turns.filter((t) => turnMatches(t, "p:Dive Deep")).map((t) => t.index), [2, 3]);
  assert.equal(r.turns.filter((t) => turnMatches(t, "q:ml-bv")).length, 5);
  assert.deepEqual(aimOf(r.turns[4], r), { kind: "key point", text: "Error splits into bias squared, variance and noise." });
  assert.deepEqual(aimOf(r.turns[2], r), { kind: "principle", text: "Dive Deep" });
  assert.deepEqual(aimOf(r.turns[0], r), { kind: "question", text: "Bias-variance" });
  assert.equal(clockAt(r.turns[1], r), "01:22");
  assert.equal(formatDuration(45), "45 s");
  assert.equal(formatDuration(72), "1 min 12 s");
  assert.equal(formatDuration(720), "12 min");
  assert.equal(formatDuration(null), null);
  assert.equal(exportName(r, "md"), "bar-raiser-ml_breadth-abcdef12.md");
});

test("retries are grouped by the turn they answer again", () => {
  const summaries = [
    { session_id: "f2", created_at: 20, forked_from: { session_id: "s", turn: 1 }, retry: { turn: 1, answered: true, overall: 4, overall_label: "strong_hire" } },
    { session_id: "f1", created_at: 10, forked_from: { session_id: "s", turn: 1 }, retry: { turn: 1, answered: false } },
    { session_id: "g", created_at: 5, forked_from: { session_id: "other", turn: 1 }, retry: { turn: 1, answered: true } },
    { session_id: "s", created_at: 1, forked_from: null },
  ];
  const by = retriesByTurn(summaries, "s");
  assert.deepEqual(Object.keys(by), ["1"]);
  assert.deepEqual(by[1].map((x) => [x.session_id, x.overall, x.answered]), [["f1", null, false], ["f2", 4, true]]);
});

test("the Markdown report escapes what the candidate wrote", () => {
  const r = validateReplay(sample()).replay;
  const md = replayMarkdown(r);
  assert.match(md, /^# Bar Raiser replay: ML breadth · L5/);
  assert.match(md, /\*\*Vote:\*\* Inclined/);
  assert.match(md, /Your answer 1 — Inclined \(tentative\)/);
  assert.match(md, /\*\*Missed:\*\* Error splits into bias squared, variance and noise\./);
  assert.match(md, /answered 1 min 12 s after the question ended, 13 words/);
  assert.match(md, /Aimed at\*\* \(principle\): Dive Deep/);
  assert.ok(!md.includes("<img"), "no raw HTML from an answer");
  assert.ok(md.includes("&lt;img src=x onerror=alert(1)&gt;"));
  assert.equal(mdEscape("[link](x) *b* #h"), "\\[link\\](x) \\*b\\* \\#h");
});

test("the chart puts level 4 at the top and time left to right", () => {
  const m = lineChartModel([
    { id: "a", label: "A", points: [{ at: 10, level: 1, answers: 1 }, { at: 20, level: 4, answers: 2 }] },
    { id: "b", label: "B", points: [{ at: 15, level: 2.5, answers: 1 }] },
  ], { width: 400, height: 200, pad: { left: 100, right: 0, top: 0, bottom: 0 } });
  const [a, b] = m.lines;
  assert.equal(a.points[0].x, 100);
  assert.equal(a.points[1].x, 400);
  assert.equal(a.points[0].y, 200 - 1.5); // two series: each nudged 1.5 px apart so equal levels stay visible
  assert.equal(a.points[1].y, 0 - 1.5);
  assert.equal(b.points[0].y, 100 + 1.5);
  assert.ok(b.points[0].x > 100 && b.points[0].x < 400);
  assert.deepEqual(m.yTicks.map((t) => t.label), ["Strong no hire", "Not inclined", "Inclined", "Strong hire"]);
  const one = lineChartModel([{ id: "a", label: "A", points: [{ at: 5, level: 3, answers: 1 }] }], { width: 300, height: 100, pad: { left: 0, right: 0, top: 0, bottom: 0 } });
  assert.equal(one.lines[0].points[0].x, 150);
});

test("the round clock counts down the budget", () => {
  const start = 1_000_000;
  assert.deepEqual(roundClock(start, 55, (start + 60) * 1000).text, "54:00 left");
  assert.equal(roundClock(start, 55, (start + 61) * 1000).text, "53:59 left");
  assert.equal(roundClock(start, 55, (start + 51 * 60) * 1000).state, "low");
  assert.equal(roundClock(start, 55, (start + 3300) * 1000).state, "over");
  assert.equal(roundClock(null, 55, 0), null);
  assert.equal(roundClock(start, 0, 0), null);
});

test("drafts are kept per session", async () => {
  const store = new Map();
  globalThis.localStorage = {
    getItem: (k) => (store.has(k) ? store.get(k) : null),
    setItem: (k, v) => store.set(k, String(v)),
    removeItem: (k) => store.delete(k),
  };
  const { loadDraft, saveDraft, clearDraft } = await import("../../frontend/js/drafts.js");
  saveDraft("a", "half an answer");
  saveDraft("b", "other");
  assert.equal(loadDraft("a"), "half an answer");
  assert.equal(loadDraft("c"), "");
  clearDraft("a");
  assert.equal(loadDraft("a"), "");
  saveDraft("b", "   ");
  assert.equal(store.has("barraiser.drafts"), false);
  for (let i = 0; i < 25; i += 1) saveDraft(`s${i}`, `draft ${i}`);
  assert.equal(Object.keys(JSON.parse(store.get("barraiser.drafts"))).length, 20);
  assert.equal(loadDraft("s24"), "draft 24"); // the one just typed is never the one dropped
  store.set("barraiser.drafts", "not json");
  assert.equal(loadDraft("s1"), "");
  delete globalThis.localStorage;
});

test("a spoken answer keeps its recording and speech figures, checked", () => {
  const data = sample();
  Object.assign(data.turns[1], {
    source: "voice",
    audio: { id: "0123456789abcdef0123456789abcdef", duration_s: 41.5, bytes: 10 },
    speech: { speech_s: 38.2, wpm: 131, fillers: 2, long_pauses: 1, first_word_after_s: 1.24, filler_words: { um: 2 } },
  });
  Object.assign(data.turns[3], { source: "voice", audio: { id: "../../etc/passwd" }, speech: { wpm: "fast" }, low_confidence: true });
  const r = validateReplay(data).replay;
  assert.deepEqual(r.turns[1].audio, { id: "0123456789abcdef0123456789abcdef", duration_s: 41.5 });
  assert.deepEqual(timingParts(r.turns[1]), [
    "answered 1 min 12 s after the question ended", "spoke 38 s", "first word after 1.2 s", "131 words/min", "2 fillers",
    "1 long pause", "13 words", `${ANSWER.length} characters`,
  ]);
  assert.equal(r.turns[3].audio, null); // not a recording id: never put in a URL
  assert.equal(r.turns[3].speech.wpm, null);
  assert.equal(r.turns[3].low_confidence, true);
  assert.equal(validateReplay(sample()).replay.turns[1].source, "text");
  assert.match(replayMarkdown(r), /spoke 38 s, first word after 1\.2 s, 131 words\/min/);
});

test("runs are kept bounded and sorted: an answer's by its turn, the pad's in time; bad ones are dropped", () => {
  const run = (id, source, turn, at, result = { status: "wrong", summary: "5 rows where 6 are expected" }) =>
    ({ id, source, turn, at, code: "SELECT 1", question_id: "q", result });
  const { ok, replay } = validateReplay(sample({
    runs: [run("pad-2", "pad", null, 30), run("turn-1", "answer", 1, 20), run("pad-1", "pad", null, 10),
      run("x", "elsewhere", null, 5), run("y", "pad", null, 5, "not an object"), "junk",
      run("z", "answer", 3, 40, { status: "<script>", summary: "s".repeat(5000), rows: [[1, null, { a: 1 }]] })],
  }));
  assert.ok(ok);
  assert.deepEqual(replay.runs.map((r) => r.id), ["pad-2", "turn-1", "pad-1", "z"]);
  const z = replay.runs[3].result;
  assert.equal(z.status, "error"); // an unknown status is not passed through
  assert.equal(z.summary.length, 1000);
  assert.deepEqual(z.rows, [["1", null, "[object Object]"]]);
  const { byTurn, pad } = runsOf(replay);
  assert.deepEqual(pad.map((r) => r.id), ["pad-1", "pad-2"]);
  assert.deepEqual([...byTurn.keys()], [1, 3]);
  assert.deepEqual(validateReplay(sample()).replay.runs, []); // an older file without runs
});

test("the Markdown report lists each answer's code run and the pad's runs, escaped", () => {
  const { replay } = validateReplay(sample({
    runs: [
      { id: "turn-1", source: "answer", turn: 1, at: 20, code: "x", result: { status: "wrong", summary: "3 rows where *4* are expected" } },
      { id: "pad-1", source: "pad", turn: null, at: 10, code: "y", result: { status: "ok", summary: "matches" } },
    ],
  }));
  const md = replayMarkdown(replay);
  assert.match(md, /\*\*Code run:\*\* wrong \u2014 3 rows where \\\*4\\\* are expected/);
  assert.match(md, /## Runs from the code pad\n\n- .*ok \u2014 matches/);
});

test("a replay says its mode: exam only when the server says so", () => {
  const doc = { format: "barraiser-replay", round: "bar_raiser", status: "in_progress", turns: [] };
  assert.equal(validateReplay({ ...doc, mode: "exam" }).replay.mode, "exam");
  assert.equal(validateReplay({ ...doc, mode: "practice" }).replay.mode, "practice");
  assert.equal(validateReplay(doc).replay.mode, "practice", "an older export has no mode: it showed every grade");
  assert.equal(validateReplay({ ...doc, mode: "<b>x</b>" }).replay.mode, "practice");
});
