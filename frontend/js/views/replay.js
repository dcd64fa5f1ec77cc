// The graded replay of a session: a timeline of every turn with why the interviewer made each move, each answer
// with its grades and the evidence highlighted inside its words, what it missed and how long it took; a strip of
// the round to jump around, filters, retries beside the original answers, and exports (Markdown, JSON, print).
//
//   #/replay/<id>   a session this browser holds a key for (GET /api/sessions/{id}/replay)
//   #/import        a replay (or transcript) file chosen by the candidate: validated, shown read-only
//
// Everything shown from a replay is text: answers are text nodes and <mark> elements, never markup.
import { el, clear, replaceChildren, quoted, snippet } from "../dom.js";
import { getReplay, lookupSessions, forkSession, createSession, saveFile, ApiError } from "../api.js";
import { vote, moveTag } from "../labels.js";
import { voteChip, tentativeChip } from "../components.js";
import { showToast } from "../toast.js";
import { tokenFor, sessionKeys, saveSession, recordSessionStart } from "../store.js";
import { problemCard } from "../room/view.js";
import {
  validateReplay,
  highlightSegments,
  gradeQuotes,
  criteriaCiting,
  stripItems,
  filterOptions,
  turnMatches,
  timingParts,
  clockAt,
  aimOf,
  keyPointText,
  retriesByTurn,
  exportName,
  runsOf,
  MAX_IMPORT_BYTES,
} from "../replay/model.js";
import { runResult } from "../pad/results.js";
import { replayMarkdown } from "../replay/report.js";

/** The replay of a stored session. */
export function mountReplay(root, ctx, sessionId) {
  const token = tokenFor(sessionId);
  if (!token) {
    replaceChildren(root, problemCard(ctx, "This interview isn't on this device",
      "Its key is stored in the browser that started it. Open the replay there, or import an exported replay file."));
    return () => {};
  }
  let alive = true;
  replaceChildren(root, loadingCard("Loading the graded replay\u2026"));
  getReplay(sessionId, token)
    .then((raw) => {
      if (!alive) return;
      const checked = validateReplay(raw);
      if (!checked.ok) throw new Error(checked.error);
      const view = drawReplay(root, ctx, checked.replay, { raw, token });
      lookupSessions(sessionKeys())
        .then((data) => {
          if (alive) view.showRetries(retriesByTurn(data && data.sessions, sessionId));
        })
        .catch(() => {
          /* retries are extra: the replay stands without them */
        });
    })
    .catch((err) => {
      if (!alive) return;
      const gone = err instanceof ApiError && (err.status === 404 || err.status === 401);
      replaceChildren(root, problemCard(ctx, gone ? "This replay is not available" : "Could not load the replay",
        err.message || "Try again in a moment.", gone ? sessionId : undefined));
    });
  return () => {
    alive = false;
  };
}

/** Choose an exported replay (or transcript) file and show it. */
export function mountImport(root, ctx) {
  const error = el("p", { class: "form-error", role: "alert", "data-testid": "import-error", hidden: true });
  const input = el("input", {
    type: "file",
    id: "import-file",
    class: "file-input",
    accept: "application/json,.json",
    "data-testid": "import-file",
    onchange: () => {
      const file = input.files && input.files[0];
      if (file) read(file);
    },
  });
  const page = el("div", { class: "page" },
    el("section", { class: "panel import", "aria-labelledby": "import-h" },
      el("h1", { id: "import-h", class: "section-title", text: "Import a replay" }),
      el("p", { class: "muted", text: "Open a replay you downloaded as JSON (or an older transcript download). It is shown here, in this browser only; nothing is sent to the server." }),
      el("label", { class: "field-label", for: "import-file", text: "Replay file (.json)" }),
      input,
      error,
      el("div", { class: "problem__actions" },
        el("button", { type: "button", class: "btn btn--ghost", text: "Back to the lobby", onclick: () => ctx.navigate("#/") }))));
  replaceChildren(root, page);

  function fail(message) {
    error.textContent = message;
    error.hidden = false;
  }

  function read(file) {
    error.hidden = true;
    if (file.size > MAX_IMPORT_BYTES) {
      fail(`That file is ${(file.size / 1e6).toFixed(1)} MB; a replay is at most ${MAX_IMPORT_BYTES / 1e6} MB.`);
      return;
    }
    file.text().then((text) => {
      let data;
      try {
        data = JSON.parse(text);
      } catch {
        fail("That file is not valid JSON.");
        return;
      }
      const checked = validateReplay(data);
      if (!checked.ok) {
        fail(checked.error);
        return;
      }
      drawReplay(root, ctx, checked.replay, { imported: true });
      root.focus({ preventScroll: true });
    }, () => fail("The file could not be read."));
  }
  return () => {};
}

