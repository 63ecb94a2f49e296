/**
 * `npm run bench`: load-tests the production bundle served by Miniflare directly
 * (not through `wrangler dev`'s proxy, which caps throughput: PLATFORM-NOTES.md),
 * always against the trivial `/healthz` route of the same worker in the same run,
 * and measures ONNX inference of the demo model and of a 43,000-item model in Node.
 *
 *   npm run bench -- [--duration 10] [--connections 10] [--runs 2000] [--keep] [--log-level warn]
 *
 * Writes bench/results.json and bench/results.md.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import type { Miniflare } from "miniflare";
import { buildSessionTopKModel, PADDING_BIAS } from "../../src/models/onnx/session-topk";
import { type Ort, OrtSession, runSessionTopK } from "../../src/models/ort-session";
import { Random } from "../../src/offline/synthetic/random";
import { buildBundle, machine, seed, startWorker, workerdMemory } from "./bench-worker";
import { SEGMENT_PER_REQUEST, segmentComparison } from "./bench-segment";

const KEY = "pk_demo_edgewise";
const DEMO_DIR = "models/demo/1";
const SEQ_LEN = 20;
/** What the worker asks the model for when k=10 and nothing is excluded (src/recommend/recommend.ts). */
const INFERENCE_K = 50;
const EVENT_VISITORS = 5;
const TARGETS = { recommendations: { throughput: 0.5, p99: 2 }, events: { throughput: 0.3 } } as const;

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "10" },
    runs: { type: "string", default: "2000" },
    keep: { type: "boolean", default: false },
    // The worker's LOG_LEVEL: "silent" for numbers; "warn" to see why requests fail (its logs go to stdout).
    "log-level": { type: "string", default: "silent" },
  },
});
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const RUNS = Number(args.runs);
if (!(DURATION > 0) || !(CONNECTIONS > 0) || !(RUNS > 0)) throw new Error("--duration, --connections and --runs must be positive numbers");

const progress = (line: string) => process.stderr.write(`\r\x1b[K${line}`);
const step = (line: string) => process.stderr.write(`\r\x1b[K▶ ${line}\n`);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

/** A seeded uniform [0, 1) source (the project's PRNG), so models and inputs are the same on every run. */
function rng(seed: number): () => number {
  const r = new Random(seed);
  return () => r.float();
}

// ── inference in Node (onnxruntime-web's Node build, same wasm kernels and wrapper as the worker) ──

interface InferenceStats {
  items: number;
  dim: number;
  k: number;
  runs: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  session_create_ms: number;
}

async function nodeOrt(): Promise<Ort> {
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = 1;
  return ort as unknown as Ort;
}

async function inference(ort: Ort, bytes: Uint8Array, items: number, dim: number, runs: number): Promise<InferenceStats> {
  const t0 = performance.now();
  const session = new OrtSession(ort, await ort.InferenceSession.create(bytes));
  const createMs = performance.now() - t0;
  const rand = rng(11);
  const w = Array.from({ length: SEQ_LEN }, (_, j) => 0.7 ** (SEQ_LEN - 1 - j));
  const inputs = Array.from({ length: 64 }, () => Array.from({ length: SEQ_LEN }, () => 1 + Math.floor(rand() * items)));
  for (let i = 0; i < 100; i++) await runSessionTopK(session, inputs[i % inputs.length]!, w, INFERENCE_K);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await runSessionTopK(session, inputs[i % inputs.length]!, w, INFERENCE_K);
    times.push(performance.now() - t);
  }
  await session.release();
  times.sort((a, b) => a - b);
  const mean = times.reduce((s, x) => s + x, 0) / times.length;
  return { items, dim, k: INFERENCE_K, runs, p50_ms: round(percentile(times, 50), 4), p99_ms: round(percentile(times, 99), 4), mean_ms: round(mean, 4), session_create_ms: round(createMs, 1) };
}

