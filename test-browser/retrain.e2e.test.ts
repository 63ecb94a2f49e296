// Issue 19's loop end to end, in Node against a real `wrangler dev` (its API takes the traffic,
// its MonitorDO judges drift and runs the rollout, its local R2 holds the log, the registry and
// the tenant's config), with `npm run retrain` run as a scheduler runs it:
//  - refused: a challenger trained on a broken log loses to the champion; nothing changes.
//  - the loop: shoppers' intent shifts (the same visits over other products); their visits reach
//    the API (the past days replayed by the shop's backend, today's browsed live with the lists
//    shown) → the champion's drift reaches "act" → one retrain_requested is parked → `npm run
//    retrain -- --pending` (no request id) trains a challenger that beats the champion on the
//    held-out day, publishes it and starts a canary → live traffic, and the rollout controller's
//    guard rails promote it to every shopper.
// Both runs' gate decision tables are written to $TMPDIR/edgewise-retrain-gate.md (and printed).
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RetrainRequest } from "../src/contracts/queue";
import type { DashboardData } from "../src/mlops/monitor/dashboard-data";
import type { Rollout } from "../src/mlops/rollout/plan";
import type { Manifest } from "../src/models/manifest";
import { generateCatalog } from "../src/offline/synthetic/catalog";
import { type SyntheticSession, generateSessions } from "../src/offline/synthetic/sessions";
import { activate } from "../tools/cli/registry";
import { decisionTable } from "../tools/lib/decision-table";
import type { RunRecord } from "../tools/lib/retrain";
import { rewriteItems, syntheticLog } from "../tools/lib/synthetic-log";
import { type LocalBucket, listAll, withLocalBuckets } from "../tools/local/local-r2";
import { type DevWorker, KEY, TENANT, demoToken, startDevWorker, waitFor } from "./dev-worker";
import { type Visit, browseNow, replayVisits } from "./shop-traffic";

const DAY = 86_400_000;
const catalog = generateCatalog(42);
const ids = catalog.items.map((i) => i.item_id);

// Refused case: a log written as the consumer writes it, over a fixed past window
// (visits of another seed over 8 days: ~1,600 visits, ~11,000 views).
const START = Date.UTC(2026, 10, 1);
const DAYS = 8;
const TO = START + DAYS * DAY;
const HOLDOUT_FROM = TO - DAY;
const sessions = generateSessions(catalog, 7, { sessions: 6000, start: START }).filter((s) => s.events[0]!.timestamp < TO);

// The loop: the last LOOP_DAYS up to now, shoppers' intent shifted — the same kind of visits over
// other products (a fixed permutation of the catalog), unlike anything the champion was trained on.
const LOOP_DAYS = 4;
const NOW = Date.now();
const perm = new Map(ids.map((id, i) => [id, ids[(i * 7919 + 13) % ids.length]!]));
const shift = (s: SyntheticSession): Visit => ({ visitor: s.visitor, events: s.events.map((e) => rewriteItems(e, (item) => perm.get(item)!)) });
const loopSessions = generateSessions(catalog, 11, { sessions: 6000, start: NOW - LOOP_DAYS * DAY });
/** ~800 past visits (the backend replays them, purchases included) and visits still to come, browsed live. */
const pastVisits = loopSessions.filter((s) => s.events.at(-1)!.timestamp < NOW - 60_000).map(shift);
/** A browser sends no purchases (only the shop's backend may: they need its token). */
const liveVisits = loopSessions
  .filter((s) => s.events[0]!.timestamp >= NOW && s.events.some((e) => e.type === "product_view"))
  .map(shift)
  .map((v) => ({ ...v, events: v.events.filter((e) => e.type !== "purchase") }));
/** The rollout the scheduler asks for: two steps, promoted after 50 canary lists within the guard rails. */
const CANARY = { steps: "50,100", after: 50 };
const GATE_FILE = join(process.env.TMPDIR ?? tmpdir(), "edgewise-retrain-gate.md");

let worker: DevWorker;
let token = "";
const r2 = () => join(worker.state, "v3", "r2");
const buckets = <T>(fn: (models: LocalBucket, log: LocalBucket) => Promise<T>) => withLocalBuckets(["edgewise-models", "edgewise-event-log"], ([m, l]) => fn(m!, l!), r2());
const tables: string[] = [];

/** Replaces the tenant's event log with `objects`. */
async function writeLog(objects: Map<string, string>): Promise<void> {
  await buckets(async (_m, log) => {
    for (const key of await listAll(log, `events/tenant=${TENANT}/`)) await (log as unknown as { delete(k: string): Promise<void> }).delete(key);
    for (const [key, text] of objects) await log.put(key, text);
  });
}

