// The round clock: how much of the round's time budget is left (pure; ./view.js draws it once a second).

const LOW_S = 5 * 60; // the last five minutes are shown as running low

/**
 * The clock at `now` (ms since the epoch) for a round started at `startedAt` (seconds since the epoch) with a
 * budget of `durationMin` minutes: {text, label, state: "ok" | "low" | "over"}, or null when either is unknown.
 */
export function roundClock(startedAt, durationMin, now) {
  if (typeof startedAt !== "number" || !Number.isFinite(startedAt) || !(durationMin > 0)) return null;
  const left = Math.round(durationMin * 60 - (now / 1000 - startedAt));
  if (left <= 0) return { text: "Time\u2019s up", label: "The round's time is up; the interviewer wraps up at the next turn", state: "over" };
  const m = Math.floor(left / 60);
  const s = left % 60;
  const text = `${m}:${String(s).padStart(2, "0")} left`;
  const label = `${m} minute${m === 1 ? "" : "s"} left of the round's ${durationMin} minutes`;
  return { text, label, state: left <= LOW_S ? "low" : "ok" };
}