function syntheticModel(items: number, dim: number): Uint8Array {
  const rand = rng(42);
  const rows = items + 1;
  const table = () => {
    const t = new Float32Array(rows * dim);
    for (let i = dim; i < t.length; i++) t[i] = (rand() - 0.5) * 0.2; // row 0 (padding) stays zero
    return t;
  };
  const bias = new Float32Array(rows);
  bias[0] = PADDING_BIAS;
  return buildSessionTopKModel({ numItems: items, dim, seqLen: SEQ_LEN, embIn: table(), embOut: table(), bias });
}

// ── requests ─────────────────────────────────────────────────────────────────

const demoItems = JSON.parse(readFileSync(join(DEMO_DIR, "items.json"), "utf8")) as string[];
const catalog = new Map((JSON.parse(readFileSync("models/demo/catalog.json", "utf8")) as { items: Array<{ item_id: string; category: string; price: number }> }).items.map((i) => [i.item_id, i]));

function viewBatch(prefix: string, n: number, rand: () => number): string {
  const now = Date.now();
  const events = Array.from({ length: n }, (_, i) => {
    const item = demoItems[Math.floor(rand() * demoItems.length)]!;
    const c = catalog.get(item);
    return {
      id: `${prefix}-${i}`,
      type: "product_view",
      timestamp: now - (n - i) * 1000,
      properties: { item_id: item, ...(c ? { category: c.category, price: c.price, currency: "EUR" } : {}) },
    };
  });
  return JSON.stringify({ events });
}

/** A new visitor with `views` product views; returns its token. */
async function newVisitor(base: URL, views: number, rand: () => number): Promise<string> {
  const res = await fetch(new URL("/v1/events", base), {
    method: "POST",
    headers: { "content-type": "application/json", "x-edgewise-key": KEY },
    body: viewBatch(`warm-${Math.floor(rand() * 1e9)}`, views, rand),
  });
  const token = res.headers.get("x-edgewise-visitor");
  await res.arrayBuffer();
  if (res.status !== 202 || !token) throw new Error(`POST /v1/events answered ${res.status} without a visitor token`);
  return token;
}

interface Reco {
  status: number;
  model: string | null;
  degraded: string | null;
  items: number;
  server_timing: string | null;
}

async function recommend(base: URL, token: string): Promise<Reco> {
  const res = await fetch(new URL("/v1/recommendations?k=10", base), { headers: { "x-edgewise-key": KEY, "x-edgewise-visitor": token } });
  const body = (await res.json().catch(() => ({}))) as { model?: string | null; degraded?: string | null; items?: unknown[] };
  return { status: res.status, model: body.model ?? null, degraded: body.degraded ?? null, items: body.items?.length ?? 0, server_timing: res.headers.get("server-timing") };
}

// ── load ─────────────────────────────────────────────────────────────────────

interface LoadStats {
  name: string;
  request: string;
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statuses: Record<string, number>;
  non2xx_samples: string[];
}

/** The first few non-2xx answers, kept so the report says why they failed; and what the 202s accepted. */
function sampleFailures(into: string[], tally?: EventTally): autocannon.Request["onResponse"] {
  return (status, body) => {
    if ((status < 200 || status > 299) && into.length < 3) into.push(`${status} ${body.slice(0, 300)}`);
    if (!tally) return;
    if (status === 202) tally.accepted += (JSON.parse(body) as { accepted: number }).accepted;
    // A 503 enqueue_failed batch was applied and waits in the SessionDO's outbox (forwarded later): it must reach the log too.
    else if (status === 503 && body.includes('"enqueue_failed"')) tally.held += 20;
  };
}

interface EventTally {
  accepted: number;
  held: number;
}