/** Event lines in the tenant's log (what the consumer has written so far). */
async function loggedEvents(): Promise<number> {
  return buckets(async (_m, log) => {
    let n = 0;
    for (const key of await listAll(log, `events/tenant=${TENANT}/`)) n += (await (await log.get(key))!.text()).split("\n").filter((l) => l.includes('"kind":"event"')).length;
    return n;
  });
}

/** `npm run retrain` as a process, with the test's small training sizes; `extra` picks the window or --pending. */
function runRetrain(extra: string[]): Promise<{ code: number; stdout: string; stderr: string; summary: Record<string, unknown> }> {
  const args = ["tsx", "tools/cli/retrain.ts", "--tenant", TENANT, "--persist", r2(), ...extra];
  args.push("--dim", "16", "--epochs", "2", "--max-lists", "800", "--bootstrap", "300", "--out", mkdtempSync(join(tmpdir(), "edgewise-retrain-")));
  args.push("--api", worker.base, "--key", KEY, "--token", token);
  return new Promise((ok) => {
    execFile("npx", args, { env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const last = stdout.trim().split("\n").at(-1) ?? "";
      ok({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr, summary: last.startsWith("{") ? (JSON.parse(last) as Record<string, unknown>) : {} });
    });
  });
}

async function registryState(): Promise<{ config: string; models: string[] }> {
  return buckets(async (models) => ({ config: await (await models.get(`tenants/${TENANT}/experiments.json`))!.text(), models: await listAll(models, "models/") }));
}

async function runRecords(): Promise<RunRecord[]> {
  return buckets(async (models) => Promise.all((await listAll(models, `retrain/${TENANT}/runs/`)).map(async (k) => JSON.parse(await (await models.get(k))!.text()) as RunRecord)));
}

async function parkedRequests(): Promise<RetrainRequest[]> {
  return buckets(async (models) => Promise.all((await listAll(models, `retrain/${TENANT}/requests/`)).map(async (k) => JSON.parse(await (await models.get(k))!.text()) as RetrainRequest)));
}

const api = <T = unknown>(path: string) => fetch(`${worker.base}${path}`, { headers: { "x-edgewise-key": KEY, authorization: `Bearer ${token}` } }).then((r) => r.json() as Promise<T>);
const dashboard = () => api<DashboardData>("/admin/api/dashboard");
const rollouts = async () => (await api<{ rollouts: Rollout[] }>("/admin/api/rollouts")).rollouts;

/** Records a run's gate decision table for the closing note: printed, and kept in GATE_FILE. */
function keepTable(record: RunRecord): void {
  tables.push(decisionTable(record));
  writeFileSync(GATE_FILE, tables.join("\n"));
  process.stdout.write(`\n${tables.at(-1)}`);
}

beforeAll(async () => {
  // Drift is judged after every ingest with served lists (production: at most every 10 minutes).
  worker = await startDevWorker({ DRIFT_CHECK_SECONDS: "0" });
  token = await demoToken("admin");
  // The champion: the demo model serves everyone (no A/B test, so a rollout may start).
  await buckets((models) => activate({ kind: "local", bucket: models }, { tenant: TENANT, model: "demo/1", variants: [] }));
});

afterAll(async () => {
  await worker?.stop();
  if (tables.length > 0) process.stdout.write(`gate decision tables: ${GATE_FILE}\n`);
});

