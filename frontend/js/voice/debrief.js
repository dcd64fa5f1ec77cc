// The debrief's speech section: the round's speech analytics with their good ranges, and each spoken answer's
// recording (served by GET /api/sessions/{id}/audio/{audio_id}). Hidden when no answer was spoken.
import { el, replaceChildren } from "../dom.js";
import { roundSpeech, GOOD_RANGES } from "./analytics.js";

const LABELS = {
  wpm: ["Pace", (v) => `${v} words/min`],
  fillers_per_min: ["Fillers", (v) => `${v} a minute`],
  long_pauses: ["Long pauses (over 2 s)", (v) => `${v}`],
  first_word_after_s: ["First word after a question", (v) => `${v.toFixed(1)} s (median)`],
  talk_ratio: ["You talked", (v) => `${Math.round(v * 100)} % of the time`],
};
const VERDICT_TEXT = { good: "in range", low: "low", high: "high", unknown: "not measured" };

export function speechPanel({ sessionId, token }) {
  const body = el("div", { class: "speech" });
  const element = el("section", { class: "panel", "data-testid": "speech", hidden: true, "aria-labelledby": "speech-h" },
    el("h2", { id: "speech-h", class: "section-title", text: "How you spoke" }), body);

  function fill(turns) {
    const summary = roundSpeech(turns);
    if (!summary) return;
    element.hidden = false;
    const rows = Object.entries(LABELS).map(([key, [label, fmt]]) => {
      const value = summary.figures[key];
      const verdict = summary.verdicts[key];
      return el("tr", { "data-testid": `speech-${key}`, "data-verdict": verdict },
        el("th", { scope: "row", text: label }),
        el("td", { text: value == null ? "\u2014" : fmt(value) }),
        el("td", { class: `speech__verdict speech__verdict--${verdict}`, text: VERDICT_TEXT[verdict] }),
        el("td", { class: "muted small", text: GOOD_RANGES[key].text }));
    });
    const spoken = turns.filter((t) => t.role === "candidate" && t.source === "voice");
    const q = new URLSearchParams({ token });
    replaceChildren(body,
      el("p", { class: "muted small", text: `${summary.turns} spoken answer${summary.turns === 1 ? "" : "s"}, ${summary.words} words` +
        (summary.lowConfidence ? `; ${summary.lowConfidence} not graded because the transcription was unsure` : "") }),
      el("table", { class: "table speech__table" }, el("tbody", null, rows)),
      el("h3", { class: "sub-title", text: "Your recordings" }),
      el("ol", { class: "speech__recordings" }, spoken.map((t) => el("li", { "data-testid": "recording" },
        el("p", { class: "small", text: t.text }),
        t.low_confidence ? el("p", { class: "small muted", text: "Transcription unsure: this answer was not graded." }) : null,
        t.audio && t.audio.id
          ? el("audio", { controls: true, preload: "none", src: `/api/sessions/${encodeURIComponent(sessionId)}/audio/${t.audio.id}?${q}` })
          : el("p", { class: "small muted", text: `No recording kept${t.audio && t.audio.reason ? ` (${t.audio.reason})` : ""}.` })))));
  }

  return { element, fill };
}