/** Every line of the event log (events and impressions), read through Miniflare. */
async function logLines(mf: Miniflare): Promise<Array<{ kind: string; visitor_id: string; id: string }>> {
  const bucket = await mf.getR2Bucket("EVENT_LOG");
  const out: Array<{ kind: string; visitor_id: string; id: string }> = [];
  for (const prefix of ["events/", "impressions/"]) {
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ prefix, cursor });
      for (const o of page.objects) {
        for (const line of (await (await bucket.get(o.key))!.text()).split("\n").filter(Boolean)) {
          const m = JSON.parse(line) as { kind: string; visitor_id: string; event?: { id: string }; impression_id?: string };
          out.push({ kind: m.kind, visitor_id: m.visitor_id, id: m.event?.id ?? m.impression_id ?? "" });
        }
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
  return out;
}

interface Delivery {
  expected_events: number;
  logged_events: number;
  duplicate_lines: number;
  impressions_logged: number;
  waited_s: number;
}

/**
 * After a load: waits until the log holds every event the API took (accepted, or
 * applied and held after a 503), or `maxSeconds` pass. Also lets the local queue
 * drain before the next phase, so one phase's backlog does not tax the next.
 */
async function drain(mf: Miniflare, expectedEvents: number, maxSeconds: number): Promise<Delivery> {
  const t0 = performance.now();
  let lines = await logLines(mf);
  let last = -1;
  let stableSince = performance.now();
  for (;;) {
    const events = new Set(lines.filter((l) => l.kind === "event").map((l) => `${l.visitor_id}/${l.id}`)).size;
    const waited = (performance.now() - t0) / 1000;
    progress(`  draining the queue: ${events}/${expectedEvents} events, ${lines.length} log lines, ${waited.toFixed(0)} s`);
    if (lines.length !== last) stableSince = performance.now();
    last = lines.length;
    const quiet = performance.now() - stableSince > 6000;
    if ((events >= expectedEvents && quiet) || waited > maxSeconds) {
      const evLines = lines.filter((l) => l.kind === "event");
      progress(`  drained: ${events}/${expectedEvents} events logged in ${waited.toFixed(0)} s\n`);
      return { expected_events: expectedEvents, logged_events: events, duplicate_lines: evLines.length - events, impressions_logged: lines.length - evLines.length, waited_s: round(waited, 1) };
    }
    await new Promise((r) => setTimeout(r, 1000));
    lines = await logLines(mf);
  }
}

function load(name: string, request: string, opts: autocannon.Options, seconds: number, record = true, samples: string[] = []): Promise<LoadStats> {
  const latencies: number[] = [];
  const started = performance.now();
  return new Promise((ok, fail) => {
    const instance = autocannon({ connections: CONNECTIONS, duration: seconds, ...opts }, (err: unknown, r: autocannon.Result) => {
      clearInterval(ticker);
      if (err) return fail(err instanceof Error ? err : new Error(String(err)));
      latencies.sort((a, b) => a - b);
      const statuses = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([code, s]) => [code, s.count ?? 0]));
      const done = latencies.length;
      progress(`  ${record ? name : `${name} (warm-up)`}: ${done} responses in ${r.duration.toFixed(1)} s\n`);
      ok({
        name,
        request,
        requests: done,
        rps: round(done / r.duration, 1),
        p50_ms: round(percentile(latencies, 50)),
        p99_ms: round(percentile(latencies, 99)),
        errors: r.errors,
        timeouts: r.timeouts,
        non2xx: r.non2xx,
        statuses,
        non2xx_samples: samples,
      });
    });
    instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
    const ticker = setInterval(() => {
      const t = (performance.now() - started) / 1000;
      progress(`  ${record ? name : `${name} (warm-up)`}: ${t.toFixed(0)}/${seconds} s, ${latencies.length} responses, ${(latencies.length / t).toFixed(0)} req/s`);
    }, 500);
  });
}

