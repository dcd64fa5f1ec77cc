// Interview room: the streaming transcript, the answer box and the live grade panel.
// This file only wires the socket and the REST API to the room's state machine (../room/state.js) and its
// DOM (../room/view.js), and carries out the effects each new state asks for.
import { replaceChildren } from "../dom.js";
import { getTranscript, ApiError } from "../api.js";
import { SessionSocket, sessionSocketUrl } from "../ws.js";
import {
  tokenFor,
  getShowGrades,
  setShowGrades,
  markEnded,
  currentSession,
  forgetCurrent,
  recordSessionSeen,
  recordSessionEnd,
  getOutbox,
  setOutbox,
  historyEntry,
} from "../store.js";
import { loadDraft, saveDraft, clearDraft } from "../drafts.js";
import { retryBanner } from "./retry.js";
import { showToast, clearToasts } from "../toast.js";
import {
  initialState,
  applyFrame,
  applyEvent,
  canSend,
  canEnd,
  canRun,
  latestRun,
  withCode,
  answerFrame,
  newAnswerId,
} from "../room/state.js";
import { createRoomView, problemCard } from "../room/view.js";
import { createPadView } from "../pad/view.js";
import { loadDraft as loadPadDraft, saveDraft as savePadDraft } from "../pad/draft.js";
import { mountDebrief } from "./debrief.js";
import { createVoice } from "../voice/voice.js";

const PAD_SAVE_MS = 1200; // the pad's content goes to the server this long after the last keystroke

