// Bar Raiser page: header badge, hash router, views.
//   #/                 lobby
//   #/session/<id>     interview room (and its debrief once the round ends)
//   #/session/<id>?token=<token>   same, storing the token on this device first
import { getHealth } from "./api.js";
import { saveSession } from "./store.js";
import { clearToasts } from "./toast.js";
import { mountLobby } from "./views/lobby.js";
import { mountRoom } from "./views/room.js";

const root = document.getElementById("app");
const badge = document.querySelector('[data-testid="brain-badge"]');
let cleanup = null;
let firstRoute = true;

function setBrainLabel(label, brain) {
  if (!badge || !label) return;
  badge.textContent = label;
  badge.title = `What is interviewing you: ${label}`;
  badge.setAttribute("data-brain", brain || badge.getAttribute("data-brain") || "unknown");
}

function navigate(hash, force = false) {
  if (location.hash === hash || (hash === "#/" && !location.hash)) {
    if (force || location.hash !== hash) route();
    return;
  }
  location.hash = hash;
}

const ctx = { navigate, setBrainLabel };

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query] = raw.split("?");
  const m = path.match(/^\/session\/([^/]+)\/?$/);
  if (m) {
    const id = decodeURIComponent(m[1]);
    const token = new URLSearchParams(query || "").get("token");
    return { name: "room", id, token };
  }
  return { name: "lobby" };
}

function route() {
  const r = parseHash();
  if (r.name === "room" && r.token) {
    // A shared link carrying its token: keep the token on this device and drop it from the address bar.
    saveSession({ session_id: r.id, token: r.token });
    history.replaceState(null, "", `#/session/${encodeURIComponent(r.id)}`);
  }
  if (cleanup) {
    try {
      cleanup();
    } catch (err) {
      console.error(err);
    }
    cleanup = null;
  }
  clearToasts();
  document.body.setAttribute("data-view", r.name);
  cleanup = r.name === "room" ? mountRoom(root, ctx, r.id) : mountLobby(root, ctx);
  if (!firstRoute) {
    window.scrollTo({ top: 0 });
    root.focus({ preventScroll: true });
  }
  firstRoute = false;
}

window.addEventListener("hashchange", route);

getHealth()
  .then((h) => setBrainLabel(h && (h.brain_label || h.brain), h && h.brain))
  .catch(() => {
    if (badge) {
      badge.textContent = "Server unreachable";
      badge.setAttribute("data-brain", "down");
    }
  });

route();