function eventsOptions(url: string, visitors: string[], rand: () => number, failures: string[], tally?: EventTally): autocannon.Options {
  let batchNo = 0;
  return {
    url: `${url}/v1/events`,
    requests: [
      {
        method: "POST",
        setupRequest: (req) => {
          const n = batchNo++;
          return {
            ...req,
            headers: { "content-type": "application/json", "x-edgewise-key": KEY, "x-edgewise-visitor": visitors[n % visitors.length]! },
            body: viewBatch(`b${n}`, 20, rand),
          };
        },
        onResponse: sampleFailures(failures, tally),
      },
    ],
  };
}

/**
 * The three routes again on a fresh worker whose EVENTS queue has no consumer:
 * Miniflare's broker then answers each send at once and keeps nothing, so the
 * difference to the main run is the local queue's delivery machinery, not our code.
 */
async function diagnostic(bundle: Parameters<typeof startWorker>[0], persist: string) {
  await seed(persist);
  const mf = await startWorker(bundle, persist, { logLevel: "silent", eventsConsumer: false });
  try {
    const base = await mf.ready;
    const rand = rng(2);
    const warm = await newVisitor(base, SEQ_LEN, rand);
    let first = await recommend(base, warm);
    for (let i = 0; i < 100 && !(first.status === 200 && first.degraded === null); i++) {
      await new Promise((r) => setTimeout(r, 100));
      first = await recommend(base, warm);
    }
    const visitors = await Promise.all(Array.from({ length: EVENT_VISITORS }, () => newVisitor(base, 1, rand)));
    const url = base.href.replace(/\/$/, "");
    const warmup = Math.min(2, DURATION);
    const health: autocannon.Options = { url: `${url}/healthz` };
    const reco: autocannon.Options = { url: `${url}/v1/recommendations?k=10`, headers: { "x-edgewise-key": KEY, "x-edgewise-visitor": warm } };
    await load("healthz", "GET /healthz", health, warmup, false);
    const baseline = await load("healthz", "GET /healthz", health, DURATION);
    await load("recommendations", "GET /v1/recommendations?k=10", reco, warmup, false);
    const recommendations = await load("recommendations", "GET /v1/recommendations?k=10", reco, DURATION);
    const failures: string[] = [];
    const events = await load("events", "POST /v1/events (20 views)", eventsOptions(url, visitors, rand, failures), DURATION, true, failures);
    return { baseline, recommendations, events };
  } finally {
    await mf.dispose();
  }
}

// ── report ───────────────────────────────────────────────────────────────────

type Results = Awaited<ReturnType<typeof run>>;

