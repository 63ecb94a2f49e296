/**
 * Point-in-time replay (Node): reads event-log lines from the local R2 event log
 * (what `npm run dev` wrote), from exported NDJSON files or folders (the R2
 * layout as is), or from a dataset in the Diginetica format, replays each
 * visitor's stream through the same feature definitions as the SessionDO and
 * writes one training example per product view: the features just before it.
 *
 *   npm run replay -- --local [--tenant demo] [--out examples.ndjson]
 *   npm run replay -- --ndjson ./export/events [--out examples.ndjson]
 *   npm run replay -- --dataset ../shared/datasets/diginetica [--out examples.ndjson]
 */
import { createWriteStream, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { EventMessage } from "../../src/contracts/queue";
import { orderedStreams, trainingExamples } from "../../src/offline/replay/replay-log";
import { sessionsToMessages } from "../../src/offline/replay/dataset";
import { fromLocalLog, fromNdjson } from "../lib/log-source";

const SESSION_GAP_MS = 1800 * 1000; // SESSION_GAP_SECONDS in wrangler.toml

function fromDataset(dir: string): EventMessage[] {
  const file = join(dir, "train.txt");
  if (!existsSync(file)) throw new Error(`${file} not found (expected the Diginetica format)`);
  const sessions = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.trim().split(" "));
  return sessionsToMessages(sessions);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      local: { type: "boolean", default: false },
      tenant: { type: "string" },
      ndjson: { type: "string", multiple: true, default: [] },
      dataset: { type: "string" },
      out: { type: "string", default: "examples.ndjson" },
    },
  });
  const lines = values.local ? await fromLocalLog(values.tenant) : values.dataset ? fromDataset(values.dataset) : await fromNdjson(values.ndjson);
  if (lines.length === 0) throw new Error("no event lines found: pass --local, --ndjson <path> or --dataset <dir>");

  const streams = orderedStreams(lines);
  const unique = [...streams.values()].reduce((n, s) => n + s.length, 0);
  const out = createWriteStream(values.out);
  let examples = 0;
  for (const ex of trainingExamples(lines, { sessionGapMs: SESSION_GAP_MS })) {
    if (!out.write(`${JSON.stringify(ex)}\n`)) await new Promise<void>((r) => out.once("drain", () => r()));
    examples++;
  }
  await new Promise<void>((r) => out.end(() => r()));
  console.log(`${lines.length} log lines, ${lines.length - unique} duplicate deliveries dropped, ${streams.size} visitor streams, ${examples} training examples → ${values.out}`);
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
