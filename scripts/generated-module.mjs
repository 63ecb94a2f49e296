// One owner of how a generated module is written or, with --check (CI), compared with what is
// committed: the SDK's script (sdk/build.mjs) and the dashboard's (scripts/build-dashboard.mjs).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, relative } from "node:path";

/** Writes `content` to `file`, or with `check` exits 1 when the committed file differs. */
export function writeOrCheck(file, content, { check, label, rebuild }) {
  if (!check) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    return;
  }
  let current = "";
  try {
    current = readFileSync(file, "utf8");
  } catch {}
  if (current !== content) {
    console.error(`${label}: ${relative(process.cwd(), file)} is stale; run ${rebuild}`);
    process.exit(1);
  }
}