describe("the closed loop against a real wrangler dev (npm run retrain, MonitorDO, the rollout controller)", () => {
  it("refuses a challenger trained on a broken log: exit 1, the reason, nothing changed but the run record", async () => {
    // A tracking bug before the held-out day: every view logged with a random product id.
    let x = 7;
    const random = () => ids[(x = (x * 1103515245 + 12345) % 2 ** 31) % ids.length]!;
    await writeLog(syntheticLog(sessions, TENANT, (item, s) => (sessions[s]!.events[0]!.timestamp < HOLDOUT_FROM ? random() : item)));
    const before = await registryState();
    const run = await runRetrain(["--to", new Date(TO).toISOString(), "--days", String(DAYS), "--holdout-days", "1", "--version", "r1"]);
    expect(run.code, run.stderr.slice(-3000)).toBe(1);
    expect(run.summary.verdict).toBe("refused");
    expect((run.summary.reasons as string[]).join("\n")).toMatch(/hr@20 better by the margin: hr@20 [\d.]+ vs champion [\d.]+: -/);
    expect(run.stderr).toMatch(/\| hr@20 \| [\d.]+ \| [\d.]+ \| -/);
    expect(await registryState()).toEqual(before);
    expect(await rollouts()).toEqual([]);
    const [record] = await runRecords();
    expect(record).toMatchObject({ verdict: "refused", champion: "demo/1", challenger: null, rollout: null, request: null });
    expect(record!.comparison!["hr@20"].champion.value).toBeGreaterThan(record!.comparison!["hr@20"].challenger.value);
    keepTable(record!);
  });

  it("shifted traffic through the API → drift at act → retrain_requested → retrain --pending → canary → promoted by the guard rails", async () => {
    const t0 = performance.now();
    const phase = (what: string) => process.stdout.write(`[loop +${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}\n`);
    await writeLog(new Map()); // the broken log is gone; the log is what the API receives from here on
    const runsBefore = (await runRecords()).length;

    // A scheduler's run with nothing asked: nothing to do, exit 0, nothing written.
    const before = await registryState();
    const idle = await runRetrain(["--pending"]);
    expect(idle.code, idle.stderr.slice(-2000)).toBe(0);
    expect(idle.summary).toEqual({ verdict: "nothing_to_do", request: null });
    expect(await registryState()).toEqual(before);
    expect(await runRecords()).toHaveLength(runsBefore);
    phase("retrain --pending with nothing asked: nothing to do");

    // The past days, replayed by the shop's backend; then shoppers browsing now, a list on every product page.
    expect(pastVisits.length).toBeGreaterThan(600);
    const replayed = await replayVisits(worker.base, pastVisits, await demoToken("events:write"));
    let accepted = replayed.accepted;
    phase(`${pastVisits.length} past visits replayed (${accepted} events)`);
    const live = liveVisits.slice(0, 40);
    const first = await browseNow(worker.base, live, replayed.tokens);
    accepted += first.accepted;
    let lists = first.served.length;
    // The champion serves them (a list may degrade when the shared machine starves the worker: it counts as missing input).
    expect(first.served.filter((r) => r.model !== "demo/1")).toEqual([]);
    phase(`${live.length} live visits browsed, ${first.served.length} lists (${first.served.filter((r) => r.degraded !== null).length} degraded)`);

    // The champion's drift reaches "act" and it asks for a retrain, once.
    const drift = await waitFor(
      "the champion's drift at act and its retrain request",
      async () => {
        const d = await dashboard();
        const m = d.drift.find((x) => x.model === "demo/1");
        const asked = d.retrain.requests.some((r) => r.model === "demo/1" && r.status === "sent");
        return m?.status === "act" && asked && d.ingestion.totals.impressions >= lists ? d : false;
      },
      60_000,
      worker.log,
    );
    const atAct = drift.drift.find((x) => x.model === "demo/1")!;
    process.stdout.write(
      `drift of demo/1 at act after ${atAct.impressions} lists: ${[...atAct.inputs, atAct.prediction]
        .filter((i) => i.status === "act")
        .map((i) => `${i.feature} PSI ${i.psi?.toFixed(3)}`)
        .join(", ")}\n`,
    );
    // Not only the shape of the visits (a sample this small drifts on noise too: see docs/mlops.md): the
    // candidate generators' scores, which see what shoppers look at together, moved the most.
    const intent = atAct.inputs.filter((i) => /^ranker\.gen\.(neural|iknn)\.score$/.test(i.feature));
    expect(intent.map((i) => i.status)).toEqual(["act", "act"]);
    phase("drift at act, request sent");
    const [parked] = await waitFor("the request parked in R2", async () => ((await parkedRequests()).length > 0 ? parkedRequests() : false), 30_000, worker.log);
    expect(parked).toMatchObject({ kind: "retrain_requested", tenant: TENANT, model: "demo/1", id: drift.retrain.requests[0]!.id });
    // Everything the API accepted is in the log before the scheduler reads it.
    await waitFor("every accepted event in the log", async () => (await loggedEvents()) >= accepted || false, 60_000, worker.log);
    phase("request parked; every accepted event in the log");

    // The scheduler: no request id, only the tenant's settings.
    const run = await runRetrain([
      "--pending",
      "--days",
      String(LOOP_DAYS),
      "--holdout-days",
      "1",
      "--steps",
      CANARY.steps,
      "--auto-promote-after",
      String(CANARY.after),
      "--min-impressions",
      String(CANARY.after),
      // A challenger trained on four days (~780 visits) of a 3,000-item shop shows about half the
      // champion's catalogue (coverage@20 41–45 % vs 83 %): at the default 0.5 the guard sits on that
      // edge, and this test is about the loop, not the guard (its own test: test/retrain.unit.test.ts).
      "--max-coverage-drop",
      "0.6",
    ]);
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    expect(run.summary).toMatchObject({ request: parked!.id, verdict: "published", champion: "demo/1" });
    phase("retrain --pending: published, canary started");
    const challenger = run.summary.challenger as string;
    expect(challenger).toMatch(/^demo\/r\d{14}$/);
    const record = (await runRecords()).find((r) => r.challenger === challenger)!;
    keepTable(record);
    expect(record.log.events).toBeGreaterThan(4000);

    // The model card says what was compared and why it ships.
    const manifest = await buckets(async (models) => JSON.parse(await (await models.get(`models/${challenger}/manifest.json`))!.text()) as Manifest);
    const card = manifest.card!;
    expect(card).toMatchObject({ kind: "retrain", tenant: TENANT, champion: "demo/1", verdict: "published", request: parked!.id, holdout_window: record.holdout_window });
    expect(card.metrics.challenger["hr@20"]!).toBeGreaterThan(card.metrics.champion["hr@20"]! + 0.1);
    expect(card.metrics.difference["hr@20.low"]!).toBeGreaterThan(0);
    for (const side of [card.metrics.challenger, card.metrics.champion])
      expect(Object.keys(side)).toEqual(expect.arrayContaining(["hr@20", "hr@20.low", "hr@20.high", "mrr@20", "coverage@20", "p95_ms"]));
    expect(card.reasons.join("\n")).toMatch(/clearly better/);

    // The canary runs at 50 %.
    const [rollout] = await rollouts();
    expect(rollout).toMatchObject({
      id: (record.rollout as { id: string }).id,
      model: challenger,
      baseline: "demo/1",
      status: "running",
      steps: [50, 100],
      auto_promote_after: CANARY.after,
      guard_rails: { min_impressions: CANARY.after },
    });
    const experiment = `${rollout!.id}-s1`;
    expect(JSON.parse((await registryState()).config)).toMatchObject({
      default_model: "demo/1",
      experiment: {
        name: experiment,
        variants: [
          { name: "stable", model: "demo/1", weight: 50 },
          { name: "canary", model: challenger, weight: 50 },
        ],
      },
    });

    // Shoppers keep browsing until the rollout controller has judged enough canary lists and promoted it.
    let next = live.length;
    for (let round = 0; round < 10 && (await rollouts())[0]!.status === "running"; round++) {
      const r = await browseNow(worker.base, liveVisits.slice(next, next + 8), replayed.tokens);
      next += 8;
      lists += r.served.length;
      const degraded = r.served.filter((x) => x.degraded !== null);
      if (degraded.length > 0) phase(`${degraded.length} degraded lists: ${degraded.map((x) => `${x.variant} ${x.degraded}`).join(", ")}`);
      // Wait until the MonitorDO has counted every list served so far, then see whether the canary has enough.
      const counted = await waitFor(
        "every served list counted",
        async () => {
          const d = await dashboard();
          return d.ingestion.totals.impressions >= lists ? d : false;
        },
        60_000,
        worker.log,
      );
      const canary = counted.experiments.find((e) => e.experiment === experiment)?.variants.find((v) => v.variant === "canary")?.impressions ?? 0;
      if (canary >= CANARY.after) await waitFor("the canary promoted", async () => (await rollouts())[0]!.status !== "running", 30_000, worker.log);
    }
    phase(`canary promoted after ${next - live.length} more live visits`);
    const [done] = await rollouts();
    expect(done).toMatchObject({ id: rollout!.id, status: "promoted", step: 1 });
    expect(JSON.parse((await registryState()).config)).toEqual({ default_model: challenger });
    const d = await dashboard();
    expect(d.history.find((h) => h.kind === "rollout_completed")?.detail).toMatchObject({ by: "auto-promotion" });
    // The dashboard shows the request and what came of it.
    expect(d.retrain.requests.find((r) => r.id === parked!.id)?.outcome).toMatchObject({ verdict: "published", challenger, rollout: rollout!.id });
    // Shoppers now get the retrained model.
    const after = await browseNow(worker.base, liveVisits.slice(next, next + 3), replayed.tokens);
    expect(new Set(after.served.map((x) => x.model))).toEqual(new Set([challenger]));
    process.stdout.write(
      `loop: ${pastVisits.length} replayed + ${next + 3} live visits, ${accepted} events, ${lists + after.served.length} lists; retrain ${JSON.stringify(record.seconds)}; canary ${rollout!.id} promoted\n`,
    );
  });
});
