// The graded replay's data, pure: validating a replay (from the server or an imported file), finding the evidence
// inside an answer, the round strip, the filters and the timings. No DOM here: ../views/replay.js draws it.
//
// A replay is GET /api/sessions/{id}/replay (docs/protocol.md, format "barraiser-replay"); an imported file may
// also be the older transcript download (GET .../transcript). Everything in it is untrusted text: validateReplay
// keeps only known fields with bounded sizes, and evidence that is not verbatim in its answer is dropped.

export const REPLAY_FORMAT = "barraiser-replay";
export const MAX_IMPORT_BYTES = 2_000_000;

const MAX_TURNS = 600;
const MAX_TEXT = 20_000;
const VOTE_LABELS = ["strong_no_hire", "not_inclined", "inclined", "strong_hire"];
const CONFIDENCE = new Set(["high", "medium", "low"]);
const ROLES = new Set(["interviewer", "candidate"]);
const MAX_RUNS = 400;
const RUN_STATUSES = new Set(["ok", "wrong", "error", "timeout", "refused"]);

function str(v, max = 200) {
  return typeof v === "string" && v.length ? v.slice(0, max) : null;
}

function num(v) {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function int(v, lo = 0, hi = Number.MAX_SAFE_INTEGER) {
  return Number.isInteger(v) && v >= lo && v <= hi ? v : null;
}

function level(v) {
  return int(v, 1, 4);
}

function strings(v, maxItems = 40, maxLen = 2000) {
  return Array.isArray(v) ? v.map((x) => str(x, maxLen)).filter(Boolean).slice(0, maxItems) : [];
}

function obj(v) {
  return v && typeof v === "object" && !Array.isArray(v) ? v : null;
}

/** Quotes that really are in the answer (verbatim), each once. */
function verbatim(quotes, text) {
  return [...new Set(strings(quotes, 40, MAX_TEXT))].filter((q) => q.trim() && text.includes(q));
}

function cleanGrade(g, text) {
  const o = obj(g);
  if (!o) return null;
  const overall = level(o.overall);
  return {
    overall,
    overall_label: overall ? VOTE_LABELS[overall - 1] : null,
    criteria: (Array.isArray(o.criteria) ? o.criteria : []).slice(0, 20).map((c) => {
      const co = obj(c) || {};
      const lv = level(co.level);
      return {
        id: str(co.id, 80),
        name: str(co.name, 160) || str(co.id, 80) || "Criterion",
        level: lv,
        label: lv ? VOTE_LABELS[lv - 1] : null,
        evidence: verbatim(co.evidence, text),
      };
    }),
    evidence: verbatim(o.evidence, text),
    notes: strings(o.notes, 20, 1000),
    covered: strings(o.covered, 40, 128),
    missed: strings(o.missed, 40, 128),
    red_flags: strings(o.red_flags, 20, 128),
    answers: str(o.answers, 128),
    confidence: CONFIDENCE.has(o.confidence) ? o.confidence : null,
    kind: str(o.kind, 32),
    question_id: str(o.question_id, 128),
    principle: str(o.principle, 80),
  };
}

function cleanTiming(t, text) {
  const o = obj(t) || {};
  const think = num(o.think_s);
  return {
    think_s: think !== null && think >= 0 ? think : null,
    chars: text.length,
    words: text.split(/\s+/).filter(Boolean).length,
  };
}

/** A spoken answer's recording and speech figures (app/voice): {audio: {id, duration_s} | null, speech | null}. */
function cleanVoice(o) {
  const a = obj(o.audio);
  const audio = a && typeof a.id === "string" && /^[0-9a-f]{32}$/.test(a.id) ? { id: a.id, duration_s: num(a.duration_s) } : null;
  const sp = obj(o.speech);
  const speech = sp
    ? {
        speech_s: num(sp.speech_s),
        wpm: num(sp.wpm),
        fillers: int(sp.fillers),
        long_pauses: int(sp.long_pauses),
        first_word_after_s: num(sp.first_word_after_s),
      }
    : null;
  return { audio, speech, low_confidence: o.low_confidence === true };
}

function cleanTurn(t, i) {
  const o = obj(t);
  if (!o || !ROLES.has(o.role)) return null;
  const text = typeof o.text === "string" ? o.text.slice(0, MAX_TEXT) : "";
  const turn = {
    index: int(o.index) ?? i,
    role: o.role,
    text,
    move: str(o.move, 32),
    principle: str(o.principle, 80),
    question_id: str(o.question_id, 128),
    key_point: str(o.key_point, 128),
    star_part: str(o.star_part, 32),
    failure_mode: str(o.failure_mode, 80),
    rationale: str(o.rationale, 2000),
    thread: str(o.thread, 16),
    at: num(o.at),
    clock_s: num(o.clock_s) !== null && o.clock_s >= 0 ? o.clock_s : null,
  };
  if (o.role === "candidate") {
    turn.grade = cleanGrade(o.grade, text);
    turn.timing = cleanTiming(o.timing, text);
    turn.source = o.source === "voice" ? "voice" : "text";
    if (turn.source === "voice") Object.assign(turn, cleanVoice(o));
  }
  return turn;
}

function cleanQuestions(q) {
  const out = {};
  const o = obj(q);
  if (!o) return out;
  for (const [id, ref] of Object.entries(o).slice(0, 200)) {
    const r = obj(ref);
    if (!r || typeof id !== "string" || id.length > 128) continue;
    out[id] = {
      id,
      title: str(r.title, 200) || id,
      kind: str(r.kind, 32),
      topics: strings(r.topics, 20, 120),
      key_points: (Array.isArray(r.key_points) ? r.key_points : []).slice(0, 40)
        .map((k) => obj(k))
        .filter((k) => k && str(k.id, 128))
        .map((k) => ({ id: str(k.id, 128), text: str(k.text, 1000) || str(k.id, 128) })),
    };
  }
  return out;
}

function cleanDebrief(d) {
  const o = obj(d);
  if (!o) return null;
  return {
    vote: str(o.vote, 40),
    vote_level: level(o.vote_level),
    summary: str(o.summary, 5000),
    practice_plan: strings(o.practice_plan, 20, 1000),
    caveats: strings(o.caveats, 20, 1000),
  };
}

/** One run of the candidate's code ({id, source, turn, question_id, code, at, result}), or null. The result keeps
 * only what the page draws (../pad/results.js), every field bounded; it is shown as text only. */
function cleanRun(r) {
  const o = obj(r);
  const res = o && obj(o.result);
  if (!res || !["pad", "answer"].includes(o.source)) return null;
  const rows = Array.isArray(res.rows)
    ? res.rows.slice(0, 200).map((row) => (Array.isArray(row) ? row.slice(0, 50).map((c) => (c === null ? null : String(c).slice(0, 200))) : [])) : [];
  const tests = Array.isArray(res.tests)
    ? res.tests.slice(0, 100).map(obj).filter(Boolean).map((t) => ({ name: str(t.name, 200) || "test", passed: t.passed === true, error: str(t.error, 2000) }))
    : [];
  return {
    id: str(o.id, 64) || "",
    source: o.source,
    turn: int(o.turn),
    question_id: str(o.question_id, 128),
    code: str(o.code, MAX_TEXT) || "",
    at: num(o.at),
    result: {
      language: str(res.language, 16),
      status: RUN_STATUSES.has(res.status) ? res.status : "error",
      checked: res.checked !== false,
      summary: str(res.summary, 1000) || "",
      error: str(res.error, 4000),
      elapsed_ms: num(res.elapsed_ms),
      columns: strings(res.columns, 50, 200),
      rows,
      row_count: int(res.row_count),
      truncated: res.truncated === true,
      diff: obj(res.diff) ? { kinds: strings(res.diff.kinds, 10, 64), expected_rows: int(res.diff.expected_rows), actual_rows: int(res.diff.actual_rows),
        missing: int(res.diff.missing), extra: int(res.diff.extra), expected_columns: strings(res.diff.expected_columns, 50, 200), expected_width: int(res.diff.expected_width),
        actual_columns: strings(res.diff.actual_columns, 50, 200) } : null,
      stdout: str(res.stdout, 8000),
      stderr: str(res.stderr, 8000),
      tests,
      passed: int(res.passed),
      total: int(res.total),
    },
  };
}

function cleanFork(f) {
  const o = obj(f);
  if (!o || !str(o.session_id, 128) || int(o.turn, 1) === null) return null;
  const orig = obj(o.original);
  const text = orig && typeof orig.text === "string" ? orig.text.slice(0, MAX_TEXT) : null;
  return {
    session_id: str(o.session_id, 128),
    turn: int(o.turn, 1),
    original: text === null ? null : { text, at: num(orig.at), grade: cleanGrade(orig.grade, text) },
  };
}

/**
 * Validate a replay (or a transcript export) and normalise it. Returns {ok: true, replay} or {ok: false, error}.
 * The result has only known fields: strings bounded, grades on the 1..4 scale, evidence verbatim in its answer.
 */
export function validateReplay(data) {
  const o = obj(data);
  if (!o) return { ok: false, error: "The file is not a JSON object." };
  if (o.format !== undefined && o.format !== REPLAY_FORMAT) {
    return { ok: false, error: `Unknown format ${JSON.stringify(String(o.format).slice(0, 40))}.` };
  }
  if (!Array.isArray(o.turns)) return { ok: false, error: "The file has no turns: it is not a Bar Raiser replay or transcript." };
  if (!str(o.round, 64)) return { ok: false, error: "The file does not say which round it is." };
  if (o.turns.length > MAX_TURNS) return { ok: false, error: `Too many turns (${o.turns.length}; at most ${MAX_TURNS}).` };
  const turns = o.turns.map(cleanTurn).filter(Boolean);
  turns.sort((a, b) => a.index - b.index);
  return {
    ok: true,
    replay: {
      format: REPLAY_FORMAT,
      session_id: str(o.session_id, 128) || "imported",
      kind: ["interview", "fork", "drill", "practice"].includes(o.kind) ? o.kind : "interview",
      round: str(o.round, 64),
      round_title: str(o.round_title, 120) || str(o.round, 64),
      duration_min: int(o.duration_min, 0, 600) ?? 0,
      level: str(o.level, 8),
      brain: str(o.brain, 32),
      mode: o.mode === "exam" ? "exam" : "practice",
      status: o.status === "ended" ? "ended" : "in_progress",
      created_at: num(o.created_at),
      started_at: num(o.started_at),
      ended_at: num(o.ended_at),
      forked_from: cleanFork(o.forked_from),
      focus: obj(o.focus) ? { areas: strings(o.focus.areas, 10, 200), due: strings(o.focus.due, 10, 200) } : { areas: [], due: [] },
      turns,
      runs: Array.isArray(o.runs) ? o.runs.slice(0, MAX_RUNS).map(cleanRun).filter(Boolean) : [],
      questions: cleanQuestions(o.questions),
      debrief: cleanDebrief(o.debrief),
    },
  };
}

/** The runs of one answer's code (`source: "answer"`, by candidate turn index), and the pad's runs in order. */
export function runsOf(replay) {
  const byTurn = new Map();
  const pad = [];
  for (const r of replay.runs || []) {
    if (r.source === "answer" && r.turn !== null) byTurn.set(r.turn, [...(byTurn.get(r.turn) || []), r]);
    else if (r.source === "pad") pad.push(r);
  }
  pad.sort((a, b) => (a.at || 0) - (b.at || 0));
  return { byTurn, pad };
}

/**
 * The answer's text cut into segments by the quotes found in it: [{text, quotes: [quote index, ...]}].
 * A quote marks its first occurrence; overlapping quotes give segments marked by several quotes.
 */
export function highlightSegments(text, quotes) {
  const s = String(text ?? "");
  const ranges = [];
  (Array.isArray(quotes) ? quotes : []).forEach((q, i) => {
    if (typeof q !== "string" || !q) return;
    const start = s.indexOf(q);
    if (start >= 0) ranges.push({ start, end: start + q.length, i });
  });
  if (!ranges.length) return s ? [{ text: s, quotes: [] }] : [];
  const cuts = [...new Set([0, s.length, ...ranges.flatMap((r) => [r.start, r.end])])].sort((a, b) => a - b);
  const segments = [];
  for (let k = 0; k < cuts.length - 1; k += 1) {
    const [a, b] = [cuts[k], cuts[k + 1]];
    if (a === b) continue;
    const marks = ranges.filter((r) => r.start <= a && r.end >= b).map((r) => r.i);
    const last = segments[segments.length - 1];
    if (last && !marks.length && !last.quotes.length) last.text += s.slice(a, b);
    else segments.push({ text: s.slice(a, b), quotes: marks });
  }
  return segments;
}

/** Every evidence quote of a grade, each once: the overall ones first, then the criteria's. */
export function gradeQuotes(grade) {
  if (!grade) return [];
  const all = [...(grade.evidence || []), ...(grade.criteria || []).flatMap((c) => c.evidence || [])];
  return [...new Set(all)];
}

/** Names of the criteria that cite `quote`. */
export function criteriaCiting(grade, quote) {
  return (grade && grade.criteria ? grade.criteria : []).filter((c) => (c.evidence || []).includes(quote)).map((c) => c.name);
}

const STRIP_KIND = {
  ask: "question",
  lp_pivot: "pivot",
  failure_probe: "pivot",
  return: "return",
  hint: "hint",
  follow_up: "follow",
  lp_follow_up: "follow",
  clarify: "follow",
  wrap_up: "end",
  end: "end",
};

/**
 * The round's strip: one item per turn, in order.
 * [{index, kind: "question" | "pivot" | "return" | "hint" | "follow" | "end" | "answer", label, vote?, question?}]
 */
export function stripItems(replay) {
  let q = 0;
  let answers = 0;
  return replay.turns.map((t) => {
    if (t.role === "candidate") {
      answers += 1;
      const lv = t.grade ? t.grade.overall : null;
      return { index: t.index, kind: "answer", label: `A${answers}`, level: lv, number: answers };
    }
    const kind = STRIP_KIND[t.move] || "follow";
    if (kind === "question") q += 1;
    const label = kind === "question" ? `Q${q}` : kind === "pivot" ? "LP" : kind === "return" ? "\u21A9" : kind === "hint" ? "H" : kind === "end" ? "End" : "\u2022";
    return { index: t.index, kind, label, move: t.move };
  });
}

/** What the timeline can be filtered by: [{value, label}] ("all", "q:<id>", "p:<principle>"). */
export function filterOptions(replay) {
  const options = [{ value: "all", label: "All turns" }];
  const qs = [...new Set(replay.turns.filter((t) => t.question_id).map((t) => t.question_id))];
  for (const id of qs) {
    const title = replay.questions[id] ? replay.questions[id].title : id;
    options.push({ value: `q:${id}`, label: `Question: ${title}` });
  }
  const ps = [...new Set(replay.turns.filter((t) => t.principle).map((t) => t.principle))];
  for (const p of ps) options.push({ value: `p:${p}`, label: `Principle: ${p}` });
  return options;
}

/** Whether a turn is shown under a filter value. */
export function turnMatches(turn, filter) {
  if (!filter || filter === "all") return true;
  if (filter.startsWith("q:")) return turn.question_id === filter.slice(2);
  if (filter.startsWith("p:")) return turn.principle === filter.slice(2);
  return true;
}

/** How an answer was given, in words: ["answered 1 min 12 s after the question ended", "spoke 40 s", ...]. */
export function timingParts(turn) {
  const parts = [];
  const t = turn.timing;
  if (t && formatDuration(t.think_s)) parts.push(`answered ${formatDuration(t.think_s)} after the question ended`);
  const sp = turn.speech;
  if (turn.source === "voice") {
    if (sp && formatDuration(sp.speech_s)) parts.push(`spoke ${formatDuration(sp.speech_s)}`);
    if (sp && sp.first_word_after_s !== null) parts.push(`first word after ${sp.first_word_after_s.toFixed(1)} s`);
    if (sp && sp.wpm !== null) parts.push(`${sp.wpm} words/min`);
    if (sp && sp.fillers !== null) parts.push(`${sp.fillers} filler${sp.fillers === 1 ? "" : "s"}`);
    if (sp && sp.long_pauses) parts.push(`${sp.long_pauses} long pause${sp.long_pauses === 1 ? "" : "s"}`);
  }
  if (t) parts.push(`${t.words} word${t.words === 1 ? "" : "s"}`, `${t.chars} characters`);
  return parts;
}

/** "45 s", "1 min 12 s", "12 min". */
export function formatDuration(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) return null;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  const rest = s % 60;
  if (m >= 10 || rest === 0) return `${m} min`;
  return `${m} min ${rest} s`;
}

