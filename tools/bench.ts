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
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import autocannon from "autocannon";
import { Log, LogLevel, Miniflare, NoOpLog } from "miniflare";
import { buildSessionTopKModel, PADDING_BIAS } from "../src/models/onnx/session-topk";
import { type Ort, OrtSession, runSessionTopK } from "../src/models/ort-session";
import { withLocalBucket } from "./local-r2";
import { Random } from "../src/offline/synthetic/random";

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

// ── build ────────────────────────────────────────────────────────────────────

interface Bundle { dir: string; wasm: string; rawBytes: number; gzipBytes: number }

function buildBundle(dir: string): Bundle {
  try {
    execFileSync("node_modules/.bin/wrangler", ["deploy", "--dry-run", "--outdir", dir], {
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`wrangler build failed:\n${err.stdout?.toString() ?? ""}${err.stderr?.toString() ?? ""}`);
  }
  const index = readFileSync(join(dir, "index.js"), "utf8");
  // ORT's wasm is imported dynamically under a content-hashed name: list it explicitly.
  const wasm = /import\("\.\/([^"]+\.wasm)"\)/.exec(index)?.[1];
  if (!wasm || !existsSync(join(dir, wasm))) throw new Error("could not find the .wasm module index.js imports");
  const files = [Buffer.from(index), readFileSync(join(dir, wasm))];
  return {
    dir,
    wasm,
    rawBytes: files.reduce((n, f) => n + f.byteLength, 0),
    gzipBytes: files.reduce((n, f) => n + gzipSync(f).byteLength, 0),
  };
}

// ── inference in Node (onnxruntime-web's Node build, same wasm kernels and wrapper as the worker) ──

interface InferenceStats { items: number; dim: number; k: number; runs: number; p50_ms: number; p99_ms: number; mean_ms: number; session_create_ms: number }

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

// ── the worker under Miniflare ───────────────────────────────────────────────

function wranglerToml(): { compatibilityDate: string; compatibilityFlags: string[]; tenants: string } {
  const toml = readFileSync("wrangler.toml", "utf8");
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1];
  const tenants = /^TENANTS\s*=\s*'([^']+)'/m.exec(toml)?.[1];
  if (!compatibilityDate || !tenants) throw new Error("wrangler.toml: compatibility_date or TENANTS not found");
  return { compatibilityDate, compatibilityFlags: flags ? [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1]!) : [], tenants };
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? ok(addr.port) : fail(new Error("no port"))));
    });
  });
}

/** Mirrors wrangler.toml's bindings (queue settings included: Miniflare's defaults differ). */
async function startWorker(bundle: Bundle, persist: string): Promise<Miniflare> {
  const cfg = wranglerToml();
  return new Miniflare({
    host: "127.0.0.1",
    port: await freePort(),
    log: args["log-level"] === "silent" ? new NoOpLog() : new Log(LogLevel.INFO),
    ...(args["log-level"] === "silent" ? {} : { handleRuntimeStdio: (out: NodeJS.ReadableStream, err: NodeJS.ReadableStream) => (out.pipe(process.stdout), err.pipe(process.stderr)) }),
    cf: false, // no Request.cf download (offline)
    modules: [
      { type: "ESModule", path: join(bundle.dir, "index.js") },
      { type: "CompiledWasm", path: join(bundle.dir, bundle.wasm) },
    ],
    modulesRoot: bundle.dir,
    compatibilityDate: cfg.compatibilityDate,
    compatibilityFlags: cfg.compatibilityFlags,
    bindings: {
      TENANTS: cfg.tenants,
      SESSION_TTL_SECONDS: "2592000",
      SESSION_GAP_SECONDS: "1800",
      LOG_LEVEL: args["log-level"],
      REGISTRY_REFRESH_SECONDS: "30",
      ORT_WARMUP: "true",
      VISITOR_SECRET: "bench-visitor-secret-0123456789abcdef0123",
      PII_SECRET: "bench-pii-secret-0123456789abcdef012345678",
    },
    durableObjects: {
      SESSIONS: { className: "SessionDO", useSQLite: true },
      TRENDING: { className: "TrendingDO", useSQLite: true },
    },
    queueProducers: { EVENTS: "edgewise-events", DEAD_LETTERS: "edgewise-events-dlq" },
    queueConsumers: {
      "edgewise-events": { maxBatchSize: 100, maxBatchTimeout: 5, maxRetries: 5, retryDelay: 10, deadLetterQueue: "edgewise-events-dlq" },
      "edgewise-events-dlq": { maxBatchSize: 100, maxBatchTimeout: 5, maxRetries: 10, retryDelay: 30 },
    },
    r2Buckets: { EVENT_LOG: "edgewise-event-log", MODELS: "edgewise-models" },
    r2Persist: join(persist, "r2"),
    durableObjectsPersist: join(persist, "do"),
    cachePersist: join(persist, "cache"),
  });
}

