// The interview room's state machine: server frames (docs/protocol.md) and local events in, a new state out.
// Pure: no DOM, no globals, no timers; a state is never changed in place. What the page must do besides drawing
// the new state (toasts, storage, timers, focus) comes back in the new state's `effects`, a fresh list each
// step: frontend/js/views/room.js carries them out, frontend/js/room/view.js draws the state.
import { ERROR_CODES } from "../protocol.js";

/** Error codes after which the answer the candidate just sent was NOT taken by the server. */
export const REJECTED = codesIn("rejected");
/** Server faults after which the answer is kept and a reconnect retries the interviewer's turn. */
export const RETRYABLE = codesIn("retryable");

function codesIn(category) {
  return new Set(Object.keys(ERROR_CODES).filter((code) => ERROR_CODES[code] === category));
}

/**
 * The room before the first frame. `showGrades` is the candidate's stored choice (the caller reads storage).
 *
 * status      "connecting" | "speaking" | "awaiting_answer" | "ended" | "unavailable" (a server fault; reconnect)
 * conn        the socket: "connecting" | "connected" | "reconnecting" | "paused" | "unauthorized" | "closed"
 * epoch       how many times `turns` was replaced wholesale (each `state` frame is a full reset)
 * turns       what the server has taken: [{index, role, text, move?, principle?, question_id?, grade?}]
 * pending     {text, prevStatus}: an answer sent but not yet seen taken
 * outbox      {id, turn, text}: the last answer sent and not yet confirmed on the server's disk (`answer_received`);
 *             kept in localStorage (the `save_outbox` effect) and sent again after a reconnect until confirmed
 * takenOver   another tab took the session: this one is read-only until the candidate takes it back
 * live        {text}: the interviewer turn streaming now
 * typing      the "interviewer is typing" indicator is shown
 * ending      "End interview" was sent and the round has not closed yet
 * startedAt   when the round started (seconds since the epoch, from the `state` frame): the round clock's zero
 * failedChecks  reconnect attempts since the socket was last open
 * pad         the code pad for the question under discussion (a `pad` frame), or null when the round shows none:
 *             {question_id, title, language, fixed, checked, tables, entry_point, tests, code, execution, message}
 * runs        every run of the candidate's code (`run_result` frames, and the `state` frame's list), oldest first
 * running     a run from the pad's Run button is on its way
 * execution   {enabled, sandbox}: whether code runs on this server, and how it is isolated
 * mode        "practice" | "exam" (from the `state` frame): in exam mode no grade nor principle is kept until the
 *             round has ended (the server sends none; grade frames are ignored anyway), and no grade panel is shown
 * effects     what the page must do after this step, in order: [{type: "toast" | "restore_answer" | ...}]
 */
export function initialState({ showGrades = true, outbox = null } = {}) {
  return {
    round: null,
    level: null,
    status: "connecting",
    conn: "connecting",
    gotState: false,
    epoch: 0,
    turns: [],
    limits: { max_answer_chars: null },
    pending: null,
    outbox: cleanOutbox(outbox),
    takenOver: false,
    live: null,
    typing: false,
    debrief: null,
    ending: false,
    showGrades: Boolean(showGrades),
    startedAt: null,
    failedChecks: 0,
    pad: null,
    runs: [],
    running: false,
    execution: { enabled: true, sandbox: null },
    mode: "practice",
    effects: [],
  };
}

/** Whether grades and principles are held back now: exam mode, until the round has ended. */
export function withholdsGrades(state) {
  return state.mode === "exam" && state.status !== "ended";
}

