// The interview room's DOM: built once, then brought up to date from the room state (./state.js).
// The transcript is patched between two states (a streaming bubble is updated in place, new bubbles are
// appended) and rebuilt when the state's epoch moves (a `state` frame replaced the turns).
import { el, clear, replaceChildren } from "../dom.js";
import { forgetSession } from "../store.js";
import {
  interviewerTurn,
  finalizeInterviewerTurn,
  setInterviewerText,
  candidateTurn,
  markCandidateSent,
  typingIndicator,
  gradeEntry,
} from "../components.js";
import {
  canSend,
  candidatesChanged,
  displayStatus,
  finishedInterviewerTurns,
  pendingOutcome,
  restoredDraft,
} from "./state.js";
import { roundClock } from "./clock.js";

const IS_MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || "");

const CONN_TEXT = {
  connecting: "Connecting\u2026",
  connected: "Connected",
  reconnecting: "Reconnecting\u2026",
  paused: "Paused while idle \u2014 type to resume",
  unauthorized: "Access denied",
  taken_over: "Open in another tab \u2014 read-only here",
  closed: "Offline",
};

const STATUS_TEXT = {
  connecting: "Connecting",
  speaking: "Interviewer is speaking",
  awaiting_answer: "Your turn",
  ended: "Round over",
  ending: "Wrapping up\u2026",
  unavailable: "Interviewer unavailable \u2014 your answer is saved",
  unavailable_unsaved: "Server problem \u2014 your answer is kept on this page",
};

const PLACEHOLDER = "Type your answer. Think out loud \u2014 structure beats speed.";

/**
 * Build the room. The handlers are called on the candidate's actions:
 *   onSend()          Send, Ctrl/Cmd+Enter or the form's submit
 *   onEnd()           End interview
 *   onToggleGrades()  Show / Hide grades
 *   onActivity()      the answer box was focused or typed in (a paused socket resumes then)
 *   onDraft(text)     the answer box changed (typed in, or an answer put back): the draft to keep
 * Returns {element, render(state), update(prev, next), draft(), clearDraft(), setDraft(text), restoreAnswer(text),
 * focusAnswer(), focusAnswerIfIdle(), tick(now)}.
 * `pad` is the code pad's element (../pad/view.js), placed beside the conversation, or null.
 */
