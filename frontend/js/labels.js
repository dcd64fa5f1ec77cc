// Display names for votes, levels and interviewer moves.

export const VOTES = {
  1: { key: "strong_no_hire", text: "Strong no hire" },
  2: { key: "not_inclined", text: "Not inclined" },
  3: { key: "inclined", text: "Inclined" },
  4: { key: "strong_hire", text: "Strong hire" },
};

const BY_KEY = Object.fromEntries(Object.values(VOTES).map((v) => [v.key, v]));

/** Resolve a vote from a label ("inclined") and/or a level (3). null → "No evidence". */
export function vote(label, level) {
  if (typeof label === "string" && BY_KEY[label]) return BY_KEY[label];
  if (typeof level === "number" && VOTES[level]) return VOTES[level];
  if (typeof label === "string" && VOTES[Number(label)]) return VOTES[Number(label)];
  return { key: "none", text: "No evidence" };
}

export const LEVEL_TITLES = {
  L4: "Data Scientist I",
  L5: "Data Scientist II",
  L6: "Senior Data Scientist",
};

/** The small tag shown on an interviewer turn for its move. null → no tag. */
export function moveTag(move, principle) {
  switch (move) {
    case "ask":
      return { text: "Question", kind: "ask" };
    case "follow_up":
      return { text: "Follow-up", kind: "follow" };
    case "clarify":
      return { text: "Clarification", kind: "follow" };
    case "hint":
      return { text: "Hint", kind: "hint" };
    case "lp_pivot":
    case "lp_follow_up":
      return { text: principle ? `LP probe \u00B7 ${principle}` : "LP probe", kind: "lp" };
    case "return":
      return { text: "Back to the question", kind: "return" };
    case "failure_probe":
      return { text: "Failure probe", kind: "failure" };
    case "wrap_up":
      return { text: "Wrap-up", kind: "end" };
    case "end":
      return { text: "End of round", kind: "end" };
    default:
      if (!move) return null;
      return { text: String(move).replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase()), kind: "other" };
  }
}

export function humanize(id) {
  return String(id ?? "").replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}
