// The pad's code editor: CodeMirror 6 (bundled once into ../../vendor/codemirror.js, see devtools/editor), with SQL
// and Python highlighting, indentation, and the usual keyboard shortcuts (Tab indents; Ctrl/Cmd+Enter runs).
// It lives in a shadow root: there CodeMirror's generated styles are constructed style sheets, which the page's
// Content-Security-Policy (style-src 'self') allows, where a <style> element in the document would be blocked.
// The shadow root links ../../css/editor.css for the editor's own look.
import {
  EditorView,
  EditorState,
  Compartment,
  basicSetup,
  keymap,
  indentWithTab,
  indentUnit,
  sql,
  SQLite,
  python,
} from "../../vendor/codemirror.js";

function languageSupport(language, tables) {
  if (language === "python") return [python(), indentUnit.of("    ")];
  const schema = {};
  for (const t of tables || []) schema[t.name] = (t.columns || []).map((c) => c.name);
  return [sql({ dialect: SQLite, schema, upperCaseKeywords: true }), indentUnit.of("  ")];
}

/**
 * An editor in `parent`. Handlers: onChange(text) after each edit, onRun() on Ctrl/Cmd+Enter.
 * Returns {value(), setValue(text), setLanguage(language, tables), focus(), destroy()}.
 */
export function createEditor(parent, { doc = "", language = "sql", tables = [], onChange, onRun, label = "Code" } = {}) {
  const host = document.createElement("div");
  host.className = "pad__editor-host";
  parent.appendChild(host);
  const shadow = host.attachShadow({ mode: "open" });
  const sheet = document.createElement("link");
  sheet.rel = "stylesheet";
  sheet.href = new URL("../../css/editor.css", import.meta.url).href;
  const mount = document.createElement("div");
  mount.className = "editor";
  shadow.append(sheet, mount);
  const lang = new Compartment();
  const runKeys = keymap.of([
    { key: "Mod-Enter", preventDefault: true, run: () => { onRun?.(); return true; } },
  ]);
  const view = new EditorView({
    parent: mount,
    root: shadow,
    state: EditorState.create({
      doc,
      extensions: [
        runKeys,
        basicSetup,
        keymap.of([indentWithTab]),
        lang.of(languageSupport(language, tables)),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ "aria-label": label, "data-testid": "pad-input" }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) onChange?.(u.state.doc.toString().replace(/\u00a0/g, " "));
        }),
      ],
    }),
  });
  return {
    value: () => view.state.doc.toString().replace(/\u00a0/g, " "), // no-break spaces (pasted, or typed into
    // the editor by some input methods) are plain spaces in code
    setValue(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: String(text ?? "") } });
    },
    setLanguage(language2, tables2) {
      view.dispatch({ effects: lang.reconfigure(languageSupport(language2, tables2)) });
    },
    focus: () => view.focus(),
    destroy: () => {
      view.destroy();
      host.remove();
    },
  };
}