/** Publishes the demo model, catalog and config into the persisted MODELS bucket before the worker starts. */
async function seed(persist: string): Promise<void> {
  await withLocalBucket(
    "edgewise-models",
    async (bucket) => {
      for (const file of ["model.onnx", "items.json", "manifest.json"]) await bucket.put(`models/demo/1/${file}`, new Uint8Array(readFileSync(join(DEMO_DIR, file))));
      await bucket.put("tenants/demo/catalog.json", readFileSync("models/demo/catalog.json", "utf8"));
      await bucket.put("tenants/demo/experiments.json", JSON.stringify({ default_model: "demo/1" }));
    },
    join(persist, "r2"),
  );
}

// ── requests ─────────────────────────────────────────────────────────────────

const demoItems = JSON.parse(readFileSync(join(DEMO_DIR, "items.json"), "utf8")) as string[];
const catalog = new Map(
  (JSON.parse(readFileSync("models/demo/catalog.json", "utf8")) as { items: Array<{ item_id: string; category: string; price: number }> }).items.map((i) => [i.item_id, i]),
);

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

interface Reco { status: number; model: string | null; degraded: string | null; items: number; server_timing: string | null }

async function recommend(base: URL, token: string): Promise<Reco> {
  const res = await fetch(new URL("/v1/recommendations?k=10", base), { headers: { "x-edgewise-key": KEY, "x-edgewise-visitor": token } });
  const body = (await res.json().catch(() => ({}))) as { model?: string | null; degraded?: string | null; items?: unknown[] };
  return { status: res.status, model: body.model ?? null, degraded: body.degraded ?? null, items: body.items?.length ?? 0, server_timing: res.headers.get("server-timing") };
}

// ── load ─────────────────────────────────────────────────────────────────────

interface LoadStats { name: string; request: string; requests: number; rps: number; p50_ms: number; p99_ms: number; errors: number; timeouts: number; non2xx: number; statuses: Record<string, number>; non2xx_samples: string[] }

/** The first few non-2xx answers, kept so the report says why they failed. */
function sampleFailures(into: string[]): autocannon.Request["onResponse"] {
  return (status, body) => {
    if ((status < 200 || status > 299) && into.length < 3) into.push(`${status} ${body.slice(0, 300)}`);
  };
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
      ok({ name, request, requests: done, rps: round(done / r.duration, 1), p50_ms: round(percentile(latencies, 50)), p99_ms: round(percentile(latencies, 99)), errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, statuses, non2xx_samples: samples });
    });
    instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
    const ticker = setInterval(() => {
      const t = (performance.now() - started) / 1000;
      progress(`  ${record ? name : `${name} (warm-up)`}: ${t.toFixed(0)}/${seconds} s, ${latencies.length} responses, ${(latencies.length / t).toFixed(0)} req/s`);
    }, 500);
  });
}

// ── memory, machine ──────────────────────────────────────────────────────────

