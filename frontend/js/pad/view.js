// The code pad beside the conversation: the question's tables (their schema, not the answer), the editor, Run,
// and what the last run did. Built once per room; `show(pad, code)` fills it for the question under discussion.
import { el, clear, replaceChildren } from "../dom.js";
import { createEditor } from "./editor.js";
import { runResult } from "./results.js";

const IS_MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || "");

/**
 * Handlers: onRun() (Run or Ctrl/Cmd+Enter in the editor), onChange(code, language) after each edit.
 * Returns {element, show(pad, code), showRun(run), setBusy(running, canRun), value(), language(), attaching(),
 * attached(code), destroy()}.
 */
export function createPadView({ onRun, onChange }) {
  let editor = null;
  let pad = null;
  let language = "sql";
  let lastAttached = null; // the code last sent with an answer

  const title = el("h2", { class: "pad__title", text: "Code pad" });
  const sub = el("p", { class: "pad__sub muted small" });
  const langSelect = el("select", { class: "pad__lang", "data-testid": "pad-language", "aria-label": "Language",
    onchange: () => { language = langSelect.value; editor?.setLanguage(language, pad?.tables); onChange(value(), language); } },
    el("option", { value: "sql", text: "SQL" }), el("option", { value: "python", text: "Python" }));
  const schema = el("div", { class: "pad__schema", "data-testid": "pad-schema" });
  const notice = el("p", { class: "pad__notice", "data-testid": "pad-notice", hidden: true });
  const editorBox = el("div", { class: "pad__editor", "data-testid": "pad-editor" });
  const runBtn = el("button", { type: "button", class: "btn btn--primary btn--small", "data-testid": "run", text: "Run", onclick: () => onRun() });
  const attachBox = el("input", { type: "checkbox", id: "pad-attach", "data-testid": "pad-attach" });
  const attachLabel = el("label", { class: "pad__attach small", for: "pad-attach" }, attachBox, " Send my code with my next answer");
  const hint = el("span", { class: "muted small", text: `${IS_MAC ? "\u2318" : "Ctrl"} + Enter runs` });
  const results = el("div", { class: "pad__results", "data-testid": "pad-results", "aria-live": "polite" });

  const element = el("section", { class: "pad panel", "data-testid": "pad", "aria-label": "Code pad", hidden: true },
    el("div", { class: "pad__head" }, el("div", {}, title, sub), langSelect),
    notice,
    schema,
    editorBox,
    el("div", { class: "pad__bar" }, el("div", { class: "pad__bar-left" }, runBtn, hint), attachLabel),
    results);

  function value() {
    return editor ? editor.value() : "";
  }

  function renderSchema(tables) {
    clear(schema);
    if (!tables || !tables.length) return;
    schema.appendChild(el("h3", { class: "mini-heading", text: "Tables" }));
    schema.appendChild(el("ul", { class: "pad__tables" }, tables.map((t) =>
      el("li", { class: "pad__table" },
        el("code", { class: "pad__table-name", text: t.name }),
        el("span", { class: "muted small", text: ` (${(t.columns || []).map((c) => `${c.name}${c.type ? " " + c.type : ""}`).join(", ")})` }),
        Number.isInteger(t.rows) ? el("span", { class: "muted small", text: ` \u00B7 ${t.rows} rows` }) : null))));
  }

  /** Fill the pad for a question: `code` is what to start from (the server's copy, else the local draft). */
  function show(next, code) {
    const same = pad && next && pad.question_id === next.question_id;
    pad = next;
    element.hidden = !next;
    if (!next) return;
    language = next.language;
    langSelect.value = language;
    langSelect.disabled = next.fixed;
    title.textContent = next.title ? `Code pad \u2014 ${next.title}` : "Code pad";
    const bits = [];
    bits.push(next.language === "python" ? "Python" : "SQL (SQLite)");
    if (next.entry_point) bits.push(`define ${next.entry_point}()`);
    if (next.checked) bits.push(next.language === "python" ? `${next.tests.length} hidden tests` : "checked against the expected result");
    else bits.push("scratch pad: nothing is checked");
    sub.textContent = bits.join(" \u00B7 ");
    notice.hidden = next.execution !== false;
    notice.textContent = next.message || "";
    renderSchema(next.tables);
    if (!editor) {
      editor = createEditor(editorBox, { doc: code || "", language, tables: next.tables, onChange: (text) => {
        attachBox.checked = text.trim() !== "" && text !== lastAttached;
        onChange(text, language);
      }, onRun: () => onRun(), label: "Your code" });
    } else if (!same) {
      editor.setLanguage(language, next.tables);
      editor.setValue(code || "");
      clear(results);
    } else if (code && code !== editor.value()) {
      editor.setValue(code);
    }
    if (!same) attachBox.checked = false;
  }

  function showRun(run) {
    if (!run) {
      clear(results);
      return;
    }
    replaceChildren(results, runResult(run));
  }

  function setBusy(running, canRun) {
    runBtn.disabled = !canRun;
    runBtn.textContent = running ? "Running\u2026" : "Run";
    element.classList.toggle("is-running", Boolean(running));
  }

  return {
    element,
    show,
    showRun,
    setBusy,
    value,
    language: () => language,
    /** The code to send with the answer being sent now ("" for none). */
    attaching() {
      if (!pad || !attachBox.checked) return "";
      const code = value();
      return code.trim() ? code : "";
    },
    /** The code went with an answer: the box unticks until the code changes again. */
    attached(code) {
      lastAttached = code;
      attachBox.checked = false;
    },
    destroy() {
      editor?.destroy();
      editor = null;
    },
  };
}
