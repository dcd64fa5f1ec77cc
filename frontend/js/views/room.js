// Interview room: the streaming transcript, the answer box and the live grade panel.
import { el, clear, replaceChildren } from "../dom.js";
import { getTranscript, ApiError } from "../api.js";
import { SessionSocket, sessionSocketUrl } from "../ws.js";
import {
  tokenFor,
  getShowGrades,
  setShowGrades,
  markEnded,
  currentSession,
  forgetCurrent,
  forgetSession,
  recordSessionSeen,
  recordSessionEnd,
} from "../store.js";
import { showToast, clearToasts } from "../toast.js";
import {
  interviewerTurn,
  finalizeInterviewerTurn,
  setInterviewerText,
  candidateTurn,
  markCandidateSent,
  typingIndicator,
  gradeEntry,
} from "../components.js";
import { mountDebrief } from "./debrief.js";
import { ERROR_CODES } from "../protocol.js";

const codesIn = (category) => new Set(Object.keys(ERROR_CODES).filter((code) => ERROR_CODES[code] === category));
// Error codes after which the answer the candidate just sent was NOT taken by the server.
const REJECTED = codesIn("rejected");
// Server faults after which the answer is kept and a reconnect retries the interviewer's turn.
const RETRYABLE = codesIn("retryable");

const IS_MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || "");

