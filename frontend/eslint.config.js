// ESLint for the page's plain ES modules: `npx eslint` in frontend/ (tests/unit/test_frontend.py runs it).
// ESLint is a development tool only; the page itself loads nothing from node_modules.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", "vendor/"] },
  { linterOptions: { reportUnusedDisableDirectives: "error" } },
  js.configs.recommended,
  {
    files: ["js/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.browser },
    rules: {
      "no-unused-vars": ["error", { ignoreRestSiblings: true }],
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-shadow": "error",
      "no-var": "error",
      "prefer-const": "error",
      "no-alert": "error",
      "no-console": ["error", { allow: ["error"] }],
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "no-throw-literal": "error",
      "no-self-compare": "error",
      "no-unreachable-loop": "error",
      // Words from the candidate and the model are text, never markup (see js/dom.js).
      "no-restricted-properties": [
        "error",
        ...[
          { property: "innerHTML" },
          { property: "outerHTML" },
          { property: "insertAdjacentHTML" },
          { object: "document", property: "write" },
          { object: "document", property: "writeln" },
        ].map((r) => ({ ...r, message: "Build nodes with el() and set text with textContent: nothing is parsed as HTML." })),
      ],
      // The page is served as it is: only its own modules, by relative path (no bare npm names, no CDN).
      "no-restricted-imports": [
        "error",
        { patterns: [{ regex: "^(?!\\.{1,2}/)", message: "Import the page's own modules by relative path." }] },
      ],
    },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { globals: globals.node },
  },
];