/** A server frame. Unknown frames are ignored (the protocol may grow): the same state comes back. */
export function applyFrame(state, frame) {
  if (!frame || typeof frame !== "object") return state;
  switch (frame.type) {
    case "state":
      return onState(step(state), frame);
    case "interviewer_delta":
      return onDelta(step(state), frame);
    case "interviewer_done":
      return onDone(step(state), frame);
    case "turn_grade":
      return Number.isInteger(frame.turn) && !withholdsGrades(state) ? onGrade(step(state), frame) : state;
    case "debrief":
      return onDebrief(step(state), frame);
    case "error":
      return onError(step(state), frame);
    case "answer_received":
      return state.outbox && frame.answer_id === state.outbox.id ? onReceived(step(state), frame) : state;
    case "session_taken_over":
      return onTakenOver(step(state), frame.message);
    case "pad":
      return onPad(step(state), frame);
    case "run_result":
      return frame.run && typeof frame.run === "object" && typeof frame.run.id === "string"
        ? onRunResult(step(state), frame.run)
        : state;
    default:
      return state;
  }
}

/**
 * A local event:
 *   {type: "send", text, id}     the answer frame went out (check canSend first; build it with answerFrame)
 *   {type: "end"}                the "end the round" control frame went out (check canEnd first)
 *   {type: "socket", status}     the socket's status changed (frontend/js/ws.js)
 *   {type: "toggle_grades"}      show or hide the grade panel
 *   {type: "transcript", transcript}  the REST transcript, fetched while the debrief frame is awaited
 *   {type: "run"}                the pad's code went out in a `run` frame (check canRun first)
 * Unknown events are ignored: the same state comes back.
 */
export function applyEvent(state, event) {
  if (!event || typeof event !== "object") return state;
  switch (event.type) {
    case "send":
      return canSend(state, event.text) ? onSend(step(state), event.text.trim(), event.id) : state;
    case "end":
      return canEnd(state) ? { ...step(state), ending: true } : state;
    case "socket":
      return onSocket(step(state), event.status);
    case "toggle_grades": {
      const s = step(state);
      s.showGrades = !s.showGrades;
      s.effects.push({ type: "save_show_grades", show: s.showGrades });
      return s;
    }
    case "transcript":
      return onTranscript(state, event.transcript);
    case "run":
      return canRun(state) ? { ...step(state), running: true } : state;
    default:
      return state;
  }
}

/** Whether the pad's Run button may send a `run` frame now. */
export function canRun(state) {
  return (
    state.conn === "connected" &&
    state.gotState &&
    Boolean(state.pad) &&
    state.pad.execution !== false &&
    !state.running &&
    state.status !== "ended"
  );
}

/** The latest run for the pad's question (from the pad or from an answer), or null. */
export function latestRun(state) {
  if (!state.pad) return null;
  for (let i = state.runs.length - 1; i >= 0; i -= 1) {
    if (state.runs[i].question_id === state.pad.question_id) return state.runs[i];
  }
  return null;
}

/** The answer text with the pad's code quoted after the candidate's words (what the server stores as the turn). */
export function withCode(text, code, language) {
  const words = String(text ?? "").trim();
  const body = String(code ?? "").trim();
  if (!body || words.includes(body)) return words;
  const fence = "```" + (language || "") + "\n" + body + "\n```";
  return words ? `${words}\n\n${fence}` : fence;
}

// ------------------------------------------------------------------ questions the page asks

/** Whether `draft` can be sent as the candidate's answer now. */
export function canSend(state, draft) {
  return (
    state.conn === "connected" &&
    !state.takenOver &&
    state.gotState &&
    state.status === "awaiting_answer" &&
    !state.pending &&
    !state.live &&
    typeof draft === "string" &&
    draft.trim().length > 0
  );
}

/** The index of the interviewer turn waiting for an answer, or null. */
export function pendingTurn(state) {
  if (state.status !== "awaiting_answer") return null;
  const last = state.turns[state.turns.length - 1];
  return last && last.role === "interviewer" && Number.isInteger(last.index) ? last.index : null;
}

/** The answer frame for `text`: with the client's id for it and the turn it answers (docs/protocol.md). */
export function answerFrame(state, text, id, code = "", language = "") {
  const frame = { type: "answer", text: text.trim(), answer_id: id };
  const turn = pendingTurn(state);
  if (turn !== null) frame.turn = turn;
  if (code) Object.assign(frame, { code, language }); // the editor's code (also fenced in the text)
  return frame;
}

