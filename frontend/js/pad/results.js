// What a run of the candidate's code did, drawn as text only: the result grid, the diff against the expected result
// (counts and column names, never the expected rows), the hidden tests that passed, stdout and stderr.
import { el } from "../dom.js";

const STATUS_TEXT = {
  ok: "Correct",
  wrong: "Not yet right",
  error: "Error",
  timeout: "Timed out",
  refused: "Refused",
};

function statusText(result) {
  if (result.status === "ok" && result.checked === false) return "Ran";
  return STATUS_TEXT[result.status] || result.status || "Run";
}

function cell(v) {
  if (v === null || v === undefined) return el("td", { class: "null", text: "NULL" });
  return el("td", { text: typeof v === "number" ? String(v) : String(v) });
}

/** The rows of a SQL result as a table (at most what the server sent). */
export function resultGrid(columns, rows, { testid = "run-grid", caption } = {}) {
  return el("div", { class: "table-wrap run__grid-wrap" },
    el("table", { class: "run__grid", "data-testid": testid },
      caption ? el("caption", { class: "muted small", text: caption }) : null,
      el("thead", {}, el("tr", {}, (columns || []).map((c) => el("th", { scope: "col", text: String(c) })))),
      el("tbody", {}, (rows || []).map((r) => el("tr", {}, (Array.isArray(r) ? r : []).map(cell))))));
}

function sqlDiff(diff) {
  const items = [];
  if (diff.actual_rows !== diff.expected_rows) {
    items.push(`Rows: ${diff.actual_rows} returned, ${diff.expected_rows} expected`);
  } else {
    items.push(`Rows: ${diff.actual_rows}, as expected`);
  }
  if (diff.missing) items.push(`Missing: ${diff.missing} expected row${diff.missing === 1 ? "" : "s"} not in your result`);
  if (diff.extra) items.push(`Extra: ${diff.extra} row${diff.extra === 1 ? "" : "s"} of yours not expected`);
  if ((diff.kinds || []).includes("columns")) {
    const asked = (diff.expected_columns || []).length
      ? `asked for ${diff.expected_columns.join(", ")}`
      : `${diff.expected_width ?? "a different number of"} expected`;
    items.push(`Columns: yours are ${(diff.actual_columns || []).join(", ") || "none"}; ${asked}`);
  }
  if ((diff.kinds || []).includes("order") && Number.isInteger(diff.first_misplaced)) {
    items.push(`Order: the rows are right but out of order from row ${diff.first_misplaced + 1}`);
  }
  return el("div", { class: "run__diff", "data-testid": "run-diff" },
    el("ul", { class: "bullets" }, items.map((t) => el("li", { text: t }))),
    Array.isArray(diff.extra_examples) && diff.extra_examples.length
      ? resultGrid(diff.actual_columns, diff.extra_examples, { testid: "run-extra", caption: "Some of your rows that are not expected" })
      : null);
}

function pythonTests(result) {
  const tests = Array.isArray(result.tests) ? result.tests : [];
  if (!tests.length) return null;
  return el("div", { class: "run__tests" },
    el("p", { class: "small", text: `Hidden tests: ${result.passed ?? 0} of ${result.total ?? tests.length} pass` }),
    el("ul", { class: "run__test-list" }, tests.map((t) =>
      el("li", { class: `run__test run__test--${t.passed ? "pass" : "fail"}`, "data-testid": "run-test", "data-passed": t.passed ? "true" : "false" },
        el("span", { class: "run__test-mark", "aria-hidden": "true", text: t.passed ? "\u2713" : "\u2717" }),
        el("span", { class: "run__test-name", text: t.name }),
        !t.passed && t.error ? el("span", { class: "run__test-error muted", text: ` \u2014 ${t.error}` }) : null))));
}

function output(label, text, testid) {
  if (!text) return null;
  return el("div", { class: "run__output" },
    el("h4", { class: "mini-heading", text: label }),
    el("pre", { class: "run__pre", "data-testid": testid, text }));
}

/** One run: status, summary, then what the run showed. `run` is a RunRecord ({id, source, code, result, ...}). */
export function runResult(run, { showCode = false } = {}) {
  const r = (run && run.result) || {};
  const ms = Number.isFinite(r.elapsed_ms) ? ` \u00B7 ${Math.round(r.elapsed_ms)} ms` : "";
  const origin = run.source === "answer" ? "with your answer" : "from the pad";
  return el("section", { class: `run run--${r.status || "none"}`, "data-testid": "run-result", "data-status": r.status || "", "data-run": run.id || "" },
    el("header", { class: "run__head" },
      el("span", { class: `run__status run__status--${r.status}`, "data-testid": "run-status", text: statusText(r) }),
      el("span", { class: "muted small", text: `${r.language === "python" ? "Python" : "SQL"} ${origin}${ms}` })),
    el("p", { class: "run__summary", "data-testid": "run-summary", text: r.summary || "" }),
    showCode && run.code ? el("pre", { class: "run__pre run__code", text: run.code }) : null,
    r.diff ? sqlDiff(r.diff) : null,
    Array.isArray(r.columns) && r.columns.length
      ? resultGrid(r.columns, r.rows, {
          caption: r.truncated ? `Showing ${(r.rows || []).length} of ${r.row_count} rows` : `${r.row_count} row${r.row_count === 1 ? "" : "s"}`,
        })
      : null,
    pythonTests(r),
    output("stdout", r.stdout, "run-stdout"),
    output("stderr", r.stderr, "run-stderr"));
}