/** The workerd processes Miniflare spawned (descendants of this process), with their memory. */
function workerdMemory(): Array<{ pid: number; rss_mib: number; peak_rss_mib: number }> {
  const parent = new Map<number, number>();
  const comm = new Map<number, string>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      comm.set(Number(d), stat.slice(stat.indexOf("(") + 1, close));
      parent.set(Number(d), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // the process exited while we listed /proc
    }
  }
  const isDescendant = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  const kib = (status: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
  return [...comm]
    .filter(([pid, name]) => name.includes("workerd") && isDescendant(pid))
    .map(([pid]) => {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      return { pid, rss_mib: round(kib(status, "VmRSS") / 1024, 1), peak_rss_mib: round(kib(status, "VmHWM") / 1024, 1) };
    });
}

function machine(): { cpus: number; cpu_model: string; memory_gib: number; node: string; platform: string } {
  const nproc = Number(execFileSync("nproc").toString().trim());
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model ?? "unknown";
  return { cpus: nproc, cpu_model: model, memory_gib: round(totalmem() / 2 ** 30, 1), node: process.version, platform: `${process.platform} ${process.arch}` };
}

// ── report ───────────────────────────────────────────────────────────────────

type Results = Awaited<ReturnType<typeof run>>;

function markdown(r: Results): string {
  const base = r.load.baseline;
  const row = (s: LoadStats, target: string, pass: boolean | null) =>
    `| ${s.request} | ${s.rps.toFixed(0)} | ${s.p50_ms.toFixed(2)} | ${s.p99_ms.toFixed(2)} | ${s.errors} | ${s.non2xx} | ${(s.rps / base.rps).toFixed(2)}× | ${(s.p99_ms / base.p99_ms).toFixed(2)}× | ${target} | ${pass === null ? "–" : pass ? "pass" : "FAIL"} |`;
  const inf = (s: InferenceStats, label: string) => `| ${label} | ${s.items.toLocaleString("en")} × ${s.dim} | ${s.k} | ${s.runs} | ${s.p50_ms.toFixed(3)} | ${s.p99_ms.toFixed(3)} | ${s.session_create_ms.toFixed(0)} |`;
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
    const demoManifest = JSON.parse(readFileSync(join(DEMO_DIR, "manifest.json"), "utf8")) as { params: { num_items: number; dim: number } };
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
      if (seeded.objects.length !== 3) throw new Error(`MODELS bucket holds ${seeded.objects.length} objects under models/demo/1/`);

      const visitors = await Promise.all(Array.from({ length: EVENT_VISITORS }, () => newVisitor(base, 1, rand)));
      const url = base.href.replace(/\/$/, "");
      const health: autocannon.Options = { url: `${url}/healthz` };
      const reco: autocannon.Options = { url: `${url}/v1/recommendations?k=10`, headers: { "x-edgewise-key": KEY, "x-edgewise-visitor": warm } };
      let batchNo = 0;
      const eventFailures: string[] = [];
      const events: autocannon.Options = {
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
            onResponse: sampleFailures(eventFailures),
          },
        ],
      };
      const warmup = Math.min(2, DURATION);
      step(`load: ${CONNECTIONS} connections, ${DURATION} s per endpoint`);
      await load("healthz", "GET /healthz", health, warmup, false);
      const baseline = await load("healthz", "GET /healthz", health, DURATION);
      await load("recommendations", "GET /v1/recommendations?k=10", reco, warmup, false);
      const recommendations = await load("recommendations", "GET /v1/recommendations?k=10", reco, DURATION);
      const check = await recommend(base, warm);
      const eventsLoad = await load("events", "POST /v1/events (20 views)", events, DURATION, true, eventFailures);
      const memory = workerdMemory();

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
        load: { baseline, recommendations, events: eventsLoad },
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
        },
        recommendation_check: check,
        inference: { demo, large },
        cold_start: { total_ms: round(tReco - t0, 1), ready_ms: round(tReady - t0, 1), first_events_ms: round(tEvents - tReady, 1), first_recommendation_ms: round(tReco - tEvents, 1), attempts_ok: first },
        memory,
        bundle: { wasm: bundle.wasm, raw_bytes: bundle.rawBytes, gzip_bytes: bundle.gzipBytes, index_js_bytes: statSync(join(bundle.dir, "index.js")).size },
      };
    } finally {
      await mf.dispose();
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