function loadingCard(text) {
  return el("div", { class: "page" },
    el("section", { class: "panel", "aria-busy": "true" },
      el("p", { class: "muted", role: "status" }, el("span", { class: "spinner", "aria-hidden": "true" }), " ", text)));
}

function dateText(seconds) {
  if (typeof seconds !== "number") return null;
  try {
    return new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  } catch {
    return new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ");
  }
}

function gradeChip(grade, testid) {
  if (!grade) return el("span", { class: "chip chip--none", "data-testid": testid, "data-vote": "pending", text: "Not graded yet" });
  const chip = voteChip(grade.overall_label, grade.overall, { testid });
  const tentative = tentativeChip(grade, { testid: `${testid}-tentative` });
  return tentative ? el("span", { class: "grade-chips" }, chip, tentative) : chip;
}

/**
 * Draw a validated replay into root. `raw` is the server's document (downloaded as is); `token` allows retries and
 * drills; `imported` replays are read-only. Returns {showRetries(byTurn)}.
 */
function drawReplay(root, ctx, replay, { raw = null, token = null, imported = false } = {}) {
  const d = replay.debrief;
  const live = !imported && Boolean(token);
  const turnNodes = new Map(); // index -> <li>
  const retrySlots = new Map(); // candidate index -> the slot for its retries
  const stripButtons = new Map();
  const runs = runsOf(replay); // the candidate's code runs: with an answer, or from the pad
  let answerNo = 0;

  // ------------------------------------------------------------------ head
  const v = d && d.vote_level ? vote(null, d.vote_level) : null;
  // an exam-mode round still running: the server sent no grades (they are not "not graded yet")
  const withheld = replay.mode === "exam" && replay.status !== "ended";
  const title = `${replay.round_title}${replay.level ? ` \u00B7 ${replay.level}` : ""}`;
  const meta = [dateText(replay.started_at ?? replay.created_at), replay.status === "ended" ? "Ended" : "In progress",
    replay.brain ? `${replay.brain} brain` : null, imported ? "Imported file" : null].filter(Boolean);
  const actions = el("div", { class: "replay-head__actions no-print" },
    el("button", { type: "button", class: "btn btn--secondary btn--small", "data-testid": "replay-download-md",
      text: "Download report (Markdown)", onclick: () => saveFile(exportName(replay, "md"), replayMarkdown(replay), "text/markdown") }),
    el("button", { type: "button", class: "btn btn--ghost btn--small", "data-testid": "replay-download-json",
      text: "Download JSON", onclick: downloadJson }),
    el("button", { type: "button", class: "btn btn--ghost btn--small", "data-testid": "replay-print",
      text: "Print or save as PDF", onclick: () => window.print() }),
    live
      ? el("a", { class: "btn btn--ghost btn--small", "data-testid": "replay-open-session",
          href: `#/session/${encodeURIComponent(replay.session_id)}`,
          text: replay.status === "ended" ? "Debrief" : "Resume the round" })
      : null,
    el("a", { class: "btn btn--link btn--small", href: "#/", text: "Lobby" }),
    el("a", { class: "btn btn--link btn--small", href: "#/progress", text: "Progress" }));

  const kindNote = {
    fork: replay.forked_from
      ? `A retry: answer again from turn ${replay.forked_from.turn} of an earlier round. The earlier answer is shown beside the new one.`
      : "A retry of an earlier answer.",
    drill: "A drill: one question on its own.",
    practice: replay.focus.areas.length || replay.focus.due.length
      ? `A practice round aimed at ${[...replay.focus.areas, ...replay.focus.due].join(", ")}.`
      : "A practice round aimed at your weak spots.",
  }[replay.kind];

  const head = el("section", { class: `panel replay-head${v ? ` verdict--${v.key}` : ""}` },
    el("p", { class: "eyebrow", text: "Graded replay" }),
    el("h1", { class: "replay-head__title", id: "replay-title", tabindex: "-1", text: title }),
    el("p", { class: "muted small", text: meta.join(" \u00B7 ") }),
    el("div", { class: "replay-head__vote" },
      el("span", { class: "muted small", text: "Debrief vote" }),
      d && d.vote_level ? voteChip(null, d.vote_level, { testid: "replay-vote" })
        : el("span", { class: "chip chip--none", "data-testid": "replay-vote", text: d ? "Not enough evidence to vote" : "No debrief yet" })),
    kindNote ? el("p", { class: "replay-head__note", "data-testid": "replay-kind-note", text: kindNote }) : null,
    withheld ? el("p", { class: "exam-note", "data-testid": "replay-exam-note",
      text: "Exam mode: the grades, and what each question aimed at, come in the debrief." }) : null,
    d && d.summary ? el("p", { class: "summary", text: d.summary }) : null,
    actions);

  // ------------------------------------------------------------------ strip and filter
  const strip = el("ol", { class: "strip", "data-testid": "replay-strip" });
  for (const item of stripItems(replay)) {
    const label = item.kind === "answer"
      ? `Answer ${item.number}: ${vote(null, item.level).text}`
      : `${moveTag(item.move)?.text || item.kind} (turn ${item.index + 1})`;
    const btn = el("button", {
      type: "button",
      class: `strip__item strip__item--${item.kind}`,
      "data-testid": "strip-item",
      "data-index": item.index,
      "data-kind": item.kind,
      "data-vote": item.kind === "answer" ? vote(null, item.level).key : null,
      "aria-label": label,
      title: label,
      text: item.label,
      onclick: () => jump(item.index),
    });
    stripButtons.set(item.index, btn);
    strip.appendChild(el("li", {}, btn));
  }
  const filter = el("select", { id: "replay-filter", class: "select select--small", "data-testid": "replay-filter",
    onchange: () => applyFilter() },
  filterOptions(replay).map((o) => el("option", { value: o.value, text: o.label })));
  const shown = el("span", { class: "muted small", "aria-live": "polite", "data-testid": "replay-shown" });
  const nav = el("section", { class: "panel replay-nav no-print", "aria-label": "Round overview" },
    el("div", { class: "replay-nav__row" },
      el("h2", { class: "mini-heading", text: "The round at a glance" }),
      el("span", { class: "legend muted small" },
        el("span", { class: "legend__item legend__item--question", text: "Q question" }),
        el("span", { class: "legend__item legend__item--pivot", text: "LP pivot" }),
        el("span", { class: "legend__item legend__item--return", text: "\u21A9 return" }),
        el("span", { class: "legend__item legend__item--answer", text: "A answer (colour: grade)" }))),
    el("nav", { "aria-label": "Jump to a turn" }, strip),
    el("div", { class: "replay-nav__row" },
      el("label", { class: "field-label", for: "replay-filter", text: "Show" }), filter, shown));

  // ------------------------------------------------------------------ timeline
  const timeline = el("ol", { class: "replay-timeline", "data-testid": "replay-timeline", "aria-label": "Timeline" });
  for (const t of replay.turns) {
    const node = t.role === "interviewer" ? interviewerItem(t) : candidateItem(t);
    turnNodes.set(t.index, node);
    timeline.appendChild(node);
  }
  if (!replay.turns.length) timeline.appendChild(el("li", { class: "muted", text: "This round has no turns yet." }));

  const plan = d && d.practice_plan.length
    ? el("section", { class: "panel", "aria-labelledby": "replay-plan-h" },
        el("h2", { id: "replay-plan-h", class: "section-title", text: "Practice plan" }),
        el("ol", { class: "plan" }, d.practice_plan.map((p) => el("li", { text: p }))))
    : null;

  const padRuns = runs.pad.length
    ? el("section", { class: "panel", "aria-labelledby": "replay-pad-h", "data-testid": "replay-pad-runs" },
        el("h2", { id: "replay-pad-h", class: "section-title", text: "Runs from the code pad" }),
        runs.pad.map((r) => runResult(r, { showCode: true })))
    : null;

  const page = el("div", { class: "page replay", "data-testid": "replay", "data-session": replay.session_id },
    head, nav, el("section", { class: "replay-body", "aria-labelledby": "replay-title" }, timeline), padRuns, plan);
  replaceChildren(root, page);
  applyFilter();
  const active = document.activeElement;
  if (!active || active === document.body || active === root) head.querySelector("h1").focus({ preventScroll: true });

  function interviewerItem(t) {
    const tag = moveTag(t.move, t.principle);
    const aim = aimOf(t, replay);
    const clock = clockAt(t, replay);
    return el("li", {
      class: "rturn rturn--interviewer",
      id: `turn-${t.index}`,
      tabindex: "-1",
      "data-testid": "replay-turn",
      "data-role": "interviewer",
      "data-index": t.index,
      "data-move": t.move,
    },
    el("div", { class: "rturn__head" },
      clock ? el("time", { class: "rturn__clock", text: clock, title: "Time since the round started" }) : null,
      el("span", { class: "rturn__who", text: "Interviewer" }),
      tag ? el("span", { class: `tag tag--${tag.kind}`, text: tag.text }) : null),
    el("p", { class: "rturn__text", text: t.text }),
    aim || t.rationale
      ? el("dl", { class: "rturn__why" },
          aim ? [el("dt", { text: `Aimed at (${aim.kind})` }), el("dd", { "data-testid": "turn-aim", text: aim.text })] : null,
          t.rationale ? [el("dt", { text: "Why this move" }), el("dd", { "data-testid": "turn-why", text: t.rationale })] : null)
      : null);
  }

  function candidateItem(t) {
    answerNo += 1;
    const n = answerNo;
    const g = t.grade;
    const quotes = gradeQuotes(g);
    const text = el("p", { class: "rturn__text rturn__answer", "data-testid": "answer-text" },
      highlightSegments(t.text, quotes).map((seg) => {
        if (!seg.quotes.length) return document.createTextNode(seg.text);
        const cited = [...new Set(seg.quotes.flatMap((i) => criteriaCiting(g, quotes[i])))];
        return el("mark", {
          class: "evidence",
          "data-testid": "evidence-mark",
          title: cited.length ? `Evidence for ${cited.join(", ")}` : "Evidence for the grade",
          text: seg.text,
        });
      }));
    const timing = timingParts(t);
    // a spoken answer's recording, from the server (an imported file has no recordings)
    const recording = t.source === "voice" && t.audio && live
      ? el("audio", { class: "rturn__audio", controls: true, preload: "none", "data-testid": "turn-audio",
          src: `/api/sessions/${encodeURIComponent(replay.session_id)}/audio/${t.audio.id}?${new URLSearchParams({ token })}` })
      : null;
    const clock = clockAt(t, replay);
    const question = t.question_id ? replay.questions[t.question_id] : null;
    const node = el("li", {
      class: "rturn rturn--candidate",
      id: `turn-${t.index}`,
      tabindex: "-1",
      "data-testid": "replay-turn",
      "data-role": "candidate",
      "data-index": t.index,
    },
    el("div", { class: "rturn__head" },
      clock ? el("time", { class: "rturn__clock", text: clock, title: "Time since the round started" }) : null,
      el("span", { class: "rturn__who", text: `Your answer ${n}` }),
      !g && withheld
        ? el("span", { class: "chip chip--none", "data-testid": "turn-grade", "data-vote": "withheld", text: "Grade in the debrief" })
        : gradeChip(g, "turn-grade")),
    text,
    timing.length ? el("p", { class: "rturn__timing muted small", "data-testid": "turn-timing", text: timing.join(" \u00B7 ") }) : null,
    recording,
    (runs.byTurn.get(t.index) || []).length
      ? el("div", { class: "rturn__runs", "data-testid": "turn-runs" }, runs.byTurn.get(t.index).map((r) => runResult(r, { showCode: true })))
      : null,
    t.low_confidence ? el("p", { class: "muted small", text: "Spoken; the transcription was unsure, so this answer was not graded." }) : null,
    g ? gradeDetail(t, g) : el("p", { class: "muted small", text: "This answer has not been graded." }),
    compareSlot(t),
    live
      ? el("div", { class: "rturn__actions no-print" },
          el("button", { type: "button", class: "btn btn--secondary btn--small", "data-testid": "retry-turn",
            text: "Try this answer again", onclick: (ev) => retry(t, ev.currentTarget) }),
          t.question_id && question ? el("button", { type: "button", class: "btn btn--ghost btn--small",
            "data-testid": "drill-question", text: "Drill this question", onclick: (ev) => drill(t, ev.currentTarget) }) : null)
      : null);
    return node;
  }

  function gradeDetail(t, g) {
    // a clarifying question (or a closing remark) is not an answer: nothing was missed by asking
    const missed = g.kind === "clarifying" || g.kind === "closing" ? [] : g.missed.map((k) => keyPointText(replay, t.question_id, k));
    return el("div", { class: "rturn__grade" },
      g.answers ? el("p", { class: "small" }, el("strong", { text: "Judged against: " }),
        el("span", { text: keyPointText(replay, t.question_id, g.answers) })) : null,
      g.criteria.length
        ? el("ul", { class: "rcriteria", "data-testid": "turn-criteria", "aria-label": "Grades per criterion" },
            g.criteria.map((c) => el("li", { class: "rcriterion" },
              el("div", { class: "criterion__row" },
                el("span", { class: "criterion__name", text: c.name }),
                voteChip(c.label, c.level, { size: "small" })),
              c.evidence.length
                ? el("ul", { class: "quotes quotes--small" }, c.evidence.map((q) => el("li", { class: "quote", text: quoted(q) })))
                : el("p", { class: "muted small", text: "No evidence for this criterion in this answer." }))))
        : null,
      missed.length
        ? el("div", { class: "rturn__missed", "data-testid": "turn-missed" },
            el("h3", { class: "mini-heading", text: "What it missed" }),
            el("ul", { class: "bullets bullets--con" }, missed.map((m) => el("li", { text: m }))))
        : null,
      g.red_flags.length
        ? el("p", { class: "small rturn__flags" }, el("strong", { text: "Red flags: " }), g.red_flags.join(", "))
        : null,
      g.notes.length ? el("ul", { class: "grade__notes" }, g.notes.map((x) => el("li", { text: x }))) : null);
  }

  /** Where the old and the new answers meet: a fork's answer beside the original, or this answer's retries. */
  function compareSlot(t) {
    const slot = el("div", { class: "rturn__compare-slot" });
    const f = replay.forked_from;
    if (f && f.turn === t.index && f.original) {
      slot.appendChild(el("div", { class: "compare", "data-testid": "turn-compare" },
        el("div", { class: "compare__col", "data-testid": "compare-old" },
          el("span", { class: "mini-heading", text: "Before" }),
          gradeChip(f.original.grade, "compare-old-grade"),
          el("p", { class: "compare__text small", text: snippet(f.original.text, 220) }),
          el("a", { class: "small no-print", href: `#/replay/${encodeURIComponent(f.session_id)}`, text: "Open the original round" })),
        el("div", { class: "compare__col", "data-testid": "compare-new" },
          el("span", { class: "mini-heading", text: "Now" }),
          gradeChip(t.grade, "compare-new-grade"),
          el("p", { class: "compare__text small", text: snippet(t.text, 220) }))));
    }
    retrySlots.set(t.index, { slot, turn: t });
    return slot;
  }

  function showRetries(byTurn) {
    for (const [index, { slot, turn }] of retrySlots) {
      const list = byTurn[index];
      if (!list || !list.length) continue;
      clear(slot);
      slot.appendChild(el("div", { class: "compare", "data-testid": "turn-compare" },
        el("div", { class: "compare__col", "data-testid": "compare-old" },
          el("span", { class: "mini-heading", text: "This answer" }),
          gradeChip(turn.grade, "compare-old-grade")),
        el("div", { class: "compare__col", "data-testid": "compare-new" },
          el("span", { class: "mini-heading", text: list.length === 1 ? "Your retry" : `Your ${list.length} retries` }),
          el("ul", { class: "retry-list", "data-testid": "turn-retries" }, list.map((r, i) =>
            el("li", {},
              r.answered ? gradeChip(r.overall ? { overall: r.overall, overall_label: r.overall_label, confidence: r.confidence } : null, "retry-grade")
                : el("span", { class: "chip chip--none", "data-testid": "retry-grade", text: "Not answered yet" }),
              " ",
              el("a", { class: "small no-print", href: `#/replay/${encodeURIComponent(r.session_id)}`, text: `Open retry ${i + 1}` })))))));
    }
  }

  // ------------------------------------------------------------------ actions
  function jump(index) {
    const node = turnNodes.get(index);
    if (!node) return;
    if (node.hidden) {
      filter.value = "all";
      applyFilter();
    }
    node.scrollIntoView({ block: "center" });
    node.focus({ preventScroll: true });
  }

  function applyFilter() {
    let count = 0;
    for (const t of replay.turns) {
      const on = turnMatches(t, filter.value);
      const node = turnNodes.get(t.index);
      if (node) node.hidden = !on;
      const btn = stripButtons.get(t.index);
      if (btn) btn.classList.toggle("is-dim", !on);
      if (on) count += 1;
    }
    shown.textContent = filter.value === "all" ? `${count} turns` : `${count} of ${replay.turns.length} turns`;
  }

  function downloadJson() {
    const doc = raw && typeof raw === "object" ? { ...raw } : { ...replay };
    doc.exported_at = Date.now() / 1000;
    saveFile(exportName(replay, "json"), JSON.stringify(doc, null, 2), "application/json");
  }

  async function retry(t, button) {
    button.disabled = true;
    try {
      const s = await forkSession(replay.session_id, token, t.index);
      saveSession({ session_id: s.session_id, token: s.token, round: s.round, level: s.level });
      recordSessionStart({
        session_id: s.session_id, round: s.round, round_title: replay.round_title, level: s.level,
        question: t.question_id && replay.questions[t.question_id] ? replay.questions[t.question_id].title : null,
        kind: "fork", retry_of: { session_id: replay.session_id, turn: t.index, overall: t.grade ? t.grade.overall : null },
      });
      ctx.navigate(`#/session/${encodeURIComponent(s.session_id)}`);
    } catch (err) {
      button.disabled = false;
      showToast({ kind: "error", message: err.message || "Could not start the retry." });
    }
  }

  async function drill(t, button) {
    button.disabled = true;
    try {
      const s = await createSession(replay.round, replay.level, t.question_id, { drill: true });
      saveSession({ session_id: s.session_id, token: s.token, round: s.round, level: s.level });
      recordSessionStart({
        session_id: s.session_id, round: s.round, round_title: replay.round_title, level: s.level,
        question: replay.questions[t.question_id].title, kind: "drill",
      });
      ctx.navigate(`#/session/${encodeURIComponent(s.session_id)}`);
    } catch (err) {
      button.disabled = false;
      showToast({ kind: "error", message: err.message || "Could not start the drill." });
    }
  }

  return { showRetries };
}

