/** Reading event-log lines in Node: from the local R2 log of `npm run dev`, or from exported NDJSON. */
import { createHmac } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { EventMessage } from "../../src/contracts/queue";
import { type ErasureMarkers, honourTombstones } from "../../src/offline/replay/tombstones";
import { LOCAL_R2_PERSIST, listAll, withLocalBucket } from "../local/local-r2";

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

/** Honours tombstones with PII_SECRET (the markers are keyed hashes, not visitor ids). */
function withTombstones(lines: EventMessage[], markers: ErasureMarkers): Promise<EventMessage[]> {
  if (markers.size === 0) return Promise.resolve(lines);
  const secret = localPiiSecret();
  if (!secret) throw new Error(`${markers.size} erasure marker(s) found but PII_SECRET is not set: cannot honour tombstones (set it in the environment or .dev.vars)`);
  return honourTombstones(lines, markers, async (d) => createHmac("sha256", secret).update(d).digest("hex"));
}

/** PII_SECRET from the environment, else from .dev.vars (local runs). */
export function localPiiSecret(): string | undefined {
  if (process.env.PII_SECRET) return process.env.PII_SECRET;
  if (!existsSync(".dev.vars")) return undefined;
  return /^PII_SECRET="?([^"\n]+)"?$/m.exec(readFileSync(".dev.vars", "utf8"))?.[1];
}

/** Markers in an exported copy: `erasures/**\/visitors/<hash>.json` files under the given folders. */
function markersIn(paths: string[]): ErasureMarkers {
  const markers: ErasureMarkers = new Map();
  for (const p of paths) {
    if (!statSync(p).isDirectory()) continue;
    for (const f of readdirSync(p, { recursive: true, encoding: "utf8" })) {
      const m = /(?:^|\/)erasures\/.*\/visitors\/([0-9a-f]{64})\.json$/.exec(f);
      if (m) markers.set(m[1]!, (JSON.parse(readFileSync(join(p, f), "utf8")) as { erased_at: number }).erased_at);
    }
  }
  return markers;
}

/** Event lines from exported NDJSON files or folders (the R2 layout as is), tombstones honoured. */
export function fromNdjson(paths: string[]): Promise<EventMessage[]> {
  const lines = paths.flatMap(ndjsonFiles).flatMap((f) => parseLogLines(readFileSync(f, "utf8")));
  return withTombstones(lines, markersIn(paths));
}

/** Event lines from a local R2 event log (optionally one tenant's). */
export function fromLocalLog(tenant?: string, persist = LOCAL_R2_PERSIST): Promise<EventMessage[]> {
  return withLocalBucket(
    "edgewise-event-log",
    async (bucket) => {
      const lines: EventMessage[] = [];
      for (const key of await listAll(bucket, tenant ? `events/tenant=${tenant}/` : "events/")) lines.push(...parseLogLines(await (await bucket.get(key))!.text()));
      const markers: ErasureMarkers = new Map();
      for (const key of await listAll(bucket, "erasures/")) {
        const m = /\/visitors\/([0-9a-f]{64})\.json$/.exec(key);
        if (m) markers.set(m[1]!, (JSON.parse(await (await bucket.get(key))!.text()) as { erased_at: number }).erased_at);
      }
      return withTombstones(lines, markers);
    },
    persist,
  );
}
