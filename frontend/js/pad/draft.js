// The pad's local draft (localStorage), per session and question: what was typed survives a reload even before the
// server has it. The server's copy (the `pad` frame) wins when it is there. Every access is guarded.
const KEY = "barraiser.pad";
const MAX = 30;

function readAll() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) || "{}");
    return v && typeof v === "object" && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

export function loadDraft(sessionId, questionId) {
  const d = readAll()[`${sessionId}:${questionId || ""}`];
  return d && typeof d.code === "string" ? d : null;
}

export function saveDraft(sessionId, questionId, code, language) {
  try {
    const all = readAll();
    all[`${sessionId}:${questionId || ""}`] = { code: String(code).slice(0, 50000), language, at: Date.now() };
    const keys = Object.keys(all).sort((a, b) => (all[a].at || 0) - (all[b].at || 0));
    for (const k of keys.slice(0, Math.max(0, keys.length - MAX))) delete all[k];
    localStorage.setItem(KEY, JSON.stringify(all));
  } catch {
    /* storage unavailable: the server keeps the pad */
  }
}
