/**
 * The load part of `npm run test:reliability`: the production bundle under
 * Miniflare, a fixed request rate over every endpoint for a fixed time. Passes
 * when no request failed, every accepted event reached the event log, and
 * workerd's memory stayed flat (RSS growth over the measured run is bounded).
 *
 *   tsx tools/soak.ts [--seconds 30] [--rate 150] [--warmup 10]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { buildBundle, seed, startWorker, workerdMemory } from "./bench-worker";

const KEY = "pk_demo_edgewise";
const EVENTS_PER_POST = 5;
/** RSS may grow by this much over the measured run (allocator noise, SQLite page cache), no more. */
const MAX_GROWTH_MIB = 48;

const { values: args } = parseArgs({
  options: { seconds: { type: "string", default: "30" }, rate: { type: "string", default: "150" }, warmup: { type: "string", default: "10" } },
});
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const WARMUP = Number(args.warmup);

const items = JSON.parse(readFileSync("models/demo/1/items.json", "utf8")) as string[];
const rss = () => workerdMemory().reduce((n, m) => n + m.rss_mib, 0);
let eventNo = 0;

function postBody(): string {
  const now = Date.now();
  return JSON.stringify({
    events: Array.from({ length: EVENTS_PER_POST }, (_, i) => ({
      id: `soak-${eventNo++}`,
      type: "product_view",
      timestamp: now - (EVENTS_PER_POST - i) * 100,
      properties: { item_id: items[(eventNo * 7919) % items.length] },
    })),
  });
}

async function main(): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), "edgewise-soak-"));
  try {
    process.stderr.write("▶ building the production bundle\n");
    const bundle = buildBundle(join(tmp, "dist"));
    await seed(join(tmp, "state"));
    const mf = await startWorker(bundle, join(tmp, "state"), { logLevel: "silent", eventsConsumer: true });
    try {
      const base = await mf.ready;
      const first = await fetch(new URL("/v1/events", base), { method: "POST", headers: { "content-type": "application/json", "x-edgewise-key": KEY }, body: postBody() });
      const token = first.headers.get("x-edgewise-visitor")!;
      await first.arrayBuffer();
      const auth = { "x-edgewise-key": KEY, "x-edgewise-visitor": token };
      let accepted = EVENTS_PER_POST;
      const failures: string[] = [];
      const onResponse = (status: number, body: string) => {
        if (status >= 300 && failures.length < 5) failures.push(`${status} ${body.slice(0, 200)}`);
        if (status === 202) accepted += (JSON.parse(body) as { accepted: number }).accepted;
      };
      const requests: autocannon.Request[] = [
        { method: "GET", path: "/healthz", onResponse },
        { method: "GET", path: "/v1/features", onResponse },
        { method: "GET", path: "/v1/session", headers: auth, onResponse },
        { method: "GET", path: "/v1/recommendations?k=10", headers: auth, onResponse },
        { method: "POST", path: "/v1/recommendations", headers: { ...auth, "content-type": "application/json" }, body: '{"type":"trending","k":5}', onResponse },
        { method: "POST", path: "/v1/events", setupRequest: (req) => ({ ...req, headers: { ...auth, "content-type": "application/json" }, body: postBody() }), onResponse },
      ];
      const run = (seconds: number) =>
        autocannon({ url: base.href.replace(/\/$/, ""), connections: 6, overallRate: RATE, duration: seconds, requests });
      process.stderr.write(`▶ warm-up: ${WARMUP} s at ${RATE} req/s\n`);
      const warm = await run(WARMUP);
      const rssStart = rss();
      process.stderr.write(`▶ load: ${SECONDS} s at ${RATE} req/s over ${requests.length} endpoints (workerd RSS ${rssStart.toFixed(0)} MiB)\n`);
      const series: number[] = [];
      const sampler = setInterval(() => series.push(Math.round(rss())), 5000);
      const res = await run(SECONDS);
      clearInterval(sampler);
      const rssEnd = rss();
      // Every accepted event reaches the log (the local queue drains once the load stops).
      const bucket = await mf.getR2Bucket("EVENT_LOG");
      let logged = 0;
      for (let waited = 0; waited < 60; waited++) {
        const ids = new Set<string>();
        let cursor: string | undefined;
        do {
          const page = await bucket.list({ prefix: "events/", cursor });
          for (const o of page.objects) for (const l of (await (await bucket.get(o.key))!.text()).split("\n").filter(Boolean)) ids.add((JSON.parse(l) as { event: { id: string } }).event.id);
          cursor = page.truncated ? page.cursor : undefined;
        } while (cursor);
        logged = ids.size;
        if (logged >= accepted) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      const errors = warm.errors + warm.non2xx + res.errors + res.non2xx;
      const growth = rssEnd - rssStart;
      const figures = {
        seconds: SECONDS,
        rate: RATE,
        requests: res.requests.total,
        errors,
        events_accepted: accepted,
        events_logged: logged,
        events_lost: accepted - logged,
        rss_start_mib: rssStart.toFixed(0),
        rss_end_mib: rssEnd.toFixed(0),
        rss_growth_mib: growth.toFixed(1),
        rss_every_5s_mib: series.join("/"),
      };
      console.log(`RELIABILITY load: ${Object.entries(figures).map(([k, v]) => `${k}=${v}`).join(" ")}`);
      const problems = [
        ...(errors > 0 ? [`${errors} failed requests: ${failures.join(" | ")}`] : []),
        ...(logged < accepted ? [`${accepted - logged} accepted events missing from the event log`] : []),
        ...(growth > MAX_GROWTH_MIB ? [`workerd RSS grew ${growth.toFixed(1)} MiB (limit ${MAX_GROWTH_MIB})`] : []),
        ...(res.requests.total < RATE * SECONDS * 0.9 ? [`only ${res.requests.total} requests served of ${RATE * SECONDS}`] : []),
      ];
      for (const p of problems) console.error(`FAIL ${p}`);
      return problems.length === 0 ? 0 : 1;
    } finally {
      await mf.dispose();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

process.exitCode = await main();
