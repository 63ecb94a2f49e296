/**
 * Retrains a tenant's model from its event log, and publishes and rolls it out only
 * when it beats the current default on the most recent held-out period
 * (tools/lib/retrain.ts; docs/mlops.md, "The loop"). For a scheduler or a drift alarm.
 *
 *   npm run retrain -- [--tenant demo] [--days 28 --holdout-days 2] [--metric hr@20 --margin 0.005]
 *       [--api http://127.0.0.1:8787 --token $ADMIN_TOKEN] [--dry-run] [--request <id> | --pending]
 *       [--steps 5,25,50,100 --auto-promote-after N --min-impressions N]
 *   npm run retrain -- --pending        # a scheduler's call: answer the oldest unanswered retrain request, if any
 *   npm run retrain -- --remote --log ./export/events --api https://edgewise.<you>.workers.dev --token $ADMIN_TOKEN
 *
 * Locally it reads the `.wrangler` state `npm run dev` uses (event log, registry, tenant
 * config) and starts the rollout through the running worker's admin API. With --remote
 * the registry is the account's (wrangler r2 object get / put) and the log an exported
 * copy of the bucket (--log: the R2 layout as is; wrangler has no object listing).
 * With --pending the run answers the tenant's oldest parked `retrain_requested` no run has
 * answered (src/offline/retrain/pending.ts) and records itself against it; with none it says
 * "nothing to do" and changes nothing, and while an experiment or rollout runs the request waits.
 * Exit status: 0 published and rolling out (or a --dry-run that passed, nothing to do, or a
 * request waiting), 1 refused or failed. The gate's decision table goes to stderr.
 */
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import type { Metric } from "../../src/offline/retrain/compare";
import type { LogObjects } from "../../src/offline/retrain/log-window";
import { decidePending, readRequestBook } from "../../src/offline/retrain/pending";
import { markerSubject } from "../../src/privacy/marker";
import { localPiiSecret } from "../lib/log-source";
import { decisionTable } from "../lib/decision-table";
import { DEFAULT_GATE, type Registry, type StartRollout, readConfig, retrain } from "../lib/retrain";
import { LOCAL_R2_PERSIST, type LocalBucket, listAll, withLocalBuckets } from "../local/local-r2";
import { mintLocalToken, publishableKeyOf } from "../local/local-token";
import { publishModel } from "./registry";

const MODELS = "edgewise-models";
const EVENT_LOG = "edgewise-event-log";
const METRICS: readonly Metric[] = ["hr@20", "mrr@20", "new_hr@20", "repeat_hr@20"];

/** The local bucket as the log a run reads (keys in order, one object at a time). */
export function bucketLog(bucket: LocalBucket): LogObjects {
  return {
    async *keys(prefix) {
      yield* (await listAll(bucket, prefix)).sort();
    },
    text: async (key) => (await bucket.get(key))!.text(),
  };
}

/**
 * An exported copy of a bucket (its root folder) read like the bucket: the log (root holding
 * `events/`, objects ending `.ndjson`) or the models bucket's `retrain/` records (`.json`).
 */
export function folderLog(root: string, ext = ".ndjson"): LogObjects {
  return {
    async *keys(prefix) {
      if (!existsSync(root)) return;
      const files = readdirSync(root, { recursive: true, encoding: "utf8" }).map((f) => f.split("\\").join("/"));
      for (const f of files.filter((f) => f.startsWith(prefix) && f.endsWith(ext)).sort()) if (statSync(join(root, f)).isFile()) yield f;
    },
    text: async (key) => readFileSync(join(root, key), "utf8"),
  };
}

/**
 * Erasure markers (`erasures/…/visitors/<hash>.json`) of the log, as the run's `erasedAt`: lines
 * of an erased visitor received before the erasure are dropped, as `npm run replay` drops them.
 */
async function erasures(keys: AsyncIterable<string>, read: (key: string) => Promise<string>): Promise<((tenant: string, visitor: string) => Promise<number | undefined>) | undefined> {
  const markers = new Map<string, number>();
  for await (const key of keys) {
    const m = /\/visitors\/([0-9a-f]{64})\.json$/.exec(key);
    if (m) markers.set(m[1]!, (JSON.parse(await read(key)) as { erased_at: number }).erased_at);
  }
  if (markers.size === 0) return undefined;
  const secret = localPiiSecret();
  if (!secret) throw new Error(`${markers.size} erasure marker(s) found but PII_SECRET is not set: cannot honour them (set it in the environment or .dev.vars)`);
  return async (tenant, visitor) => markers.get(createHmac("sha256", secret).update(markerSubject(tenant, visitor)).digest("hex"));
}