/** A fresh client id for an answer (letters, digits and `-`, as the protocol allows). */
export function newAnswerId(random = Math.random) {
  let id = "a";
  for (let i = 0; i < 20; i += 1) id += Math.floor(random() * 36).toString(36);
  return id;
}

/** Whether "End interview" may be asked for now (the page still confirms and needs an open socket). */
export function canEnd(state) {
  return state.status !== "ended" && !state.ending;
}

/** The status the header shows: "connecting" until the first `state` frame, "ending" while the round closes. */
export function displayStatus(state) {
  if (!state.gotState) return "connecting";
  if (state.ending && state.status !== "ended") return "ending";
  return state.status;
}

/** "rejected", "retryable" or null for an error code (protocol.js). */
export function errorCategory(code) {
  return typeof code === "string" && Object.hasOwn(ERROR_CODES, code) ? ERROR_CODES[code] : null;
}

/** The answer box after an answer that did not reach the server is put back in it. */
export function restoredDraft(draft, text) {
  if (!draft.trim()) return text;
  if (draft.includes(text)) return draft;
  return `${text}\n\n${draft}`;
}

/**
 * What became of the pending answer between two states: null while it is unchanged (or there was none),
 * {kept: true, index} when the server took it, {kept: false} when it was dropped.
 */
export function pendingOutcome(prev, next) {
  if (!prev.pending || prev.pending === next.pending) return null;
  if (next.epoch !== prev.epoch) return { kept: false };
  const taken = next.turns.find((t) => t.role === "candidate" && t.text === prev.pending.text && !prev.turns.includes(t));
  return taken ? { kept: true, index: taken.index } : { kept: false };
}

/** Interviewer turns that were finished (added or replaced) between two states of the same epoch. */
export function finishedInterviewerTurns(prev, next) {
  if (prev.turns === next.turns || next.epoch !== prev.epoch) return [];
  return next.turns.filter((t) => t.role === "interviewer" && !prev.turns.includes(t));
}

/** Whether the candidate turns (and so the grade panel) differ between two states. */
export function candidatesChanged(prev, next) {
  if (prev.turns === next.turns) return false;
  const a = prev.turns.filter((t) => t.role === "candidate");
  const b = next.turns.filter((t) => t.role === "candidate");
  return a.length !== b.length || a.some((t, i) => t !== b[i]);
}

// ------------------------------------------------------------------ frames

/** A copy to build the next state in (top-level fields only are reassigned), with no effects yet. */
function step(state) {
  return { ...state, effects: [] };
}

