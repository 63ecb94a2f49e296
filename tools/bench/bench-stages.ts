/**
 * Where a recommendation's workerd CPU goes (design 0027): the same production bundle and
 * 43,000-item model as `npm run bench`, served three ways side by side and measured
 * interleaved, so a slow spell on the shared machine hits all of them:
 *
 *  - `full`: the model as it ships (generators → ranker features → ONNX ranker → rules);
 *  - `no-neural`: the same version with the neural generator switched off in its manifest
 *    (its ONNX top-k over the 43,000 × 64 item table is not run; the ranker sees it absent);
 *  - `no-model`: the tenant serves no model: the route, the features round trip to the
 *    SessionDO and the rules still run, the model stage does not (and, with no items, no
 *    served list is logged).
 *
 * A diagnostic, not a quality setting: the variants' lists differ. CPU = utime + stime of each
 * instance's workerd process over a fixed number of requests at one connection, idle rate
 * subtracted, as the bench does; `/healthz` of the `full` instance in the same repetition.
 *
 *   npx tsx tools/bench/bench-stages.ts [--reps 3] [--requests 400]
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { withLocalBucket } from "../local/local-r2";
import { benchModel } from "./bench-model";
import { buildBundle, cpuMs, seed, startWorker, workerdPids } from "./bench-worker";

const KEY = "pk_demo_edgewise";
const { values: args } = parseArgs({ options: { reps: { type: "string", default: "3" }, requests: { type: "string", default: "400" } } });
const REPS = Number(args.reps);
const REQUESTS = Number(args.requests);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Instance {
  name: string;
  base: string;
  pids: number[];
  headers: Record<string, string>;
  dispose: () => Promise<void>;
}

async function requests(url: string, n: number, headers: Record<string, string> = {}): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    latencies.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  }
  return latencies.sort((a, b) => a - b);
}

/** CPU ms per request of `n` requests to `url` on these workerd processes, idle rate subtracted. */
async function cpuPerRequest(pids: number[], url: string, n: number, headers: Record<string, string> = {}): Promise<number> {
  await requests(url, Math.max(10, n / 10), headers);
  await sleep(1500);
  const i0 = cpuMs(pids);
  await sleep(1000);
  const idle = (cpuMs(pids) - i0) / 1000;
  const c0 = cpuMs(pids);
  const t0 = performance.now();
  await requests(url, n, headers);
  await sleep(1500); // the served-list flush (200 ms) and the SessionDO's alarm (≤ 1 s) land inside
  return (cpuMs(pids) - c0 - idle * (performance.now() - t0)) / n;
}

const tmp = mkdtempSync(join(tmpdir(), "edgewise-stages-"));
const instances: Instance[] = [];
try {
  const model = await benchModel(log);
  const shop = (JSON.parse(readFileSync(model.catalogFile, "utf8")) as { items: Array<{ item_id: string; category: string; price: number }> }).items;
  const bundle = buildBundle(join(tmp, "dist"));
  // The version with its neural generator switched off (k 0): the manifest is not among the checksummed files.
  const noNeural = join(tmp, "no-neural");
  cpSync(model.dir, noNeural, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(noNeural, "manifest.json"), "utf8")) as { ranker: { generators: { neural: { k: number } } } };
  manifest.ranker.generators.neural.k = 0;
  writeFileSync(join(noNeural, "manifest.json"), JSON.stringify(manifest));

  for (const v of [
    { name: "full", dir: model.dir, serveModel: true },
    { name: "no-neural", dir: noNeural, serveModel: true },
    { name: "no-model", dir: model.dir, serveModel: false },
  ]) {
    const persist = join(tmp, v.name);
    await seed(persist, { model: { id: model.id, dir: v.dir }, catalogFile: model.catalogFile });
    if (!v.serveModel) await withLocalBucket("edgewise-models", (b) => b.put("tenants/demo/experiments.json", "{}").then(() => undefined), join(persist, "r2"));
    const before = new Set(workerdPids());
    const mf = await startWorker(bundle, persist, { logLevel: "silent", eventsConsumer: false });
    const base = (await mf.ready).href.replace(/\/$/, "");
    const pids = workerdPids().filter((p) => !before.has(p));
    // A warm visitor with 20 product views, as the bench's.
    const now = Date.now();
    const events = Array.from({ length: 20 }, (_, i) => {
      const it = shop[(i * 7919) % shop.length]!;
      return { id: `stage-${i}`, type: "product_view", timestamp: now - (20 - i) * 1000, properties: { item_id: it.item_id, category: it.category, price: it.price, currency: "EUR" } };
    });
    const res = await fetch(`${base}/v1/events`, { method: "POST", headers: { "content-type": "application/json", "x-edgewise-key": KEY }, body: JSON.stringify({ events }) });
    await res.arrayBuffer();
    const headers = { "x-edgewise-key": KEY, "x-edgewise-visitor": res.headers.get("x-edgewise-visitor") ?? "" };
    for (let i = 0; i < 100; i++) {
      const body = (await (await fetch(`${base}/v1/recommendations?k=10`, { headers })).json()) as { model: string | null; degraded: string | null };
      if (v.serveModel ? body.model === model.id && body.degraded === null : body.degraded === "no_model_configured") break;
      await sleep(200);
    }
    instances.push({ name: v.name, base, pids, headers, dispose: () => mf.dispose() });
  }

  const runs: Record<string, number[]> = {};
  for (let rep = 1; rep <= REPS; rep++) {
    const full = instances[0]!;
    (runs.healthz ??= []).push(await cpuPerRequest(full.pids, `${full.base}/healthz`, 2 * REQUESTS));
    for (const i of instances) (runs[i.name] ??= []).push(await cpuPerRequest(i.pids, `${i.base}/v1/recommendations?k=10`, REQUESTS, i.headers));
    log(
      `rep ${rep}: ${Object.entries(runs)
        .map(([k, v]) => `${k} ${v.at(-1)!.toFixed(3)}`)
        .join(", ")} ms CPU / request`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]!;
  const h = median(runs.healthz!);
  process.stdout.write(`\n| instance | CPU ms / request (median of ${REPS}; all) | × /healthz |\n|---|---:|---:|\n`);
  for (const [name, xs] of Object.entries(runs)) process.stdout.write(`| ${name} | ${median(xs).toFixed(3)} (${xs.map((x) => x.toFixed(2)).join(", ")}) | ${(median(xs) / h).toFixed(2)} |\n`);
  process.stdout.write(`\nload average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}\n`);
} finally {
  for (const i of instances) await i.dispose().catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
}
