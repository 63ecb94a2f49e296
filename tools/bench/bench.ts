/**
 * `npm run bench`: each invocation measured on its own, in workerd CPU (design 0024).
 *
 *  1. Request path: the production bundle under Miniflare (no wrangler dev proxy) with
 *     the EVENTS queue bound but its consumer detached (the broker answers and
 *     discards), serving a 43,000-item two-stage model built from the synthetic shop
 *     (tools/bench/bench-model.ts, cached). Per route, a fixed number of requests:
 *     workerd CPU ms per request (utime + stime of the instance's workerd process from
 *     /proc, idle rate subtracted), p50 / p99 latency, each as a ratio to /healthz.
 *  2. Consumer: a second worker with the consumer attached; a fixed number of line
 *     batches (events and served lists) sent to its queue and drained through the real
 *     consumer and sinks; the same sends into the first worker's detached queue are
 *     subtracted. Lines per CPU-second and CPU ms per 1,000 lines.
 *  3. Operations and cost per million: the operation-count test's counts priced with
 *     bench/prices.json (tools/bench/cost.ts).
 *
 * Every figure from --reps repetitions (routes interleaved within each), min / median / max.
 *
 *   npm run bench -- [--reps 3] [--scale 1] [--connections 1] [--keep] [--routes events20,events100]
 *
 * Writes bench/results.json (every repetition) and bench/results.md (the tables).
 * `--routes` (for iterating on one path) measures only the named request-path routes
 * plus `/healthz`, skips the consumer and the cost, and writes bench/results-routes.json.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import type { Miniflare } from "miniflare";
import { Random } from "../../src/offline/synthetic/random";
import { benchModel } from "./bench-model";
import { candidatesPerList } from "./bench-candidates";
import { segmentComparison } from "./bench-segment";
import { buildBundle, cpuMs, machine, seed, startWorker, workerdMemory, workerdPids } from "./bench-worker";
import { type MeasuredCpu, loadPrices, measureOperations, peerCost, shopCost } from "./cost";

const KEY = "pk_demo_edgewise";
const SEQ_LEN = 20;
const VISITORS = 5;

const { values: args } = parseArgs({
  options: {
    reps: { type: "string", default: "3" },
    scale: { type: "string", default: "1" },
    connections: { type: "string", default: "1" },
    keep: { type: "boolean", default: false },
    routes: { type: "string" },
  },
});
/** Only these request-path routes (and `/healthz`, the baseline); no consumer, no cost. */
const ONLY = args.routes ? new Set(["healthz", ...args.routes.split(",").map((r) => r.trim())]) : null;
const REPS = Number(args.reps);
const SCALE = Number(args.scale);
const CONNECTIONS = Number(args.connections);
if (!(REPS >= 1) || !(SCALE > 0) || !(CONNECTIONS >= 1)) throw new Error("--reps, --scale and --connections must be positive");

const step = (line: string) => process.stderr.write(`▶ ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 3) => Number(x.toFixed(digits));
function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const stats = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: round(s[0]!), median: round(s[Math.floor((s.length - 1) / 2)]!), max: round(s.at(-1)!), all: xs.map((x) => round(x)) };
};
type Stats = ReturnType<typeof stats>;

// ── requests ─────────────────────────────────────────────────────────────────

interface Shop {
  items: Array<{ item_id: string; category: string; price: number }>;
}

function viewBody(shop: Shop, prefix: string, n: number, rand: Random): string {
  const now = Date.now();
  const events = Array.from({ length: n }, (_, i) => {
    const it = shop.items[Math.floor(rand.float() * shop.items.length)]!;
    return { id: `${prefix}-${i}`, type: "product_view", timestamp: now - (n - i) * 1000, properties: { item_id: it.item_id, category: it.category, price: it.price, currency: "EUR" } };
  });
  return JSON.stringify({ events });
}

async function newVisitor(base: string, shop: Shop, views: number, rand: Random): Promise<string> {
  const res = await fetch(`${base}/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-edgewise-key": KEY },
    body: viewBody(shop, `warm-${rand.int(0, 1e9)}`, views, rand),
  });
  const token = res.headers.get("x-edgewise-visitor");
  await res.arrayBuffer();
  if (res.status !== 202 || !token) throw new Error(`POST /v1/events answered ${res.status}`);
  return token;
}

interface Route {
  name: string;
  request: string;
  /** Requests per measured run (before --scale). */
  amount: number;
  options: (rep: number) => autocannon.Options;
}

