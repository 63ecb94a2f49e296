// Creates .dev.vars from .dev.vars.example on first run, so `npm run dev` needs no setup,
// and adds any variable the example gained since (an older checkout keeps its values).
// The example holds local-only secrets; real ones are set with `wrangler secret put`.
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";

const names = (text) => new Set([...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars from .dev.vars.example (local-only secrets).");
} else {
  const have = names(readFileSync(".dev.vars", "utf8"));
  const lines = readFileSync(".dev.vars.example", "utf8").split("\n");
  const missing = lines.filter((line) => {
    const m = /^([A-Z][A-Z0-9_]*)=/.exec(line);
    return m && !have.has(m[1]);
  });
  if (missing.length > 0) {
    appendFileSync(".dev.vars", `\n${missing.join("\n")}\n`);
    console.log(`Added ${missing.length} new variable(s) to .dev.vars from .dev.vars.example.`);
  }
}