export function mountRoom(root, ctx, sessionId) {
  const token = tokenFor(sessionId);
  if (!token) {
    replaceChildren(root, problemCard(ctx, "This interview isn't on this device",
      "The key for this session is stored in the browser that started it. Open it there, or start a new interview."));
    return () => {};
  }

  let state = initialState({ showGrades: getShowGrades(), outbox: getOutbox(sessionId) });
  let destroyed = false;
  let debriefCleanup = null;
  let pollTimer = null;
  let draftTimer = null;
  let padTimer = null;
  // what a toast's button may ask for
  const commands = { restart: () => sock.restart(), take_over: () => sock.takeOver() };

  const padView = createPadView({ onRun: runPad, onChange: padChanged });
  const view = createRoomView({
    pad: padView.element,
    onSend: send,
    onEnd: endInterview,
    onToggleGrades: () => dispatch(applyEvent(state, { type: "toggle_grades" })),
    onActivity: () => {
      if (state.conn === "paused") sock.reconnectNow();
    },
    onDraft: (text) => {
      // what is typed is kept per session, so a reload does not lose it
      clearTimeout(draftTimer);
      draftTimer = setTimeout(() => saveDraft(sessionId, text), 250);
    },
  });
  const entry = historyEntry(sessionId);
  if (entry && entry.retry_of) view.element.prepend(retryBanner(sessionId, entry.retry_of));
  replaceChildren(root, view.element);
  view.render(state);
  view.setDraft(loadDraft(sessionId));
  view.focusAnswer(); // Start (or a link) brought the candidate here to answer
  const clockTimer = setInterval(() => view.tick(Date.now()), 1000);

  let voice = null; // voice mode (../voice/voice.js): it sees every frame first and keeps its own
  let takenBack = null; // a spoken answer the server took back because the candidate went on
  const sock = new SessionSocket(sessionSocketUrl(sessionId, token), {
    onFrame: (frame) => {
      if (destroyed || (voice && voice.handleFrame(frame))) return;
      dispatch(applyFrame(state, frame));
      if (frame.type === "state") takenBack = null;
    },
    onBinary: (data) => {
      if (!destroyed && voice) voice.handleBinary(data);
    },
    onStatus: (status) => {
      if (destroyed) return;
      if (voice) voice.onSocket(status);
      dispatch(applyEvent(state, { type: "socket", status }));
    },
  });
  voice = createVoice({
    sock,
    roundId: () => state.round && state.round.id,
    onSpoken: (text) => dispatch(applyEvent(state, { type: "send", text })), // a spoken answer, as if typed
    onTakenBack: (text) => {
      takenBack = text; // the state frame that follows must not put it in the answer box as "not delivered"
    },
  });
  const main = view.element.querySelector(".room__main");
  main.insertBefore(voice.element, main.querySelector(".composer"));
  sock.connect();

  /** Move to the next state: draw it, then do what it asks. */
  function dispatch(next) {
    if (next === state) return; // ignored frame or event
    const prev = state;
    state = next;
    view.update(prev, next);
    padView.setBusy(next.running, canRun(next));
    for (const effect of next.effects) run(effect);
  }

  function run(effect) {
    switch (effect.type) {
      case "session_seen":
        return recordSessionSeen(sessionId, effect.info);
      case "brain_label":
        return ctx.setBrainLabel(effect.label, effect.brain);
      case "restore_answer":
        if (takenBack !== null && effect.text === takenBack) return undefined; // still being spoken, not lost
        return view.restoreAnswer(effect.text);
      case "toast": {
        if (takenBack !== null && effect.kind === "info") {
          takenBack = null; // the "didn't reach the interviewer" notice of that same state frame
          return undefined;
        }
        const { kind, message, code, action } = effect;
        return showToast({ kind, message, code, action: action && { label: action.label, onClick: commands[action.command] } });
      }
      case "mark_ended":
        return markEnded(sessionId);
      case "show_debrief":
        return showDebrief();
      case "wait_for_debrief":
        return waitForDebrief();
      case "focus_answer":
        return view.focusAnswerIfIdle();
      case "check_session":
        return checkSessionExists();
      case "refused":
        return replaceChildren(root, problemCard(ctx, "The server refused this session's key",
          "The link may be old or the server was reset. Start a new interview.", sessionId));
      case "save_show_grades":
        return setShowGrades(effect.show);
      case "save_outbox":
        return setOutbox(sessionId, effect.outbox);
      case "resend":
        return sock.send(effect.frame);
      case "show_pad":
        return showPad();
      case "hide_pad":
        padView.show(null);
        return view.element.classList.remove("room--pad");
      case "run_result":
        return effect.run.question_id === state.pad?.question_id ? padView.showRun(effect.run) : undefined;
      default:
        return undefined;
    }
  }

  // ------------------------------------------------------------------ the candidate's actions
  function send() {
    const code = padView.attaching(); // the pad's code goes with the answer when its box is ticked
    const language = padView.language();
    const text = withCode(view.draft(), code, language);
    if (!canSend(state, text)) return;
    const id = newAnswerId(() => crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32);
    if (!sock.send(answerFrame(state, text, id, code, language))) {
      showToast({ kind: "error", message: "Not connected right now. Your answer is still in the box." });
      return;
    }
    if (code) padView.attached(code);
    view.clearDraft();
    clearTimeout(draftTimer);
    clearDraft(sessionId);
    dispatch(applyEvent(state, { type: "send", text, id }));
  }

  // ------------------------------------------------------------------ the code pad
  function showPad() {
    const pad = state.pad;
    const draft = loadPadDraft(sessionId, pad.question_id);
    const local = draft && draft.language === pad.language ? draft.code : "";
    padView.show(pad, pad.code || local);
    padView.showRun(latestRun(state));
    padView.setBusy(state.running, canRun(state));
    view.element.classList.add("room--pad");
    if (!pad.code && local) padChanged(local, pad.language); // the server gets what this browser kept
  }

  function padChanged(code, language) {
    const pad = state.pad;
    if (!pad) return;
    savePadDraft(sessionId, pad.question_id, code, language);
    clearTimeout(padTimer);
    padTimer = setTimeout(() => sock.send({ type: "pad", code, language }), PAD_SAVE_MS);
  }

  function runPad() {
    if (!canRun(state)) return;
    const code = padView.value();
    if (!code.trim()) {
      showToast({ kind: "info", message: "Write some code in the pad first." });
      return;
    }
    if (!sock.send({ type: "run", code, language: padView.language() })) {
      showToast({ kind: "error", message: "Not connected right now. Run again when the connection is back." });
      return;
    }
    dispatch(applyEvent(state, { type: "run" }));
  }

  function endInterview() {
    if (!canEnd(state)) return;
    // eslint-disable-next-line no-alert -- ending cannot be undone: the browser's own confirmation is deliberate
    const ok = window.confirm("End the interview now? You'll get the debrief for what you've covered so far.");
    if (!ok) return;
    if (!sock.send({ type: "control", action: "end" })) {
      showToast({ kind: "error", message: "Not connected right now. Try again when the connection is back." });
      return;
    }
    dispatch(applyEvent(state, { type: "end" }));
  }

  // ------------------------------------------------------------------ the REST side
  async function checkSessionExists() {
    try {
      await getTranscript(sessionId, token);
    } catch (err) {
      if (destroyed) return;
      if (err instanceof ApiError && (err.status === 404 || err.status === 401)) {
        sock.close();
        const cur = currentSession();
        if (cur && cur.session_id === sessionId) forgetCurrent();
        replaceChildren(root, problemCard(ctx,
          err.status === 404 ? "This interview no longer exists" : "The server refused this session's key",
          err.status === 404 ? "The server doesn't know this session (it may have been reset). Start a new interview."
                             : "The link may be old or the server was reset. Start a new interview.",
          sessionId));
      }
    }
  }

  /** The round is over but no debrief frame came: ask the REST API for it a few times. */
  function waitForDebrief() {
    if (pollTimer || state.debrief) return;
    let tries = 0;
    const poll = async () => {
      pollTimer = null;
      if (destroyed || state.debrief) return;
      tries += 1;
      try {
        const t = await getTranscript(sessionId, token);
        if (destroyed || state.debrief) return;
        if (t && t.debrief) {
          dispatch(applyEvent(state, { type: "transcript", transcript: t }));
          return;
        }
      } catch {
        /* keep waiting; the debrief frame may still arrive on the socket */
      }
      if (tries < 20) pollTimer = setTimeout(poll, Math.min(1000 * tries, 5000));
    };
    pollTimer = setTimeout(poll, 2500);
  }

  function showDebrief() {
    if (destroyed || debriefCleanup) return;
    recordSessionEnd(sessionId, state.debrief);
    clearTimeout(pollTimer);
    voice.destroy();
    clearInterval(clockTimer);
    clearTimeout(draftTimer);
    clearDraft(sessionId);
    sock.close();
    clearToasts();
    debriefCleanup = mountDebrief(root, ctx, {
      sessionId,
      token,
      debrief: state.debrief,
      round: state.round,
      level: state.level,
      turns: state.turns,
      runs: state.runs,
    });
    window.scrollTo({ top: 0 });
    // the room's controls are gone: the keyboard focus goes to the page, not to <body>
    if (!root.contains(document.activeElement)) root.focus({ preventScroll: true });
  }

  return () => {
    destroyed = true;
    clearTimeout(pollTimer);
    clearTimeout(padTimer);
    padView.destroy();
    voice.destroy();
    clearInterval(clockTimer);
    if (draftTimer) {
      clearTimeout(draftTimer);
      if (!debriefCleanup) saveDraft(sessionId, view.draft()); // leaving within the debounce: keep the last keys
    }
    sock.close();
    if (debriefCleanup) debriefCleanup();
  };
}
