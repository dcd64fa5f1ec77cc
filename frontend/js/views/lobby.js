// Lobby: pick a round, a level and (optionally) the opening question, then start an interview.
// Below the start bar: the past interviews stored in this browser. The choices and the question list are
// ../lobby/state.js; this file draws them and talks to the server and the browser's storage.
import { el, clear, replaceChildren } from "../dom.js";
import { getRounds, getQuestions, createSession, getTranscript, downloadTranscript, ApiError } from "../api.js";
import { LEVEL_TITLES, humanize } from "../labels.js";
import { voteChip } from "../components.js";
import { showToast } from "../toast.js";
import {
  saveSession,
  currentSession,
  forgetCurrent,
  recordSessionStart,
  listHistory,
  forgetSession,
  restoreSession,
} from "../store.js";
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
  MODES,
  selectMode,
  modeText,
  roundTitle as titleOfRound,
} from "../lobby/state.js";

const KIND_TITLES = {
  concept: "Concepts",
  case: "Cases",
  behavioral: "Behavioral (Leadership Principles)",
  design: "System design",
  project: "Project deep dives",
  python: "Python",
  sql: "SQL",
  mcq: "Multiple choice",
  probability: "Probability",
};

export function mountLobby(root, ctx) {
  let alive = true;
  let state = initialLobbyState();

  const roundsGrid = el("div", { class: "round-grid", role: "group", "aria-label": "Interview rounds", "data-testid": "rounds" },
    skeletonCards(6));
  const levelGroup = el("div", { class: "level-picker", role: "group", "aria-label": "Level" });
  const levelNote = el("p", { class: "level-note", "data-testid": "level-note", "aria-live": "polite" });
  const questionSelect = el("select", {
    id: "question-select",
    class: "select",
    "data-testid": "question-select",
    "aria-describedby": "question-hint",
    disabled: true,
    onchange: () => {
      state = selectQuestion(state, questionSelect.value);
      renderQuestionDetail();
      renderSummary();
    },
  }, anyOption());
  const questionHint = el("div", { class: "question-hint", id: "question-hint", "aria-live": "polite" });
  const summary = el("p", { class: "start-summary", "aria-live": "polite" });
  // practice or exam: the round's default until the candidate picks (grades live, or only in the debrief)
  const modeButtons = MODES.map((m) => el("button", {
    type: "button",
    class: "mode-btn",
    "data-testid": `mode-${m}`,
    "aria-pressed": "false",
    "aria-describedby": "mode-note",
    onclick: () => {
      state = selectMode(state, m);
      renderMode();
      renderSummary();
    },
  }, m === "exam" ? "Exam" : "Practice"));
  const modeNote = el("p", { class: "mode-note muted small", id: "mode-note", "data-testid": "mode-note", "aria-live": "polite" });
  const modePicker = el("div", { class: "mode-picker" },
    el("div", { class: "mode-picker__buttons", role: "group", "aria-label": "Mode" }, modeButtons),
    modeNote);
  const errorBox = el("p", { class: "form-error", role: "alert", "data-testid": "start-error", hidden: true });
  const startBtn = el("button", {
    type: "button",
    class: "btn btn--primary btn--large",
    "data-testid": "start",
    disabled: true,
    onclick: start,
  }, "Start interview");

  const resumeSlot = el("div", { class: "resume-slot" });
  const historyBody = el("div", { class: "history__body" });
  const historyCount = el("span", { class: "history__count muted small" });

  const page = el(
    "div",
    { class: "page lobby" },
    el(
      "section",
      { class: "hero" },
      el("h1", { class: "hero__title", text: "Practice the Amazon Data Scientist loop" }),
      el("p", {
        class: "hero__lead",
        text:
          "Pick a round and a level. The interviewer asks, follows up on the weakest part of your answer, " +
          "probes Leadership Principles, and closes with a bar-raiser style debrief.",
      }),
    ),
    resumeSlot,
    el(
      "section",
      { class: "panel", "aria-labelledby": "rounds-heading" },
      el("div", { class: "panel__head" },
        el("h2", { id: "rounds-heading", class: "section-title" }, el("span", { class: "step", text: "1" }), "Choose a round")),
      roundsGrid,
    ),
    el(
      "section",
      { class: "panel", "aria-labelledby": "level-heading" },
      el("div", { class: "panel__head" },
        el("h2", { id: "level-heading", class: "section-title" }, el("span", { class: "step", text: "2" }), "Choose your level")),
      levelGroup,
      levelNote,
    ),
    el(
      "section",
      { class: "panel", "aria-labelledby": "question-heading" },
      el("div", { class: "panel__head" },
        el("h2", { id: "question-heading", class: "section-title" },
          el("span", { class: "step", text: "3" }), "Choose a question",
          el("span", { class: "optional", text: "optional" }))),
      el("div", { class: "question-picker" },
        el("label", { class: "field-label", for: "question-select", text: "Opening question" }),
        questionSelect,
        questionHint),
    ),
    el(
      "section",
      { class: "start-bar" },
      el("div", { class: "start-bar__text" }, modePicker, summary, errorBox),
      startBtn,
    ),
    el(
      "section",
      { class: "panel history", "aria-labelledby": "history-heading", "data-testid": "history" },
      el("div", { class: "panel__head history__head" },
        el("h2", { id: "history-heading", class: "section-title", text: "Past interviews" }),
        historyCount,
        el("span", { class: "history__links" },
          el("a", { class: "btn btn--secondary btn--small", href: "#/progress", "data-testid": "progress-link", text: "Your progress" }),
          el("a", { class: "btn btn--ghost btn--small", href: "#/import", "data-testid": "import-link", text: "Import a replay" }))),
      el("p", { class: "muted small history__note",
        text: "Kept in this browser only. Open one to review its debrief and the whole conversation, or resume it." }),
      historyBody,
    ),
  );
  replaceChildren(root, page);
  renderResume();
  renderHistory();
  renderQuestionDetail();

  getRounds()
    .then((data) => {
      if (!alive) return;
      state = roundsLoaded(state, data);
      if (!state.rounds.length) {
        replaceChildren(roundsGrid, el("p", { class: "muted", text: "The server has no rounds configured." }));
      }
      render();
      renderResume();
      renderHistory(); // round titles for entries that only know the round id
    })
    .catch((err) => {
      if (!alive) return;
      replaceChildren(
        roundsGrid,
        el("div", { class: "empty-state" },
          el("p", { text: err.message || "Could not load the rounds." }),
          el("button", { type: "button", class: "btn btn--secondary", text: "Try again", onclick: () => ctx.navigate("#/", true) })),
      );
    });

  function render() {
    // redrawing replaces the round and level buttons: keep the keyboard focus on the one the candidate was on
    const active = document.activeElement;
    const focused = active && page.contains(active) ? active.getAttribute("data-testid") : null;
    renderRounds();
    renderLevels();
    renderMode();
    syncQuestions();
    renderSummary();
    if (focused && !page.contains(document.activeElement)) {
      const again = page.querySelector(`[data-testid="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  function renderSummary() {
    summary.textContent = summaryText(state);
    startBtn.disabled = !canStart(state);
    startBtn.textContent = state.busy ? "Starting\u2026" : "Start interview";
  }

  function renderMode() {
    for (const [i, m] of MODES.entries()) {
      const on = state.mode === m;
      modeButtons[i].classList.toggle("is-selected", on);
      modeButtons[i].setAttribute("aria-pressed", on ? "true" : "false");
    }
    modeNote.textContent = modeText(state.mode);
  }

  function renderRounds() {
    clear(roundsGrid);
    for (const r of state.rounds) {
      const selected = state.round && state.round.id === r.id;
      const evaluates = Array.isArray(r.evaluates) ? r.evaluates : [];
      const meta = [`${r.duration_min} min`];
      if (Number.isInteger(r.questions)) meta.push(`${r.questions} question${r.questions === 1 ? "" : "s"}`);
      if (Number.isInteger(r.lp_quota) && r.lp_quota > 0) meta.push(`${r.lp_quota} LP stor${r.lp_quota === 1 ? "y" : "ies"}`);
      roundsGrid.appendChild(
        el(
          "button",
          {
            type: "button",
            class: `round-card${selected ? " is-selected" : ""}`,
            "data-testid": `round-${r.id}`,
            "aria-pressed": selected ? "true" : "false",
            onclick: () => {
              state = selectRound(state, r);
              hideError();
              render();
            },
          },
          el("span", { class: "round-card__top" },
            el("span", { class: "round-card__title", text: r.title || r.id }),
            el("span", { class: "round-card__check", "aria-hidden": "true", text: selected ? "\u2713" : "" })),
          el("span", { class: "round-card__meta", text: meta.join(" \u00B7 ") }),
          evaluates.length
            ? el("span", { class: "round-card__evaluates" },
                el("span", { class: "round-card__label", text: "Evaluates" }),
                el("span", { class: "pill-list" }, evaluates.map((e) => el("span", { class: "pill", text: e }))))
            : null,
        ),
      );
    }
  }

  function renderLevels() {
    clear(levelGroup);
    const allowed = allowedLevels(state);
    for (const lvl of state.levels) {
      const enabled = allowed.includes(lvl);
      const selected = lvl === state.level;
      levelGroup.appendChild(
        el(
          "button",
          {
            type: "button",
            class: `level-btn${selected ? " is-selected" : ""}`,
            "data-testid": `level-${lvl}`,
            "aria-pressed": selected ? "true" : "false",
            disabled: !enabled,
            onclick: () => {
              state = selectLevel(state, lvl);
              hideError();
              render();
            },
          },
          el("span", { class: "level-btn__code", text: lvl }),
          LEVEL_TITLES[lvl] ? el("span", { class: "level-btn__title", text: LEVEL_TITLES[lvl] }) : null,
        ),
      );
    }
    const note = state.round && state.round.level_notes ? state.round.level_notes[state.level] : null;
    levelNote.textContent = note ? `At ${state.level}: ${note}` : "";
    levelNote.hidden = !note;
  }

  // ------------------------------------------------------------------ question picker
  /** Fetch the questions for the selected round and level when either changed. Errors keep "Any question". */
  function syncQuestions() {
    const request = requestQuestions(state);
    if (!request) return;
    state = request.state;
    fillQuestionSelect({ loading: true });
    getQuestions(state.round.id, state.level)
      .then((data) => {
        if (!alive || state.questionsKey !== request.key) return; // a newer round/level won
        state = questionsLoaded(state, request, data);
        fillQuestionSelect();
      })
      .catch(() => {
        if (!alive || state.questionsKey !== request.key) return;
        state = questionsFailed(state, request);
        fillQuestionSelect({ failed: true });
      });
  }

  function fillQuestionSelect({ loading = false, failed = false } = {}) {
    clear(questionSelect);
    questionSelect.appendChild(anyOption());
    const groups = questionGroups(state.questions);
    const grouped = groups.length > 1;
    for (const [kind, qs] of groups) {
      const options = qs.map((q) => el("option", { value: q.id, text: optionText(q) }));
      if (grouped) questionSelect.appendChild(el("optgroup", { label: KIND_TITLES[kind] || humanize(kind) }, options));
      else for (const o of options) questionSelect.appendChild(o);
    }
    questionSelect.value = state.question;
    questionSelect.disabled = loading || !state.questions.length;
    questionSelect.setAttribute("aria-busy", loading ? "true" : "false");
    questionSelect.setAttribute("data-state", loading ? "loading" : failed ? "failed" : "ready");
    renderQuestionDetail({ loading, failed });
    renderSummary();
  }

  function renderQuestionDetail({ loading = false, failed = false } = {}) {
    const q = chosenQuestion(state);
    if (q) {
      const topics = Array.isArray(q.topics) ? q.topics.filter((t) => typeof t === "string" && t) : [];
      replaceChildren(questionHint,
        el("span", { class: "muted small", text: "The round opens with this question, then continues with a planned mix." }),
        topics.length
          ? el("span", { class: "pill-list", "aria-label": "Topics" }, topics.map((t) => el("span", { class: "pill", text: t })))
          : null);
      return;
    }
    let text = "Recommended: the interviewer plans a realistic mix and skips questions from your recent sessions.";
    if (loading) text = "Loading the questions for this round and level\u2026";
    else if (failed) text = "The question list isn't available right now \u2014 you'll get a planned mix.";
    else if (state.questionsKey && !state.questions.length) text = "This round has no questions to pick from at this level; you'll get a planned mix.";
    replaceChildren(questionHint, el("span", { class: "muted small", text }));
  }

  // ------------------------------------------------------------------ start
  async function start() {
    if (!canStart(state)) return;
    state = { ...state, busy: true };
    hideError();
    renderSummary();
    const q = chosenQuestion(state);
    try {
      const s = await createSession(state.round.id, state.level, q ? q.id : undefined, { mode: state.mode });
      if (!alive) return;
      const round = s.round || state.round.id;
      const level = s.level || state.level;
      saveSession({ session_id: s.session_id, token: s.token, round, level });
      recordSessionStart({ session_id: s.session_id, round, round_title: state.round.title, level, question: q ? q.title : null });
      ctx.navigate(`#/session/${encodeURIComponent(s.session_id)}`);
    } catch (err) {
      if (!alive) return;
      state = { ...state, busy: false };
      showError(err instanceof ApiError ? err.message : "Could not start the interview.");
      renderSummary();
    }
  }

  function showError(msg) {
    errorBox.textContent = msg;
    errorBox.hidden = false;
  }

  function hideError() {
    errorBox.hidden = true;
    errorBox.textContent = "";
  }

  function roundTitle(entry) {
    return titleOfRound(entry, state.rounds);
  }

  function renderResume() {
    clear(resumeSlot);
    const cur = currentSession();
    if (!cur || cur.status === "ended") return;
    const entry = listHistory().find((e) => e.session_id === cur.session_id) || { round: cur.round };
    const banner = el(
      "div",
      { class: "resume", "data-testid": "resume" },
      el("div", { class: "resume__text" },
        el("strong", { text: "You have an interview in progress." }),
        el("span", { class: "muted", text: [roundTitle(entry), cur.level].filter(Boolean).join(" \u00B7 ") })),
      el("div", { class: "resume__actions" },
        el("button", { type: "button", class: "btn btn--ghost", text: "Discard", onclick: () => { forgetCurrent(); renderResume(); } }),
        el("a", { class: "btn btn--secondary", href: `#/session/${encodeURIComponent(cur.session_id)}`, text: "Resume" })),
    );
    resumeSlot.appendChild(banner);
  }

  // ------------------------------------------------------------------ past interviews
  function renderHistory() {
    const entries = listHistory();
    historyCount.textContent = entries.length ? `${entries.length} saved` : "";
    if (!entries.length) {
      replaceChildren(historyBody, el("p", { class: "history__empty", "data-testid": "history-empty" },
        el("span", { class: "history__empty-icon", "aria-hidden": "true", text: "\u2691" }),
        el("span", { text: "No past interviews yet. Finish a round and its debrief and transcript will wait for you here." })));
      return;
    }
    replaceChildren(historyBody, el("ul", { class: "history-list" }, entries.map(historyRow)));
  }

  function historyRow(e) {
    const href = `#/session/${encodeURIComponent(e.session_id)}`;
    const ended = e.status === "ended";
    const problem = el("div", { class: "history-entry__problem", role: "alert", hidden: true });
    const openLink = el("a", {
      class: "btn btn--secondary btn--small",
      href,
      "data-testid": "history-open",
      text: ended || !e.known ? "Open" : "Resume",
      "aria-label": `${ended || !e.known ? "Open" : "Resume"} ${roundTitle(e)} from ${formatDate(e.created_at)}`,
      onclick: (ev) => {
        if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return; // new tab: let it go
        ev.preventDefault();
        open();
      },
    });
    const downloadBtn = el("button", {
      type: "button",
      class: "btn btn--ghost btn--small",
      "data-testid": "history-download",
      text: "Download JSON",
      onclick: download,
    });
    const replayLink = el("a", {
      class: "btn btn--secondary btn--small",
      href: `#/replay/${encodeURIComponent(e.session_id)}`,
      "data-testid": "history-replay",
      text: "Replay",
      "aria-label": `Graded replay of ${roundTitle(e)} from ${formatDate(e.created_at)}`,
    });
    const forgetBtn = el("button", {
      type: "button",
      class: "btn btn--link btn--small",
      "data-testid": "history-forget",
      text: "Forget",
      title: "Remove from this browser (the server keeps it)",
      onclick: forget,
    });

    const meta = [formatDate(e.created_at)];
    const kind = { fork: "retry of an answer", drill: "drill", practice: "practice round" }[e.kind];
    if (e.question) meta.push(`${kind ? `${kind}: ` : "opened with "}\u201C${e.question}\u201D`);
    else if (kind) meta.push(kind);
    const row = el(
      "li",
      { class: "history-entry", "data-testid": "history-entry", "data-status": ended ? "ended" : "active" },
      el("div", { class: "history-entry__main" },
        el("div", { class: "history-entry__title" },
          el("span", { class: "history-entry__round", text: roundTitle(e) }),
          e.level ? el("span", { class: "level-tag", title: LEVEL_TITLES[e.level] || null, text: e.level }) : null),
        el("div", { class: "history-entry__meta muted small" },
          el("time", { datetime: e.created_at || null, text: meta[0] }),
          meta.length > 1 ? el("span", { class: "history-entry__question", text: ` \u00B7 ${meta[1]}` }) : null)),
      el("div", { class: "history-entry__status" },
        ended
          ? e.vote || e.vote_level
            ? voteChip(e.vote, e.vote_level, { testid: "history-vote" })
            : el("span", { class: "chip chip--none", "data-testid": "history-status", text: "Ended" })
          : e.known
            ? el("span", { class: "chip chip--live", "data-testid": "history-status", text: "In progress" })
            : el("span", { class: "chip chip--none", "data-testid": "history-status", text: "Not opened yet" })),
      el("div", { class: "history-entry__actions" }, openLink, replayLink, downloadBtn, forgetBtn),
      problem,
    );

    function setBusy(busy) {
      row.classList.toggle("is-busy", busy);
      downloadBtn.disabled = busy;
      openLink.setAttribute("aria-disabled", busy ? "true" : "false");
    }

    /** 404/401: the server no longer has (or accepts) this session. Say so and offer to forget it. */
    function showGone(err) {
      const msg = err.status === 404
        ? "This interview is no longer on the server (it may have been reset)."
        : "The server no longer accepts this browser's key for this interview.";
      replaceChildren(problem,
        el("span", { text: msg }),
        el("button", { type: "button", class: "btn btn--danger-ghost btn--small", "data-testid": "history-forget-missing",
          text: "Forget it", onclick: forget }));
      problem.hidden = false;
      row.classList.add("is-gone");
    }

    async function open() {
      if (row.classList.contains("is-busy")) return;
      setBusy(true);
      try {
        await getTranscript(e.session_id, e.token);
        if (!alive) return;
        ctx.navigate(href);
      } catch (err) {
        if (!alive) return;
        setBusy(false);
        if (err instanceof ApiError && (err.status === 404 || err.status === 401)) showGone(err);
        else showToast({ kind: "error", message: err.message || "Could not open this interview." });
      }
    }

    async function download() {
      setBusy(true);
      try {
        await downloadTranscript(e.session_id, e.token);
      } catch (err) {
        if (!alive) return;
        if (err instanceof ApiError && (err.status === 404 || err.status === 401)) showGone(err);
        else showToast({ kind: "error", message: err.message || "Could not download the transcript." });
      } finally {
        if (alive) setBusy(false);
      }
    }

    function forget() {
      const snapshot = forgetSession(e.session_id);
      renderHistory();
      renderResume();
      const heading = document.getElementById("history-heading");
      if (heading) heading.setAttribute("tabindex", "-1");
      if (heading) heading.focus({ preventScroll: true });
      showToast({
        kind: "info",
        message: `Forgot \u201C${roundTitle(e)}\u201D on this browser.`,
        action: snapshot ? { label: "Undo", onClick: () => { restoreSession(snapshot); renderHistory(); renderResume(); } } : undefined,
      });
    }

    return row;
  }

  return () => {
    alive = false;
  };
}

function anyOption() {
  return el("option", { value: "", text: "Any question (recommended)" });
}

function formatDate(iso) {
  const t = Date.parse(iso);
  if (!iso || Number.isNaN(t)) return "Date unknown";
  const d = new Date(t);
  try {
    return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  } catch {
    return d.toISOString().slice(0, 16).replace("T", " ");
  }
}

function skeletonCards(n) {
  return Array.from({ length: n }, () => el("div", { class: "round-card round-card--skeleton", "aria-hidden": "true" },
    el("span", { class: "sk sk--title" }), el("span", { class: "sk sk--line" }), el("span", { class: "sk sk--line short" })));
}
