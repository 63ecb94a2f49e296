// `npm run retrain` end to end, in Node against a real `wrangler dev` (its admin API starts the
// canary; its local R2 holds the log, the registry and the tenant's config): a challenger trained
// on a broken log is refused and nothing changes; one trained on a shifted log beats the
// champion (the demo model), is published with its model card, and a canary rollout starts.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "../src/models/manifest";
import { generateCatalog } from "../src/offline/synthetic/catalog";
import { generateSessions } from "../src/offline/synthetic/sessions";
import { activate } from "../tools/cli/registry";
import type { RunRecord } from "../tools/lib/retrain";
import { syntheticLog } from "../tools/lib/synthetic-log";
import { type LocalBucket, listAll, withLocalBuckets } from "../tools/local/local-r2";
import { type DevWorker, KEY, TENANT, demoToken, startDevWorker } from "./dev-worker";

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);
const DAYS = 8;
const TO = START + DAYS * DAY;
const HOLDOUT_FROM = TO - DAY;

let worker: DevWorker;
let token = "";
const r2 = () => join(worker.state, "v3", "r2");
const buckets = <T>(fn: (models: LocalBucket, log: LocalBucket) => Promise<T>) => withLocalBuckets(["edgewise-models", "edgewise-event-log"], ([m, l]) => fn(m!, l!), r2());

// The demo shop's catalog; visits of another seed over its first DAYS days (~1,600 visits, ~11,000 views).
const catalog = generateCatalog(42);
const sessions = generateSessions(catalog, 7, { sessions: 6000, start: START }).filter((s) => s.events[0]!.timestamp < TO);
const ids = catalog.items.map((i) => i.item_id);

/** Replaces the tenant's event log with `objects`. */
async function writeLog(objects: Map<string, string>): Promise<void> {
  await buckets(async (_m, log) => {
    for (const key of await listAll(log, `events/tenant=${TENANT}/`)) await (log as unknown as { delete(k: string): Promise<void> }).delete(key);
    for (const [key, text] of objects) await log.put(key, text);
  });
}

