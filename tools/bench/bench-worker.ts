/**
 * The worker as the benchmark and the load test run it: the production bundle
 * (`wrangler deploy --dry-run`) served by Miniflare directly, with wrangler.toml's
 * bindings, plus the workerd memory and machine figures they report.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Log, LogLevel, Miniflare, NoOpLog } from "miniflare";
import { withLocalBucket } from "../local/local-r2";

const DEMO_DIR = "models/demo/1";
/** The demo tenant's HS256 secret in the benchmark worker (its JWT_SECRETS binding); test-only. */
export const BENCH_JWT_SECRET = "bench-demo-jwt-secret-0123456789abcdef0123";
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

// ── build ────────────────────────────────────────────────────────────────────

export interface Bundle {
  dir: string;
  wasm: string;
  rawBytes: number;
  gzipBytes: number;
}

export function buildBundle(dir: string): Bundle {
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

// ── the worker under Miniflare ───────────────────────────────────────────────

function wranglerToml(): { compatibilityDate: string; compatibilityFlags: string[]; tenants: string } {
  const toml = readFileSync("wrangler.toml", "utf8");
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1];
  const tenants = /^TENANTS\s*=\s*'([^']+)'/m.exec(toml)?.[1];
  if (!compatibilityDate || !tenants) throw new Error("wrangler.toml: compatibility_date or TENANTS not found");
  return { compatibilityDate, compatibilityFlags: flags ? [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1]!) : [], tenants };
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? ok(addr.port) : fail(new Error("no port"))));
    });
  });
}

/** How to run the worker: its LOG_LEVEL, and whether the event queue has its consumer. */
export interface WorkerOptions {
  logLevel: string;
  /**
   * `false` binds EVENTS to a queue without a consumer: Miniflare's broker then
   * answers every send at once and discards the messages (a diagnostic: the
   * routes' cost without the local queue's delivery machinery).
   */
  eventsConsumer: boolean;
  /** Opens workerd's inspector (CPU profiles, heap snapshots) on this port; off by default. */
  inspectorPort?: number;
}

/** Mirrors wrangler.toml's bindings (queue settings included: Miniflare's defaults differ). */
export async function startWorker(bundle: Bundle, persist: string, opts: WorkerOptions = { logLevel: "silent", eventsConsumer: true }): Promise<Miniflare> {
  const cfg = wranglerToml();
  return new Miniflare({
    host: "127.0.0.1",
    port: await freePort(),
    log: opts.logLevel === "silent" ? new NoOpLog() : new Log(LogLevel.INFO),
    ...(opts.logLevel === "silent" ? {} : { handleRuntimeStdio: (out: NodeJS.ReadableStream, err: NodeJS.ReadableStream) => (out.pipe(process.stdout), err.pipe(process.stderr)) }),
    cf: false, // no Request.cf download (offline)
    ...(opts.inspectorPort ? { inspectorPort: opts.inspectorPort } : {}),
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
      LOG_LEVEL: opts.logLevel,
      REGISTRY_REFRESH_SECONDS: "30",
      ORT_WARMUP: "true",
      VISITOR_SECRET: "bench-visitor-secret-0123456789abcdef0123",
      PII_SECRET: "bench-pii-secret-0123456789abcdef012345678",
      // Tenants whose JWTs are HS256 need their secret (wrangler.toml's demo tenant does).
      JWT_SECRETS: JSON.stringify({ demo: BENCH_JWT_SECRET }),
    },
    durableObjects: {
      SESSIONS: { className: "SessionDO", useSQLite: true },
      TRENDING: { className: "TrendingDO", useSQLite: true },
      // Without these the consumer's MonitorDO feed fails and every batch is retried.
      PROFILES: { className: "ProfileDO", useSQLite: true },
      MONITOR: { className: "MonitorDO", useSQLite: true },
      // The consumer's fresh sink and the recommendations of a version declaring the fresh generator (0028).
      FRESH: { className: "FreshDO", useSQLite: true },
    },
    queueProducers: { EVENTS: opts.eventsConsumer ? "edgewise-events" : "edgewise-events-unconsumed", DEAD_LETTERS: "edgewise-events-dlq" },
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

/** What {@link seed} publishes: a model version folder under its id, and the tenant's catalog. */
export interface SeedOptions {
  model: { id: string; dir: string };
  catalogFile: string;
}

/** Publishes a model (the demo one by default), the demo tenant's catalog and config into the persisted MODELS bucket before the worker starts. */
export async function seed(persist: string, opts: SeedOptions = { model: { id: "demo/1", dir: DEMO_DIR }, catalogFile: "models/demo/catalog.json" }): Promise<void> {
  await withLocalBucket(
    "edgewise-models",
    async (bucket) => {
      // Every file the manifest lists (a two-stage version also ships knn.bin, iknn.bin, ranker.onnx), manifest last.
      const { id, dir } = opts.model;
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { files: Record<string, unknown> };
      for (const file of [...Object.keys(manifest.files), "manifest.json"]) await bucket.put(`models/${id}/${file}`, new Uint8Array(readFileSync(join(dir, file))));
      await bucket.put("tenants/demo/catalog.json", readFileSync(opts.catalogFile, "utf8"));
      await bucket.put("tenants/demo/experiments.json", JSON.stringify({ default_model: id }));
    },
    join(persist, "r2"),
  );
}

// ── memory, machine ──────────────────────────────────────────────────────────

/** The workerd processes Miniflare spawned (descendants of this process). */
export function workerdPids(): number[] {
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
  return [...comm].filter(([pid, name]) => name.includes("workerd") && isDescendant(pid)).map(([pid]) => pid);
}

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** CPU time (utime + stime, all threads) of these processes so far, in ms; 1/CLK_TCK s resolution. */
export function cpuMs(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]); // fields 14 and 15 of proc(5)
    } catch {
      // the process exited
    }
  }
  return (ticks * 1000) / CLK_TCK;
}

/** The workerd processes Miniflare spawned, with their memory. */
export function workerdMemory(): Array<{ pid: number; rss_mib: number; peak_rss_mib: number }> {
  const kib = (status: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
  return workerdPids().map((pid) => {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return { pid, rss_mib: round(kib(status, "VmRSS") / 1024, 1), peak_rss_mib: round(kib(status, "VmHWM") / 1024, 1) };
  });
}

export function machine(): { cpus: number; cpu_model: string; memory_gib: number; node: string; platform: string } {
  const nproc = Number(execFileSync("nproc").toString().trim());
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model ?? "unknown";
  return { cpus: nproc, cpu_model: model, memory_gib: round(totalmem() / 2 ** 30, 1), node: process.version, platform: `${process.platform} ${process.arch}` };
}
