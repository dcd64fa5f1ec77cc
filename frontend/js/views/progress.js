// Progress across the sessions this browser holds keys for (POST /api/progress): a plot per round, per topic and
// per Leadership Principle over time, the weakest areas, questions due for review, and "Practice next": a round
// whose plan favours the weak spots, due questions first (POST /api/practice).
import { el, replaceChildren } from "../dom.js";
import { getProgress, startPractice, ApiError } from "../api.js";
import { vote } from "../labels.js";
import { showToast } from "../toast.js";
import { sessionKeys, saveSession, recordSessionStart } from "../store.js";
import { lineChart, lineChartModel, PALETTE_SIZE } from "../charts/line.js";

const CHARTS = [
  { kind: "round", title: "By round", testid: "chart-rounds" },
  { kind: "topic", title: "By topic", testid: "chart-topics" },
  { kind: "principle", title: "By Leadership Principle", testid: "chart-principles" },
];

export function mountProgress(root, ctx) {
  let alive = true;
  const keys = sessionKeys();
  if (!keys.length) {
    replaceChildren(root, emptyPage("No interviews on this browser yet. Finish a round and your progress shows up here."));
    return () => {};
  }
  replaceChildren(root, el("div", { class: "page" },
    el("section", { class: "panel", "aria-busy": "true" },
      el("p", { class: "muted", role: "status" }, el("span", { class: "spinner", "aria-hidden": "true" }), " Loading your progress\u2026"))));
  getProgress(keys)
    .then((p) => {
      if (alive) draw(p);
    })
    .catch((err) => {
      if (!alive) return;
      replaceChildren(root, emptyPage(err instanceof ApiError ? err.message : "Could not load your progress."));
    });

  function emptyPage(text) {
    return el("div", { class: "page progress", "data-testid": "progress" },
      el("section", { class: "panel" },
        el("h1", { class: "section-title", id: "progress-title", tabindex: "-1", text: "Your progress" }),
        el("p", { class: "muted", "data-testid": "progress-empty", text }),
        el("a", { class: "btn btn--primary", href: "#/", text: "Start an interview" })));
  }

  function draw(p) {
    if (!p || !p.graded_answers) {
      replaceChildren(root, emptyPage("None of this browser's interviews has a graded answer yet. Answer a few questions and come back."));
      return;
    }
    const practice = p.suggestion ? practicePanel(p.suggestion) : null;
    const page = el("div", { class: "page progress", "data-testid": "progress" },
      el("section", { class: "panel" },
        el("p", { class: "eyebrow", text: "Progress" }),
        el("h1", { class: "section-title", id: "progress-title", tabindex: "-1", text: "Your progress across sessions" }),
        el("p", { class: "muted small", text: `${p.sessions} session${p.sessions === 1 ? "" : "s"} \u00B7 ${p.graded_answers} graded answer${p.graded_answers === 1 ? "" : "s"} \u00B7 kept in this browser; each point is a session's average grade in that area.` })),
      practice,
      el("div", { class: "progress__grid" }, weakestPanel(p), duePanel(p)),
      CHARTS.map((c) => chartPanel(c, p.series.filter((s) => s.kind === c.kind))));
    replaceChildren(root, page);
    const active = document.activeElement;
    if (!active || active === document.body || active === root) page.querySelector("h1").focus({ preventScroll: true });
  }

  function practicePanel(s) {
    const btn = el("button", { type: "button", class: "btn btn--primary btn--large", "data-testid": "practice-next",
      text: "Practice next", onclick: () => practise(btn) });
    return el("section", { class: "panel practice", "aria-labelledby": "practice-h", "data-testid": "practice" },
      el("div", { class: "practice__text" },
        el("h2", { id: "practice-h", class: "section-title", text: "Practice next" }),
        el("p", { "data-testid": "practice-round", text: `${s.round_title} \u00B7 ${s.level}` }),
        s.focus.length ? el("p", { class: "small" }, el("strong", { text: "Aimed at: " }), s.focus.join(", ")) : null,
        s.due.length ? el("p", { class: "small" }, el("strong", { text: "Due for review: " }), s.due.join(", ")) : null,
        el("p", { class: "muted small", text: "The plan favours questions on your weakest topics, principles and key points; questions you missed come back after 0, 1, 3, 7 and 21 days of getting them right." })),
      btn);
  }

  async function practise(btn) {
    btn.disabled = true;
    btn.textContent = "Starting\u2026";
    try {
      const s = await startPractice(sessionKeys());
      saveSession({ session_id: s.session_id, token: s.token, round: s.round, level: s.level });
      recordSessionStart({ session_id: s.session_id, round: s.round, level: s.level, kind: "practice" });
      ctx.navigate(`#/session/${encodeURIComponent(s.session_id)}`);
    } catch (err) {
      btn.disabled = false;
      btn.textContent = "Practice next";
      showToast({ kind: "error", message: err.message || "Could not start the practice round." });
    }
  }

  function weakestPanel(p) {
    return el("section", { class: "panel", "aria-labelledby": "weak-h" },
      el("h2", { id: "weak-h", class: "section-title", text: "Weakest areas" }),
      p.weakest.length
        ? el("ol", { class: "weak-list", "data-testid": "weakest" }, p.weakest.map((w) =>
            el("li", { class: "weak-list__item" },
              el("span", { class: "weak-list__label", text: w.label }),
              el("span", { class: "muted small", text: `${w.kind === "principle" ? "Leadership Principle" : "Topic"} \u00B7 ${w.sessions} session${w.sessions === 1 ? "" : "s"}` }),
              el("span", { class: `chip chip--small chip--${vote(null, Math.max(1, Math.floor(w.mean))).key}`, text: `avg ${w.mean.toFixed(1)}` }))))
        : el("p", { class: "muted", "data-testid": "weakest", text: "Nothing below \u201Cinclined\u201D in your recent sessions." }),
      p.weak_key_points.length
        ? el("div", {},
            el("h3", { class: "sub-title", text: "Key points still missing" }),
            el("ul", { class: "bullets bullets--con", "data-testid": "weak-key-points" },
              p.weak_key_points.map((k) => el("li", {}, el("strong", { text: `${k.question}: ` }), k.text))))
        : null);
  }

  function duePanel(p) {
    return el("section", { class: "panel", "aria-labelledby": "due-h" },
      el("h2", { id: "due-h", class: "section-title", text: "Review schedule" }),
      p.due.length
        ? el("ul", { class: "due-list", "data-testid": "due-list" }, p.due.map((q) =>
            el("li", { class: `due-list__item${q.due ? " is-due" : ""}` },
              el("span", { class: "due-list__title", text: q.title }),
              el("span", { class: "muted small", text: q.due ? "due now" : `due ${dayText(q.due_at)}` }))))
        : el("p", { class: "muted", "data-testid": "due-list", text: "No missed questions to review." }));
  }

  return () => {
    alive = false;
  };
}

