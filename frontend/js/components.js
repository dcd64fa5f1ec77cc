// Shared pieces: vote chips, transcript bubbles and grade entries. Text only, never markup.
import { el, quoted, snippet } from "./dom.js";
import { vote, moveTag } from "./labels.js";

// The parts of a transcript bubble that change after it is built (its text, its "Sending…" status), by bubble.
const bubbleParts = new WeakMap();

/** A colored chip for a vote: strong_no_hire red, not_inclined orange, inclined green-ish, strong_hire green, null grey. */
export function voteChip(label, level, { size = "", testid } = {}) {
  const v = vote(label, level);
  return el("span", {
    class: `chip chip--${v.key}${size ? ` chip--${size}` : ""}`,
    "data-vote": v.key,
    "data-testid": testid || null,
    text: v.text,
  });
}

export const TENTATIVE_TEXT = "The grader is not sure of this grade (little or ambiguous evidence): read it as tentative.";

/** A "Tentative" chip for a low-confidence grade (its `confidence`, app/core/grades.py), or null. The reason is in
 * its tooltip and, for screen readers, in its text. */
export function tentativeChip(grade, { testid = "tentative" } = {}) {
  if (!grade || grade.confidence !== "low" || grade.overall == null) return null;
  return el("span", { class: "chip chip--small chip--tentative", "data-testid": testid, title: TENTATIVE_TEXT },
    "Tentative", el("span", { class: "sr-only", text: `: ${TENTATIVE_TEXT}` }));
}

/** An interviewer bubble. `live` marks a turn still streaming. */
export function interviewerTurn(turn, { live = false } = {}) {
  const tag = live ? null : moveTag(turn.move, turn.principle);
  const text = el("p", { class: "bubble__text", text: turn.text || "" });
  const node = el(
    "article",
    {
      class: `turn turn--interviewer${live ? " turn--live" : ""}`,
      "data-testid": "interviewer-turn",
      "data-index": Number.isInteger(turn.index) ? turn.index : null,
      "data-move": turn.move || null,
      "aria-busy": live ? "true" : null,
    },
    el("div", { class: "turn__avatar", "aria-hidden": "true", text: "BR" }),
    el(
      "div",
      { class: "turn__body" },
      el(
        "div",
        { class: "turn__meta" },
        el("span", { class: "turn__who", text: "Interviewer" }),
        tag ? el("span", { class: `tag tag--${tag.kind}`, "data-testid": "move-tag", text: tag.text }) : null,
      ),
      el("div", { class: "bubble bubble--interviewer" }, text),
    ),
  );
  bubbleParts.set(node, { text });
  return node;
}

/** Replace the words of an interviewer bubble (a live turn as it streams). */
export function setInterviewerText(node, text) {
  bubbleParts.get(node).text.textContent = text;
}

/** Finalize a live interviewer bubble in place with the complete turn. */
export function finalizeInterviewerTurn(node, turn) {
  node.classList.remove("turn--live");
  node.removeAttribute("aria-busy");
  if (Number.isInteger(turn.index)) node.setAttribute("data-index", String(turn.index));
  if (turn.move) node.setAttribute("data-move", turn.move);
  if (typeof turn.text === "string") setInterviewerText(node, turn.text);
  const meta = node.querySelector(".turn__meta");
  const old = meta.querySelector(".tag");
  if (old) old.remove();
  const tag = moveTag(turn.move, turn.principle);
  if (tag) meta.appendChild(el("span", { class: `tag tag--${tag.kind}`, "data-testid": "move-tag", text: tag.text }));
}

/** A candidate bubble. `pending` while the server has not yet taken it. */
export function candidateTurn(turn, { pending = false } = {}) {
  const status = el("span", { class: "turn__status", text: pending ? "Sending\u2026" : "" });
  const node = el(
    "article",
    {
      class: `turn turn--candidate${pending ? " turn--pending" : ""}`,
      "data-testid": "candidate-turn",
      "data-index": Number.isInteger(turn.index) ? turn.index : null,
    },
    el(
      "div",
      { class: "turn__body" },
      el("div", { class: "turn__meta" }, el("span", { class: "turn__who", text: "You" }), status),
      el("div", { class: "bubble bubble--candidate" }, textWithCode(turn.text || "")),
    ),
    el("div", { class: "turn__avatar turn__avatar--you", "aria-hidden": "true", text: "You" }),
  );
  bubbleParts.set(node, { status });
  return node;
}

