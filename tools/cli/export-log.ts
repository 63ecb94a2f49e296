/**
 * Copies a tenant's event log (and the erasure markers) from the local R2 bucket of
 * `npm run dev` to a folder in the bucket's own layout (`events/tenant=…/dt=…/hour=…/…`):
 * what `npm run retrain -- --log <folder>` and engines such as DuckDB read.
 *
 *   npm run log:export -- --out ./export/edgewise-event-log [--tenant demo] [--persist .wrangler/state/v3/r2]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { LOCAL_R2_PERSIST, type LocalBucket, listAll, withLocalBucket } from "../local/local-r2";

/** Writes every object under `events/tenant=<tenant>/` and `erasures/` to `out`; returns how many. */
export async function exportLog(bucket: LocalBucket, tenant: string, out: string): Promise<number> {
  let n = 0;
  for (const prefix of [`events/tenant=${tenant}/`, "erasures/"]) {
    for (const key of await listAll(bucket, prefix)) {
      const file = join(out, key);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, new Uint8Array(await (await bucket.get(key))!.arrayBuffer()));
      n++;
    }
  }
  return n;
}

if (process.argv[1]?.endsWith("export-log.ts")) {
  const { values } = parseArgs({ options: { tenant: { type: "string", default: "demo" }, out: { type: "string" }, persist: { type: "string", default: LOCAL_R2_PERSIST } } });
  if (!values.out) throw new Error("usage: npm run log:export -- --out <folder> [--tenant demo]");
  withLocalBucket("edgewise-event-log", (b) => exportLog(b, values.tenant, values.out!), values.persist)
    .then((n) => console.log(`${n} objects → ${values.out}`))
    .catch((err: unknown) => {
      console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}
