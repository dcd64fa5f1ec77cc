// The lobby's choices (frontend/js/lobby/state.js): `node --test tests/js/`.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  initialLobbyState,
  roundsLoaded,
  selectRound,
  selectLevel,
  selectQuestion,
  allowedLevels,
  chosenQuestion,
  requestQuestions,
  questionsLoaded,
  questionsFailed,
  questionGroups,
  optionText,
  summaryText,
  canStart,
  roundTitle,
  selectMode,
  defaultMode,
  modeText,
} from "../../frontend/js/lobby/state.js";

const BREADTH = { id: "ml_breadth", title: "ML breadth", duration_min: 55, levels: ["L4", "L5", "L6"] };
const CODING = { id: "coding", title: "Coding", duration_min: 45, levels: ["L6"] };
const ROUNDS = { levels: ["L4", "L5", "L6"], rounds: [BREADTH, CODING] };
const BV = { id: "ml-bias-variance", title: "Bias-variance trade-off", kind: "concept", topics: ["Bias-variance trade-off", "Evaluation"] };

test("the rounds arrive: the first is selected and the level stays when offered", () => {
  const s = roundsLoaded(initialLobbyState(), ROUNDS);
  assert.equal(s.round, BREADTH);
  assert.equal(s.level, "L5");
  assert.equal(summaryText(s), "ML breadth \u00B7 L5 \u00B7 practice mode \u00B7 about 55 min");
  assert.equal(canStart(s), true);

  const other = roundsLoaded(initialLobbyState(), { levels: ["L6", "L7"], rounds: [] });
  assert.equal(other.level, "L6");
  assert.equal(other.round, null);
  assert.equal(canStart(other), false);
  assert.equal(summaryText(other), "Choose a round to begin.");
  assert.deepEqual(roundsLoaded(initialLobbyState(), null).levels, ["L4", "L5", "L6"]);
});

test("a round that does not offer the level moves it to its first level", () => {
  const s = selectRound(roundsLoaded(initialLobbyState(), ROUNDS), CODING);
  assert.equal(s.level, "L6");
  assert.deepEqual(allowedLevels(s), ["L6"]);
  assert.equal(selectRound(selectLevel(s, "L6"), BREADTH).level, "L6");
  assert.deepEqual(allowedLevels(selectRound(s, { id: "x", title: "X" })), ["L4", "L5", "L6"]);
});

test("the question list is asked for once per round and level", () => {
  const s = roundsLoaded(initialLobbyState(), ROUNDS);
  const req = requestQuestions(s);
  assert.equal(req.key, "ml_breadth|L5");
  assert.equal(req.state.questionsKey, "ml_breadth|L5");
  assert.equal(requestQuestions(req.state), null, "same round and level: nothing to fetch");
  assert.equal(requestQuestions(initialLobbyState()), null, "no round yet");

  const loaded = questionsLoaded(req.state, req, { questions: [BV, { id: "" }, null, { title: "no id" }] });
  assert.deepEqual(loaded.questions, [BV]);
  assert.equal(loaded.question, "");
});

test("the chosen question is kept when the new round or level has it too", () => {
  const first = requestQuestions(roundsLoaded(initialLobbyState(), ROUNDS));
  const chosen = selectQuestion(questionsLoaded(first.state, first, { questions: [BV] }), BV.id);
  assert.equal(chosenQuestion(chosen), BV);
  assert.match(summaryText(chosen), /opens with \u201CBias-variance trade-off\u201D$/);

  const req = requestQuestions(selectLevel(chosen, "L4"));
  assert.equal(req.keep, BV.id);
  assert.equal(req.state.question, "", "no question while the list loads");
  assert.equal(questionsLoaded(req.state, req, { questions: [BV] }).question, BV.id);
  assert.equal(questionsLoaded(req.state, req, { questions: [] }).question, "");
});

test("a list for an older round or level is dropped", () => {
  const s = roundsLoaded(initialLobbyState(), ROUNDS);
  const older = requestQuestions(s);
  const newer = requestQuestions(selectRound(older.state, CODING));
  assert.equal(questionsLoaded(newer.state, older, { questions: [BV] }), newer.state);
  assert.equal(questionsFailed(newer.state, older), newer.state);
  const failed = questionsFailed(newer.state, newer);
  assert.deepEqual(failed.questions, []);
  assert.equal(failed.question, "");
});

test("questions are grouped by kind in first-seen order", () => {
  const qs = [{ id: "a", kind: "case" }, { id: "b" }, { id: "c", kind: "case" }, { id: "d", kind: "" }];
  assert.deepEqual(questionGroups(qs), [["case", [qs[0], qs[2]]], ["other", [qs[1], qs[3]]]]);
  assert.deepEqual(questionGroups([]), []);
});

test("an option names the question and up to three topics that are not its title", () => {
  assert.equal(optionText(BV), "Bias-variance trade-off \u2014 Evaluation");
  assert.equal(optionText({ id: "q1", topics: ["a", "b", "c", "d"] }), "q1 \u2014 a, b, c");
  assert.equal(optionText({ id: "q2", title: "Title" }), "Title");
});

test("a past interview's title: stored, from the rounds, or from its id", () => {
  const rounds = [BREADTH];
  assert.equal(roundTitle({ round_title: "Stored", round: "ml_breadth" }, rounds), "Stored");
  assert.equal(roundTitle({ round: "ml_breadth" }, rounds), "ML breadth");
  assert.equal(roundTitle({ round: "causal_inference" }, rounds), "Causal inference");
  assert.equal(roundTitle({}, rounds), "Interview");
});

test("no Start while a session is being created", () => {
  const s = roundsLoaded(initialLobbyState(), ROUNDS);
  assert.equal(canStart({ ...s, busy: true }), false);
});

const BAR_RAISER = { id: "bar_raiser", title: "Bar raiser", duration_min: 60, levels: ["L4", "L5", "L6"], default_mode: "exam" };

test("the mode follows the chosen round's default, and the candidate may change it", () => {
  const s = roundsLoaded(initialLobbyState(), { levels: ["L4", "L5", "L6"], rounds: [BAR_RAISER, BREADTH] });
  assert.equal(s.mode, "exam"); // the bar raiser's default
  assert.match(summaryText(s), /exam mode/);
  const practice = selectMode(s, "practice");
  assert.equal(practice.mode, "practice");
  assert.equal(s.mode, "exam", "a state is never changed in place");
  assert.equal(selectMode(s, "quiz"), s, "an unknown mode is ignored");
  assert.equal(selectRound(practice, BREADTH).mode, "practice"); // no default_mode: practice
  assert.equal(selectRound(selectMode(selectRound(s, BREADTH), "exam"), BAR_RAISER).mode, "exam");
  assert.equal(selectRound(selectMode(s, "practice"), BAR_RAISER).mode, "exam", "choosing a round resets it");
  assert.equal(defaultMode(null), "practice");
  assert.equal(defaultMode({ default_mode: "bogus" }), "practice");
  assert.match(modeText("exam"), /until the debrief/);
  assert.match(modeText("practice"), /as you go/);
});
