// Bar Raiser page: header badge, hash router, views.
//   #/                 lobby
//   #/session/<id>     interview room (and its debrief once the round ends)
//   #/session/<id>?token=<token>   same, storing the token on this device first
//   #/replay/<id>      the graded replay of a session (views/replay.js)
//   #/import           a replay file, shown read-only
//   #/progress         progress across this browser's sessions, and "Practice next" (views/progress.js)
import { getHealth } from "./api.js";
import { saveSession } from "./store.js";
import { clearToasts } from "./toast.js";
import { mountLobby } from "./views/lobby.js";
import { mountRoom } from "./views/room.js";
import { mountReplay, mountImport } from "./views/replay.js";
import { mountProgress } from "./views/progress.js";

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
  const replay = path.match(/^\/replay\/([^/]+)\/?$/);
  if (replay) return { name: "replay", id: decodeURIComponent(replay[1]) };
  if (path === "/import") return { name: "import" };
  if (path === "/progress") return { name: "progress" };
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
  const views = {
    room: () => mountRoom(root, ctx, r.id),
    replay: () => mountReplay(root, ctx, r.id),
    import: () => mountImport(root, ctx),
    progress: () => mountProgress(root, ctx),
    lobby: () => mountLobby(root, ctx),
  };
  cleanup = views[r.name]();
  if (!firstRoute) {
    window.scrollTo({ top: 0 });
    // a view that already put the focus somewhere useful (the room's answer box) keeps it
    const active = document.activeElement;
    if (!active || active === document.body || !root.contains(active)) root.focus({ preventScroll: true });
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
