// localStorage helpers. Every access is guarded: private modes and disabled storage must not break the page.

const CURRENT = "barraiser.session"; // {session_id, token, round, level, status}
const TOKENS = "barraiser.tokens"; // {session_id: token} so any session link opened on this device resumes
const SHOW_GRADES = "barraiser.showGrades";
const OUTBOX = "barraiser.outbox"; // {session_id: {id, turn, text}}: answers sent and not yet confirmed saved
const HISTORY = "barraiser.history"; // {session_id: {round, round_title, level, question, created_at, status, vote, vote_level, ended_at}}
const MAX_SESSIONS = 20;

function read(key) {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? null : JSON.parse(raw);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value === null || value === undefined) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage unavailable: the session still works until the tab closes */
  }
}

/** Remember a session: {session_id, token, round?, level?}. */
export function saveSession(session) {
  if (!session || !session.session_id || !session.token) return;
  write(CURRENT, {
    session_id: session.session_id,
    token: session.token,
    round: session.round || null,
    level: session.level || null,
    status: session.status || "active",
  });
  const tokens = read(TOKENS) || {};
  tokens[session.session_id] = session.token;
  // Keep the map small.
  const ids = Object.keys(tokens);
  if (ids.length > MAX_SESSIONS) for (const id of ids.slice(0, ids.length - MAX_SESSIONS)) delete tokens[id];
  write(TOKENS, tokens);
}

/** The last session started on this device, or null. */
export function currentSession() {
  const s = read(CURRENT);
  return s && s.session_id && s.token ? s : null;
}

/** The token for a session id, or null. */
export function tokenFor(sessionId) {
  const cur = currentSession();
  if (cur && cur.session_id === sessionId) return cur.token;
  const tokens = read(TOKENS) || {};
  return typeof tokens[sessionId] === "string" ? tokens[sessionId] : null;
}

/** Mark the current session as ended (the lobby then stops offering to resume it). */
export function markEnded(sessionId) {
  const cur = currentSession();
  if (cur && cur.session_id === sessionId && cur.status !== "ended") write(CURRENT, { ...cur, status: "ended" });
  if (tokenFor(sessionId) && readHistory()[sessionId]?.status !== "ended") updateEntry(sessionId, { status: "ended" });
}

// ------------------------------------------------------------------ past interviews
// Small, untrusted-on-read metadata per session, so the lobby can list past interviews. The token stays in TOKENS.

const VOTE_KEYS = new Set(["strong_no_hire", "not_inclined", "inclined", "strong_hire", "insufficient_evidence"]);

function str(v, max) {
  return typeof v === "string" && v.trim() ? v.trim().slice(0, max) : null;
}

function isoOrNull(v) {
  if (typeof v !== "string" || v.length > 40) return null;
  return Number.isNaN(Date.parse(v)) ? null : v;
}

/** Keep only the known fields, with bounded lengths and sane types. */
function cleanEntry(e) {
  if (!e || typeof e !== "object" || Array.isArray(e)) return null;
  const level = Number.isInteger(e.vote_level) && e.vote_level >= 1 && e.vote_level <= 4 ? e.vote_level : null;
  return {
    round: str(e.round, 64),
    round_title: str(e.round_title, 120),
    level: str(e.level, 8),
    question: str(e.question, 160),
    created_at: isoOrNull(e.created_at),
    ended_at: isoOrNull(e.ended_at),
    status: e.status === "ended" ? "ended" : "active",
    vote: typeof e.vote === "string" && VOTE_KEYS.has(e.vote) ? e.vote : null,
    vote_level: level,
    kind: KINDS.has(e.kind) ? e.kind : "interview",
    retry_of: cleanRetryOf(e.retry_of),
  };
}

const KINDS = new Set(["interview", "fork", "drill", "practice"]);

/** A retry's origin: {session_id, turn, overall} (the original answer's grade, for the room's banner). */
function cleanRetryOf(r) {
  if (!r || typeof r !== "object" || typeof r.session_id !== "string" || r.session_id.length > 128) return null;
  if (!Number.isInteger(r.turn) || r.turn < 1) return null;
  const overall = Number.isInteger(r.overall) && r.overall >= 1 && r.overall <= 4 ? r.overall : null;
  return { session_id: r.session_id, turn: r.turn, overall };
}

function readHistory() {
  const h = read(HISTORY);
  return h && typeof h === "object" && !Array.isArray(h) ? h : {};
}

function writeHistory(h) {
  // Newest MAX_SESSIONS entries only; older ones (and their tokens) are dropped.
  const ids = Object.keys(h);
  if (ids.length > MAX_SESSIONS) {
    const byAge = ids.sort((a, b) => (Date.parse(h[a]?.created_at) || 0) - (Date.parse(h[b]?.created_at) || 0));
    const tokens = read(TOKENS) || {};
    for (const id of byAge.slice(0, ids.length - MAX_SESSIONS)) {
      delete h[id];
      delete tokens[id];
    }
    write(TOKENS, tokens);
  }
  write(HISTORY, h);
}

function updateEntry(sessionId, patch) {
  if (typeof sessionId !== "string" || !sessionId || sessionId.length > 128) return;
  const h = readHistory();
  const prev = cleanEntry(h[sessionId]) || {};
  const next = cleanEntry({ ...prev, ...patch });
  if (!next.created_at) next.created_at = new Date().toISOString();
  h[sessionId] = next;
  writeHistory(h);
}

/** A session was just created here: {session_id, round, round_title, level, question?, kind?, retry_of?}. */
export function recordSessionStart(s) {
  if (!s || !s.session_id) return;
  updateEntry(s.session_id, {
    round: s.round,
    round_title: s.round_title,
    level: s.level,
    question: s.question || null,
    created_at: new Date().toISOString(),
    status: "active",
    kind: s.kind || "interview",
    retry_of: s.retry_of || null,
  });
}

