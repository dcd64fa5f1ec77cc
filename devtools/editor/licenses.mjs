// Writes frontend/vendor/codemirror.LICENSES.txt: every npm package bundled into codemirror.js, with its version
// and licence text (run after the build: `node licenses.mjs`; esbuild's metafile lists what went in).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";

execFileSync("npx", ["esbuild", "entry.js", "--bundle", "--format=esm", "--metafile=meta.json", "--outfile=/dev/null", "--log-level=error"]);
const meta = JSON.parse(readFileSync("meta.json", "utf8"));
const names = new Set();
for (const file of Object.keys(meta.inputs)) {
  if (!file.includes("node_modules/")) continue;
  const parts = file.split("node_modules/").pop().split("/");
  names.add(parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]);
}
let out = "Third-party code bundled into frontend/vendor/codemirror.js (built by devtools/editor, see its README.md).\n";
for (const name of [...names].sort()) {
  const pkg = JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8"));
  const file = ["LICENSE", "LICENSE.md", "LICENSE.txt"].map((f) => `node_modules/${name}/${f}`).find(existsSync);
  out += `\n${"=".repeat(78)}\n${pkg.name} ${pkg.version} (${pkg.license})\n${"=".repeat(78)}\n`;
  out += file ? readFileSync(file, "utf8").trim() + "\n" : `(no licence file shipped; package.json says ${pkg.license})\n`;
}
writeFileSync("../../frontend/vendor/codemirror.LICENSES.txt", out);
console.log(`${names.size} packages`);