function onState(s, f) {
  s.gotState = true;
  s.round = f.round || s.round;
  s.level = f.level || s.level;
  if (typeof f.started_at === "number" && Number.isFinite(f.started_at)) s.startedAt = f.started_at;
  s.effects.push({
    type: "session_seen",
    info: { round: s.round && s.round.id, round_title: s.round && s.round.title, level: s.level },
  });
  if (f.brain_label) s.effects.push({ type: "brain_label", label: f.brain_label, brain: f.brain });
  if (f.limits && Number.isInteger(f.limits.max_answer_chars)) {
    s.limits = { ...s.limits, max_answer_chars: f.limits.max_answer_chars };
  }
  if (f.mode === "exam" || f.mode === "practice") s.mode = f.mode;
  const hidden = s.mode === "exam" && f.status !== "ended";
  const turns = Array.isArray(f.turns) ? f.turns.map((t) => (hidden ? withoutGrade(t) : { ...t })) : [];
  turns.sort((a, b) => (a.index ?? 0) - (b.index ?? 0));

  // An answer not yet confirmed on the server's disk: is it in the transcript, or must it go again?
  const box = s.outbox;
  if (box) {
    const last = turns[turns.length - 1];
    const awaitingIt = f.status === "awaiting_answer" && last && last.role === "interviewer";
    if (turns.some((t) => t.role === "candidate" && t.answer_id === box.id)) {
      s.outbox = null; // the server has it
      s.effects.push({ type: "save_outbox", outbox: null });
    } else if (awaitingIt && last.index === box.turn) {
      // the server never got it (or lost it before it was saved): it goes again, as the same answer, when the
      // server says the turn again (the interviewer_done right after this frame)
    } else if (awaitingIt) {
      // the interview moved on without it (another tab answered): it was for an earlier question
      s.outbox = null;
      s.effects.push({ type: "save_outbox", outbox: null });
      s.effects.push({ type: "restore_answer", text: box.text });
      s.effects.push({
        type: "toast",
        kind: "info",
        message: "Your last answer was for an earlier question and was not sent. It's back in the box.",
      });
    }
    s.pending = null; // still speaking: kept in the outbox, decided on the next state or turn
  }
  // An answer we sent but never saw taken: did it reach the server before the connection dropped?
  if (s.pending) {
    const lastCandidate = [...turns].reverse().find((t) => t.role === "candidate");
    const reached = lastCandidate && String(lastCandidate.text ?? "").trim() === s.pending.text.trim();
    if (!reached) {
      s.effects.push({ type: "restore_answer", text: s.pending.text });
      s.effects.push({
        type: "toast",
        kind: "info",
        message: "Your last answer didn't reach the interviewer. It's back in the box \u2014 send it again.",
      });
    }
    s.pending = null;
  }
  s.turns = turns;
  s.epoch += 1;
  s.live = null;
  s.status = f.status || "awaiting_answer";
  s.typing = s.status === "speaking";
  if (f.debrief) s.debrief = f.debrief;
  if (Array.isArray(f.runs)) s.runs = f.runs.filter((r) => r && typeof r.id === "string");
  if (f.execution && typeof f.execution === "object") s.execution = { ...s.execution, ...f.execution };
  s.running = false; // a run's result that was lost with the connection is in `runs` if it finished
  if (s.status === "ended") {
    s.effects.push({ type: "mark_ended" });
    s.effects.push({ type: s.debrief ? "show_debrief" : "wait_for_debrief" });
  }
  return s;
}

function onDelta(s, f) {
  resolvePending(s);
  s.status = "speaking";
  const text = typeof f.text === "string" ? f.text : "";
  if (s.live) {
    s.live = { text: s.live.text + text };
  } else {
    s.live = { text };
    s.typing = false;
  }
  return s;
}

function onDone(s, f) {
  if (s.outbox && f.move !== "end" && Number.isInteger(f.index) && f.index === s.outbox.turn) {
    // the turn our unconfirmed answer answers is waiting (again): the server does not have the answer, so it
    // goes again, as the same answer (same id: never filed twice)
    const box = s.outbox;
    s.turns = upsertTurn(s.turns, { index: f.index, role: "interviewer", text: typeof f.text === "string" ? f.text : "",
      move: f.move || null, principle: (!withholdsGrades(s) && f.principle) || null, question_id: f.question_id || null });
    s.effects.push({ type: "resend", frame: { type: "answer", text: box.text, answer_id: box.id, turn: box.turn } });
    s.pending = { text: box.text, prevStatus: "awaiting_answer" };
    s.live = null;
    s.status = "speaking";
    s.typing = true;
    return s;
  }
  resolvePending(s, Number.isInteger(f.index) ? f.index - 1 : undefined);
  const turn = {
    index: Number.isInteger(f.index) ? f.index : nextIndex(s.turns),
    role: "interviewer",
    text: typeof f.text === "string" ? f.text : s.live ? s.live.text : "",
    move: f.move || null,
    principle: (!withholdsGrades(s) && f.principle) || null,
    question_id: f.question_id || null,
  };
  s.turns = upsertTurn(s.turns, turn);
  // a new session's `state` frame comes before its round starts: its clock starts with the first question
  if (s.startedAt === null && typeof f.at === "number" && Number.isFinite(f.at)) s.startedAt = f.at;
  s.live = null;
  s.typing = false;
  s.status = turn.move === "end" ? "ended" : "awaiting_answer";
  if (s.status === "awaiting_answer") s.effects.push({ type: "focus_answer" });
  if (s.status === "ended" && !s.debrief) s.effects.push({ type: "wait_for_debrief" });
  return s;
}

