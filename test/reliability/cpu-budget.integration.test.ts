import { describe, expect, it } from "vitest";
import { LIMITS } from "../../src/events/limits";
import { SHOP_A, call, eventId, make, newVisitor } from "../helpers";

/**
 * The worst single request one can build within the documented limits — every
 * field at its maximum, filled with characters that made the old email pattern
 * backtrack — costs at most 10× a normal request of the same route. Measured as a
 * ratio of medians over interleaved runs in the same isolate (locally workerd's
 * clock advances with CPU work), never as an absolute time: the machine is noisy,
 * a ratio is not. Before the fix: one 32 K item id cost 1.25 s, a 16 K 404 path 476 ms.
 */

const RUNS = 7;
// Every pattern of the old scrubber went quadratic on these: long runs of local-part characters, "%40" chains.
const adversarial = (n: number) => "a.%40-".repeat(Math.ceil(n / 6)).slice(0, n);

async function cost(request: () => Promise<Response>): Promise<number> {
  const start = performance.now();
  const res = await request();
  expect(res.status).toBeLessThan(500);
  await res.arrayBuffer();
  return performance.now() - start;
}

/** Medians of `normal` and `worst`, run alternately so drift hits both alike; the ratio of the two. */
async function ratio(normal: () => Promise<Response>, worst: () => Promise<Response>): Promise<{ normal: number; worst: number; ratio: number }> {
  await cost(normal); // warm both paths first (isolate, Durable Object, caches)
  await cost(worst);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    a.push(await cost(normal));
    b.push(await cost(worst));
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  // A floor of 1 ms: a median of 0 (timer granularity) would make any ratio infinite.
  const n = Math.max(1, median(a));
  const w = median(b);
  console.log(`CPU budget: normal ${n.toFixed(1)} ms, worst ${w.toFixed(1)} ms, ratio ${(w / n).toFixed(2)}`);
  return { normal: n, worst: w, ratio: w / n };
}

function post(visitor: string, events: unknown[]): Promise<Response> {
  return call("/v1/events", {
    method: "POST",
    headers: { "content-type": "application/json", "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": visitor },
    body: JSON.stringify({ events }),
  });
}

/** As many events of `make(i)` as fit in one request body. */
function fill(makeEvent: (i: number) => Record<string, unknown>): unknown[] {
  const events: unknown[] = [];
  let bytes = 20;
  for (let i = 0; i < LIMITS.maxEventsPerRequest; i++) {
    const e = makeEvent(i);
    const size = JSON.stringify(e).length + 1;
    if (bytes + size > LIMITS.maxRequestBytes - 64) break;
    events.push(e);
    bytes += size;
  }
  return events;
}

describe("CPU budget per request (worst within the limits ≤ 10× normal)", () => {
  it("POST /v1/events: a full body of maximal adversarial fields", async () => {
    const visitor = await newVisitor();
    const normal = () =>
      post(
        visitor,
        Array.from({ length: 20 }, (_, i) => make.productView(`sku-${i % 10}`)),
      );
    const worstKinds: Array<(i: number) => Record<string, unknown>> = [
      // Over-long adversarial item ids: rejected by length before any pattern runs.
      () => ({ ...make.productView("x"), properties: { item_id: adversarial(LIMITS.maxEventBytes - 200) } }),
      // Every free-text field at its maximum: scrubbed (emails, numbers, IPs) in linear time.
      () => ({ id: eventId("pv"), type: "page_view", timestamp: Date.now(), properties: { path: adversarial(1024), referrer: adversarial(2048), page_type: adversarial(32) } }),
      () => ({ id: eventId("s"), type: "search", timestamp: Date.now(), properties: { query: adversarial(256), results_count: 1e9 } }),
    ];
    for (const kind of worstKinds) {
      const r = await ratio(normal, () => post(visitor, fill(kind)));
      expect(r.ratio).toBeLessThanOrEqual(10);
    }
  });

  it("POST /v1/recommendations: the longest item and exclude list", async () => {
    const visitor = await newVisitor();
    const headers = { "content-type": "application/json", "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": visitor };
    const normal = () => call("/v1/recommendations?k=10", { headers });
    const long = adversarial(60 * 1024);
    const worst = () => call("/v1/recommendations", { method: "POST", headers, body: JSON.stringify({ type: "similar", item: long }) });
    expect((await worst()).status).toBe(400);
    expect((await ratio(normal, worst)).ratio).toBeLessThanOrEqual(10);
    const excludes = Array.from({ length: 400 }, (_, i) => `${adversarial(120)}${i}`);
    const worstList = () => call("/v1/recommendations", { method: "POST", headers, body: JSON.stringify({ type: "personalized", exclude: excludes }) });
    expect((await ratio(normal, worstList)).ratio).toBeLessThanOrEqual(10);
  });

  it("an unauthenticated 404 with a 16 K path costs what a short one does", async () => {
    const normal = () => call("/nope");
    const worst = () => call(`/${adversarial(16 * 1024)}`);
    expect((await ratio(normal, worst)).ratio).toBeLessThanOrEqual(10);
  });
});
