/**
 * The load part of `npm run test:reliability`: the production bundle under
 * Miniflare, a fixed request rate over every endpoint for a fixed time. Passes
 * when no request failed, every accepted event reached the event log, and
 * workerd's memory stayed flat once warm. The endpoints: `/healthz`,
 * `/v1/features`, `/v1/session`, `/v1/recommendations` (GET and POST),
 * `/v1/events`, `/v1/profile` (a signed-in visitor with its customer token),
 * `/admin/api/dashboard` (admin token), the `/admin` page, and erasure
 * (`DELETE /v1/subjects/…`) of people nobody knows — erasing the load's own
 * visitor would end the load. Left out: the admin API's writes (they change
 * what is served; the MLOps tests cover them) and the retention audit (it lists
 * the whole event log, which the load keeps growing).
 *
 * "Flat" is judged on retained memory: before each sample the test forces a
 * full garbage collection in every isolate through workerd's inspector, then
 * reads workerd's RSS and the isolates' live JS heaps. Without that, RSS under
 * load grows for minutes (174 → 302 MiB over 4 minutes of `/healthz` alone,
 * 264 → 600 MiB with events) only because a dozen V8 heaps (the worker's and
 * Miniflare's entry, queue and R2 workers') collect garbage lazily; with a
 * collection every 20 s the same runs stay at 179 and 258 MiB (design 0022).
 * The check compares the median of the first three samples of the measured run
 * with that of the last three, so one sample's allocator noise decides nothing.
 *
 *   tsx tools/soak.ts [--seconds 90] [--rate 150] [--warmup 30]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { BENCH_JWT_SECRET, buildBundle, freePort, seed, startWorker, workerdMemory } from "./bench-worker";
import { type IsolateSession, collectGarbage, connectIsolates } from "./inspector";
import { mintToken } from "../local/local-token";

const KEY = "pk_demo_edgewise";
const CUSTOMER = "soak-customer";
const EVENTS_PER_POST = 5;
/** Median RSS after a full collection may grow by this much from the start to the end of the measured run, no more. */
const MAX_RSS_GROWTH_MIB = 16;
/** Nor may the isolates' live JS heaps (summed) after a full collection. */
const MAX_HEAP_GROWTH_MIB = 4;
/** Memory is sampled this often during the measured run. */
const SAMPLE_MS = 10_000;

const { values: args } = parseArgs({
  options: { seconds: { type: "string", default: "90" }, rate: { type: "string", default: "150" }, warmup: { type: "string", default: "30" } },
});
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const WARMUP = Number(args.warmup);

const items = JSON.parse(readFileSync("models/demo/1/items.json", "utf8")) as string[];
const rss = () => workerdMemory().reduce((n, m) => n + m.rss_mib, 0);

