// The banner over a retry's room: which answer is being given again, how the first try was graded, and the way
// to compare both once the new answer is graded (the retry's replay shows them side by side).
import { el } from "../dom.js";
import { voteChip } from "../components.js";

export function retryBanner(sessionId, retryOf) {
  return el("div", { class: "retry-banner", "data-testid": "retry-banner", role: "note" },
    el("div", { class: "retry-banner__text" },
      el("strong", { text: "Answering again" }),
      el("span", { text: " from the same point of your earlier round. Your first try was graded " }),
      voteChip(null, retryOf.overall, { size: "small", testid: "retry-before" }),
      el("span", { text: "." })),
    el("a", { class: "btn btn--ghost btn--small", "data-testid": "retry-compare",
      href: `#/replay/${encodeURIComponent(sessionId)}`, text: "Compare in the replay" }));
}
