/**
 * Several builds of the worker measured side by side, in one run (design 0026): each
 * source tree given is bundled, served by its own Miniflare (events queue bound, consumer
 * detached), and `/healthz`, `POST /v1/events` with 20 and with 100 views are measured in
 * turn on each, the order of the builds reversed every repetition, so outside load falls
 * on all of them alike. workerd CPU per request (utime + stime of each build's process).
 *
 *   npx tsx tools/bench/side-by-side.ts <tree> <tree> … [REPS=3 in the environment]
 *
 * A tree is a checkout of this repository (e.g. `git archive <commit> | tar -x -C dir`,
 * with `node_modules` linked): how a lever is measured is by switching it off in a copy.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBundle, cpuMs, seed, startWorker, workerdPids } from "./bench-worker";

const KEY = "pk_demo_edgewise";
const REPS = Number(process.env.REPS ?? 3);
const ROUTES = [
  ["healthz", 1000],
  ["events20", 300],
  ["events100", 80],
] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const body = (prefix: string, n: number) =>
  JSON.stringify({
    events: Array.from({ length: n }, (_, i) => ({
      id: `${prefix}-${i}`,
      type: "product_view",
      timestamp: Date.now() - 1000 * (n - i),
      properties: { item_id: `sku-${i % 40}`, category: "shoes", price: 12.5, currency: "EUR" },
    })),
  });

interface Build {
  name: string;
  base: string;
  pids: number[];
  visitors: string[];
}

async function start(dir: string, tmp: string, i: number, home: string): Promise<Build> {
  process.chdir(dir); // wrangler bundles the tree it runs in
  const bundle = buildBundle(join(tmp, `dist${i}`));
  process.chdir(home);
  await seed(join(tmp, `state${i}`));
  const before = new Set(workerdPids());
  const mf = await startWorker(bundle, join(tmp, `state${i}`), { logLevel: "silent", eventsConsumer: false });
  const base = (await mf.ready).href.replace(/\/$/, "");
  const pids = workerdPids().filter((p) => !before.has(p));
  const visitors: string[] = [];
  for (let v = 0; v < 5; v++) {
    const res = await fetch(`${base}/v1/events`, { method: "POST", headers: { "content-type": "application/json", "x-edgewise-key": KEY }, body: body(`warm${v}`, 1) });
    visitors.push(res.headers.get("x-edgewise-visitor")!);
    await res.arrayBuffer();
  }
  return { name: `${i}:${dir.split("/").pop()}`, base, pids, visitors };
}

let sent = 0;
async function measure(b: Build, route: string, n: number): Promise<number> {
  const one = async () => {
    const i = sent++;
    const res =
      route === "healthz"
        ? await fetch(`${b.base}/healthz`)
        : await fetch(`${b.base}/v1/events`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-edgewise-key": KEY, "x-edgewise-visitor": b.visitors[i % b.visitors.length]! },
            body: body(`r${i}`, Number(route.slice("events".length))),
          });
    await res.arrayBuffer();
    if (res.status >= 300) throw new Error(`${b.name} ${route}: ${res.status}`);
  };
  for (let i = 0; i < Math.ceil(n / 10); i++) await one(); // warm-up
  await sleep(1200);
  const c0 = cpuMs(b.pids);
  for (let i = 0; i < n; i++) await one();
  await sleep(1200); // alarms and flushes land inside the window
  return (cpuMs(b.pids) - c0) / n;
}

const dirs = process.argv.slice(2);
if (dirs.length === 0) throw new Error("usage: npx tsx tools/bench/side-by-side.ts <tree> <tree> …");
const home = process.cwd();
const tmp = mkdtempSync(join(tmpdir(), "edgewise-side-by-side-"));
const builds: Build[] = [];
for (const [i, dir] of dirs.entries()) builds.push(await start(dir, tmp, i, home));
const runs: Record<string, Record<string, number[]>> = {};
for (let rep = 0; rep < REPS; rep++) {
  for (const b of rep % 2 === 0 ? builds : [...builds].reverse()) {
    for (const [route, n] of ROUTES) {
      const ms = await measure(b, route, n);
      ((runs[b.name] ??= {})[route] ??= []).push(ms);
      process.stderr.write(`rep ${rep + 1} ${b.name} ${route}: ${ms.toFixed(3)} ms CPU / request\n`);
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, c) => a - c)[Math.floor((xs.length - 1) / 2)]!;
for (const [name, r] of Object.entries(runs)) {
  const h = median(r.healthz!);
  const ev = (k: "events20" | "events100", n: number) => `${k} ${median(r[k]!).toFixed(3)} ms (${(median(r[k]!) / n).toFixed(4)} / event, ${(median(r[k]!) / h).toFixed(2)}×)`;
  process.stdout.write(`${name}: healthz ${h.toFixed(3)} ms | ${ev("events20", 20)} | ${ev("events100", 100)} | every run ${JSON.stringify(r)}\n`);
}
process.exit(0);