export function markCandidateSent(node, index) {
  node.classList.remove("turn--pending");
  bubbleParts.get(node).status.textContent = "";
  if (Number.isInteger(index)) node.setAttribute("data-index", String(index));
}

/** A "the interviewer is typing" indicator. */
export function typingIndicator() {
  return el(
    "div",
    { class: "turn turn--interviewer turn--typing", "aria-hidden": "true" },
    el("div", { class: "turn__avatar", text: "BR" }),
    el(
      "div",
      { class: "turn__body" },
      el("div", { class: "bubble bubble--interviewer typing" }, el("span"), el("span"), el("span")),
    ),
  );
}

/**
 * One graded candidate turn for the grade panel.
 * grade: {turn, overall, overall_label, criteria:[{id,name,level,label,evidence}], evidence:[], notes:[], confidence}
 */
export function gradeEntry(grade, { answerNumber, answerText } = {}) {
  const criteria = Array.isArray(grade.criteria) ? grade.criteria : [];
  const evidence = Array.isArray(grade.evidence) ? grade.evidence.filter(Boolean) : [];
  const notes = Array.isArray(grade.notes) ? grade.notes.filter(Boolean) : [];
  return el(
    "article",
    { class: "grade", "data-testid": "grade-entry", "data-turn": Number.isInteger(grade.turn) ? grade.turn : null },
    el(
      "header",
      { class: "grade__head" },
      el("h3", { class: "grade__title", text: answerNumber ? `Answer ${answerNumber}` : "Answer" }),
      el("span", { class: "grade-chips" },
        voteChip(grade.overall_label, grade.overall, { testid: "grade-overall" }),
        tentativeChip(grade)),
    ),
    answerText ? el("p", { class: "grade__snippet", text: snippet(answerText, 110) }) : null,
    criteria.length
      ? el(
          "ul",
          { class: "criteria", "aria-label": "Criteria" },
          criteria.map((c) =>
            el(
              "li",
              { class: "criterion", "data-criterion": c.id || null },
              el(
                "div",
                { class: "criterion__row" },
                el("span", { class: "criterion__name", text: c.name || c.id || "Criterion" }),
                voteChip(c.label, c.level, { size: "small" }),
              ),
              c.run ? el("p", { class: "criterion__run", "data-testid": "criterion-run", text: `From the run: ${c.run}` }) : null,
              Array.isArray(c.evidence) && c.evidence.length
                ? el(
                    "ul",
                    { class: "quotes quotes--small" },
                    c.evidence.filter(Boolean).map((q) => el("li", { class: "quote", text: quoted(q) })),
                  )
                : null,
            ),
          ),
        )
      : null,
    evidence.length
      ? el(
          "div",
          { class: "grade__evidence" },
          el("h4", { class: "mini-heading", text: "Evidence" }),
          el("ul", { class: "quotes" }, evidence.map((q) => el("li", { class: "quote", "data-testid": "evidence", text: quoted(q) }))),
        )
      : el("p", { class: "grade__empty", text: "No quotable evidence in this answer." }),
    notes.length
      ? el("ul", { class: "grade__notes" }, notes.map((n) => el("li", { text: n })))
      : null,
  );
}

/** A candidate's words, with ```fenced``` code shown as code (text only, never markup). */
export function textWithCode(text) {
  const parts = String(text).split(/```[^\n]*\n([\s\S]*?)```/);
  if (parts.length === 1) return el("p", { class: "bubble__text", text });
  return el("div", { class: "bubble__text" }, parts.map((part, i) => {
    if (i % 2 === 1) return el("pre", { class: "bubble__code", "data-testid": "answer-code" }, el("code", { text: part.replace(/\n$/, "") }));
    return part.trim() ? el("p", { class: "bubble__para", text: part.trim() }) : null;
  }));
}