/** What this browser knows about one session (see listHistory), or null. */
export function historyEntry(sessionId) {
  return listHistory().find((e) => e.session_id === sessionId) || null;
}

/** Every session this browser holds a key for: [{session_id, token}] (what the server's lookups are sent). */
export function sessionKeys() {
  const tokens = read(TOKENS) || {};
  const cur = currentSession();
  if (cur && !tokens[cur.session_id]) tokens[cur.session_id] = cur.token;
  return Object.keys(tokens)
    .filter((id) => typeof tokens[id] === "string" && tokens[id])
    .map((id) => ({ session_id: id, token: tokens[id] }));
}

/** What the room learned about a session (it may have come from a shared link): {round, round_title, level}. */
export function recordSessionSeen(sessionId, info) {
  if (!tokenFor(sessionId)) return;
  const patch = {};
  for (const k of ["round", "round_title", "level"]) if (info && info[k]) patch[k] = info[k];
  updateEntry(sessionId, patch);
}

/** The round ended with this debrief vote. */
export function recordSessionEnd(sessionId, debrief) {
  if (!tokenFor(sessionId)) return;
  const h = readHistory();
  const prev = cleanEntry(h[sessionId]);
  const d = debrief || {};
  updateEntry(sessionId, {
    status: "ended",
    vote: d.vote || null,
    vote_level: d.vote_level ?? null,
    ended_at: (prev && prev.ended_at) || new Date().toISOString(),
  });
}

/**
 * Past interviews on this device, newest first (at most 20):
 * [{session_id, token, round, round_title, level, question, created_at, ended_at, status, vote, vote_level, known}]
 * (`known` is false for a session this browser only has a key for: its status is then unknown.)
 * Sessions known only by their token (e.g. opened from a shared link) are listed too.
 */
export function listHistory() {
  const tokens = read(TOKENS) || {};
  const cur = currentSession();
  if (cur && !tokens[cur.session_id]) tokens[cur.session_id] = cur.token;
  const h = readHistory();
  const ids = Object.keys(tokens).filter((id) => typeof tokens[id] === "string" && tokens[id]);
  const rows = ids.map((id, order) => {
    const known = Boolean(cleanEntry(h[id]));
    const e = cleanEntry(h[id]) || cleanEntry({});
    e.known = known || Boolean(cur && cur.session_id === id);
    if (cur && cur.session_id === id) {
      if (!e.round && cur.round) e.round = str(cur.round, 64);
      if (!e.level && cur.level) e.level = str(cur.level, 8);
      if (cur.status === "ended") e.status = "ended";
    }
    return { ...e, session_id: id, token: tokens[id], order };
  });
  rows.sort((a, b) => (Date.parse(b.created_at) || 0) - (Date.parse(a.created_at) || 0) || b.order - a.order);
  return rows.slice(0, MAX_SESSIONS).map(({ order, ...r }) => r);
}

/**
 * Remove a session from this browser (its token and its metadata); the server keeps it.
 * Returns what was removed, for restoreSession (an "Undo"), or null when nothing was stored.
 */
export function forgetSession(sessionId) {
  const tokens = read(TOKENS) || {};
  const h = readHistory();
  const cur = currentSession();
  const token = typeof tokens[sessionId] === "string" ? tokens[sessionId] : cur && cur.session_id === sessionId ? cur.token : null;
  if (!token) return null;
  const snapshot = { session_id: sessionId, token, entry: cleanEntry(h[sessionId]), current: cur && cur.session_id === sessionId ? cur : null };
  delete tokens[sessionId];
  write(TOKENS, tokens);
  if (Object.prototype.hasOwnProperty.call(h, sessionId)) {
    delete h[sessionId];
    write(HISTORY, h);
  }
  if (snapshot.current) forgetCurrent();
  return snapshot;
}

/** Put back a session removed by forgetSession. */
export function restoreSession(snapshot) {
  if (!snapshot || !snapshot.session_id || !snapshot.token) return;
  if (snapshot.current) saveSession(snapshot.current);
  else {
    const tokens = read(TOKENS) || {};
    tokens[snapshot.session_id] = snapshot.token;
    write(TOKENS, tokens);
  }
  if (snapshot.entry) {
    const h = readHistory();
    h[snapshot.session_id] = snapshot.entry;
    writeHistory(h);
  }
}

export function forgetCurrent() {
  write(CURRENT, null);
}

export function getShowGrades() {
  const v = read(SHOW_GRADES);
  return v === null ? true : Boolean(v);
}

export function setShowGrades(show) {
  write(SHOW_GRADES, Boolean(show));
}

// ------------------------------------------------------------------ answers not yet confirmed
// An answer stays here from the moment it is sent until the server confirms it is on its disk (`answer_received`),
// so a reload, a crash of the tab or of the server never loses it: the room sends it again after reconnecting.

/** The session's unconfirmed answer ({id, turn, text}), or null. */
export function getOutbox(sessionId) {
  const all = read(OUTBOX);
  const box = all && typeof all === "object" ? all[sessionId] : null;
  return box && typeof box === "object" ? box : null;
}

/** Keep (or, with null, drop) the session's unconfirmed answer. */
export function setOutbox(sessionId, box) {
  const all = read(OUTBOX);
  const next = all && typeof all === "object" && !Array.isArray(all) ? all : {};
  if (box) next[sessionId] = { id: box.id, turn: box.turn, text: box.text };
  else delete next[sessionId];
  const ids = Object.keys(next);
  if (ids.length > MAX_SESSIONS) for (const id of ids.slice(0, ids.length - MAX_SESSIONS)) delete next[id];
  write(OUTBOX, Object.keys(next).length ? next : null);
}