function runRetrain(version: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ["tsx", "tools/cli/retrain.ts", "--tenant", TENANT, "--persist", r2(), "--to", new Date(TO).toISOString(), "--days", String(DAYS), "--holdout-days", "1"];
  args.push("--dim", "16", "--epochs", "2", "--max-lists", "800", "--bootstrap", "300", "--version", version, "--out", mkdtempSync(join(tmpdir(), "edgewise-retrain-")));
  args.push("--api", worker.base, "--key", KEY, "--token", token);
  return new Promise((ok) => {
    execFile("npx", args, { env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => ok({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });
}

async function registryState(): Promise<{ config: string; models: string[] }> {
  return buckets(async (models) => ({ config: await (await models.get(`tenants/${TENANT}/experiments.json`))!.text(), models: await listAll(models, "models/") }));
}

async function runRecords(): Promise<RunRecord[]> {
  return buckets(async (models) => Promise.all((await listAll(models, `retrain/${TENANT}/runs/`)).map(async (k) => JSON.parse(await (await models.get(k))!.text()) as RunRecord)));
}

const api = (path: string) => fetch(`${worker.base}${path}`, { headers: { "x-edgewise-key": KEY, authorization: `Bearer ${token}` } }).then((r) => r.json());

beforeAll(async () => {
  worker = await startDevWorker();
  token = await demoToken("admin");
  // The champion: the demo model serves everyone (no A/B test, so a rollout may start).
  await buckets((models) => activate({ kind: "local", bucket: models }, { tenant: TENANT, model: "demo/1", variants: [] }));
});

afterAll(async () => {
  await worker?.stop();
});

describe("npm run retrain (local .wrangler state, real admin API)", () => {
  it("refuses a challenger trained on a broken log: exit 1, the reason, nothing changed but the run record", async () => {
    // A tracking bug before the held-out day: every view logged with a random product id.
    let x = 7;
    const random = () => ids[(x = (x * 1103515245 + 12345) % 2 ** 31) % ids.length]!;
    await writeLog(syntheticLog(sessions, TENANT, (item, s) => (sessions[s]!.events[0]!.timestamp < HOLDOUT_FROM ? random() : item)));
    const before = await registryState();
    const run = await runRetrain("r1");
    expect(run.code, run.stderr.slice(-3000)).toBe(1);
    const out = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as { verdict: string; reasons: string[] };
    expect(out.verdict).toBe("refused");
    expect(out.reasons.join("\n")).toMatch(/hr@20 better by the margin: hr@20 [\d.]+ vs champion [\d.]+: -/);
    expect(await registryState()).toEqual(before);
    expect(((await api("/admin/api/rollouts")) as { rollouts: unknown[] }).rollouts).toEqual([]);
    const [record] = await runRecords();
    expect(record).toMatchObject({ verdict: "refused", champion: "demo/1", challenger: null, rollout: null });
    expect(record!.comparison!["hr@20"].champion.value).toBeGreaterThan(record!.comparison!["hr@20"].challenger.value);
  });

  it("publishes a challenger that beats the champion on the held-out day, with its model card, and starts a canary", async () => {
    // Shoppers' intent shifted: the same visits over other products (a fixed permutation of the catalog).
    const perm = new Map(ids.map((id, i) => [id, ids[(i * 7919 + 13) % ids.length]!]));
    await writeLog(syntheticLog(sessions, TENANT, (item) => perm.get(item)!));
    const run = await runRetrain("r2");
    expect(run.code, run.stderr.slice(-3000)).toBe(0);

    const manifest = await buckets(async (models) => JSON.parse(await (await models.get("models/demo/r2/manifest.json"))!.text()) as Manifest);
    const card = manifest.card!;
    expect(card).toMatchObject({
      kind: "retrain",
      tenant: TENANT,
      champion: "demo/1",
      verdict: "published",
      holdout_window: { from: new Date(HOLDOUT_FROM).toISOString(), to: new Date(TO).toISOString() },
    });
    expect(card.events_used).toBeGreaterThan(10_000);
    expect(card.metrics.challenger["hr@20"]!).toBeGreaterThan(card.metrics.champion["hr@20"]! + 0.1);
    expect(card.metrics.difference["hr@20.low"]!).toBeGreaterThan(0);
    for (const side of [card.metrics.challenger, card.metrics.champion])
      expect(Object.keys(side)).toEqual(expect.arrayContaining(["hr@20", "hr@20.low", "hr@20.high", "mrr@20", "coverage@20", "p95_ms"]));
    expect(card.reasons.join("\n")).toMatch(/clearly better/);

    const { rollouts } = (await api("/admin/api/rollouts")) as { rollouts: Array<{ id: string; model: string; baseline: string; status: string; steps: number[] }> };
    expect(rollouts).toMatchObject([{ model: "demo/r2", baseline: "demo/1", status: "running", steps: [5, 25, 50, 100] }]);
    const config = JSON.parse((await registryState()).config) as { experiment: { variants: Array<{ name: string; model: string; weight: number }> } };
    expect(config.experiment.variants).toMatchObject([
      { name: "stable", model: "demo/1", weight: 95 },
      { name: "canary", model: "demo/r2", weight: 5 },
    ]);

    const records = await runRecords();
    const published = records.find((r) => r.verdict === "published")!;
    expect(published).toMatchObject({ challenger: "demo/r2", rollout: { id: rollouts[0]!.id } });
    const { retrain } = (await api("/admin/api/dashboard")) as { retrain: { runs: Array<{ verdict: string }> } };
    expect(retrain.runs.map((r) => r.verdict).sort()).toEqual(["published", "refused"]);
    process.stdout.write(`retrain timings: ${JSON.stringify(records.map((r) => ({ verdict: r.verdict, events: r.log.events, seconds: r.seconds })))}\n`);
  });
});