/** The local models bucket as the run's registry. */
export function bucketRegistry(bucket: LocalBucket): Registry {
  return {
    get: async (key) => {
      const o = await bucket.get(key);
      return o ? new Uint8Array(await o.arrayBuffer()) : null;
    },
    putJson: async (key, value) => void (await bucket.put(key, JSON.stringify(value, null, 2), { httpMetadata: { contentType: "application/json" } })),
    publish: (dir) => publishModel({ kind: "local", bucket }, dir),
  };
}

/** The account's models bucket through wrangler (the same calls `npm run models:publish -- --remote` makes). */
function remoteRegistry(): Registry {
  const wrangler = existsSync("node_modules/.bin/wrangler") ? "node_modules/.bin/wrangler" : "wrangler";
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
  return {
    get: async (key) => {
      const dir = mkdtempSync(join(tmpdir(), "edgewise-get-"));
      try {
        execFileSync(wrangler, ["r2", "object", "get", `${MODELS}/${key}`, "--remote", "--file", join(dir, "o")], { stdio: ["ignore", "ignore", "ignore"], env });
        return new Uint8Array(readFileSync(join(dir, "o")));
      } catch {
        return null; // missing (wrangler exits non-zero)
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    putJson: async (key, value) => {
      const dir = mkdtempSync(join(tmpdir(), "edgewise-put-"));
      writeFileSync(join(dir, "o.json"), JSON.stringify(value, null, 2));
      execFileSync(wrangler, ["r2", "object", "put", `${MODELS}/${key}`, "--file", join(dir, "o.json"), "--remote", "--content-type", "application/json"], {
        stdio: ["ignore", "ignore", "inherit"],
        env,
      });
      rmSync(dir, { recursive: true, force: true });
    },
    publish: (dir) => publishModel({ kind: "remote" }, dir),
  };
}

/** `POST /admin/api/rollouts` on the worker. */
export function apiRollout(api: string, key: string, token: string, body: { steps: number[]; auto_promote_after: number | null; guard_rails: { min_impressions?: number } }): StartRollout {
  return async (model) => {
    try {
      const res = await fetch(`${api.replace(/\/$/, "")}/admin/api/rollouts`, {
        method: "POST",
        headers: { "x-edgewise-key": key, authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ model, ...body }),
      });
      const json = (await res.json().catch(() => ({}))) as { id?: string; error?: { code: string; message: string } };
      return res.status === 201 && json.id ? { ok: true, id: json.id } : { ok: false, status: res.status, message: json.error?.message ?? res.statusText };
    } catch (err) {
      return { ok: false, status: 0, message: `admin API at ${api} unreachable: ${err instanceof Error ? err.message : String(err)}` };
    }
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      tenant: { type: "string", default: "demo" },
      remote: { type: "boolean", default: false },
      persist: { type: "string", default: LOCAL_R2_PERSIST },
      log: { type: "string" },
      to: { type: "string" },
      days: { type: "string", default: "28" },
      "holdout-days": { type: "string", default: "2" },
      metric: { type: "string", default: DEFAULT_GATE.metric },
      margin: { type: "string", default: String(DEFAULT_GATE.margin) },
      "max-coverage-drop": { type: "string", default: String(DEFAULT_GATE.maxCoverageDrop) },
      "max-latency-ratio": { type: "string", default: String(DEFAULT_GATE.maxLatencyRatio) },
      "max-segment-drop": { type: "string", default: String(DEFAULT_GATE.maxSegmentDrop) },
      "min-cases": { type: "string", default: String(DEFAULT_GATE.minCases) },
      bootstrap: { type: "string", default: "1000" },
      name: { type: "string" },
      version: { type: "string" },
      out: { type: "string", default: join(tmpdir(), "edgewise-retrain") },
      dim: { type: "string", default: "64" },
      epochs: { type: "string", default: "6" },
      "max-lists": { type: "string", default: "12000" },
      seed: { type: "string", default: "1" },
      api: { type: "string", default: "http://127.0.0.1:8787" },
      key: { type: "string" },
      token: { type: "string" },
      steps: { type: "string", default: "5,25,50,100" },
      "auto-promote-after": { type: "string" },
      "min-impressions": { type: "string" },
      request: { type: "string" },
      pending: { type: "boolean", default: false },
      "pending-from": { type: "string" },
      "dry-run": { type: "boolean", default: false },
    },
  });
  const num = (name: string, raw: string): number => {
    const x = Number(raw);
    if (!Number.isFinite(x)) throw new Error(`--${name} must be a number, got ${raw}`);
    return x;
  };
  if (!METRICS.includes(values.metric as Metric)) throw new Error(`--metric must be one of ${METRICS.join(", ")}`);
  if (values.remote && !values.log) throw new Error("--remote needs --log <exported copy of the event-log bucket>: wrangler cannot list R2 objects");
  if (values.pending && values.request) throw new Error("--pending picks the request itself: drop --request");
  if (values.remote && values.pending && !values["pending-from"]) {
    throw new Error("--remote --pending needs --pending-from <exported copy of the models bucket's retrain/ records>: wrangler cannot list R2 objects");
  }
  const to = values.to ? Date.parse(values.to) : undefined;
  if (to !== undefined && !Number.isFinite(to)) throw new Error(`--to must be a date, got ${values.to}`);
  const key = values.key ?? publishableKeyOf(values.tenant);
  const token =
    values.token ?? process.env.EDGEWISE_ADMIN_TOKEN ?? (values.remote ? undefined : await mintLocalToken({ tenant: values.tenant, scope: "admin", subject: "npm run retrain", ttlSeconds: 3600 }));
  if (!token) throw new Error("--remote needs an admin token: --token or EDGEWISE_ADMIN_TOKEN");
  const options = {
    tenant: values.tenant,
    to,
    days: num("days", values.days),
    holdoutDays: num("holdout-days", values["holdout-days"]),
    gate: {
      ...DEFAULT_GATE,
      metric: values.metric as Metric,
      margin: num("margin", values.margin),
      maxCoverageDrop: num("max-coverage-drop", values["max-coverage-drop"]),
      maxLatencyRatio: num("max-latency-ratio", values["max-latency-ratio"]),
      maxSegmentDrop: num("max-segment-drop", values["max-segment-drop"]),
      minCases: num("min-cases", values["min-cases"]),
    },
    bootstrap: num("bootstrap", values.bootstrap),
    name: values.name,
    version: values.version,
    out: values.out,
    dim: num("dim", values.dim),
    epochs: num("epochs", values.epochs),
    maxLists: num("max-lists", values["max-lists"]),
    seed: num("seed", values.seed),
    request: values.request ?? null,
    dryRun: values["dry-run"],
    log: (line: string) => void process.stderr.write(`${line}\n`),
  };
  const startRollout = apiRollout(values.api, key, token, {
    steps: values.steps.split(",").map((s) => num("steps", s)),
    auto_promote_after: values["auto-promote-after"] ? num("auto-promote-after", values["auto-promote-after"]) : null,
    guard_rails: values["min-impressions"] ? { min_impressions: num("min-impressions", values["min-impressions"]) } : {},
  });
  const say = (summary: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(summary)}\n`);
  const run = async (log: LogObjects, registry: Registry, records: LogObjects) => {
    if (values.pending) {
      // A scheduler's call: act only on a request no run answered yet, and not while traffic is split.
      const book = await readRequestBook(records, values.tenant);
      const decision = decidePending(book, book.requests.length > 0 ? ((await readConfig(registry, values.tenant))?.experiment?.name ?? null) : null);
      if (decision.action === "nothing_to_do") {
        options.log(`nothing to do: no unanswered retrain request for tenant ${values.tenant} (${decision.parked} parked, ${decision.answered} answered)`);
        say({ verdict: "nothing_to_do", request: null });
        return 0;
      }
      const { request } = decision;
      if (decision.action === "waiting") {
        options.log(`request ${request.id} waits: experiment ${decision.experiment} is running (a rollout or an A/B test); the next scheduled run answers it`);
        say({ verdict: "waiting", request: request.id, reasons: [`experiment ${decision.experiment} is running`] });
        return 0;
      }
      options.log(`answering retrain request ${request.id} (drift of ${request.model} at ${new Date(request.requested_at).toISOString()}: ${request.reasons.slice(0, 3).join("; ")})`);
      options.request = request.id;
    }
    const erasedAt = await erasures(log.keys("erasures/"), log.text);
    const { exitCode, record } = await retrain(options, { log, registry, startRollout, erasedAt });
    process.stderr.write(`\n${decisionTable(record)}`);
    say({
      run: record.run,
      request: record.request,
      verdict: record.verdict,
      challenger: record.challenger,
      champion: record.champion,
      rollout: record.rollout,
      reasons: record.reasons,
      seconds: record.seconds,
      events: record.log.events,
    });
    return exitCode;
  };
  if (values.remote) return run(folderLog(values.log!), remoteRegistry(), folderLog(values["pending-from"] ?? "", ".json"));
  const persist = relative(process.cwd(), values.persist) || values.persist;
  return withLocalBuckets(
    [MODELS, EVENT_LOG],
    ([models, events]) =>
      run(values.log ? folderLog(values.log) : bucketLog(events!), bucketRegistry(models!), values["pending-from"] ? folderLog(values["pending-from"], ".json") : bucketLog(models!)),
    persist,
  );
}

if (process.argv[1]?.endsWith("retrain.ts")) {
  main()
    .then((code) => process.exit(code))
    .catch((err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
