// Speech analytics of a round: the per-turn figures the server stores on each spoken candidate turn (`speech`,
// app/voice/analytics.py) summed up, each with the range a good interview answer usually falls in.

export const GOOD_RANGES = {
  wpm: { low: 120, high: 160, text: "120\u2013160 words a minute: clear and unhurried" },
  fillers_per_min: { low: 0, high: 3, text: "under 3 fillers a minute (Whisper leaves many \u201cum\u201ds out: a lower bound)" },
  long_pauses: { low: 0, high: 2, text: "a pause over 2 s now and then is fine; say you are thinking" },
  first_word_after_s: { low: 0.5, high: 5, text: "start within about 5 s of the question (a short think, aloud, is fine)" },
  talk_ratio: { low: 0.55, high: 0.8, text: "you talk 55\u201380 % of the time in a technical round" },
};

function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function verdict(key, value) {
  const r = GOOD_RANGES[key];
  if (value == null || !r) return "unknown";
  if (value < r.low) return "low";
  if (value > r.high) return "high";
  return "good";
}

/** The round's summary, or null when no turn was spoken. */
export function roundSpeech(turns) {
  const spoken = (Array.isArray(turns) ? turns : []).filter((t) => t && t.role === "candidate" && t.speech);
  if (!spoken.length) return null;
  const s = spoken.map((t) => t.speech);
  const words = sum(s.map((x) => x.words || 0));
  const speechS = sum(s.map((x) => x.speech_s || 0));
  const wpmTurns = s.filter((x) => x.wpm != null);
  const spanMin = sum(wpmTurns.map((x) => (x.words || 0) / x.wpm));
  const wpm = spanMin > 0 ? Math.round(sum(wpmTurns.map((x) => x.words || 0)) / spanMin) : null;
  const fillers = sum(s.map((x) => x.fillers || 0));
  const fillersPerMin = spanMin > 0 ? Math.round((fillers / spanMin) * 10) / 10 : null;
  const longPauses = sum(s.map((x) => x.long_pauses || 0));
  const firsts = s.map((x) => x.first_word_after_s).filter((v) => typeof v === "number");
  const interviewerS = sum(s.map((x) => x.interviewer_s || 0));
  const talkRatio = speechS + interviewerS > 0 ? Math.round((speechS / (speechS + interviewerS)) * 100) / 100 : null;
  const figures = {
    wpm,
    fillers_per_min: fillersPerMin,
    long_pauses: longPauses,
    first_word_after_s: median(firsts),
    talk_ratio: talkRatio,
  };
  return {
    turns: spoken.length,
    words,
    fillers,
    lowConfidence: spoken.filter((t) => t.low_confidence).length,
    figures,
    verdicts: Object.fromEntries(Object.keys(figures).map((k) => [k, verdict(k, figures[k])])),
  };
}
