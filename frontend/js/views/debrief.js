// Debrief: the vote, the evidence behind it, and what to practise next.
import { el, replaceChildren, quoted } from "../dom.js";
import { downloadTranscript, getTranscript } from "../api.js";
import { speechPanel } from "../voice/debrief.js";
import { vote, VOTES, humanize } from "../labels.js";
import { voteChip, interviewerTurn, candidateTurn } from "../components.js";
import { currentSession, forgetCurrent } from "../store.js";
import { showToast } from "../toast.js";
import { runResult } from "../pad/results.js";

export function mountDebrief(root, ctx, { sessionId, token, debrief, round, level, turns, runs }) {
  const d = debrief || {};
  const v = vote(d.vote, d.vote_level);
  const competencies = Array.isArray(d.competencies) ? d.competencies : [];
  const dataPoints = Array.isArray(d.lp_data_points) ? d.lp_data_points : [];
  const principles = Array.isArray(d.principles) ? d.principles : [];
  const plan = Array.isArray(d.practice_plan) ? d.practice_plan : [];
  const feedback = Array.isArray(d.principle_feedback) ? d.principle_feedback : [];
  const notes = Array.isArray(d.notes) ? d.notes : [];
  const caveats = Array.isArray(d.caveats) ? d.caveats.filter((c) => typeof c === "string" && c) : [];
  const allTurns = Array.isArray(turns) ? turns : [];
  const allRuns = Array.isArray(runs) ? runs : [];

  const downloadBtn = el("button", { type: "button", class: "btn btn--secondary", "data-testid": "download", onclick: download },
    "Download transcript (JSON)");
  const newBtn = el("button", { type: "button", class: "btn btn--secondary", "data-testid": "new-interview",
    onclick: () => {
      // Opened from "Past interviews" while another round is in progress: keep that one resumable.
      const cur = currentSession();
      if (!cur || cur.session_id === sessionId) forgetCurrent();
      ctx.navigate("#/");
    } }, "New interview");

  const roundName = round ? round.title || round.id : null;
  // spoken answers: analytics and recordings come with the stored transcript
  const speech = speechPanel({ sessionId, token });
  // the conversation as the server stored it: in exam mode the room never had the grades nor the LP tags
  const review = el("div", { class: "transcript transcript--static" });
  const reviewTitle = el("summary", { class: "replay__summary" });
  const reviewPanel = el("section", { class: "panel" }, el("details", { class: "replay" }, reviewTitle, review));
  const showReview = (ts, rs) => {
    reviewPanel.hidden = !ts.length;
    reviewTitle.textContent = `Review the conversation (${ts.length} turns)`;
    replaceChildren(review, replayItems(ts, rs));
    // the replay bubbles reuse the room's components; their own test ids, so they are not counted as live turns
    for (const n of review.querySelectorAll("[data-testid]")) {
      if (!n.getAttribute("data-testid").startsWith("replay-")) n.setAttribute("data-testid", `replay-${n.getAttribute("data-testid")}`);
    }
  };
  showReview(allTurns, allRuns);
  loadTranscript(sessionId, token).then(
    (t) => {
      speech.fill(t.turns);
      if (Array.isArray(t.turns) && t.turns.length) showReview(t.turns, Array.isArray(t.runs) ? t.runs : allRuns);
    },
    () => speech.fill(allTurns),
  );
  const stats = [];
  if (Number.isInteger(d.turns_graded)) stats.push(`${d.turns_graded} answer${d.turns_graded === 1 ? "" : "s"} graded`);
  if (Number.isInteger(d.turns_without_evidence) && d.turns_without_evidence > 0) {
    stats.push(`${d.turns_without_evidence} without evidence`);
  }

  const page = el(
    "div",
    { class: "page debrief", "data-testid": "debrief" },
    el(
      "section",
      { class: `panel verdict verdict--${v.key}` },
      el("div", { class: "verdict__main" },
        el("p", { class: "eyebrow", text: ["Debrief", roundName, level].filter(Boolean).join(" \u00B7 ") }),
        el("h1", { class: "verdict__label" },
          el("span", { class: "verdict__caption", text: "Bar raiser vote" }),
          el("span", { class: `vote vote--${v.key}`, "data-testid": "vote", "data-vote": v.key, text: v.text })),
        voteScale(v.key),
        stats.length ? el("p", { class: "muted small", text: stats.join(" \u00B7 ") }) : null),
      el("div", { class: "verdict__actions" },
        el("a", { class: "btn btn--primary", "data-testid": "open-replay", href: `#/replay/${encodeURIComponent(sessionId)}`,
          text: "Open the graded replay" }),
        downloadBtn, newBtn),
    ),
    d.summary
      ? el("section", { class: "panel" },
          el("h2", { class: "section-title", text: "Summary" }),
          el("p", { class: "summary", "data-testid": "summary", text: d.summary }),
          notes.map((n) => el("p", { class: "muted small", text: n })))
      : null,
    caveats.length
      ? el("section", { class: "panel", "aria-labelledby": "caveats-h", "data-testid": "caveats" },
          el("h2", { id: "caveats-h", class: "section-title", text: "What this grader could not verify" }),
          el("ul", { class: "caveats" }, caveats.map((c) => el("li", { "data-testid": "caveat", text: c }))))
      : null,
    competencies.length
      ? el("section", { class: "panel", "aria-labelledby": "comp-h" },
          el("h2", { id: "comp-h", class: "section-title", text: "Competencies" }),
          competencyTable(competencies))
      : null,
    dataPoints.length || principles.length
      ? el("section", { class: "panel", "aria-labelledby": "lp-h" },
          el("h2", { id: "lp-h", class: "section-title", text: "Leadership Principles" }),
          principles.length ? principleTable(principles) : null,
          feedback.length
            ? el("div", { class: "datapoints" },
                el("h3", { class: "sub-title", text: "Did you recognise the principle being probed?" }),
                el("ul", { class: "datapoint-list", "data-testid": "principle-feedback" }, feedback.map((f) =>
                  el("li", { class: `datapoint datapoint--${f.recognised ? "positive" : "negative"}` },
                    el("div", { class: "datapoint__head" },
                      el("span", { class: "datapoint__principle", text: f.principle || "" }),
                      el("span", { class: `polarity polarity--${f.recognised ? "positive" : "negative"}`,
                        text: f.recognised ? "Recognised" : "Missed" })),
                    el("p", { class: "small", text: f.feedback || "" })))))
            : null,
          dataPoints.length
            ? el("div", { class: "datapoints" },
                el("h3", { class: "sub-title", text: "Data points" }),
                el("ul", { class: "datapoint-list", "data-testid": "lp-data-points" }, dataPoints.map(dataPoint)))
            : null)
      : null,
    plan.length
      ? el("section", { class: "panel", "aria-labelledby": "plan-h" },
          el("h2", { id: "plan-h", class: "section-title", text: "Practice plan" }),
          el("ol", { class: "plan", "data-testid": "practice-plan" }, plan.map((p) => el("li", { text: p }))))
      : null,
    speech.element,
    reviewPanel,
  );
  replaceChildren(root, page);

  async function download() {
    downloadBtn.disabled = true;
    try {
      await downloadTranscript(sessionId, token);
    } catch (err) {
      showToast({ kind: "error", message: err.message || "Could not download the transcript." });
    } finally {
      downloadBtn.disabled = false;
    }
  }

  return () => {};
}