function routes(base: string, shop: Shop, warm: string, visitors: string[], rand: Random): Route[] {
  const events =
    (n: number): Route["options"] =>
    (rep) => {
      let k = 0;
      return {
        url: `${base}/v1/events`,
        requests: [
          {
            method: "POST",
            setupRequest: (req) => {
              const i = k++;
              return {
                ...req,
                headers: { "content-type": "application/json", "x-edgewise-key": KEY, "x-edgewise-visitor": visitors[i % visitors.length]! },
                body: viewBody(shop, `r${rep}-${n}-${i}-${rand.int(0, 1e9)}`, n, rand),
              };
            },
          },
        ],
      };
    };
  return [
    { name: "healthz", request: "GET /healthz", amount: 2000, options: () => ({ url: `${base}/healthz` }) },
    {
      name: "recommendations",
      request: "GET /v1/recommendations?k=10 (warm visitor, 20 views)",
      amount: 1000,
      options: () => ({ url: `${base}/v1/recommendations?k=10`, headers: { "x-edgewise-key": KEY, "x-edgewise-visitor": warm } }),
    },
    { name: "events1", request: "POST /v1/events (1 view)", amount: 1000, options: events(1) },
    { name: "events20", request: "POST /v1/events (20 views)", amount: 500, options: events(20) },
    { name: "events100", request: "POST /v1/events (100 views)", amount: 150, options: events(100) },
    {
      name: "batch100",
      request: "POST /v1/batch (100 Segment messages)",
      amount: 150,
      options: () =>
        segmentComparison(
          base,
          KEY,
          shop.items.map((i) => i.item_id),
          visitors,
          () => rand.float(),
        ).segment,
    },
  ];
}

function cannon(opts: autocannon.Options, amount: number): Promise<{ latencies: number[]; non2xx: number; errors: number }> {
  const latencies: number[] = [];
  return new Promise((ok, fail) => {
    const instance = autocannon({ connections: CONNECTIONS, amount, ...opts }, (err: unknown, r: autocannon.Result) => {
      if (err) return fail(err instanceof Error ? err : new Error(String(err)));
      ok({ latencies, non2xx: r.non2xx, errors: r.errors });
    });
    instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
  });
}

// ── measurement ──────────────────────────────────────────────────────────────

/** Served-list flushes (200 ms) and SessionDO alarms (≤ 1 s) land inside the window. */
const SETTLE_MS = 1500;

async function idleRate(pids: number[]): Promise<number> {
  const c0 = cpuMs(pids);
  const t0 = performance.now();
  await sleep(2000);
  return (cpuMs(pids) - c0) / (performance.now() - t0);
}

interface RouteRun {
  rep: number;
  requests: number;
  cpu_ms_per_request: number;
  p50_ms: number;
  p99_ms: number;
  non2xx: number;
  errors: number;
}

async function measureRoute(route: Route, rep: number, pids: number[], idle: number): Promise<RouteRun> {
  const amount = Math.max(20, Math.round(route.amount * SCALE));
  await cannon(route.options(rep), Math.max(10, Math.round(amount / 10))); // warm-up
  await sleep(SETTLE_MS);
  const c0 = cpuMs(pids);
  const t0 = performance.now();
  const r = await cannon(route.options(rep), amount);
  await sleep(SETTLE_MS);
  const cpu = cpuMs(pids) - c0 - idle * (performance.now() - t0);
  r.latencies.sort((a, b) => a - b);
  process.stderr.write(`  rep ${rep} ${route.name}: ${(cpu / amount).toFixed(3)} ms CPU/request, p50 ${percentile(r.latencies, 50).toFixed(2)} ms, p99 ${percentile(r.latencies, 99).toFixed(2)} ms\n`);
  return { rep, requests: amount, cpu_ms_per_request: cpu / amount, p50_ms: percentile(r.latencies, 50), p99_ms: percentile(r.latencies, 99), non2xx: r.non2xx, errors: r.errors };
}

// ── the consumer on its own ──────────────────────────────────────────────────

interface LogLine {
  kind: string;
  [k: string]: unknown;
}

async function logLines(mf: Miniflare): Promise<LogLine[]> {
  const bucket = await mf.getR2Bucket("EVENT_LOG");
  const out: LogLine[] = [];
  for (const prefix of ["events/", "impressions/"]) {
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ prefix, cursor });
      for (const o of page.objects) for (const l of (await (await bucket.get(o.key))!.text()).split("\n").filter(Boolean)) out.push(JSON.parse(l) as LogLine);
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
  return out;
}