function onGrade(s, f) {
  let turn = s.turns.find((t) => t.index === f.turn);
  if (!turn && s.pending) {
    resolvePending(s, f.turn);
    turn = s.turns.find((t) => t.index === f.turn);
  }
  const grade = withoutType(f);
  if (turn) s.turns = s.turns.map((t) => (t === turn ? { ...t, grade } : t));
  else s.turns = upsertTurn(s.turns, { index: f.turn, role: "candidate", text: "", grade });
  return s;
}

function onDebrief(s, f) {
  s.debrief = withoutType(f);
  s.status = "ended";
  s.effects.push({ type: "mark_ended" });
  s.effects.push({ type: "show_debrief" });
  return s;
}

function onError(s, f) {
  const code = typeof f.code === "string" ? f.code : "error";
  const category = errorCategory(code);
  let action;
  if (s.pending && category === "rejected") {
    // The server did not take the answer: put it back in the box.
    const { text, prevStatus } = s.pending;
    s.pending = null;
    if (s.outbox) {
      s.outbox = null;
      s.effects.push({ type: "save_outbox", outbox: null });
    }
    s.effects.push({ type: "restore_answer", text });
    if (s.status === "speaking" && !s.live) s.status = prevStatus;
    s.typing = false;
  } else if (category === "retryable") {
    // The answer is kept on the server; reconnecting retries the interviewer's turn.
    resolvePending(s);
    s.live = null;
    s.typing = false;
    s.status = "unavailable";
    action = { label: code === "internal_error" ? "Reconnect" : "Retry", command: "restart" };
  }
  if (code === "round_ended") {
    s.status = "ended";
    if (!s.debrief) s.effects.push({ type: "wait_for_debrief" });
  }
  s.ending = s.ending && code !== "rate_limited" && category !== "retryable";
  s.effects.push({ type: "toast", kind: "error", message: f.message || "Something went wrong.", code, action });
  return s;
}

// ------------------------------------------------------------------ local events

function onSend(s, text, id) {
  const turn = pendingTurn(s);
  if (typeof id === "string" && id) {
    s.outbox = { id, turn, text };
    s.effects.push({ type: "save_outbox", outbox: s.outbox });
  }
  s.pending = { text, prevStatus: s.status };
  s.status = "speaking"; // the interviewer's turn comes next
  s.typing = true;
  return s;
}

function onReceived(s, f) {
  if (!s.outbox || f.answer_id !== s.outbox.id) return s;
  if (s.pending) resolvePending(s, Number.isInteger(f.index) ? f.index : undefined);
  const idx = Number.isInteger(f.index) ? f.index : null;
  s.turns = s.turns.map((t) => (t.role === "candidate" && (t.index === idx || t.answer_id === f.answer_id)
    ? { ...t, answer_id: f.answer_id, saved: true } : t));
  s.outbox = null;
  s.effects.push({ type: "save_outbox", outbox: null });
  return s;
}

function onTakenOver(s, message) {
  s.takenOver = true;
  s.live = null;
  s.typing = false;
  s.effects.push({
    type: "toast",
    kind: "info",
    message: typeof message === "string" && message ? message : "This interview was opened in another tab.",
    action: { label: "Use this tab", command: "take_over" },
  });
  return s;
}

