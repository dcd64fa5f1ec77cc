// REST client for the Bar Raiser server (see docs/protocol.md).

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" && detail ? detail : `Request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }
}

/** Turn a FastAPI `detail` (a string, or a list of validation errors) into one readable sentence. */
function detailMessage(detail, status) {
  if (typeof detail === "string" && detail.trim()) return detail;
  if (Array.isArray(detail) && detail.length) {
    return detail
      .map((d) => (d && typeof d === "object" ? d.msg || JSON.stringify(d) : String(d)))
      .join("; ");
  }
  if (status === 429) return "Too many new interviews from this address. Wait a minute and try again.";
  if (status === 401) return "This session's key is missing or wrong.";
  if (status === 404) return "That session does not exist on this server.";
  return `The server answered ${status}.`;
}

async function request(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "Can't reach the Bar Raiser server. Is it running?");
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    throw new ApiError(res.status, detailMessage(data && data.detail, res.status));
  }
  return data;
}

/** GET /api/health → {status, brain, brain_label, version} */
export function getHealth() {
  return request("/api/health");
}

/** GET /api/rounds → {levels, rounds:[...]} */
export function getRounds() {
  return request("/api/rounds");
}

/** A random id this browser keeps, so the server avoids questions from its recent sessions. */
function clientId() {
  const KEY = "barraiser.client";
  try {
    let id = localStorage.getItem(KEY);
    if (!id) {
      id = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
      localStorage.setItem(KEY, id);
    }
    return id;
  } catch {
    return undefined;
  }
}

/** GET /api/rounds/{id}/questions?level=L5 → {round, level, questions:[{id, title, kind, topics}]} */
export function getQuestions(roundId, level) {
  const q = new URLSearchParams({ level });
  return request(`/api/rounds/${encodeURIComponent(roundId)}/questions?${q}`);
}

/**
 * POST /api/sessions → {session_id, token, round, level, brain} (422 / 429 raise ApiError with detail).
 * `question` (a question id) is sent only when the candidate chose one.
 */
export function createSession(round, level, question, { drill = false, mode } = {}) {
  const body = { round, level, client_id: clientId() };
  if (typeof question === "string" && question) body.question = question;
  if (drill) body.drill = true;
  if (mode === "exam" || mode === "practice") body.mode = mode; // absent: the round's default
  return request("/api/sessions", { method: "POST", body });
}

/** GET /api/sessions/{id}/transcript?token=... → the whole transcript (and debrief when ended) */
export function getTranscript(sessionId, token) {
  const q = new URLSearchParams({ token });
  return request(`/api/sessions/${encodeURIComponent(sessionId)}/transcript?${q}`);
}

/** Fetch the transcript and save it as a JSON file in the browser. Rejects with ApiError on failure. */
export async function downloadTranscript(sessionId, token) {
  const data = await getTranscript(sessionId, token);
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const round = String((data && data.round) || "interview").replace(/[^A-Za-z0-9_-]/g, "") || "interview";
  const a = document.createElement("a");
  a.href = url;
  a.download = `bar-raiser-${round}-${String(sessionId).slice(0, 8).replace(/[^A-Za-z0-9_-]/g, "")}.json`;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return data;
}

// ------------------------------------------------------------------ looking back (app/server/history.py)

/** GET /api/sessions/{id}/replay → the graded replay (format "barraiser-replay"). */
export function getReplay(sessionId, token) {
  return request(`/api/sessions/${encodeURIComponent(sessionId)}/replay`, { token });
}

/** POST /api/sessions/lookup with this browser's keys → {sessions: [summary]} (wrong keys are left out). */
export function lookupSessions(keys) {
  return request("/api/sessions/lookup", { method: "POST", body: { sessions: keys } });
}

/** POST /api/progress with this browser's keys → series, weakest areas, due questions, the suggestion. */
export function getProgress(keys) {
  return request("/api/progress", { method: "POST", body: { sessions: keys } });
}

/** POST /api/practice → a new session aimed at the weak spots: {session_id, token, round, level, focus, due}. */
export function startPractice(keys) {
  return request("/api/practice", { method: "POST", body: { sessions: keys, client_id: clientId() } });
}

/** POST /api/sessions/{id}/fork {turn} → a new session waiting for that answer again. */
export function forkSession(sessionId, token, turn) {
  return request(`/api/sessions/${encodeURIComponent(sessionId)}/fork`, {
    method: "POST",
    token,
    body: { turn, client_id: clientId() },
  });
}

/** Save text as a file in the browser. */
export function saveFile(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