/** Line batches like the producers send: events in messages of 20 lines, served lists in messages of 25, fresh ids each. */
function lineBatches(templates: { events: LogLine[]; lists: LogLine[] }, rep: number, eventMessages: number, listMessages: number): Array<{ json: string; lines: number }> {
  const pack = (lines: LogLine[]) => ({ json: JSON.stringify({ kind: "lines", schema_version: lines[0]!.schema_version, tenant: lines[0]!.tenant, lines }), lines: lines.length });
  const out: Array<{ json: string; lines: number }> = [];
  let n = 0;
  for (let m = 0; m < eventMessages; m++) {
    out.push(
      pack(
        Array.from({ length: 20 }, () => {
          const t = templates.events[n % templates.events.length]!;
          const id = `c${rep}-${n++}`;
          return { ...t, seq: n, event: { ...(t.event as Record<string, unknown>), id } };
        }),
      ),
    );
  }
  for (let m = 0; m < listMessages; m++) {
    out.push(pack(Array.from({ length: 25 }, () => ({ ...templates.lists[n % templates.lists.length]!, impression_id: `c${rep}-imp-${n++}` }))));
  }
  return out;
}

/** sendBatch chunks within the platform's limits (100 messages, 256 KB; src/pipeline/pack.ts does the same for the worker). */
function chunks(messages: Array<{ json: string }>): Array<Array<{ json: string }>> {
  const out: Array<Array<{ json: string }>> = [];
  let current: Array<{ json: string }> = [];
  let bytes = 0;
  for (const m of messages) {
    const size = Buffer.byteLength(m.json) + 512;
    if (current.length > 0 && (current.length === 100 || bytes + size > 256 * 1024)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

async function send(mf: Miniflare, messages: Array<{ json: string }>): Promise<void> {
  const queue = await mf.getQueueProducer("EVENTS");
  for (const chunk of chunks(messages)) await queue.sendBatch(chunk.map((m) => ({ body: JSON.parse(m.json) as unknown, contentType: "json" as const })));
}

/** Counts the log's lines, reading only objects it has not seen (the consumer writes new objects, never rewrites). */
function logCounter(mf: Miniflare): () => Promise<number> {
  const seen = new Map<string, number>();
  return async () => {
    const bucket = await mf.getR2Bucket("EVENT_LOG");
    for (const prefix of ["events/", "impressions/"]) {
      let cursor: string | undefined;
      do {
        const page = await bucket.list({ prefix, cursor });
        for (const o of page.objects) if (!seen.has(o.key)) seen.set(o.key, (await (await bucket.get(o.key))!.text()).split("\n").filter(Boolean).length);
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
    }
    return [...seen.values()].reduce((a, b) => a + b, 0);
  };
}

/**
 * Waits until the log holds `expected` lines and the instance's CPU has been back at idle
 * for 1 s (at most `maxS`); returns the ms until the last line landed. The check itself
 * (an R2 list, and a read of each new object) runs once a second and stays in the window.
 */
async function drained(pids: number[], idle: number, count: () => Promise<number>, expected: number, maxS: number): Promise<{ ms: number; lines: number }> {
  const t0 = performance.now();
  let lines = 0;
  let doneAt = Number.NaN;
  for (;;) {
    await sleep(1000);
    const c = cpuMs(pids);
    lines = await count();
    if (lines >= expected && Number.isNaN(doneAt)) doneAt = performance.now() - t0;
    if (lines >= expected) {
      await sleep(1000);
      if (cpuMs(pids) - c < idle * 1000 + 30) return { ms: doneAt, lines };
    }
    if (performance.now() - t0 > maxS * 1000) return { ms: performance.now() - t0, lines };
  }
}

interface ConsumerRun {
  rep: number;
  messages: number;
  lines: number;
  cpu_ms: number;
  send_cpu_ms: number;
  cpu_ms_per_1000_lines: number;
  lines_per_cpu_second: number;
  drain_s: number;
  lines_logged: number;
}

// ── run ──────────────────────────────────────────────────────────────────────

async function run() {
  const started = performance.now();
  const tmp = mkdtempSync(join(tmpdir(), "edgewise-bench-"));
  try {
    step("the 43,000-item two-stage model (built once, then cached)");
    const model = await benchModel((l) => process.stderr.write(`  ${l}\n`));
    const shop = JSON.parse(readFileSync(model.catalogFile, "utf8")) as Shop;
    const manifest = JSON.parse(readFileSync(join(model.dir, "manifest.json"), "utf8")) as {
      params: { num_items: number; dim: number };
      ranker: { params: { trees: number; max_depth: number }; features: unknown[] };
    };
    const candidates = await candidatesPerList(model.dir);
    step("building the production bundle (wrangler deploy --dry-run)");
    const bundle = buildBundle(join(tmp, "dist"));
    const seedOpts = { model: { id: model.id, dir: model.dir }, catalogFile: model.catalogFile };
    await seed(join(tmp, "a"), seedOpts);
    await seed(join(tmp, "b"), seedOpts);

    step("starting worker A (EVENTS bound, consumer detached) and worker B (consumer attached)");
    const before = new Set(workerdPids());
    const a = await startWorker(bundle, join(tmp, "a"), { logLevel: "silent", eventsConsumer: false });
    const baseA = (await a.ready).href.replace(/\/$/, "");
    const pidsA = workerdPids().filter((p) => !before.has(p));
    const beforeB = new Set(workerdPids());
    const b = await startWorker(bundle, join(tmp, "b"), { logLevel: "silent", eventsConsumer: true });
    const baseB = (await b.ready).href.replace(/\/$/, "");
    const pidsB = workerdPids().filter((p) => !beforeB.has(p));
    if (pidsA.length === 0 || pidsB.length === 0) throw new Error("could not find the workerd processes of the two instances");
    try {
      const rand = new Random(1);
      const warm = await newVisitor(baseA, shop, SEQ_LEN, rand);
      let check = { status: 0, model: null as string | null, degraded: null as string | null, timing: null as string | null };
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${baseA}/v1/recommendations?k=10`, { headers: { "x-edgewise-key": KEY, "x-edgewise-visitor": warm } });
        const body = (await res.json()) as { model?: string; degraded?: string | null };
        check = { status: res.status, model: body.model ?? null, degraded: body.degraded ?? null, timing: res.headers.get("server-timing") };
        if (check.model === model.id && check.degraded === null) break;
        await sleep(200);
      }
      if (check.model !== model.id || check.degraded !== null) throw new Error(`recommendations not served by ${model.id}: ${JSON.stringify(check)}`);
      const visitors = await Promise.all(Array.from({ length: VISITORS }, () => newVisitor(baseA, shop, 1, rand)));
      const list = routes(baseA, shop, warm, visitors, rand).filter((r) => !ONLY || ONLY.has(r.name));
      if (ONLY && list.length !== ONLY.size) throw new Error(`--routes: unknown route in ${args.routes} (known: healthz, recommendations, events1, events20, events100, batch100)`);

      if (ONLY) return { partial: await measureRoutesOnly(list, pidsA) };
      // Templates for the consumer: real lines from worker B's own log.
      const visitorsB = await Promise.all(Array.from({ length: VISITORS }, () => newVisitor(baseB, shop, SEQ_LEN, rand)));
      for (let i = 0; i < 30; i++) await (await fetch(`${baseB}/v1/recommendations?k=10`, { headers: { "x-edgewise-key": KEY, "x-edgewise-visitor": visitorsB[i % VISITORS]! } })).arrayBuffer();
      let templates = { events: [] as LogLine[], lists: [] as LogLine[] };
      for (let i = 0; i < 60 && (templates.events.length < VISITORS * SEQ_LEN || templates.lists.length === 0); i++) {
        await sleep(1000);
        const lines = await logLines(b);
        templates = { events: lines.filter((l) => l.kind === "event"), lists: lines.filter((l) => l.kind !== "event") };
      }
      if (templates.lists.length === 0) throw new Error("worker B logged no served lists to copy");
      const countLines = logCounter(b);
      let expectedLines = await countLines();

      const runs: Record<string, RouteRun[]> = Object.fromEntries(list.map((r) => [r.name, []]));
      const consumer: ConsumerRun[] = [];
      const idle: number[] = [];
      for (let rep = 1; rep <= REPS; rep++) {
        step(`repetition ${rep}/${REPS}: request path (worker A, ${CONNECTIONS} connection${CONNECTIONS > 1 ? "s" : ""})`);
        const rate = await idleRate(pidsA);
        idle.push(rate * 1000);
        // Rotate the order so a slow spell on the shared machine does not always hit the same route.
        const order = list.map((_, i) => list[(i + rep - 1) % list.length]!);
        for (const route of order) runs[route.name]!.push(await measureRoute(route, rep, pidsA, rate));

        step(`repetition ${rep}/${REPS}: the consumer (worker B)`);
        const messages = lineBatches(templates, rep, Math.round(160 * SCALE), Math.round(40 * SCALE));
        const lines = messages.reduce((s, m) => s + m.lines, 0);
        // The sends alone, into worker A's detached queue.
        const rateA = await idleRate(pidsA);
        const s0 = cpuMs(pidsA);
        const st = performance.now();
        await send(a, messages);
        await sleep(500);
        const sendCpu = cpuMs(pidsA) - s0 - rateA * (performance.now() - st);
        const rateB = await idleRate(pidsB);
        const c0 = cpuMs(pidsB);
        const t0 = performance.now();
        await send(b, messages);
        expectedLines += lines;
        const { ms: drainMs, lines: logged } = await drained(pidsB, rateB, countLines, expectedLines, 120);
        const total = cpuMs(pidsB) - c0 - rateB * (performance.now() - t0);
        const cpu = total - sendCpu;
        consumer.push({
          rep,
          messages: messages.length,
          lines,
          cpu_ms: round(cpu, 1),
          send_cpu_ms: round(sendCpu, 1),
          cpu_ms_per_1000_lines: (cpu / lines) * 1000,
          lines_per_cpu_second: lines / (cpu / 1000),
          drain_s: drainMs / 1000,
          lines_logged: logged - (expectedLines - lines),
        });
        process.stderr.write(
          `  rep ${rep} consumer: ${lines} lines, ${((cpu / lines) * 1000).toFixed(1)} ms CPU per 1,000 lines (${(lines / (cpu / 1000)).toFixed(0)} lines/CPU-s), sends ${sendCpu.toFixed(0)} ms, ${logged}/${expectedLines} lines in the log\n`,
        );
      }
      const memory = workerdMemory();
      // One warm recommendation's Server-Timing (in-worker, 1 ms granularity locally).
      const after = await fetch(`${baseA}/v1/recommendations?k=10`, { headers: { "x-edgewise-key": KEY, "x-edgewise-visitor": warm } });
      await after.arrayBuffer();
      check.timing = after.headers.get("server-timing");

      step("operations per events request and per recommendation (test/operations.integration.test.ts)");
      const operations = measureOperations();
      const prices = loadPrices();

      const summary = Object.fromEntries(
        list.map((r) => {
          const rs = runs[r.name]!;
          const h = runs.healthz!;
          return [
            r.name,
            {
              request: r.request,
              cpu_ms_per_request: stats(rs.map((x) => x.cpu_ms_per_request)),
              cpu_vs_healthz: stats(rs.map((x, i) => x.cpu_ms_per_request / h[i]!.cpu_ms_per_request)),
              p50_ms: stats(rs.map((x) => x.p50_ms)),
              p99_ms: stats(rs.map((x) => x.p99_ms)),
              p99_vs_healthz: stats(rs.map((x, i) => x.p99_ms / h[i]!.p99_ms)),
              non2xx: rs.reduce((s, x) => s + x.non2xx + x.errors, 0),
            },
          ];
        }),
      ) as Record<string, RouteSummary>;
      const consumerSummary = {
        cpu_ms_per_1000_lines: stats(consumer.map((c) => c.cpu_ms_per_1000_lines)),
        lines_per_cpu_second: stats(consumer.map((c) => c.lines_per_cpu_second)),
        drain_s: stats(consumer.map((c) => c.drain_s)),
      };
      const cpu: MeasuredCpu = {
        events20_ms: summary.events20!.cpu_ms_per_request.median,
        recommendation_ms: summary.recommendations!.cpu_ms_per_request.median,
        consumer_ms_per_1000_lines: consumerSummary.cpu_ms_per_1000_lines.median,
      };
      const shops = [shopCost("small (1 M events / month)", 1e6, operations, cpu, prices), shopCost("large (1 B events / month)", 1e9, operations, cpu, prices)];
      const peers = shops.map((s) => ({ shop: s.shop, peers: peerCost(prices, s.recommendations_per_month) }));

      return {
        date: new Date().toISOString(),
        command: `npm run bench -- --reps ${REPS} --scale ${SCALE} --connections ${CONNECTIONS}`,
        runtime_s: 0,
        machine: { ...machine(), load_average: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ") },
        miniflare: (JSON.parse(readFileSync("node_modules/miniflare/package.json", "utf8")) as { version: string }).version,
        model: {
          id: model.id,
          built_this_run: model.built,
          build_s: round(model.buildSeconds, 0),
          items: manifest.params.num_items,
          dim: manifest.params.dim,
          ranker_trees: manifest.ranker.params.trees,
          ranker_depth: manifest.ranker.params.max_depth,
          ranker_features: manifest.ranker.features.length,
          candidates_per_list: candidates,
          server_timing_sample: check.timing,
        },
        connections: CONNECTIONS,
        idle_cpu_ms_per_s: stats(idle),
        request_path: summary,
        request_path_runs: runs,
        consumer: consumerSummary,
        consumer_runs: consumer,
        operations,
        cost: shops,
        peers,
        prices_read_on: prices.read_on,
        memory,
        bundle: { raw_bytes: bundle.rawBytes, gzip_bytes: bundle.gzipBytes },
        started_ms: started,
      };
    } finally {
      await a.dispose().catch(() => undefined);
      await b.dispose().catch(() => undefined);
    }
  } finally {
    if (args.keep) step(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

/** `--routes`: the request path of the chosen routes only, every repetition (routes rotated). */
async function measureRoutesOnly(list: Route[], pids: number[]) {
  const runs: Record<string, RouteRun[]> = Object.fromEntries(list.map((r) => [r.name, []]));
  for (let rep = 1; rep <= REPS; rep++) {
    step(`repetition ${rep}/${REPS}: request path of ${list.map((r) => r.name).join(", ")}`);
    const rate = await idleRate(pids);
    const order = list.map((_, i) => list[(i + rep - 1) % list.length]!);
    for (const route of order) runs[route.name]!.push(await measureRoute(route, rep, pids, rate));
  }
  const h = runs.healthz!;
  return Object.fromEntries(
    list.map((r) => [
      r.name,
      {
        cpu_ms_per_request: stats(runs[r.name]!.map((x) => x.cpu_ms_per_request)),
        cpu_vs_healthz: stats(runs[r.name]!.map((x, i) => x.cpu_ms_per_request / h[i]!.cpu_ms_per_request)),
        runs: runs[r.name],
      },
    ]),
  );
}

interface RouteSummary {
  request: string;
  cpu_ms_per_request: Stats;
  cpu_vs_healthz: Stats;
  p50_ms: Stats;
  p99_ms: Stats;
  p99_vs_healthz: Stats;
  non2xx: number;
}

// ── report ───────────────────────────────────────────────────────────────────

type Results = Exclude<Awaited<ReturnType<typeof run>>, { partial: unknown }>;

const mmm = (s: Stats, d = 3) => `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})`;
const usd = (x: number) => (x === 0 ? "$0" : x < 0.01 ? `$${x.toFixed(4)}` : `$${x.toFixed(3)}`);

function markdown(r: Results): string {
  const rp = r.request_path;
  const ev = (name: string, n: number) => rp[name]!.cpu_ms_per_request.median / n;
  const reco = rp.recommendations!;
  const targets = [
    `| recommendation CPU ≤ 3× \`/healthz\` | ${reco.cpu_vs_healthz.median.toFixed(2)}× | ${reco.cpu_vs_healthz.median <= 3 ? "met" : "**not met**"} |`,
    `| recommendation p99 ≤ 2× \`/healthz\`'s | ${reco.p99_vs_healthz.median.toFixed(2)}× | ${reco.p99_vs_healthz.median <= 2 ? "met" : "**not met**"} |`,
    `| whole recommendation p50 ≤ 2 ms, p99 ≤ 5 ms (client-side, 1 connection: an upper bound) | ${reco.p50_ms.median.toFixed(2)} / ${reco.p99_ms.median.toFixed(2)} ms | ${reco.p50_ms.median <= 2 && reco.p99_ms.median <= 5 ? "met" : "**not met**"} |`,
    `| events ≤ 0.06 ms CPU per event at 20 per request | ${ev("events20", 20).toFixed(3)} ms | ${ev("events20", 20) <= 0.06 ? "met" : "**not met**"} |`,
    `| events ≤ 0.03 ms CPU per event at 100 per request | ${ev("events100", 100).toFixed(3)} ms | ${ev("events100", 100) <= 0.03 ? "met" : "**not met**"} |`,
    `| consumer ≥ 5,000 lines/s on one core | ${r.consumer.lines_per_cpu_second.median.toFixed(0)} | ${r.consumer.lines_per_cpu_second.median >= 5000 ? "met" : "**not met**"} |`,
    `| ≤ $1 per million events beyond included usage (large shop) | ${usd(r.cost[1]!.usd_per_million_events)} | ${r.cost[1]!.usd_per_million_events <= 1 ? "met" : "**not met**"} |`,
    `| ≤ $0.50 per million recommendations beyond included usage (large shop) | ${usd(r.cost[1]!.usd_per_million_recommendations)} | ${r.cost[1]!.usd_per_million_recommendations <= 0.5 ? "met" : "**not met**"} |`,
  ];
  const o = r.operations;
  const opsRow = (label: string, c: (typeof o)["events20_request"]) =>
    `| ${label} | ${c.worker_invocations} | ${c.do_requests} (${Object.entries(c.do_by_class)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}) | ${c.sql_rows_read} | ${c.sql_rows_written} | ${c.queue_messages} / ${c.queue_operations} | ${c.r2_class_a} / ${c.r2_class_b} | ${c.r2_bytes_put} |`;
  const costRows = (i: number) =>
    r.cost[i]!.rows.map(
      (row) => `| ${row.item} | ${row.per_event.toPrecision(3)} | ${usd(row.usd_per_million_events)} | ${row.per_recommendation.toPrecision(3)} | ${usd(row.usd_per_million_recommendations)} |`,
    ).join("\n");
  const peerRows = r.peers.flatMap((s) => s.peers.map((p) => `| ${s.shop} | ${p.peer} | ${p.usd_per_million === null ? "not found (see note)" : usd(p.usd_per_million)} | ${p.source} |`)).join("\n");
  return `# Edgewise benchmark: per invocation, in CPU, and per million

${r.date} · ${r.machine.cpus} CPUs (${r.machine.cpu_model}) · ${r.machine.memory_gib} GiB · Node ${r.machine.node} · load average at the end ${r.machine.load_average} · Miniflare ${r.miniflare} · ${r.runtime_s} s

Reproduce: \`${r.command}\` (design [0024](../docs/design/0024-per-invocation-benchmarks.md)). Every figure: median (min–max) of the repetitions; \`bench/results.json\` keeps each.

Model \`${r.model.id}\`: ${r.model.items.toLocaleString("en")} items × dim ${r.model.dim}, LambdaMART ranker ${r.model.ranker_trees} trees of depth ${r.model.ranker_depth} over ${r.model.ranker_features} features, ${r.model.candidates_per_list.median} candidates per list (median; ${r.model.candidates_per_list.min}–${r.model.candidates_per_list.max} over ${r.model.candidates_per_list.lists} held-out synthetic visits) (built from the synthetic shop${r.model.built_this_run ? ` this run, ${r.model.build_s} s` : ", cached"}). Server-Timing of one recommendation: \`${r.model.server_timing_sample ?? "none"}\`.

## Targets (issue 20)

| target | measured (median) | |
|---|---:|---|
${targets.join("\n")}

## Request path (queue bound, consumer detached)

workerd CPU = utime + stime of the instance's workerd process over the run (plus ${SETTLE_MS} ms for flushes and alarms), idle rate (${mmm(r.idle_cpu_ms_per_s, 2)} ms/s) subtracted. Latency is client-side at ${r.connections} connection(s).

| route | CPU ms / request | × \`/healthz\` | p50 ms | p99 ms | p99 × \`/healthz\` | non-2xx |
|---|---:|---:|---:|---:|---:|---:|
${Object.values(rp)
  .map((s) => `| ${s.request} | ${mmm(s.cpu_ms_per_request)} | ${mmm(s.cpu_vs_healthz, 2)} | ${mmm(s.p50_ms, 2)} | ${mmm(s.p99_ms, 2)} | ${mmm(s.p99_vs_healthz, 2)} | ${s.non2xx} |`)
  .join("\n")}

Per event: ${ev("events1", 1).toFixed(3)} ms at 1 per request, ${ev("events20", 20).toFixed(3)} ms at 20, ${ev("events100", 100).toFixed(3)} ms at 100; Segment \`/v1/batch\` ${ev("batch100", 100).toFixed(3)} ms per message at 100.

## Consumer (line batches drained through the real consumer and sinks)

Per repetition ${r.consumer_runs[0]!.messages} messages (events: 20 lines each; served lists: 25 each), ${r.consumer_runs[0]!.lines} lines; the sends' own CPU (measured into the detached queue) subtracted.

| CPU ms per 1,000 lines | lines per CPU-second (one core) | drain wall time s |
|---:|---:|---:|
| ${mmm(r.consumer.cpu_ms_per_1000_lines, 1)} | ${mmm(r.consumer.lines_per_cpu_second, 0)} | ${mmm(r.consumer.drain_s, 1)} |

## Operations (test/operations.integration.test.ts, pinned there)

| invocation | Worker invocations | DO requests | SQLite rows read | rows written | queue messages / ops | R2 class A / B | R2 bytes put |
|---|---:|---:|---:|---:|---:|---:|---:|
${opsRow("events request, 20 views (request path)", o.events20_request)}
${opsRow("… with its consumer batch", o.events20_total)}
${opsRow(`events requests, 20 views: a steady visitor's ${o.events20_cycle.worker_invocations} in a row (totals; the cost uses their mean)`, o.events20_cycle)}
${opsRow("events request, 1 view (request path)", o.events1_request)}
${opsRow("recommendation (request path, its flush)", o.recommendation_request)}
${opsRow("… with its consumer batch", o.recommendation_total)}
${opsRow("consumer: one batch of 5 events messages", o.consumer_5x20)}

Upstash: 0 commands (the embedded ProfileDO store is the default; with \`UPSTASH_REDIS_REST_URL\` set, the ProfileDO requests above become Upstash commands). Prices read ${r.prices_read_on} (\`bench/prices.json\`, with sources).

## Cost per million beyond included usage

Model: N events a month in requests of 20, N recommendations; consumer batches fill to ${r.cost.map((c) => `${c.consumer_batch_messages} messages (${c.shop.split(" ")[0]})`).join(", ")}; one queue message per served list (the pinned worst case). Plus the Workers Paid plan's $${r.cost[0]!.plan_usd_per_month}/month.

**${r.cost[0]!.shop}: ${usd(r.cost[0]!.usd_per_million_events)} per million events, ${usd(r.cost[0]!.usd_per_million_recommendations)} per million recommendations.**
**${r.cost[1]!.shop}: ${usd(r.cost[1]!.usd_per_million_events)} per million events, ${usd(r.cost[1]!.usd_per_million_recommendations)} per million recommendations.**

Large shop, by line item:

| line item | per event | $ / M events | per recommendation | $ / M recommendations |
|---|---:|---:|---:|---:|
${costRows(1)}

Small shop, by line item:

| line item | per event | $ / M events | per recommendation | $ / M recommendations |
|---|---:|---:|---:|---:|
${costRows(0)}

Peers, per million recommendations at the same volume:

| shop | peer | $ / M recommendations | source |
|---|---|---:|---|
${peerRows}

Memory after the run: ${r.memory.map((m) => `RSS ${m.rss_mib} MiB`).join(", ")}; bundle ${(r.bundle.raw_bytes / 2 ** 20).toFixed(2)} MiB raw, ${(r.bundle.gzip_bytes / 2 ** 20).toFixed(2)} MiB gzip.
`;
}

const t0 = performance.now();
const outcome = await run();
if (outcome.partial) {
  mkdirSync("bench", { recursive: true });
  writeFileSync(
    "bench/results-routes.json",
    `${JSON.stringify({ date: new Date().toISOString(), command: `npm run bench -- --reps ${REPS} --routes ${args.routes}`, routes: outcome.partial }, null, 2)}\n`,
  );
  for (const [name, r] of Object.entries(outcome.partial)) process.stdout.write(`${name}: ${mmm(r.cpu_ms_per_request)} ms CPU / request, ${mmm(r.cpu_vs_healthz, 2)}× /healthz\n`);
  process.exit(0);
}
const results = outcome as Results;
results.runtime_s = Math.round((performance.now() - t0) / 1000);
mkdirSync("bench", { recursive: true });
writeFileSync("bench/results.json", `${JSON.stringify(results, null, 2)}\n`);
const md = markdown(results);
writeFileSync("bench/results.md", md);
process.stdout.write(`\n${md}\nwrote ${resolve("bench/results.json")} and ${resolve("bench/results.md")}\n`);