function dayText(seconds) {
  try {
    return new Date(seconds * 1000).toLocaleDateString(undefined, { month: "short", day: "numeric" });
  } catch {
    return new Date(seconds * 1000).toISOString().slice(0, 10);
  }
}

function chartPanel({ kind, title, testid }, series) {
  const id = `chart-${kind}-h`;
  if (!series.length) {
    return el("section", { class: "panel chart-panel", "aria-labelledby": id, "data-testid": testid },
      el("h2", { id, class: "section-title", text: title }),
      el("p", { class: "muted", text: kind === "principle" ? "No Leadership Principle answers graded yet." : "Nothing graded here yet." }));
  }
  // the most-practised areas first; at most one colour each
  const shown = [...series].sort((a, b) => b.points.length - a.points.length || a.label.localeCompare(b.label)).slice(0, PALETTE_SIZE);
  const model = lineChartModel(shown);
  return el("section", { class: "panel chart-panel", "aria-labelledby": id, "data-testid": testid },
    el("h2", { id, class: "section-title", text: title }),
    el("div", { class: "chart-wrap" }, lineChart(model, { title: `${title}: average grade per session over time` })),
    el("ul", { class: "chart-legend" }, model.lines.map((l) =>
      el("li", { class: `chart-legend__item series--${l.colour}` },
        el("span", { class: "chart-legend__swatch", "aria-hidden": "true" }),
        el("span", { text: `${l.label} (latest ${l.points[l.points.length - 1].level.toFixed(1)})` })))),
    series.length > shown.length ? el("p", { class: "muted small", text: `and ${series.length - shown.length} more` }) : null,
    el("details", { class: "chart-data" },
      el("summary", { text: "Show the data" }),
      el("div", { class: "table-wrap" },
        el("table", { class: "lp-table" },
          el("thead", {}, el("tr", {}, ["Area", "Session", "Average", "Answers"].map((h) => el("th", { scope: "col", text: h })))),
          el("tbody", {}, shown.flatMap((s) => s.points.map((pt) =>
            el("tr", {},
              el("th", { scope: "row", text: s.label }),
              el("td", { text: dayText(pt.at) }),
              el("td", { text: pt.level.toFixed(1) }),
              el("td", { text: String(pt.answers) })))))))));
}