function onSocket(s, status) {
  if (status === "taken_over") {
    const already = s.takenOver;
    s.conn = status;
    if (!already) return onTakenOver(s);
    return s;
  }
  if (status === "connected") s.takenOver = false;
  s.conn = status;
  if (status === "reconnecting") {
    // A live bubble cannot be finished once the connection drops; the next `state` frame resends the turn.
    s.failedChecks += 1;
    // Never connected at all: ask the REST API at once whether the session still exists (a browser only sees
    // a failed handshake, not the server's reason). Otherwise give a flaky network a few tries first.
    if (s.failedChecks === 4 || (!s.gotState && s.failedChecks === 1)) s.effects.push({ type: "check_session" });
  }
  if (status === "connected") s.failedChecks = 0;
  if (status === "unauthorized") s.effects.push({ type: "refused" });
  return s;
}

function onPad(s, f) {
  if (f.shown === false) {
    s.pad = null;
    s.effects.push({ type: "hide_pad" });
    return s;
  }
  const pad = withoutType(f);
  s.pad = {
    question_id: typeof pad.question_id === "string" ? pad.question_id : null,
    title: typeof pad.title === "string" ? pad.title : null,
    language: pad.language === "python" ? "python" : "sql",
    fixed: Boolean(pad.fixed),
    checked: Boolean(pad.checked),
    tables: Array.isArray(pad.tables) ? pad.tables : [],
    entry_point: typeof pad.entry_point === "string" ? pad.entry_point : null,
    tests: Array.isArray(pad.tests) ? pad.tests.filter((t) => typeof t === "string") : [],
    code: typeof pad.code === "string" ? pad.code : "",
    execution: pad.execution !== false,
    message: typeof pad.message === "string" ? pad.message : null,
  };
  s.effects.push({ type: "show_pad" });
  return s;
}

function onRunResult(s, run) {
  const i = s.runs.findIndex((r) => r.id === run.id);
  s.runs = i < 0 ? [...s.runs, run] : s.runs.map((r, j) => (j === i ? run : r));
  if (run.source === "pad") s.running = false;
  s.effects.push({ type: "run_result", run });
  return s;
}

function onTranscript(state, t) {
  if (state.debrief || !t || !t.debrief) return state;
  const s = step(state);
  s.debrief = t.debrief;
  if (Array.isArray(t.turns)) {
    s.turns = t.turns;
    s.epoch += 1;
  }
  if (Array.isArray(t.runs)) s.runs = t.runs;
  s.effects.push({ type: "show_debrief" });
  return s;
}

// ------------------------------------------------------------------ helpers

/** The server has taken our pending answer: it becomes a real transcript turn. */
function resolvePending(s, index) {
  if (!s.pending) return;
  const idx = Number.isInteger(index) && index >= 0 ? index : nextIndex(s.turns);
  const turn = { index: idx, role: "candidate", text: s.pending.text };
  if (s.outbox && s.outbox.text === s.pending.text) turn.answer_id = s.outbox.id;
  s.turns = upsertTurn(s.turns, turn);
  s.pending = null;
}

/** An outbox read back from storage: only the known fields, with sane types. */
function cleanOutbox(box) {
  if (!box || typeof box !== "object") return null;
  const { id, turn, text } = box;
  if (typeof id !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(id) || typeof text !== "string" || !text) return null;
  return { id, turn: Number.isInteger(turn) ? turn : null, text };
}

function nextIndex(turns) {
  return turns.reduce((m, t) => Math.max(m, Number.isInteger(t.index) ? t.index : -1), -1) + 1;
}

function upsertTurn(turns, turn) {
  const i = turns.findIndex((t) => t.index === turn.index);
  if (i < 0) return [...turns, turn].sort((a, b) => a.index - b.index);
  const merged = { ...turns[i], ...turn, grade: turn.grade || turns[i].grade };
  return turns.map((t, j) => (j === i ? merged : t));
}

/** A turn with nothing that names a grade or a principle (exam mode before the end). */
function withoutGrade(turn) {
  const rest = { ...turn };
  delete rest.grade;
  delete rest.principle;
  return rest;
}

function withoutType(frame) {
  const rest = { ...frame };
  delete rest.type;
  return rest;
}