/** The stored transcript once the round's end is on the server (an exam round's transcript is complete only then:
 * right after the debrief frame the server may still be saving it), a few tries. */
async function loadTranscript(sessionId, token, tries = 5) {
  let t = null;
  for (let i = 0; i < tries; i += 1) {
    t = await getTranscript(sessionId, token);
    if (!t || t.status === "ended") return t || { turns: [] };
    await new Promise((resolve) => setTimeout(resolve, 400 * (i + 1)));
  }
  return t;
}

function voteScale(activeKey) {
  return el("ol", { class: "vote-scale", "aria-label": "Vote scale" },
    [1, 2, 3, 4].map((n) => {
      const v = VOTES[n];
      const on = v.key === activeKey;
      return el("li", { class: `vote-scale__step vote-scale__step--${v.key}${on ? " is-active" : ""}`, "aria-current": on ? "true" : null },
        el("span", { class: "vote-scale__bar", "aria-hidden": "true" }),
        el("span", { class: "vote-scale__label", text: v.text }));
    }));
}

function list(items, cls, emptyText) {
  const xs = Array.isArray(items) ? items.filter(Boolean) : [];
  if (!xs.length) return el("span", { class: "muted small", text: emptyText });
  return el("ul", { class: `bullets ${cls}` }, xs.map((x) => el("li", { text: x })));
}