export function mountRoom(root, ctx, sessionId) {
  const token = tokenFor(sessionId);
  if (!token) {
    replaceChildren(root, problemCard(ctx, "This interview isn't on this device",
      "The key for this session is stored in the browser that started it. Open it there, or start a new interview."));
    return () => {};
  }

  const S = {
    round: null,
    level: null,
    status: "connecting", // speaking | awaiting_answer | ended | connecting
    conn: "connecting",
    gotState: false,
    turns: [], // [{index, role, text, move?, principle?, grade?}]
    limits: { max_answer_chars: null },
    pending: null, // {text, node, prevStatus}
    live: null, // {text, node}
    debrief: null,
    ending: false,
    showGrades: getShowGrades(),
    userScrolledUp: false,
    destroyed: false,
    failedChecks: 0,
  };
  let debriefCleanup = null;
  let pollTimer = null;

  // ------------------------------------------------------------------ DOM
  const titleEl = el("h1", { class: "room__title", text: "Interview" });
  const subEl = el("p", { class: "room__sub muted", text: "Connecting to your interviewer\u2026" });
  const statusPill = el("span", { class: "status-pill", "data-testid": "status", "data-status": "connecting", text: "Connecting" });
  const connPill = el("span", { class: "conn", "data-testid": "connection", "data-state": "connecting", role: "status" },
    el("span", { class: "conn__dot", "aria-hidden": "true" }), el("span", { class: "conn__text", text: "Connecting\u2026" }));

  const toggleBtn = el("button", {
    type: "button",
    class: "btn btn--ghost btn--small",
    "data-testid": "toggle-grades",
    "aria-controls": "grade-panel",
    onclick: () => {
      S.showGrades = !S.showGrades;
      setShowGrades(S.showGrades);
      renderGradeVisibility();
    },
  });
  const endBtn = el("button", {
    type: "button",
    class: "btn btn--danger-ghost btn--small",
    "data-testid": "end",
    disabled: true,
    text: "End interview",
    onclick: endInterview,
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
    S.userScrolledUp = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight > 80;
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
    placeholder: "Type your answer. Think out loud \u2014 structure beats speed.",
    spellcheck: "true",
  });
  const counter = el("span", { class: "composer__count", id: "char-count", "data-testid": "char-count", "aria-live": "off" });
  const sendBtn = el("button", { type: "button", class: "btn btn--primary", "data-testid": "send", disabled: true, onclick: send }, "Send");
  const hint = el("span", { class: "composer__hint muted", id: "composer-hint", text: `${IS_MAC ? "\u2318" : "Ctrl"} + Enter to send` });
  answer.addEventListener("input", renderComposer);
  const resumeIfPaused = () => {
    if (S.conn === "paused") sock.reconnectNow();
  };
  answer.addEventListener("focus", resumeIfPaused);
  answer.addEventListener("keydown", resumeIfPaused);
  answer.addEventListener("input", resumeIfPaused);
  answer.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      send();
    }
  });
  const composer = el("form", { class: "composer", onsubmit: (ev) => { ev.preventDefault(); send(); } },
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

  const roomEl = el(
    "div",
    { class: "room" },
    el(
      "div",
      { class: "room__bar" },
      el("div", { class: "room__heading" }, titleEl, subEl),
      el("div", { class: "room__actions" }, statusPill, connPill, toggleBtn, endBtn),
    ),
    el("div", { class: "room__grid" },
      el("section", { class: "room__main", "aria-label": "Conversation" }, transcript, composer),
      gradePanel),
  );
  replaceChildren(root, roomEl);
  renderGradeVisibility();
  renderComposer();
  renderGrades();

  // ------------------------------------------------------------------ socket
  const sock = new SessionSocket(sessionSocketUrl(sessionId, token), { onFrame, onStatus });
  sock.connect();

  function onStatus(status, info) {
    if (S.destroyed) return;
    S.conn = status;
    const text = {
      connecting: "Connecting\u2026",
      connected: "Connected",
      reconnecting: "Reconnecting\u2026",
      paused: "Paused while idle \u2014 type to resume",
      unauthorized: "Access denied",
      closed: "Offline",
    }[status] || status;
    connPill.setAttribute("data-state", status);
    connPill.querySelector(".conn__text").textContent = text;
    if (status === "reconnecting") {
      // A live bubble cannot be finished once the connection drops; the next `state` frame resends the turn.
      S.failedChecks += 1;
      // Never connected at all: ask the REST API at once whether the session still exists (a browser only sees
      // a failed handshake, not the server's reason). Otherwise give a flaky network a few tries first.
      if (S.failedChecks === 4 || (!S.gotState && S.failedChecks === 1)) checkSessionExists();
    }
    if (status === "connected") S.failedChecks = 0;
    if (status === "unauthorized") {
      replaceChildren(root, problemCard(ctx, "The server refused this session's key",
        "The link may be old or the server was reset. Start a new interview.", sessionId));
    }
    renderComposer();
  }

  async function checkSessionExists() {
    try {
      await getTranscript(sessionId, token);
    } catch (err) {
      if (S.destroyed) return;
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

  function onFrame(f) {
    if (S.destroyed) return;
    switch (f.type) {
      case "state": return applyState(f);
      case "interviewer_delta": return onDelta(f);
      case "interviewer_done": return onDone(f);
      case "turn_grade": return onGrade(f);
      case "debrief": return onDebrief(f);
      case "error": return onError(f);
      default: return undefined; // unknown frames are ignored (the protocol may grow)
    }
  }

  // ------------------------------------------------------------------ frame handlers
  function applyState(f) {
    S.gotState = true;
    S.round = f.round || S.round;
    S.level = f.level || S.level;
    recordSessionSeen(sessionId, { round: S.round && S.round.id, round_title: S.round && S.round.title, level: S.level });
    if (f.brain_label) ctx.setBrainLabel(f.brain_label, f.brain);
    if (f.limits && Number.isInteger(f.limits.max_answer_chars)) S.limits.max_answer_chars = f.limits.max_answer_chars;
    const turns = Array.isArray(f.turns) ? f.turns.map((t) => ({ ...t })) : [];
    turns.sort((a, b) => (a.index ?? 0) - (b.index ?? 0));

    // An answer we sent but never saw taken: did it reach the server before the connection dropped?
    if (S.pending) {
      const lastCandidate = [...turns].reverse().find((t) => t.role === "candidate");
      const reached = lastCandidate && lastCandidate.text.trim() === S.pending.text.trim();
      if (!reached) {
        restoreAnswer(S.pending.text);
        showToast({ kind: "info", message: "Your last answer didn't reach the interviewer. It's back in the box \u2014 send it again." });
      }
      S.pending = null;
    }
    S.turns = turns;
    S.live = null;
    S.status = f.status || "awaiting_answer";
    if (f.debrief) S.debrief = f.debrief;
    renderHeader();
    renderTranscript();
    renderGrades();
    renderComposer();
    if (S.status === "ended") {
      markEnded(sessionId);
      if (S.debrief) showDebrief();
      else waitForDebrief();
    }
  }

  function onDelta(f) {
    resolvePending();
    S.status = "speaking";
    if (!S.live) {
      const node = interviewerTurn({ text: "" }, { live: true });
      S.live = { text: "", node };
      typing.remove();
      transcript.appendChild(node);
    }
    S.live.text += typeof f.text === "string" ? f.text : "";
    setInterviewerText(S.live.node, S.live.text);
    renderComposer();
    renderHeader();
    scrollToEnd();
  }

  function onDone(f) {
    if (Number.isInteger(f.index)) resolvePending(f.index - 1);
    else resolvePending();
    const turn = {
      index: Number.isInteger(f.index) ? f.index : nextIndex(),
      role: "interviewer",
      text: typeof f.text === "string" ? f.text : S.live ? S.live.text : "",
      move: f.move || null,
      principle: f.principle || null,
      question_id: f.question_id || null,
    };
    upsertTurn(turn);
    const existing = transcript.querySelector(`.turn--interviewer[data-index="${turn.index}"]`);
    if (existing) {
      finalizeInterviewerTurn(existing, turn);
      if (S.live && S.live.node !== existing) S.live.node.remove();
    } else if (S.live) {
      finalizeInterviewerTurn(S.live.node, turn);
    } else {
      typing.remove();
      transcript.appendChild(interviewerTurn(turn));
    }
    S.live = null;
    typing.remove();
    S.status = turn.move === "end" ? "ended" : "awaiting_answer";
    renderHeader();
    renderComposer();
    scrollToEnd();
    if (S.status === "awaiting_answer" && (document.activeElement === document.body || document.activeElement === answer)) {
      answer.focus({ preventScroll: true });
    }
    if (S.status === "ended" && !S.debrief) waitForDebrief();
  }

  function onGrade(f) {
    if (!Number.isInteger(f.turn)) return;
    let turn = S.turns.find((t) => t.index === f.turn);
    if (!turn && S.pending) {
      resolvePending(f.turn);
      turn = S.turns.find((t) => t.index === f.turn);
    }
    const { type, ...grade } = f;
    if (turn) turn.grade = grade;
    else upsertTurn({ index: f.turn, role: "candidate", text: "", grade });
    renderGrades();
  }

  function onDebrief(f) {
    const { type, ...debrief } = f;
    S.debrief = debrief;
    S.status = "ended";
    markEnded(sessionId);
    showDebrief();
  }

  function onError(f) {
    const code = typeof f.code === "string" ? f.code : "error";
    let action;
    if (S.pending && REJECTED.has(code)) {
      // The server did not take the answer: put it back in the box.
      const { text, node, prevStatus } = S.pending;
      S.pending = null;
      node.remove();
      restoreAnswer(text);
      if (S.status === "speaking" && !S.live) S.status = prevStatus;
      typing.remove();
    } else if (RETRYABLE.has(code)) {
      // The answer is kept on the server; reconnecting retries the interviewer's turn.
      resolvePending();
      if (S.live) { S.live.node.remove(); S.live = null; }
      typing.remove();
      S.status = "unavailable";
      action = { label: code === "internal_error" ? "Reconnect" : "Retry", onClick: () => sock.restart() };
    }
    if (code === "round_ended") {
      S.status = "ended";
      if (!S.debrief) waitForDebrief();
    }
    if (code === "interviewer_speaking" && !S.live) {
      // We thought it was our turn; the next frames will settle it.
    }
    S.ending = S.ending && code !== "rate_limited" && !RETRYABLE.has(code);
    showToast({ kind: "error", message: f.message || "Something went wrong.", code, action });
    renderHeader();
    renderComposer();
  }

  // ------------------------------------------------------------------ actions
  function canSend() {
    return (
      S.conn === "connected" &&
      S.gotState &&
      S.status === "awaiting_answer" &&
      !S.pending &&
      !S.live &&
      answer.value.trim().length > 0
    );
  }

  function send() {
    if (!canSend()) return;
    const text = answer.value.trim();
    if (!sock.send({ type: "answer", text })) {
      showToast({ kind: "error", message: "Not connected right now. Your answer is still in the box." });
      return;
    }
    const node = candidateTurn({ text }, { pending: true });
    transcript.appendChild(node);
    S.pending = { text, node, prevStatus: S.status };
    S.status = "speaking"; // the interviewer's turn comes next
    answer.value = "";
    S.userScrolledUp = false;
    transcript.appendChild(typing);
    renderHeader();
    renderComposer();
    scrollToEnd();
  }

  function endInterview() {
    if (S.status === "ended" || S.ending) return;
    // eslint-disable-next-line no-alert
    const ok = window.confirm("End the interview now? You'll get the debrief for what you've covered so far.");
    if (!ok) return;
    if (!sock.send({ type: "control", action: "end" })) {
      showToast({ kind: "error", message: "Not connected right now. Try again when the connection is back." });
      return;
    }
    S.ending = true;
    renderComposer();
    renderHeader();
  }

  function restoreAnswer(text) {
    if (!answer.value.trim()) answer.value = text;
    else if (!answer.value.includes(text)) answer.value = `${text}\n\n${answer.value}`;
    renderComposer();
    answer.focus({ preventScroll: true });
  }

  /** The server has taken our pending answer: it becomes a real transcript turn. */
  function resolvePending(index) {
    if (!S.pending) return;
    const idx = Number.isInteger(index) && index >= 0 ? index : nextIndex();
    upsertTurn({ index: idx, role: "candidate", text: S.pending.text });
    markCandidateSent(S.pending.node, idx);
    S.pending = null;
    renderGrades();
  }

  function nextIndex() {
    return S.turns.reduce((m, t) => Math.max(m, Number.isInteger(t.index) ? t.index : -1), -1) + 1;
  }

  function upsertTurn(turn) {
    const i = S.turns.findIndex((t) => t.index === turn.index);
    if (i >= 0) S.turns[i] = { ...S.turns[i], ...turn, grade: turn.grade || S.turns[i].grade };
    else {
      S.turns.push(turn);
      S.turns.sort((a, b) => a.index - b.index);
    }
  }

  function waitForDebrief() {
    renderComposer();
    if (pollTimer || S.debrief) return;
    let tries = 0;
    const poll = async () => {
      pollTimer = null;
      if (S.destroyed || S.debrief) return;
      tries += 1;
      try {
        const t = await getTranscript(sessionId, token);
        if (S.destroyed || S.debrief) return;
        if (t && t.debrief) {
          S.debrief = t.debrief;
          if (Array.isArray(t.turns)) S.turns = t.turns;
          showDebrief();
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
    if (S.destroyed || debriefCleanup) return;
    recordSessionEnd(sessionId, S.debrief);
    clearTimeout(pollTimer);
    sock.close();
    clearToasts();
    debriefCleanup = mountDebrief(root, ctx, {
      sessionId,
      token,
      debrief: S.debrief,
      round: S.round,
      level: S.level,
      turns: S.turns,
    });
    window.scrollTo({ top: 0 });
  }

  // ------------------------------------------------------------------ rendering
  function renderHeader() {
    if (S.round) {
      titleEl.textContent = S.round.title || S.round.id || "Interview";
      const bits = [S.level, S.round.duration_min ? `about ${S.round.duration_min} min` : null].filter(Boolean);
      subEl.textContent = bits.join(" \u00B7 ");
    }
    let status = S.status;
    if (!S.gotState) status = "connecting";
    if (S.ending && status !== "ended") status = "ending";
    const label = {
      connecting: "Connecting",
      speaking: "Interviewer is speaking",
      awaiting_answer: "Your turn",
      ended: "Round over",
      ending: "Wrapping up\u2026",
      unavailable: "Interviewer unavailable \u2014 your answer is saved",
    }[status] || status;
    statusPill.textContent = label;
    statusPill.setAttribute("data-status", status);
    endBtn.disabled = !S.gotState || S.status === "ended" || S.ending || S.conn !== "connected";
    endBtn.textContent = S.ending ? "Ending\u2026" : "End interview";
  }

  function renderTranscript() {
    clear(transcript);
    if (!S.turns.length && S.status !== "speaking") {
      transcript.appendChild(el("p", { class: "transcript__empty muted", text: "Your interviewer will open the round in a moment." }));
    }
    for (const t of S.turns) {
      if (t.role === "interviewer") transcript.appendChild(interviewerTurn(t));
      else if (t.role === "candidate") transcript.appendChild(candidateTurn(t));
    }
    if (S.status === "speaking") transcript.appendChild(typing);
    transcript.appendChild(endNotice);
    S.userScrolledUp = false;
    scrollToEnd();
  }

  function renderComposer() {
    const max = S.limits.max_answer_chars;
    const len = answer.value.length;
    counter.textContent = max ? `${len.toLocaleString()} / ${max.toLocaleString()}` : `${len.toLocaleString()} characters`;
    counter.classList.toggle("is-over", Boolean(max && len > max));
    counter.classList.toggle("is-near", Boolean(max && len <= max && len > max * 0.9));
    counter.title = max && len > max ? `Over the limit by ${(len - max).toLocaleString()} characters` : "";
    sendBtn.disabled = !canSend();
    const ended = S.status === "ended";
    answer.disabled = ended;
    composer.classList.toggle("is-disabled", ended);
    if (ended) {
      answer.placeholder = "The round is over.";
    } else if (S.status === "speaking" || S.live) {
      answer.placeholder = "The interviewer is speaking\u2026 you can start typing.";
    } else {
      answer.placeholder = "Type your answer. Think out loud \u2014 structure beats speed.";
    }
    endNotice.hidden = !(ended || S.ending) || Boolean(S.debrief);
    replaceChildren(endNotice,
      el("span", { class: "spinner", "aria-hidden": "true" }),
      el("span", { text: ended ? "The round is over. Preparing your debrief\u2026" : "Ending the round\u2026" }));
    if (!endNotice.isConnected) transcript.appendChild(endNotice);
    renderHeader();
  }

  function renderGrades() {
    clear(gradeList);
    const candidates = S.turns.filter((t) => t.role === "candidate");
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

  function renderGradeVisibility() {
    gradePanel.hidden = !S.showGrades;
    roomEl.classList.toggle("room--no-grades", !S.showGrades);
    toggleBtn.textContent = S.showGrades ? "Hide grades" : "Show grades";
    toggleBtn.setAttribute("aria-expanded", S.showGrades ? "true" : "false");
  }

  function scrollToEnd() {
    if (S.userScrolledUp) return;
    transcript.scrollTop = transcript.scrollHeight;
  }

  return () => {
    S.destroyed = true;
    clearTimeout(pollTimer);
    sock.close();
    if (debriefCleanup) debriefCleanup();
  };
}

/** A dead end explained. With `forgetId`, also offer to drop that session from this browser's past interviews. */
function problemCard(ctx, title, text, forgetId) {
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
