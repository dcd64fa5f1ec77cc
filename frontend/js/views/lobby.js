// Lobby: pick a round and a level, then start an interview.
import { el, clear, replaceChildren } from "../dom.js";
import { getRounds, createSession, ApiError } from "../api.js";
import { LEVEL_TITLES } from "../labels.js";
import { saveSession, currentSession, forgetCurrent } from "../store.js";

export function mountLobby(root, ctx) {
  let alive = true;
  const state = { rounds: [], levels: ["L4", "L5", "L6"], round: null, level: "L5", busy: false };

  const roundsGrid = el("div", { class: "round-grid", role: "group", "aria-label": "Interview rounds", "data-testid": "rounds" },
    skeletonCards(6));
  const levelGroup = el("div", { class: "level-picker", role: "group", "aria-label": "Level" });
  const levelNote = el("p", { class: "level-note", "data-testid": "level-note", "aria-live": "polite" });
  const summary = el("p", { class: "start-summary", "aria-live": "polite" });
  const errorBox = el("p", { class: "form-error", role: "alert", "data-testid": "start-error", hidden: true });
  const startBtn = el("button", {
    type: "button",
    class: "btn btn--primary btn--large",
    "data-testid": "start",
    disabled: true,
    onclick: start,
  }, "Start interview");

  const resume = resumeBanner();

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
    resume,
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
      { class: "start-bar" },
      el("div", { class: "start-bar__text" }, summary, errorBox),
      startBtn,
    ),
  );
  replaceChildren(root, page);

  getRounds()
    .then((data) => {
      if (!alive) return;
      state.rounds = Array.isArray(data && data.rounds) ? data.rounds : [];
      if (Array.isArray(data && data.levels) && data.levels.length) state.levels = data.levels;
      if (!state.levels.includes(state.level)) state.level = state.levels[0];
      state.round = state.rounds[0] || null;
      if (!state.rounds.length) {
        replaceChildren(roundsGrid, el("p", { class: "muted", text: "The server has no rounds configured." }));
      }
      render();
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
    renderRounds();
    renderLevels();
    const r = state.round;
    summary.textContent = r ? `${r.title} \u00B7 ${state.level} \u00B7 about ${r.duration_min} min` : "Choose a round to begin.";
    startBtn.disabled = !r || !state.level || state.busy;
    startBtn.textContent = state.busy ? "Starting\u2026" : "Start interview";
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
              state.round = r;
              if (Array.isArray(r.levels) && r.levels.length && !r.levels.includes(state.level)) state.level = r.levels[0];
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
    const allowed = state.round && Array.isArray(state.round.levels) && state.round.levels.length ? state.round.levels : state.levels;
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
              state.level = lvl;
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

  async function start() {
    if (!state.round || !state.level || state.busy) return;
    state.busy = true;
    hideError();
    render();
    try {
      const s = await createSession(state.round.id, state.level);
      if (!alive) return;
      saveSession({ session_id: s.session_id, token: s.token, round: s.round || state.round.id, level: s.level || state.level });
      ctx.navigate(`#/session/${encodeURIComponent(s.session_id)}`);
    } catch (err) {
      if (!alive) return;
      state.busy = false;
      showError(err instanceof ApiError ? err.message : "Could not start the interview.");
      render();
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

  function resumeBanner() {
    const cur = currentSession();
    if (!cur || cur.status === "ended") return null;
    const banner = el(
      "div",
      { class: "resume", "data-testid": "resume" },
      el("div", { class: "resume__text" },
        el("strong", { text: "You have an interview in progress." }),
        el("span", { class: "muted", text: [cur.round, cur.level].filter(Boolean).join(" \u00B7 ") })),
      el("div", { class: "resume__actions" },
        el("button", { type: "button", class: "btn btn--ghost", text: "Discard", onclick: () => { forgetCurrent(); banner.remove(); } }),
        el("a", { class: "btn btn--secondary", href: `#/session/${encodeURIComponent(cur.session_id)}`, text: "Resume" })),
    );
    return banner;
  }

  return () => {
    alive = false;
  };
}

function skeletonCards(n) {
  return Array.from({ length: n }, () => el("div", { class: "round-card round-card--skeleton", "aria-hidden": "true" },
    el("span", { class: "sk sk--title" }), el("span", { class: "sk sk--line" }), el("span", { class: "sk sk--line short" })));
}
