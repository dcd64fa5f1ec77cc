// The readable report of a replay, as Markdown (pure). Candidate and model words are escaped, so nothing in
// an answer becomes a link, a heading or HTML in a Markdown viewer.
import { VOTES, moveTag } from "../labels.js";
import { aimOf, clockAt, keyPointText, runsOf, timingParts } from "./model.js";

/** Text safe inside a Markdown paragraph: HTML and Markdown syntax characters are escaped. */
export function mdEscape(text) {
  return String(text ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([\\`*_[\]#|~])/g, "\\$1");
}

/** Each line as a Markdown block quote. */
function quoteBlock(text) {
  const lines = String(text ?? "").split(/\r?\n/);
  return lines.map((l) => `> ${mdEscape(l)}`.trimEnd()).join("\n");
}

function voteText(level) {
  return VOTES[level] ? VOTES[level].text : "No evidence";
}

function when(seconds) {
  if (typeof seconds !== "number") return null;
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

/** One run in a line: its status and what the run found (never the reference's rows). */
function runLine(run) {
  const r = run.result || {};
  return `${mdEscape(r.status || "run")}${r.summary ? ` \u2014 ${mdEscape(r.summary)}` : ""}`;
}

/** The whole report. */
export function replayMarkdown(replay) {
  const runs = runsOf(replay);
  const out = [];
  const d = replay.debrief;
  out.push(`# Bar Raiser replay: ${mdEscape(replay.round_title || replay.round)}${replay.level ? ` \u00B7 ${mdEscape(replay.level)}` : ""}`);
  out.push("");
  const meta = [
    `Session \`${String(replay.session_id).replace(/`/g, "")}\``,
    when(replay.started_at ?? replay.created_at) ? `started ${when(replay.started_at ?? replay.created_at)}` : null,
    replay.status === "ended" ? "ended" : "in progress",
    replay.brain ? `${mdEscape(replay.brain)} brain` : null,
  ].filter(Boolean);
  out.push(meta.join(" \u00B7 "));
  if (d && (d.vote || d.vote_level)) {
    out.push("");
    out.push(`**Vote:** ${d.vote_level ? voteText(d.vote_level) : "Not enough evidence to vote"}`);
  }
  if (replay.forked_from) {
    out.push("");
    out.push(`Retry of answer at turn ${replay.forked_from.turn} of session \`${String(replay.forked_from.session_id).slice(0, 8)}\`.`);
  }
  out.push("");
  out.push("## Timeline");
  let answers = 0;
  for (const t of replay.turns) {
    out.push("");
    const clock = clockAt(t, replay);
    if (t.role === "interviewer") {
      const tag = moveTag(t.move, t.principle);
      out.push(`### ${clock ? `${clock} \u00B7 ` : ""}Interviewer${tag ? ` \u2014 ${mdEscape(tag.text)}` : ""}`);
      out.push("");
      out.push(quoteBlock(t.text));
      const aim = aimOf(t, replay);
      const notes = [];
      if (aim) notes.push(`- **Aimed at** (${aim.kind}): ${mdEscape(aim.text)}`);
      if (t.rationale) notes.push(`- **Why:** ${mdEscape(t.rationale)}`);
      if (notes.length) out.push("", ...notes);
      continue;
    }
    answers += 1;
    const g = t.grade;
    const grade = g ? `${voteText(g.overall)}${g.confidence === "low" ? " (tentative)" : ""}` : "not graded yet";
    out.push(`### ${clock ? `${clock} \u00B7 ` : ""}Your answer ${answers} \u2014 ${grade}`);
    out.push("");
    out.push(quoteBlock(t.text));
    const lines = [];
    const timing = timingParts(t);
    if (timing.length) lines.push(`- **Timing:** ${timing.join(", ")}`);
    for (const r of runs.byTurn.get(t.index) || []) lines.push(`- **Code run:** ${runLine(r)}`);
    if (g) {
      if (g.answers) lines.push(`- **Judged against:** ${mdEscape(keyPointText(replay, t.question_id, g.answers))}`);
      for (const c of g.criteria) {
        const quotes = c.evidence.map((q) => `\u201C${mdEscape(q)}\u201D`).join("; ");
        lines.push(`- **${mdEscape(c.name)}:** ${voteText(c.level)}${quotes ? ` \u2014 ${quotes}` : ""}`);
      }
      if (g.evidence.length) lines.push(`- **Evidence:** ${g.evidence.map((q) => `\u201C${mdEscape(q)}\u201D`).join("; ")}`);
      if (g.missed.length && g.kind !== "clarifying" && g.kind !== "closing") {
        lines.push(`- **Missed:** ${g.missed.map((k) => mdEscape(keyPointText(replay, t.question_id, k))).join("; ")}`);
      }
      for (const n of g.notes) lines.push(`- ${mdEscape(n)}`);
    }
    if (lines.length) out.push("", ...lines);
  }
  if (runs.pad.length) {
    out.push("", "## Runs from the code pad", "");
    for (const r of runs.pad) out.push(`- ${when(r.at) ? `${when(r.at)}: ` : ""}${runLine(r)}`);
  }
  if (d && (d.summary || d.practice_plan.length)) {
    out.push("", "## Debrief", "");
    if (d.summary) out.push(mdEscape(d.summary), "");
    if (d.practice_plan.length) {
      out.push("**Practice plan**", "");
      d.practice_plan.forEach((p, i) => out.push(`${i + 1}. ${mdEscape(p)}`));
    }
    if (d.caveats.length) {
      out.push("", "**Caveats**", "");
      for (const c of d.caveats) out.push(`- ${mdEscape(c)}`);
    }
  }
  out.push("");
  return out.join("\n");
}
