// Creates .dev.vars from .dev.vars.example on first run, so `npm run dev` needs no setup.
// The example holds local-only secrets; real ones are set with `wrangler secret put`.
import { copyFileSync, existsSync } from "node:fs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars from .dev.vars.example (local-only secrets).");
}