/** Retained memory: a full collection in every isolate, then workerd's RSS and the live JS heaps (MiB). */
async function retained(isolates: readonly IsolateSession[]): Promise<{ rss: number; heap: number; collected: number }> {
  const { heapMiB, collected } = await collectGarbage(isolates);
  return { rss: rss(), heap: heapMiB, collected };
}
let eventNo = 0;
let erasureNo = 0;

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
    const inspectorPort = await freePort();
    const mf = await startWorker(bundle, join(tmp, "state"), { logLevel: "silent", eventsConsumer: true, inspectorPort });
    let isolates: IsolateSession[] = [];
    try {
      const base = await mf.ready;
      isolates = await connectIsolates(inspectorPort);
      process.stderr.write(`▶ inspector: ${isolates.map((s) => s.title).join(", ")}\n`);
      const first = await fetch(new URL("/v1/events", base), { method: "POST", headers: { "content-type": "application/json", "x-edgewise-key": KEY }, body: postBody() });
      const token = first.headers.get("x-edgewise-visitor")!;
      const auth = { "x-edgewise-key": KEY, "x-edgewise-visitor": token };
      // The visitor signs in (with its customer token), so the profile endpoint has a person to read.
      const hour = 3600;
      const customerToken = await mintToken({ tenant: "demo", scope: "identify recommendations:read", customer: CUSTOMER, ttlSeconds: hour }, BENCH_JWT_SECRET);
      const adminToken = await mintToken({ tenant: "demo", scope: "admin", ttlSeconds: hour }, BENCH_JWT_SECRET);
      const eraseToken = await mintToken({ tenant: "demo", scope: "privacy:erase", ttlSeconds: hour }, BENCH_JWT_SECRET);
      const signIn = await fetch(new URL("/v1/events", base), {
        method: "POST",
        headers: { ...auth, "content-type": "application/json", authorization: `Bearer ${customerToken}` },
        body: JSON.stringify({ events: [{ id: "soak-identify", type: "identify", timestamp: Date.now(), properties: { customer_id: CUSTOMER } }] }),
      });
      const signedIn = await signIn.text();
      if (signIn.status !== 202 || (JSON.parse(signedIn) as { accepted: number }).accepted !== 1) throw new Error(`identify answered ${signIn.status}: ${signedIn}`);
      const profileHeaders = { ...auth, authorization: `Bearer ${customerToken}` };
      for (let tries = 0; ; tries++) {
        const res = await fetch(new URL("/v1/profile", base), { headers: profileHeaders });
        const last = await res.text();
        if (res.status === 200) break;
        if (tries === 20) throw new Error(`GET /v1/profile still answers ${res.status} after the visitor identified: ${last}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      // Ids, not counts: an event applied under a 503 is forwarded later and may be logged without ever being "accepted".
      const acceptedIds = new Set<string>();
      const noteAccepted = (body: string) => {
        for (const r of (JSON.parse(body) as { results: Array<{ id: string; status: string }> }).results) if (r.status === "accepted") acceptedIds.add(r.id);
      };
      noteAccepted(await first.text());
      noteAccepted(signedIn);
      const failures: string[] = [];
      const onResponse = (status: number, body: string) => {
        if (status >= 300 && failures.length < 5) failures.push(`${status} ${body.slice(0, 200)}`);
        if (status === 202) noteAccepted(body);
      };
      const requests: autocannon.Request[] = [
        { method: "GET", path: "/healthz", onResponse },
        { method: "GET", path: "/v1/features", onResponse },
        { method: "GET", path: "/v1/session", headers: auth, onResponse },
        { method: "GET", path: "/v1/recommendations?k=10", headers: auth, onResponse },
        { method: "POST", path: "/v1/recommendations", headers: { ...auth, "content-type": "application/json" }, body: '{"type":"trending","k":5}', onResponse },
        { method: "POST", path: "/v1/events", setupRequest: (req) => ({ ...req, headers: { ...auth, "content-type": "application/json" }, body: postBody() }), onResponse },
        { method: "GET", path: "/v1/profile", headers: profileHeaders, onResponse },
        { method: "GET", path: "/admin/api/dashboard?hours=1", headers: { "x-edgewise-key": KEY, authorization: `Bearer ${adminToken}` }, onResponse },
        { method: "GET", path: "/admin", onResponse },
        // Erasure requests for people nobody knows: the endpoint's lookup and receipt, without deleting the load's visitor.
        {
          method: "DELETE",
          setupRequest: (req) => ({
            ...req,
            path: `/v1/subjects/${encodeURIComponent(`email:nobody-${erasureNo++}@example.com`)}`,
            headers: { "x-edgewise-key": KEY, authorization: `Bearer ${eraseToken}` },
          }),
          onResponse,
        },
      ];
      const run = (seconds: number) => autocannon({ url: base.href.replace(/\/$/, ""), connections: 6, overallRate: RATE, duration: seconds, requests });
      process.stderr.write(`▶ warm-up: ${WARMUP} s at ${RATE} req/s\n`);
      const warm = await run(WARMUP);
      process.stderr.write(`▶ load: ${SECONDS} s at ${RATE} req/s over ${requests.length} endpoints, memory every ${SAMPLE_MS / 1000} s after a full collection\n`);
      // Sampled under load only: workerd collects an isolate's garbage when that isolate next runs.
      const series: Array<{ rss: number; heap: number; collected: number }> = [];
      let sampling: Promise<void> = Promise.resolve();
      let loaded = true;
      const sampler = setInterval(() => {
        sampling = sampling.then(async () => {
          const m = await retained(isolates);
          if (!loaded) return; // the load ended meanwhile: idle isolates would not have collected
          series.push(m);
          process.stderr.write(`  RSS ${m.rss.toFixed(0)} MiB, live JS heaps ${m.heap.toFixed(1)} MiB (${m.collected}/${isolates.length} isolates collected)\n`);
        });
      }, SAMPLE_MS);
      const res = await run(SECONDS);
      loaded = false;
      clearInterval(sampler);
      await sampling;
      if (series.length < 6) throw new Error(`only ${series.length} memory samples; run at least ${(6 * SAMPLE_MS) / 1000 + 10} s`);
      // Every accepted event reaches the log (the local queue drains once the load stops).
      const bucket = await mf.getR2Bucket("EVENT_LOG");
      let ids = new Set<string>();
      let missing = acceptedIds.size;
      for (let waited = 0; waited < 60; waited++) {
        ids = new Set<string>();
        let cursor: string | undefined;
        do {
          const page = await bucket.list({ prefix: "events/", cursor });
          for (const o of page.objects) for (const l of (await (await bucket.get(o.key))!.text()).split("\n").filter(Boolean)) ids.add((JSON.parse(l) as { event: { id: string } }).event.id);
          cursor = page.truncated ? page.cursor : undefined;
        } while (cursor);
        missing = [...acceptedIds].filter((id) => !ids.has(id)).length;
        if (missing === 0) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      const errors = warm.errors + warm.non2xx + res.errors + res.non2xx;
      const median3 = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
      const growth = (pick: (s: { rss: number; heap: number }) => number) => median3(series.slice(-3).map(pick)) - median3(series.slice(0, 3).map(pick));
      const rssGrowth = growth((s) => s.rss);
      const heapGrowth = growth((s) => s.heap);
      const figures = {
        seconds: SECONDS,
        rate: RATE,
        requests: res.requests.total,
        errors,
        events_accepted: acceptedIds.size,
        events_logged: ids.size,
        events_lost: missing,
        rss_every_10s_mib: series.map((s) => s.rss.toFixed(0)).join("/"),
        rss_median_growth_mib: rssGrowth.toFixed(1),
        heap_every_10s_mib: series.map((s) => s.heap.toFixed(1)).join("/"),
        heap_median_growth_mib: heapGrowth.toFixed(1),
      };
      console.log(
        `RELIABILITY load: ${Object.entries(figures)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")}`,
      );
      const problems = [
        ...(errors > 0 ? [`${errors} failed requests: ${failures.join(" | ")}`] : []),
        ...(missing > 0 ? [`${missing} accepted events missing from the event log`] : []),
        ...(rssGrowth > MAX_RSS_GROWTH_MIB
          ? [`workerd RSS after a full collection grew ${rssGrowth.toFixed(1)} MiB from the start to the end of the run (medians of three samples; limit ${MAX_RSS_GROWTH_MIB})`]
          : []),
        ...(heapGrowth > MAX_HEAP_GROWTH_MIB ? [`live JS heaps grew ${heapGrowth.toFixed(1)} MiB from the start to the end of the run (medians of three samples; limit ${MAX_HEAP_GROWTH_MIB})`] : []),
        ...(res.requests.total < RATE * SECONDS * 0.9 ? [`only ${res.requests.total} requests served of ${RATE * SECONDS}`] : []),
      ];
      for (const p of problems) console.error(`FAIL ${p}`);
      return problems.length === 0 ? 0 : 1;
    } finally {
      for (const s of isolates) s.close();
      await mf.dispose();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

process.exitCode = await main();
