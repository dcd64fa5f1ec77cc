// Unsent answers, per session, in localStorage: what the candidate was typing survives a reload. Guarded like
// ./store.js: private modes and disabled storage never break the page.

const KEY = "barraiser.drafts"; // {session_id: {text, at}}
const MAX_DRAFTS = 20;
const MAX_CHARS = 50_000;

function readAll() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) || "{}");
    return v && typeof v === "object" && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

function writeAll(all) {
  try {
    if (Object.keys(all).length) localStorage.setItem(KEY, JSON.stringify(all));
    else localStorage.removeItem(KEY);
  } catch {
    /* storage full or unavailable: the draft lives until the tab closes */
  }
}

/** The saved draft of a session, or "". */
export function loadDraft(sessionId) {
  const d = readAll()[sessionId];
  return d && typeof d.text === "string" ? d.text : "";
}

/** Save (or, for blank text, drop) the draft of a session. The newest MAX_DRAFTS drafts are kept. */
export function saveDraft(sessionId, text) {
  if (typeof sessionId !== "string" || !sessionId) return;
  const all = readAll();
  if (typeof text !== "string" || !text.trim()) {
    if (!(sessionId in all)) return;
    delete all[sessionId];
  } else {
    all[sessionId] = { text: text.slice(0, MAX_CHARS), at: Date.now() };
    const others = Object.keys(all).filter((id) => id !== sessionId);
    others.sort((a, b) => (all[b].at || 0) - (all[a].at || 0));
    for (const id of others.slice(MAX_DRAFTS - 1)) delete all[id];
  }
  writeAll(all);
}

export function clearDraft(sessionId) {
  saveDraft(sessionId, "");
}