export function createRoomView({ onSend, onEnd, onToggleGrades, onActivity, onDraft = () => {}, pad = null }) {
  let current = null; // the state last drawn
  let userScrolledUp = false;
  let pendingNode = null; // the bubble of the answer waiting to be taken
  let liveNode = null; // the bubble of the interviewer turn streaming now
  const interviewerNodes = new Map(); // transcript index -> interviewer bubble
  let endNoticeText = null;

  const titleEl = el("h1", { class: "room__title", text: "Interview" });
  const subEl = el("p", { class: "room__sub muted", text: "Connecting to your interviewer\u2026" });
  const statusPill = el("span", { class: "status-pill", "data-testid": "status", "data-status": "connecting", text: "Connecting" });
  const connText = el("span", { class: "conn__text", text: "Connecting\u2026" });
  const connPill = el("span", { class: "conn", "data-testid": "connection", "data-state": "connecting", role: "status" },
    el("span", { class: "conn__dot", "aria-hidden": "true" }), connText);
  // the round clock: time left of the round's budget (role timer: read on request, never announced every second)
  const clockEl = el("span", { class: "round-clock", "data-testid": "round-clock", role: "timer", "aria-live": "off", hidden: true });

  const toggleBtn = el("button", {
    type: "button",
    class: "btn btn--ghost btn--small",
    "data-testid": "toggle-grades",
    "aria-controls": "grade-panel",
    onclick: () => onToggleGrades(),
  });
  // exam mode: no grade panel and no toggle, only this quiet note (the grades come with the debrief)
  const examNote = el("p", { class: "exam-note", "data-testid": "exam-note", hidden: true,
    text: "Exam mode: grades come in the debrief." });
  const endBtn = el("button", {
    type: "button",
    class: "btn btn--danger-ghost btn--small",
    "data-testid": "end",
    disabled: true,
    text: "End interview",
    onclick: () => onEnd(),
  });

  const transcript = el("div", {
    class: "transcript",
    "data-testid": "transcript",
    role: "log",
    "aria-live": "polite",
    "aria-relevant": "additions text",
    "aria-label": "Interview transcript",
    tabindex: "0",
  });
  transcript.addEventListener("scroll", () => {
    userScrolledUp = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight > 80;
  });
  const typing = typingIndicator();
  const endNotice = el("div", { class: "end-notice", hidden: true });

  const answer = el("textarea", {
    class: "composer__input",
    "data-testid": "answer",
    id: "answer",
    rows: "4",
    "aria-label": "Your answer",
    "aria-describedby": "composer-hint char-count",
    placeholder: PLACEHOLDER,
    spellcheck: "true",
  });
  const counter = el("span", { class: "composer__count", id: "char-count", "data-testid": "char-count", "aria-live": "off" });
  const sendBtn = el("button", { type: "button", class: "btn btn--primary", "data-testid": "send", disabled: true, onclick: () => onSend() }, "Send");
  const hint = el("span", { class: "composer__hint muted", id: "composer-hint", text: `${IS_MAC ? "\u2318" : "Ctrl"} + Enter to send` });
  answer.addEventListener("input", () => renderComposer(current));
  answer.addEventListener("focus", () => onActivity());
  answer.addEventListener("keydown", () => onActivity());
  answer.addEventListener("input", () => onActivity());
  answer.addEventListener("input", () => onDraft(answer.value));
  answer.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      onSend();
    }
  });
  const composer = el("form", { class: "composer", onsubmit: (ev) => { ev.preventDefault(); onSend(); } },
    answer,
    el("div", { class: "composer__bar" }, el("div", { class: "composer__info" }, hint, counter), sendBtn));

  const gradeList = el("div", { class: "grade-list" });
  const gradePanel = el(
    "aside",
    { class: "grade-panel", id: "grade-panel", "data-testid": "grade-panel", "aria-label": "Live grades" },
    el("div", { class: "grade-panel__head" },
      el("h2", { class: "grade-panel__title", text: "Live grades" }),
      el("p", { class: "muted small", text: "How a bar raiser would score each answer, with the words that earned it." })),
    gradeList,
  );

  const grid = el("div", { class: "room__grid" },
    el("section", { class: "room__main", "aria-label": "Conversation" }, transcript, composer),
    pad,
    gradePanel);
  const element = el(
    "div",
    { class: "room" },
    el(
      "div",
      { class: "room__bar" },
      el("div", { class: "room__heading" }, titleEl, el("div", { class: "room__meta" }, subEl, clockEl), examNote),
      el("div", { class: "room__actions" }, statusPill, connPill, toggleBtn, endBtn),
    ),
    grid,
  );
  // On a phone the conversation takes the screen below what sits above it (the header, the room's bar, a
  // banner), so the answer box and Send stay in view: the CSS reads that height from --room-above.
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(() => {
      const above = grid.getBoundingClientRect().top - element.getBoundingClientRect().top;
      element.style.setProperty("--room-above", `${Math.max(0, Math.round(above))}px`);
    }).observe(element);
  }

  // ------------------------------------------------------------------ drawing

  /** The first drawing, once the element is in the page: no transcript until the first `state` frame. */
  function render(state) {
    current = state;
    renderGradeVisibility(state);
    renderComposer(state);
    renderGrades(state);
  }

  function update(prev, next) {
    current = next;
    if (next.startedAt !== prev.startedAt || next.status !== prev.status || next.round !== prev.round) tick(Date.now());
    const reset = next.epoch !== prev.epoch;
    // A rebuilt transcript scrolls to its end at once; a patched one once the composer below it is redrawn.
    const scroll = reset ? renderTranscript(next) : patchTranscript(prev, next);
    if (reset || candidatesChanged(prev, next)) renderGrades(next);
    if (next.showGrades !== prev.showGrades || next.mode !== prev.mode) renderGradeVisibility(next);
    if (next.conn !== prev.conn) renderConnection(next);
    renderComposer(next);
    if (scroll && !reset) scrollToEnd();
  }

  function renderConnection(state) {
    connPill.setAttribute("data-state", state.conn);
    connText.textContent = CONN_TEXT[state.conn] || state.conn;
  }

  function renderHeader(state) {
    if (state.round) {
      titleEl.textContent = state.round.title || state.round.id || "Interview";
      const bits = [state.level, state.round.duration_min ? `about ${state.round.duration_min} min` : null].filter(Boolean);
      subEl.textContent = bits.join(" \u00B7 ");
    }
    const status = displayStatus(state);
    // "saved" only once the server confirmed it (answer_received); until then the page holds the answer
    const shown = status === "unavailable" && state.outbox ? "unavailable_unsaved" : status;
    statusPill.textContent = STATUS_TEXT[shown] || status;
    statusPill.setAttribute("data-status", status);
    endBtn.disabled = !state.gotState || state.status === "ended" || state.ending || state.conn !== "connected";
    endBtn.textContent = state.ending ? "Ending\u2026" : "End interview";
  }

  /** Rebuild the transcript from the turns (after a `state` frame). */
  function renderTranscript(state) {
    clear(transcript);
    interviewerNodes.clear();
    pendingNode = null;
    liveNode = null;
    if (!state.turns.length && state.status !== "speaking") {
      transcript.appendChild(el("p", { class: "transcript__empty muted", text: "Your interviewer will open the round in a moment." }));
    }
    for (const t of state.turns) {
      if (t.role === "interviewer") {
        const node = interviewerTurn(t);
        if (Number.isInteger(t.index) && !interviewerNodes.has(t.index)) interviewerNodes.set(t.index, node);
        transcript.appendChild(node);
      } else if (t.role === "candidate") {
        transcript.appendChild(candidateTurn(t));
      }
    }
    if (state.typing) transcript.appendChild(typing);
    transcript.appendChild(endNotice);
    userScrolledUp = false;
    scrollToEnd();
    return true;
  }

  /** Bring the transcript from `prev` to `next` in place: new bubbles go at the end. True: scroll to the end. */
  function patchTranscript(prev, next) {
    let appended = false;
    let scroll = false;

    const outcome = pendingOutcome(prev, next);
    if (outcome && pendingNode) {
      if (outcome.kept) markCandidateSent(pendingNode, outcome.index);
      else pendingNode.remove();
      pendingNode = null;
    }
    if (next.pending && next.pending !== prev.pending) {
      pendingNode = candidateTurn({ text: next.pending.text }, { pending: true });
      transcript.appendChild(pendingNode);
      appended = true;
      userScrolledUp = false;
      scroll = true;
    }

    if (next.live && next.live !== prev.live) {
      if (!liveNode) {
        liveNode = interviewerTurn({ text: "" }, { live: true });
        transcript.appendChild(liveNode);
      }
      setInterviewerText(liveNode, next.live.text);
      scroll = true;
    }
    for (const turn of finishedInterviewerTurns(prev, next)) {
      const existing = interviewerNodes.get(turn.index);
      if (existing) {
        // The turn was already on the page (sent again after a reconnect): finish that bubble.
        finalizeInterviewerTurn(existing, turn);
        if (liveNode && !next.live) {
          liveNode.remove();
          liveNode = null;
        }
      } else if (liveNode && !next.live) {
        finalizeInterviewerTurn(liveNode, turn);
        interviewerNodes.set(turn.index, liveNode);
        liveNode = null;
      } else {
        const node = interviewerTurn(turn);
        interviewerNodes.set(turn.index, node);
        transcript.appendChild(node);
      }
      scroll = true;
    }
    if (liveNode && !next.live) {
      // A server fault: the unfinished words go; a reconnect sends the whole turn.
      liveNode.remove();
      liveNode = null;
    }

    if (!next.typing) typing.remove();
    else if (appended || !typing.isConnected) transcript.appendChild(typing);
    return scroll;
  }

  function renderComposer(state) {
    const max = state.limits.max_answer_chars;
    const len = answer.value.length;
    counter.textContent = max ? `${len.toLocaleString()} / ${max.toLocaleString()}` : `${len.toLocaleString()} characters`;
    counter.classList.toggle("is-over", Boolean(max && len > max));
    counter.classList.toggle("is-near", Boolean(max && len <= max && len > max * 0.9));
    counter.title = max && len > max ? `Over the limit by ${(len - max).toLocaleString()} characters` : "";
    sendBtn.disabled = !canSend(state, answer.value);
    const ended = state.status === "ended";
    answer.disabled = ended;
    composer.classList.toggle("is-disabled", ended);
    if (ended) {
      answer.placeholder = "The round is over.";
    } else if (state.status === "speaking" || state.live) {
      answer.placeholder = "The interviewer is speaking\u2026 you can start typing.";
    } else {
      answer.placeholder = PLACEHOLDER;
    }
    endNotice.hidden = !(ended || state.ending) || Boolean(state.debrief);
    const text = ended ? "The round is over. Preparing your debrief\u2026" : "Ending the round\u2026";
    if (text !== endNoticeText) {
      endNoticeText = text;
      replaceChildren(endNotice, el("span", { class: "spinner", "aria-hidden": "true" }), el("span", { text }));
    }
    if (!endNotice.isConnected) transcript.appendChild(endNotice);
    renderHeader(state);
  }

  function renderGrades(state) {
    clear(gradeList);
    const candidates = state.turns.filter((t) => t.role === "candidate");
    const graded = candidates
      .map((t, i) => ({ t, n: i + 1 }))
      .filter(({ t }) => t.grade);
    if (!graded.length) {
      gradeList.appendChild(el("p", { class: "grade-list__empty muted", text: "Grades appear here after each answer." }));
      return;
    }
    for (const { t, n } of graded) {
      gradeList.appendChild(gradeEntry({ ...t.grade, turn: t.index }, { answerNumber: n, answerText: t.text }));
    }
    gradeList.scrollTop = gradeList.scrollHeight;
  }

  function renderGradeVisibility(state) {
    const exam = state.mode === "exam";
    const shown = state.showGrades && !exam;
    gradePanel.hidden = !shown;
    toggleBtn.hidden = exam;
    examNote.hidden = !exam;
    element.classList.toggle("room--no-grades", !shown);
    toggleBtn.textContent = state.showGrades ? "Hide grades" : "Show grades";
    toggleBtn.setAttribute("aria-expanded", state.showGrades ? "true" : "false");
  }

  function scrollToEnd() {
    if (userScrolledUp) return;
    transcript.scrollTop = transcript.scrollHeight;
  }

  // ------------------------------------------------------------------ the answer box

  /** Put an answer that did not reach the server back in the box (before what the candidate typed since). */
  function restoreAnswer(text) {
    answer.value = restoredDraft(answer.value, text);
    renderComposer(current);
    onDraft(answer.value);
    answer.focus({ preventScroll: true });
  }

  /** A draft saved before a reload goes back in the box (unless the candidate has typed something since). */
  function setDraft(text) {
    if (!text || answer.value.trim()) return;
    answer.value = text;
    renderComposer(current);
  }

  function focusAnswer() {
    if (!answer.disabled) answer.focus({ preventScroll: true });
  }

  /** The interviewer finished: bring the cursor to the answer box unless the candidate is elsewhere. */
  function focusAnswerIfIdle() {
    const active = document.activeElement;
    if (!active || active === document.body || active === answer || active.id === "app" || !active.isConnected) {
      focusAnswer();
    }
  }

  /** Redraw the round clock for `now` (ms since the epoch); hidden when unknown or once the round is over. */
  function tick(now) {
    const state = current;
    const clock = state && state.status !== "ended" && state.round ? roundClock(state.startedAt, state.round.duration_min, now) : null;
    clockEl.hidden = !clock;
    if (!clock) return;
    if (clockEl.textContent !== clock.text) clockEl.textContent = clock.text;
    clockEl.setAttribute("data-state", clock.state);
    clockEl.setAttribute("aria-label", clock.label);
    clockEl.title = clock.label;
  }

  return {
    element,
    render,
    update,
    draft: () => answer.value,
    clearDraft: () => {
      answer.value = "";
    },
    setDraft,
    restoreAnswer,
    focusAnswer,
    focusAnswerIfIdle,
    tick,
  };
}

/** A dead end explained. With `forgetId`, also offer to drop that session from this browser's past interviews. */
export function problemCard(ctx, title, text, forgetId) {
  return el(
    "div",
    { class: "page" },
    el(
      "section",
      { class: "panel problem", role: "alert" },
      el("h1", { class: "section-title", text: title }),
      el("p", { class: "muted", text }),
      el("div", { class: "problem__actions" },
        el("button", { type: "button", class: "btn btn--primary", "data-testid": "new-interview", text: "Start a new interview",
          onclick: () => ctx.navigate("#/") }),
        forgetId
          ? el("button", { type: "button", class: "btn btn--ghost", "data-testid": "forget-session",
              text: "Forget it on this browser", onclick: () => { forgetSession(forgetId); ctx.navigate("#/"); } })
          : null),
    ),
  );
}
