// The editor the page loads (frontend/vendor/codemirror.js): CodeMirror 6's basic setup with SQL and Python.
// Bundled once with esbuild (README.md beside this file); the page imports only what is exported here.
export { EditorView, basicSetup } from "codemirror";
export { EditorState, Compartment } from "@codemirror/state";
export { keymap } from "@codemirror/view";
export { indentWithTab } from "@codemirror/commands";
export { indentUnit } from "@codemirror/language";
export { sql, SQLite } from "@codemirror/lang-sql";
export { python } from "@codemirror/lang-python";