function markdown(r: Results): string {
  const base = r.load.baseline;
  const row = (s: LoadStats, target: string, pass: boolean | null) =>
    `| ${s.request} | ${s.rps.toFixed(0)} | ${s.p50_ms.toFixed(2)} | ${s.p99_ms.toFixed(2)} | ${s.errors} | ${s.non2xx} | ${(s.rps / base.rps).toFixed(2)}× | ${(s.p99_ms / base.p99_ms).toFixed(2)}× | ${target} | ${pass === null ? "–" : pass ? "pass" : "FAIL"} |`;
  const inf = (s: InferenceStats, label: string) =>
    `| ${label} | ${s.items.toLocaleString("en")} × ${s.dim} | ${s.k} | ${s.runs} | ${s.p50_ms.toFixed(3)} | ${s.p99_ms.toFixed(3)} | ${s.session_create_ms.toFixed(0)} |`;
  const mem = r.memory.map((m) => `pid ${m.pid}: RSS ${m.rss_mib} MiB (peak ${m.peak_rss_mib} MiB)`).join("; ") || "workerd process not found";
  return `# Edgewise benchmark

${r.date} · ${r.machine.cpus} CPUs (${r.machine.cpu_model}) · ${r.machine.memory_gib} GiB · Node ${r.machine.node} · ${r.machine.platform}

Reproduce: \`${r.command}\`

Production bundle (\`wrangler deploy --dry-run\`) served by Miniflare ${r.miniflare} directly (no wrangler dev proxy, LOG_LEVEL silent),
autocannon with ${r.connections} connections for ${r.duration_s} s per endpoint (after a ${r.warmup_s} s warm-up). Latency percentiles are
computed from every response's time (sub-millisecond), not autocannon's integer histogram. Client and worker share the same ${r.machine.cpus} CPUs.

| endpoint | req/s | p50 ms | p99 ms | errors | non-2xx | req/s vs baseline | p99 vs baseline | target | result |
|---|---:|---:|---:|---:|---:|---:|---:|---|---|
${row(base, "baseline", null)}
${row(r.load.recommendations, `≥ ${TARGETS.recommendations.throughput}× req/s, ≤ ${TARGETS.recommendations.p99}× p99`, r.targets.recommendations)}
${row(r.load.events, `≥ ${TARGETS.events.throughput}× req/s`, r.targets.events)}
${row(r.load.events100, "reference for the next row", null)}
${row(r.load.segment100, `≥ 1× the req/s of the row above (${(r.load.segment100.rps / r.load.events100.rps).toFixed(2)}×)`, r.targets.segment)}

Delivery (the event log read back after each phase, dedup by visitor and event id): after the recommendation load ${r.delivery.after_recommendations.impressions_logged} impressions logged (${r.delivery.after_recommendations.waited_s} s to drain);
after the event load ${r.delivery.after_events.logged_events} of ${r.delivery.after_events.expected_events} events the API took are in the log (${Math.max(0, r.delivery.after_events.expected_events - r.delivery.after_events.logged_events)} missing, ${Math.max(0, r.delivery.after_events.logged_events - r.delivery.after_events.expected_events)} more than counted — requests still in flight when the load stopped are applied but their answers are not tallied, and a 503 is counted as 20 held events; accepted ${r.delivery.events_tally.accepted}, applied and held after a 503 ${r.delivery.events_tally.held}), ${r.delivery.after_events.duplicate_lines} duplicate lines, ${r.delivery.after_events.waited_s} s to drain.

### Diagnostic: the same routes with EVENTS bound to a queue without a consumer

Miniflare's queue broker then answers each send at once and discards it: every line of our code still runs (including the
\`sendBatch\` round trip), the local queue's delivery machinery does not. Fresh worker, its own baseline.

| endpoint | req/s | p50 ms | p99 ms | errors | non-2xx | req/s vs baseline | p99 vs baseline |
|---|---:|---:|---:|---:|---:|---:|---:|
${[r.diagnostic_without_queue_delivery.baseline, r.diagnostic_without_queue_delivery.recommendations, r.diagnostic_without_queue_delivery.events].map((s) => `| ${s.request} | ${s.rps.toFixed(0)} | ${s.p50_ms.toFixed(2)} | ${s.p99_ms.toFixed(2)} | ${s.errors} | ${s.non2xx} | ${(s.rps / r.diagnostic_without_queue_delivery.baseline.rps).toFixed(2)}× | ${(s.p99_ms / r.diagnostic_without_queue_delivery.baseline.p99_ms).toFixed(2)}× |`).join("\n")}

Events: ${r.events_per_request} product views per request (${(r.load.events.rps * r.events_per_request).toFixed(0)} events/s) over ${EVENT_VISITORS} visitors.
Recommendations: one warm visitor with ${SEQ_LEN} product views, served by model \`${r.recommendation_check.model}\` (degraded: ${r.recommendation_check.degraded ?? "none"}; Server-Timing of one request after the load, 1 ms granularity locally: \`${r.recommendation_check.server_timing ?? "none"}\`).

## Inference (onnxruntime-web ${r.ort_version}, Node build, 1 thread, top-${INFERENCE_K} over a ${SEQ_LEN}-view session)

| model | items × dim | k | runs | p50 ms | p99 ms | session create ms |
|---|---|---:|---:|---:|---:|---:|
${inf(r.inference.demo, "demo/1")}
${inf(r.inference.large, "synthetic (random weights)")}

## Start-up, memory, size

| measure | value |
|---|---|
| cold start: \`new Miniflare\` → first successful recommendation | ${r.cold_start.total_ms.toFixed(0)} ms (ready ${r.cold_start.ready_ms.toFixed(0)} ms, first event batch ${r.cold_start.first_events_ms.toFixed(0)} ms, first recommendation incl. model load ${r.cold_start.first_recommendation_ms.toFixed(0)} ms) |
| workerd memory after the load | ${mem} |
| bundle (index.js + ${r.bundle.wasm}) | ${(r.bundle.raw_bytes / 2 ** 20).toFixed(2)} MiB raw, ${(r.bundle.gzip_bytes / 2 ** 20).toFixed(2)} MiB gzip |
`;
}

