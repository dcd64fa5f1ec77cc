// The pad's code editor: CodeMirror 6 (bundled once into ../../vendor/codemirror.js, see devtools/editor), with SQL
// and Python highlighting, indentation, and the usual keyboard shortcuts (Tab indents; Ctrl/Cmd+Enter runs).
import {
  EditorView,
  EditorState,
  Compartment,
  basicSetup,
  keymap,
  indentWithTab,
  sql,
  SQLite,
  python,
} from "../../vendor/codemirror.js";

function languageSupport(language, tables) {
  if (language === "python") return python();
  const schema = {};
  for (const t of tables || []) schema[t.name] = (t.columns || []).map((c) => c.name);
  return sql({ dialect: SQLite, schema, upperCaseKeywords: true });
}

/**
 * An editor in `parent`. Handlers: onChange(text) after each edit, onRun() on Ctrl/Cmd+Enter.
 * Returns {value(), setValue(text), setLanguage(language, tables), focus(), destroy()}.
 */
export function createEditor(parent, { doc = "", language = "sql", tables = [], onChange, onRun, label = "Code" } = {}) {
  const lang = new Compartment();
  const runKeys = keymap.of([
    { key: "Mod-Enter", preventDefault: true, run: () => { onRun?.(); return true; } },
  ]);
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        runKeys,
        basicSetup,
        keymap.of([indentWithTab]),
        lang.of(languageSupport(language, tables)),
        EditorView.contentAttributes.of({ "aria-label": label, "data-testid": "pad-input" }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) onChange?.(u.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    value: () => view.state.doc.toString(),
    setValue(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: String(text ?? "") } });
    },
    setLanguage(language2, tables2) {
      view.dispatch({ effects: lang.reconfigure(languageSupport(language2, tables2)) });
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
