/** Reading event-log lines in Node: from the local R2 log of `npm run dev`, or from exported NDJSON. */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { EventMessage } from "../src/events/types";
import { LOCAL_R2_PERSIST, listAll, withLocalBucket } from "./local-r2";

/** Event lines of one NDJSON text (impressions and blank lines skipped). */
export function parseLogLines(text: string): EventMessage[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as EventMessage)
    .filter((m) => m.kind === "event");
}

/** Every `.ndjson` file under `path` (or `path` itself), sorted. */
export function ndjsonFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ndjson"))
    .sort()
    .map((f) => join(path, f));
}

/** Event lines from exported NDJSON files or folders (the R2 layout as is). */
export function fromNdjson(paths: string[]): EventMessage[] {
  return paths.flatMap(ndjsonFiles).flatMap((f) => parseLogLines(readFileSync(f, "utf8")));
}

/** Event lines from a local R2 event log (optionally one tenant's). */
export function fromLocalLog(tenant?: string, persist = LOCAL_R2_PERSIST): Promise<EventMessage[]> {
  return withLocalBucket(
    "edgewise-event-log",
    async (bucket) => {
      const lines: EventMessage[] = [];
      for (const key of await listAll(bucket, tenant ? `events/tenant=${tenant}/` : "events/")) lines.push(...parseLogLines(await (await bucket.get(key))!.text()));
      return lines;
    },
    persist,
  );
}
