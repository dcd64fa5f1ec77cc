// localStorage helpers. Every access is guarded: private modes and disabled storage must not break the page.

const CURRENT = "barraiser.session"; // {session_id, token, round, level, status}
const TOKENS = "barraiser.tokens"; // {session_id: token} so any session link opened on this device resumes
const SHOW_GRADES = "barraiser.showGrades";

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
  if (ids.length > 20) for (const id of ids.slice(0, ids.length - 20)) delete tokens[id];
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
