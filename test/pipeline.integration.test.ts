import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sessionStub } from "../src/session/stub";
import { type BatchBody, SHOP_A, getSession, make, newVisitor, postEvents, visitorIdOf } from "./helpers";
import { readEventLog, waitForVisitorLines, settleVisitorLog } from "./r2";

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Makes the visitor's SessionDO see a failing queue. The queue binding is a
 * platform boundary we do not own: this is fault injection at that boundary,
 * the SessionDO and everything else stay real.
 */
async function breakQueue(visitor: string, failAfterCalls = 0) {
  const stub = sessionStub(env, SHOP_A.id, visitorIdOf(visitor));
  await runInDurableObject(stub, (instance) => {
    const queue = (instance as unknown as { env: Env }).env.EVENTS;
    const real = queue.sendBatch.bind(queue);
    let calls = 0;
    vi.spyOn(queue, "sendBatch").mockImplementation(async (messages, options) => {
      if (calls++ < failAfterCalls) return real(messages, options);
      throw new Error("Queue send failed (injected)");
    });
  });
  return stub;
}

describe("queue → R2 event log", () => {
  it("writes accepted events as NDJSON under hive-style keys, enriched with server fields", async () => {
    const v = await newVisitor();
    const id = visitorIdOf(v);
    const events = [make.productView("sku-1"), make.addToCart("sku-1", 1, 9.5), make.identify("cust-7", "x@example.com")];
    const before = Date.now();
    await postEvents(events, { visitor: v });
    const lines = await waitForVisitorLines(id, 3);
    expect(lines).toHaveLength(3);
    const hour = new Date(before).toISOString();
    for (const { key, line } of lines) {
      expect(key).toMatch(new RegExp(`^events/tenant=shop-a/dt=${hour.slice(0, 10)}/hour=\\d{2}/\\d{13}-[0-9a-f]{16}\\.ndjson$`));
      expect(line).toMatchObject({ kind: "event", schema_version: 1, tenant: "shop-a", visitor_id: id });
      expect(line.received_at).toBeGreaterThanOrEqual(before);
    }
    const sorted = lines.map((l) => l.line).sort((a, b) => a.seq - b.seq);
    expect(sorted.map((l) => [l.seq, l.event.id])).toEqual(events.map((e, i) => [i + 1, e.id]));
    expect(sorted[1]!.event.properties).toEqual({ item_id: "sku-1", quantity: 1, price: 9.5, currency: "EUR", category: "shoes" });
    // Pseudonymised before it left the edge.
    expect(JSON.stringify(sorted[2])).not.toContain("cust-7");
    expect(JSON.stringify(sorted[2])).not.toContain("x@example.com");
    const obj = await env.EVENT_LOG.head(lines[0]!.key);
    expect(obj?.httpMetadata?.contentType).toBe("application/x-ndjson");
  });

  it("duplicates are never forwarded", async () => {
    const v = await newVisitor();
    const batch = [make.pageView(), make.productView("a")];
    await postEvents(batch, { visitor: v });
    await postEvents(batch, { visitor: v });
    await postEvents([make.pageView()], { visitor: v });
    const lines = await waitForVisitorLines(visitorIdOf(v), 3);
    // A straggler would be logged before a later marker: wait for the marker, then assert there is none.
    const marker = await settleVisitorLog(visitorIdOf(v), (e) => postEvents([e], { visitor: v }));
    expect((await readEventLog()).filter((x) => x.line.visitor_id === visitorIdOf(v) && x.line.event.id !== marker)).toHaveLength(3);
    expect(new Set(lines.map((l) => l.line.event.id)).size).toBe(3);
  });

  it("a poison message reaches the dead-letter queue and is parked in R2", async () => {
    const poison = { kind: "event", schema_version: 99, surprise: true };
    await env.EVENTS.send(poison, { contentType: "json" });
    const parked = await vi.waitUntil(
      async () => {
        const page = await env.EVENT_LOG.list({ prefix: "dead-letter/" });
        for (const o of page.objects) {
          const rec = (await (await env.EVENT_LOG.get(o.key))!.json()) as { body: { reason: string; body: unknown } };
          if (JSON.stringify(rec.body.body) === JSON.stringify(poison)) return { key: o.key, rec };
        }
        return false;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(parked.key).toMatch(/^dead-letter\/dt=\d{4}-\d{2}-\d{2}\/.+\.json$/);
    expect(parked.rec.body).toMatchObject({ reason: "poison", queue: "edgewise-events" });
    expect((await readEventLog()).some((x) => JSON.stringify(x.line).includes("surprise"))).toBe(false);
  });
});

describe("enqueue failure", () => {
  it("answers 503 with Retry-After; the retry applies nothing twice and forwards everything once", async () => {
    const v = await newVisitor();
    const id = visitorIdOf(v);
    await postEvents([make.pageView()], { visitor: v }); // creates the session
    await breakQueue(v);
    const batch = [make.productView("a"), make.addToCart("a", 1, 10)];
    const failed = await postEvents(batch, { visitor: v });
    expect(failed.status).toBe(503);
    expect(failed.headers.get("retry-after")).toBe("5");
    expect(await failed.json()).toMatchObject({ error: { code: "enqueue_failed" } });

    // Applied once, held in the outbox, nothing lost.
    const held = await getSession(v);
    expect(held.events_applied).toBe(3);
    expect(held.pending_forward).toBe(2);

    // Still failing: the retry is 503 again and changes nothing.
    expect((await postEvents(batch, { visitor: v })).status).toBe(503);
    expect((await getSession(v)).events_applied).toBe(3);

    vi.restoreAllMocks();
    const retried = await postEvents(batch, { visitor: v });
    expect(retried.status).toBe(202);
    expect(await retried.json()).toMatchObject({ accepted: 0, duplicate: 2 });
    const after = await getSession(v);
    expect(after.events_applied).toBe(3);
    expect(after.pending_forward).toBe(0);
    expect(after.features.cart).toMatchObject({ quantity: 1, value: 10 });

    const lines = await waitForVisitorLines(id, 3);
    const marker = await settleVisitorLog(id, (e) => postEvents([e], { visitor: v }));
    const all = (await readEventLog()).filter((x) => x.line.visitor_id === id && x.line.event.id !== marker);
    expect(all).toHaveLength(3);
    expect(new Set(lines.map((l) => l.line.event.id))).toEqual(new Set([...batch.map((e) => e.id), all.find((x) => x.line.seq === 1)!.line.event.id]));
  });

  it("the alarm forwards held events when the client never retries", async () => {
    const v = await newVisitor();
    await postEvents([make.pageView()], { visitor: v });
    const stub = await breakQueue(v);
    const failed = await postEvents([make.productView("z")], { visitor: v });
    expect(failed.status).toBe(503);
    const retryAt = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(retryAt).toBeLessThan(Date.now() + 20_000);

    vi.restoreAllMocks();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await getSession(v)).pending_forward).toBe(0);
    const lines = await waitForVisitorLines(visitorIdOf(v), 2);
    expect(lines.map((l) => l.line.seq).sort()).toEqual([1, 2]);
    // Back to the expiry alarm.
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now() + 86_400_000);
  });

  it("a failure part-way through a large batch forwards the rest on retry, each event once", async () => {
    const v = await newVisitor();
    await postEvents([make.pageView()], { visitor: v });
    const stub = await breakQueue(v, 1); // the first sendBatch call succeeds, later ones fail
    // ~1 KB per event: 400 events pack into several queue messages and need more than one sendBatch (256 KB each).
    const batch = Array.from({ length: 400 }, () => ({ ...make.pageView(), properties: { path: `/${"p".repeat(1000)}` } }));
    const failed = await postEvents(batch, { visitor: v });
    expect(failed.status).toBe(503);
    const sent = await runInDurableObject(stub, (instance) => {
      const calls = vi.mocked((instance as unknown as { env: Env }).env.EVENTS.sendBatch).mock.calls;
      return calls.map(([messages]) => [...messages].map((m) => (m.body as { lines: unknown[] }).lines.length));
    });
    expect(sent.length).toBeGreaterThan(1);
    const forwarded = sent[0]!.reduce((a, b) => a + b, 0);
    expect(forwarded).toBeGreaterThan(0);
    expect(forwarded).toBeLessThan(400);
    expect((await getSession(v)).pending_forward).toBe(400 - forwarded);
    vi.restoreAllMocks();
    const retried = (await (await postEvents(batch, { visitor: v })).json()) as BatchBody;
    expect(retried.duplicate).toBe(400);
    const lines = await waitForVisitorLines(visitorIdOf(v), 401);
    const marker = await settleVisitorLog(visitorIdOf(v), (e) => postEvents([e], { visitor: v }));
    expect((await readEventLog()).filter((x) => x.line.visitor_id === visitorIdOf(v) && x.line.event.id !== marker)).toHaveLength(401);
    expect(new Set(lines.map((l) => l.line.seq)).size).toBe(401);
  });

  it("an object from before packing forwards its per-event outbox first, then drops the table", async () => {
    const v = await newVisitor();
    const id = visitorIdOf(v);
    await postEvents([make.pageView()], { visitor: v });
    const stub = sessionStub(env, SHOP_A.id, id);
    // The old layout: one row per event in `outbox`, left behind by a queue failure.
    const legacy = {
      kind: "event",
      schema_version: 1,
      tenant: SHOP_A.id,
      visitor_id: id,
      seq: 1000,
      received_at: Date.now(),
      event: { id: "legacy-1", type: "page_view", timestamp: Date.now(), properties: {} },
    };
    await runInDurableObject(stub, (_i, state) => {
      state.storage.sql.exec("CREATE TABLE outbox (seq INTEGER PRIMARY KEY, message TEXT NOT NULL)");
      state.storage.sql.exec("INSERT INTO outbox (seq, message) VALUES (?, ?)", 1000, JSON.stringify(legacy));
    });
    await abortAllDurableObjects(); // a deploy: the new code starts with fresh instances
    const fresh = sessionStub(env, SHOP_A.id, id); // stubs of an aborted object are broken
    expect((await getSession(v)).pending_forward).toBe(1);
    expect((await postEvents([make.productView("after")], { visitor: v })).status).toBe(202);
    const lines = await waitForVisitorLines(id, 3);
    expect(lines.map((l) => l.line.event.id)).toContain("legacy-1");
    expect(await runInDurableObject(fresh, (_i, state) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'outbox'").toArray())).toEqual([]);
    expect((await getSession(v)).pending_forward).toBe(0);
  });
});