function competencyTable(rows) {
  return el("div", { class: "table-wrap" },
    el("table", { class: "comp-table", "data-testid": "competencies" },
      el("thead", {}, el("tr", {},
        ["Competency", "Level", "Pros", "Cons", "Unknowns"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows.map((c) =>
        el("tr", { "data-competency": c.id || null },
          el("th", { scope: "row", class: "comp-table__name", text: c.title || humanize(c.id) }),
          el("td", { "data-label": "Level" }, voteChip(c.label, c.level, { size: "small" })),
          el("td", { "data-label": "Pros" }, list(c.pros, "bullets--pro", "\u2014")),
          el("td", { "data-label": "Cons" }, list(c.cons, "bullets--con", "\u2014")),
          el("td", { "data-label": "Unknowns" }, list(c.unknowns, "bullets--unknown", "\u2014")))))));
}

function principleTable(rows) {
  const yes = (b) => el("span", { class: `yn ${b ? "yn--yes" : "yn--no"}`, text: b ? "Yes" : "No" });
  return el("div", { class: "table-wrap" },
    el("table", { class: "lp-table", "data-testid": "principles" },
      el("thead", {}, el("tr", {},
        ["Principle", "Probed", "Demonstrated", "Level"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows.map((p) =>
        el("tr", {},
          el("th", { scope: "row", text: p.principle || "" }),
          el("td", { "data-label": "Probed" }, yes(p.probed)),
          el("td", { "data-label": "Demonstrated" }, yes(p.demonstrated)),
          el("td", { "data-label": "Level" }, p.probed || p.level != null ? voteChip(null, p.level, { size: "small" }) : el("span", { class: "muted small", text: "\u2014" })))))));
}

function dataPoint(p) {
  const pol = String(p.polarity || "neutral").toLowerCase();
  const polText = { positive: "Positive", negative: "Concern", neutral: "Neutral" }[pol] || humanize(pol);
  return el("li", { class: `datapoint datapoint--${pol}` },
    el("div", { class: "datapoint__head" },
      el("span", { class: "datapoint__principle", text: p.principle || "Leadership Principle" }),
      el("span", { class: `polarity polarity--${pol}`, text: polText })),
    p.quote ? el("blockquote", { class: "datapoint__quote", text: quoted(p.quote) }) : null);
}

/** The conversation with every run of the candidate's code in its place: an answer's run right after the answer,
 * a run from the pad's Run button where it happened in time. */
function replayItems(turns, runs) {
  const padRuns = runs.filter((r) => r.source === "pad").sort((a, b) => (a.at || 0) - (b.at || 0));
  const out = [];
  let next = 0;
  const flush = (before) => {
    while (next < padRuns.length && (before === null || (padRuns[next].at || 0) < before)) {
      out.push(el("div", { class: "replay__run" }, runResult(padRuns[next], { showCode: true })));
      next += 1;
    }
  };
  for (const t of turns) {
    flush(Number.isFinite(t.at) ? t.at : Infinity);
    out.push(t.role === "interviewer" ? interviewerTurn(t) : candidateTurn(t));
    if (t.role === "candidate") {
      for (const r of runs) if (r.source === "answer" && r.turn === t.index) out.push(el("div", { class: "replay__run" }, runResult(r)));
    }
  }
  flush(null);
  return out;
}