async function run() {
  const tmp = mkdtempSync(join(tmpdir(), "edgewise-bench-"));
  const started = new Date();
  try {
    step("building the production bundle (wrangler deploy --dry-run)");
    const bundle = buildBundle(join(tmp, "dist"));

    step(`inference: demo model and a 43,000-item model, ${RUNS} runs each`);
    const ort = await nodeOrt();
    const demoManifest = JSON.parse(readFileSync(join(DEMO_DIR, "manifest.json"), "utf8")) as { params: { num_items: number; dim: number }; files: Record<string, unknown> };
    const demo = await inference(ort, new Uint8Array(readFileSync(join(DEMO_DIR, "model.onnx"))), demoManifest.params.num_items, demoManifest.params.dim, RUNS);
    const large = await inference(ort, syntheticModel(43_000, 32), 43_000, 32, RUNS);

    step("seeding the MODELS bucket (demo model, catalog, experiments.json)");
    const persist = join(tmp, "state");
    await seed(persist);

    step("starting the worker (Miniflare → workerd)");
    const t0 = performance.now();
    const mf = await startWorker(bundle, persist);
    try {
      const base = await mf.ready;
      const tReady = performance.now();
      const rand = rng(1);
      const warm = await newVisitor(base, SEQ_LEN, rand);
      const tEvents = performance.now();
      let first = await recommend(base, warm);
      for (let i = 0; i < 100 && !(first.status === 200 && first.model === "demo/1" && first.degraded === null); i++) {
        await new Promise((r) => setTimeout(r, 100));
        first = await recommend(base, warm);
      }
      const tReco = performance.now();
      if (first.model !== "demo/1" || first.degraded !== null) throw new Error(`recommendations not served by demo/1: ${JSON.stringify(first)}`);
      const seeded = await (await mf.getR2Bucket("MODELS")).list({ prefix: "models/demo/1/" });
      const expected = Object.keys(demoManifest.files).length + 1; // every listed file and the manifest
      if (seeded.objects.length !== expected) throw new Error(`MODELS bucket holds ${seeded.objects.length} objects under models/demo/1/, expected ${expected}`);

      const visitors = await Promise.all(Array.from({ length: EVENT_VISITORS }, () => newVisitor(base, 1, rand)));
      const url = base.href.replace(/\/$/, "");
      const health: autocannon.Options = { url: `${url}/healthz` };
      const reco: autocannon.Options = { url: `${url}/v1/recommendations?k=10`, headers: { "x-edgewise-key": KEY, "x-edgewise-visitor": warm } };
      const eventFailures: string[] = [];
      const tally: EventTally = { accepted: 0, held: 0 };
      const events = eventsOptions(url, visitors, rand, eventFailures, tally);
      const warmup = Math.min(2, DURATION);
      step(`load: ${CONNECTIONS} connections, ${DURATION} s per endpoint`);
      await load("healthz", "GET /healthz", health, warmup, false);
      const baseline = await load("healthz", "GET /healthz", health, DURATION);
      await load("recommendations", "GET /v1/recommendations?k=10", reco, warmup, false);
      const recommendations = await load("recommendations", "GET /v1/recommendations?k=10", reco, DURATION);
      const check = await recommend(base, warm);
      const warmEvents = SEQ_LEN + EVENT_VISITORS;
      const afterReco = await drain(mf, warmEvents, 120);
      const eventsLoad = await load("events", "POST /v1/events (20 views)", events, DURATION, true, eventFailures);
      const memory = workerdMemory();
      const afterEvents = await drain(mf, warmEvents + tally.accepted + tally.held, 120);
      step(`Segment ingest: POST /v1/batch vs POST /v1/events, ${SEGMENT_PER_REQUEST} product views per request`);
      const compare = segmentComparison(url, KEY, demoItems, visitors, rand);
      const events100 = await load("events100", `POST /v1/events (${SEGMENT_PER_REQUEST} views)`, compare.events, DURATION);
      const segment100 = await load("segment100", `POST /v1/batch (${SEGMENT_PER_REQUEST} Segment messages)`, compare.segment, DURATION);
      await mf.dispose();
      step("diagnostic: the same routes with EVENTS bound to a queue without a consumer (Miniflare's broker answers and discards)");
      const noQueue = await diagnostic(bundle, join(tmp, "state-diagnostic"));

      return {
        date: started.toISOString(),
        command: `npm run bench -- --duration ${DURATION} --connections ${CONNECTIONS} --runs ${RUNS}`,
        machine: machine(),
        miniflare: (JSON.parse(readFileSync("node_modules/miniflare/package.json", "utf8")) as { version: string }).version,
        ort_version: (JSON.parse(readFileSync("node_modules/onnxruntime-web/package.json", "utf8")) as { version: string }).version,
        connections: CONNECTIONS,
        duration_s: DURATION,
        warmup_s: warmup,
        events_per_request: 20,
        load: { baseline, recommendations, events: eventsLoad, events100, segment100 },
        delivery: { after_recommendations: afterReco, after_events: afterEvents, events_tally: tally },
        diagnostic_without_queue_delivery: noQueue,
        ratios: {
          recommendations: { throughput: round(recommendations.rps / baseline.rps), p99: round(recommendations.p99_ms / baseline.p99_ms) },
          events: { throughput: round(eventsLoad.rps / baseline.rps), p99: round(eventsLoad.p99_ms / baseline.p99_ms) },
        },
        targets: {
          recommendations:
            recommendations.rps >= TARGETS.recommendations.throughput * baseline.rps &&
            recommendations.p99_ms <= TARGETS.recommendations.p99 * baseline.p99_ms &&
            recommendations.errors + recommendations.non2xx === 0,
          events: eventsLoad.rps >= TARGETS.events.throughput * baseline.rps && eventsLoad.errors + eventsLoad.non2xx === 0,
          segment: segment100.rps >= events100.rps && segment100.errors + segment100.non2xx === 0,
        },
        recommendation_check: check,
        inference: { demo, large },
        cold_start: {
          total_ms: round(tReco - t0, 1),
          ready_ms: round(tReady - t0, 1),
          first_events_ms: round(tEvents - tReady, 1),
          first_recommendation_ms: round(tReco - tEvents, 1),
          attempts_ok: first,
        },
        memory,
        bundle: { wasm: bundle.wasm, raw_bytes: bundle.rawBytes, gzip_bytes: bundle.gzipBytes, index_js_bytes: statSync(join(bundle.dir, "index.js")).size },
      };
    } finally {
      await mf.dispose().catch(() => undefined);
    }
  } finally {
    if (args.keep) step(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

const results = await run();
mkdirSync("bench", { recursive: true });
writeFileSync("bench/results.json", `${JSON.stringify(results, null, 2)}\n`);
const md = markdown(results);
writeFileSync("bench/results.md", md);
process.stdout.write(`\n${md}\nwrote ${resolve("bench/results.json")} and ${resolve("bench/results.md")}\n`);
