// The lobby's choices: round, level and opening question, and the question list that follows them.
// Pure: each function returns a new state (frontend/js/views/lobby.js fetches, draws and keeps it).
import { humanize } from "../labels.js";

export const DEFAULT_LEVELS = ["L4", "L5", "L6"];

/**
 * rounds        from GET /api/rounds
 * round, level  the selection
 * questions     the list for `questionsKey` ("round|level", loading or loaded); question: its chosen id, "" = any
 * mode          "practice" (grades and LP tags after each answer) or "exam" (only in the debrief); a round's
 *               default (its `default_mode`) whenever the round is chosen
 * busy          a session is being created
 */
export function initialLobbyState() {
  return {
    rounds: [],
    levels: [...DEFAULT_LEVELS],
    round: null,
    level: "L5",
    mode: "practice",
    busy: false,
    questions: [],
    questionsKey: null,
    question: "",
  };
}

/** GET /api/rounds answered: the first round is selected; the level is kept when the server offers it. */
export function roundsLoaded(state, data) {
  const rounds = Array.isArray(data && data.rounds) ? data.rounds : [];
  const levels = Array.isArray(data && data.levels) && data.levels.length ? data.levels : state.levels;
  const level = levels.includes(state.level) ? state.level : levels[0];
  const round = rounds[0] || null;
  return { ...state, rounds, levels, level, round, mode: defaultMode(round) };
}

export const MODES = ["practice", "exam"];

/** The mode a round starts in when the candidate does not choose: its `default_mode`, else practice. */
export function defaultMode(round) {
  return round && MODES.includes(round.default_mode) ? round.default_mode : "practice";
}

/** Choose practice or exam mode for the next session (anything else is ignored). */
export function selectMode(state, mode) {
  return MODES.includes(mode) ? { ...state, mode } : state;
}

/** The line under the mode toggle: what the chosen mode does. */
export function modeText(mode) {
  return mode === "exam"
    ? "Exam: like the real loop — no grades and no Leadership Principle named until the debrief."
    : "Practice: each answer's grade and the principle being probed appear as you go.";
}

/** Select a round; a level that round does not offer moves to its first one. */
export function selectRound(state, round) {
  const levels = Array.isArray(round.levels) && round.levels.length ? round.levels : null;
  const level = levels && !levels.includes(state.level) ? levels[0] : state.level;
  return { ...state, round, level, mode: defaultMode(round) };
}

export function selectLevel(state, level) {
  return { ...state, level };
}

export function selectQuestion(state, id) {
  return { ...state, question: id };
}

/** The levels the selected round can be played at. */
export function allowedLevels(state) {
  const r = state.round;
  return r && Array.isArray(r.levels) && r.levels.length ? r.levels : state.levels;
}

/** The chosen opening question, or null for "any question". */
export function chosenQuestion(state) {
  return state.question ? state.questions.find((x) => x.id === state.question) || null : null;
}

/**
 * The question list to fetch now that the round or level changed, or null when the list shown is still the
 * right one: {key, keep, state}, where `state` has the list emptied while it loads and `keep` is the question
 * chosen before (kept if the new list has it too: questions span rounds).
 */
export function requestQuestions(state) {
  if (!state.round || !state.level) return null;
  const key = `${state.round.id}|${state.level}`;
  if (key === state.questionsKey) return null;
  return { key, keep: state.question, state: { ...state, questionsKey: key, questions: [], question: "" } };
}

/** The questions for `request` arrived. A list for an older round or level is dropped: a newer one won. */
export function questionsLoaded(state, request, data) {
  if (state.questionsKey !== request.key) return state;
  const questions = (Array.isArray(data && data.questions) ? data.questions : [])
    .filter((q) => q && typeof q.id === "string" && q.id);
  const question = request.keep && questions.some((q) => q.id === request.keep) ? request.keep : "";
  return { ...state, questions, question };
}

/** The questions for `request` could not be loaded: "Any question" stays. */
export function questionsFailed(state, request) {
  if (state.questionsKey !== request.key) return state;
  return { ...state, questions: [], question: "" };
}

/** The questions grouped by kind, in first-seen order: [[kind, questions], ...]. */
export function questionGroups(questions) {
  const groups = new Map();
  for (const q of questions) {
    const kind = typeof q.kind === "string" && q.kind ? q.kind : "other";
    if (!groups.has(kind)) groups.set(kind, []);
    groups.get(kind).push(q);
  }
  return [...groups];
}

/** "Title — topic, topic" (topics that only repeat the title are left out). */
export function optionText(q) {
  const title = typeof q.title === "string" && q.title ? q.title : q.id;
  const topics = (Array.isArray(q.topics) ? q.topics : [])
    .filter((t) => typeof t === "string" && t && t.toLowerCase() !== title.toLowerCase())
    .slice(0, 3);
  return topics.length ? `${title} \u2014 ${topics.join(", ")}` : title;
}

/** The line above the Start button. */
export function summaryText(state) {
  const r = state.round;
  if (!r) return "Choose a round to begin.";
  const q = chosenQuestion(state);
  return [r.title, state.level, state.mode === "exam" ? "exam mode" : "practice mode", `about ${r.duration_min} min`,
    q ? `opens with \u201C${q.title}\u201D` : null]
    .filter(Boolean)
    .join(" \u00B7 ");
}

/** Whether Start can be pressed. */
export function canStart(state) {
  return Boolean(state.round && state.level && !state.busy);
}

/** A past interview's round title: stored with it, else from the rounds list, else from its id. */
export function roundTitle(entry, rounds) {
  if (entry.round_title) return entry.round_title;
  const r = entry.round && rounds.find((x) => x.id === entry.round);
  if (r && r.title) return r.title;
  return entry.round ? humanize(entry.round) : "Interview";
}
