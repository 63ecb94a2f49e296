/**
 * The Segment-compatible ingest against our own: 100 product views per request either way,
 * as `POST /v1/events` (visitor tokens) and as `POST /v1/batch` (Segment "Product Viewed"
 * messages from a browser source, anonymousIds), over the same number of visitors. Used by
 * `npm run bench` (tools/bench.ts), which runs both loads with the same settings.
 */
import type autocannon from "autocannon";

export const SEGMENT_PER_REQUEST = 100;

export function segmentComparison(url: string, key: string, items: readonly string[], visitors: readonly string[], rand: () => number): { events: autocannon.Options; segment: autocannon.Options } {
  let n = 0;
  let m = 0;
  const anonymousIds = visitors.map((_, i) => `bench-anon-${i}-${Math.floor(rand() * 1e9)}`);
  const pick = () => items[Math.floor(rand() * items.length)]!;
  const events: autocannon.Options = {
    url: `${url}/v1/events`,
    requests: [
      {
        method: "POST",
        setupRequest: (req) => {
          const batch = n++;
          const now = Date.now();
          const body = { events: Array.from({ length: SEGMENT_PER_REQUEST }, (_, i) => ({ id: `e100-${batch}-${i}`, type: "product_view", timestamp: now - i, properties: { item_id: pick() } })) };
          return { ...req, headers: { "content-type": "application/json", "x-edgewise-key": key, "x-edgewise-visitor": visitors[batch % visitors.length]! }, body: JSON.stringify(body) };
        },
      },
    ],
  };
  const auth = `Basic ${Buffer.from(`${key}:`).toString("base64")}`;
  const segment: autocannon.Options = {
    url: `${url}/v1/batch`,
    requests: [
      {
        method: "POST",
        setupRequest: (req) => {
          const batch = m++;
          const now = new Date().toISOString();
          const anonymousId = anonymousIds[batch % anonymousIds.length]!;
          const body = {
            sentAt: now,
            batch: Array.from({ length: SEGMENT_PER_REQUEST }, (_, i) => ({
              type: "track",
              event: "Product Viewed",
              messageId: `s100-${batch}-${i}`,
              anonymousId,
              timestamp: now,
              properties: { product_id: pick() },
            })),
          };
          return { ...req, headers: { "content-type": "application/json", authorization: auth }, body: JSON.stringify(body) };
        },
      },
    ],
  };
  return { events, segment };
}

// ── standalone: `npm run bench:segment -- [--duration 5] [--rounds 3] [--connections 10]` ──
// Alternates the two loads round by round on one worker (so drift in machine load hits both)
// and reports the median req/s of each; writes bench/segment-results.md.
async function main(): Promise<void> {
  const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { parseArgs } = await import("node:util");
  const { default: run } = await import("autocannon");
  const { buildBundle, machine, seed, startWorker } = await import("./bench-worker");
  const { values } = parseArgs({ options: { duration: { type: "string", default: "5" }, rounds: { type: "string", default: "3" }, connections: { type: "string", default: "10" } } });
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const key = "pk_demo_edgewise";
  const tmp = mkdtempSync(join(tmpdir(), "edgewise-bench-segment-"));
  try {
    const bundle = buildBundle(join(tmp, "dist"));
    await seed(join(tmp, "state"));
    const mf = await startWorker(bundle, join(tmp, "state"));
    try {
      const url = (await mf.ready).href.replace(/\/$/, "");
      const visitors: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${url}/v1/events`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-edgewise-key": key },
          body: JSON.stringify({ events: [{ id: `warm-${i}`, type: "page_view", timestamp: Date.now() }] }),
        });
        visitors.push(res.headers.get("x-edgewise-visitor")!);
        await res.arrayBuffer();
      }
      const items = JSON.parse(readFileSync("models/demo/1/items.json", "utf8")) as string[];
      let seedState = 1;
      const rand = () => (seedState = (seedState * 48271) % 2147483647) / 2147483647;
      const compare = segmentComparison(url, key, items, visitors, rand);
      const once = (opts: autocannon.Options, seconds: number) =>
        new Promise<{ rps: number; p99: number; bad: number }>((ok, fail) =>
          run({ connections, duration: seconds, ...opts }, (err: unknown, r: autocannon.Result) => (err ? fail(err) : ok({ rps: r.requests.average, p99: r.latency.p99, bad: r.errors + r.non2xx }))),
        );
      await once(compare.events, 2);
      await once(compare.segment, 2);
      const results = { events: [] as Array<{ rps: number; p99: number; bad: number }>, segment: [] as Array<{ rps: number; p99: number; bad: number }> };
      for (let r = 0; r < rounds; r++) {
        // Alternate which goes first.
        const order = r % 2 === 0 ? (["events", "segment"] as const) : (["segment", "events"] as const);
        for (const which of order) {
          const x = await once(compare[which], duration);
          results[which].push(x);
          process.stderr.write(`round ${r + 1} ${which}: ${x.rps.toFixed(1)} req/s, p99 ${x.p99} ms, ${x.bad} errors/non-2xx\n`);
        }
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const e = median(results.events.map((x) => x.rps));
      const s = median(results.segment.map((x) => x.rps));
      const m = machine();
      const md = `# Segment ingest vs /v1/events\n\n${new Date().toISOString()} · ${m.cpus} CPUs (${m.cpu_model}) · Node ${m.node}\n\nReproduce: \`npm run bench:segment -- --duration ${duration} --rounds ${rounds} --connections ${connections}\` (production bundle under Miniflare, ${connections} connections, rounds alternate the order).\n\n| endpoint (${SEGMENT_PER_REQUEST} product views per request) | median req/s | per round | errors + non-2xx |\n|---|---:|---|---:|\n| POST /v1/events | ${e.toFixed(1)} | ${results.events.map((x) => x.rps.toFixed(1)).join(", ")} | ${results.events.reduce((a, x) => a + x.bad, 0)} |\n| POST /v1/batch (Segment) | ${s.toFixed(1)} | ${results.segment.map((x) => x.rps.toFixed(1)).join(", ")} | ${results.segment.reduce((a, x) => a + x.bad, 0)} |\n\n/v1/batch ÷ /v1/events: **${(s / e).toFixed(2)}×** (target ≥ 1×).\n`;
      writeFileSync("bench/segment-results.md", md);
      process.stdout.write(md);
    } finally {
      await mf.dispose();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === (await import("node:url")).pathToFileURL(process.argv[1] ?? "").href) await main();