/** "mm:ss" since the round started (the server's `clock_s`, else from `at` and the start), or null. */
export function clockAt(turn, replay) {
  let s = turn.clock_s;
  if (typeof s !== "number") {
    const start = replay.started_at ?? (replay.turns[0] && replay.turns[0].at);
    if (typeof turn.at !== "number" || typeof start !== "number") return null;
    s = turn.at - start;
  }
  s = Math.max(0, Math.round(s));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/** What an interviewer turn aimed at, in words, or null. */
export function aimOf(turn, replay) {
  const q = turn.question_id ? replay.questions[turn.question_id] : null;
  if (turn.key_point) {
    const kp = q && q.key_points.find((k) => k.id === turn.key_point);
    return { kind: "key point", text: kp ? kp.text : humanId(turn.key_point) };
  }
  if (turn.move === "lp_pivot" || turn.move === "lp_follow_up") {
    if (turn.star_part) return { kind: "STAR part", text: `${turn.principle ? `${turn.principle}: ` : ""}${turn.star_part}` };
    if (turn.principle) return { kind: "principle", text: turn.principle };
  }
  if (turn.failure_mode) return { kind: "failure mode", text: humanId(turn.failure_mode) };
  if (turn.move === "ask" && q) return { kind: "question", text: q.title };
  return null;
}

/** A key point's words for a question (what a strong answer says), else its id made readable. */
export function keyPointText(replay, questionId, id) {
  const q = questionId ? replay.questions[questionId] : null;
  const kp = q && q.key_points.find((k) => k.id === id);
  return kp ? kp.text : humanId(id);
}

export function humanId(id) {
  return String(id ?? "").replace(/[_-]+/g, " ").replace(/^./, (c) => c.toUpperCase());
}

/**
 * Retries of this session's answers, from the lookup summaries: {turn: [{session_id, overall, overall_label,
 * answered, confidence, created_at}]}, oldest first.
 */
export function retriesByTurn(summaries, sessionId) {
  const out = {};
  for (const s of Array.isArray(summaries) ? summaries : []) {
    if (!s || !s.forked_from || s.forked_from.session_id !== sessionId || !s.retry) continue;
    const turn = s.forked_from.turn;
    (out[turn] = out[turn] || []).push({
      session_id: s.session_id,
      overall: level(s.retry.overall),
      overall_label: s.retry.overall_label || null,
      confidence: s.retry.confidence || null,
      answered: Boolean(s.retry.answered),
      created_at: num(s.created_at),
    });
  }
  for (const list of Object.values(out)) list.sort((a, b) => (a.created_at || 0) - (b.created_at || 0));
  return out;
}

/** A file name for an export: bar-raiser-<round>-<id8>.<ext>. */
export function exportName(replay, ext) {
  const round = String(replay.round || "interview").replace(/[^A-Za-z0-9_-]/g, "") || "interview";
  const id = String(replay.session_id || "").slice(0, 8).replace(/[^A-Za-z0-9_-]/g, "");
  return `bar-raiser-${round}${id ? `-${id}` : ""}.${ext}`;
}
