import * as v from "valibot";
import type { RetrainRunInfo } from "../monitor/dashboard-data";
import { runsPrefix } from "./keys";

export { requestKey, requestsPrefix, runsPrefix } from "./keys";

/** What the dashboard reads of a run record (tools/lib/retrain.ts writes more). */
const RunSchema = v.object({
  run: v.string(),
  started_at: v.string(),
  request: v.nullable(v.string()),
  champion: v.nullable(v.string()),
  challenger: v.nullable(v.string()),
  verdict: v.picklist(["published", "refused", "dry_run"]),
  reasons: v.array(v.string()),
  rollout: v.nullable(v.union([v.object({ id: v.string() }), v.object({ error: v.string() })])),
});

/** The latest `limit` runs of a tenant, newest first (run keys start with their UTC time, so key order is time order). */
export async function latestRuns(bucket: R2Bucket, tenant: string, limit = 10): Promise<RetrainRunInfo[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: runsPrefix(tenant), cursor });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const out: RetrainRunInfo[] = [];
  for (const key of keys.sort().reverse().slice(0, limit)) {
    const parsed = v.safeParse(RunSchema, await (await bucket.get(key))?.json().catch(() => null));
    if (!parsed.success) continue;
    const r = parsed.output;
    out.push({ ...r, reasons: r.reasons.slice(0, 10), rollout: r.rollout && "id" in r.rollout ? r.rollout.id : null, rollout_error: r.rollout && "error" in r.rollout ? r.rollout.error : null });
  }
  return out;
}
