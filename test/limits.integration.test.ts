import { describe, expect, it } from "vitest";
import { LIMITS } from "../src/events/limits";
import { type BatchBody, SHOP_A, call, eventId, getSession, make, newVisitor, postEvents } from "./helpers";

const bytes = (x: unknown) => new TextEncoder().encode(JSON.stringify(x)).byteLength;

/** A valid purchase event whose compact JSON is exactly `target` bytes. */
function purchaseOfBytes(target: number) {
  const order = { order_id: "o", items: [] as Array<{ item_id: string; quantity: number; category?: string }> };
  const event = { id: eventId("big"), type: "purchase", timestamp: Date.now(), properties: order };
  const full = () => ({ item_id: "i".repeat(128), quantity: 1, category: "c".repeat(128) });
  while (bytes(event) + bytes(full()) + 1 <= target - 60) order.items.push(full());
  // Close the remaining gap by growing strings that each allow up to 128 characters.
  const last = { item_id: "j", quantity: 1, category: "k" };
  order.items.push(last);
  const pads: Array<[Record<string, unknown>, string]> = [
    [last, "item_id"],
    [last, "category"],
    [order, "order_id"],
  ];
  for (const [obj, key] of pads) {
    const room = Math.min(128 - String(obj[key]).length, target - bytes(event));
    obj[key] = String(obj[key]) + "x".repeat(Math.max(0, room));
  }
  if (bytes(event) !== target) throw new Error(`sized ${bytes(event)} instead of ${target}`);
  return event;
}

/** A request body of exactly `target` bytes: one small event plus JSON whitespace. */
function bodyOfBytes(target: number): string {
  const core = JSON.stringify({ events: [make.pageView()] });
  return core.slice(0, -1) + " ".repeat(target - core.length) + "}";
}

function postRaw(body: BodyInit, visitor: string, extraHeaders: Record<string, string> = {}) {
  return call("/v1/events", {
    method: "POST",
    headers: { "content-type": "application/json", "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": visitor, ...extraHeaders },
    body,
    // @ts-expect-error: `duplex` is required by fetch for streamed bodies but missing from the types
    duplex: "half",
  });
}

describe("limits, tested on both sides of each boundary", () => {
  it(`an event of exactly ${LIMITS.maxEventBytes} bytes is accepted; one byte more is rejected`, async () => {
    const v = await newVisitor();
    const atLimit = purchaseOfBytes(LIMITS.maxEventBytes);
    const over = purchaseOfBytes(LIMITS.maxEventBytes + 1);
    const res = await postEvents([atLimit, over], { visitor: v });
    const body = (await res.json()) as BatchBody;
    expect(res.status).toBe(202);
    expect(body.results[0], JSON.stringify(body.results[0])).toMatchObject({ status: "accepted" });
    expect(body.results[1]).toMatchObject({ status: "rejected", code: "event_too_large" });
    expect((await getSession(v)).events_applied).toBe(1);
  });

  it(`a body of exactly ${LIMITS.maxRequestBytes} bytes is accepted; one byte more is 413`, async () => {
    const v = await newVisitor();
    const ok = bodyOfBytes(LIMITS.maxRequestBytes);
    expect(new TextEncoder().encode(ok).byteLength).toBe(LIMITS.maxRequestBytes);
    expect((await postRaw(ok, v)).status).toBe(202);
    const tooBig = await postRaw(bodyOfBytes(LIMITS.maxRequestBytes + 1), v);
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ error: { code: "payload_too_large" } });
    expect((await getSession(v)).events_applied).toBe(1);
  });

  it("a streamed (chunked) body past the limit is cut off with 413", async () => {
    const v = await newVisitor();
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"events":['));
        if (sent > 40) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const res = await postRaw(stream, v);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "payload_too_large" } });
    expect(sent).toBeLessThan(20); // stopped reading well before the 2.6 MB the client offered
  });

  it("a declared Content-Length past the limit is refused before reading", async () => {
    const v = await newVisitor();
    const res = await postRaw(bodyOfBytes(LIMITS.maxRequestBytes + 10), v, { "content-length": String(LIMITS.maxRequestBytes + 10) });
    expect(res.status).toBe(413);
  });

  it(`${LIMITS.maxEventsPerRequest} events are accepted; ${LIMITS.maxEventsPerRequest + 1} are 413 too_many_events`, async () => {
    const v = await newVisitor();
    const batch = Array.from({ length: LIMITS.maxEventsPerRequest }, () => make.pageView());
    const res = await postEvents(batch, { visitor: v });
    expect(res.status).toBe(202);
    expect(((await res.json()) as BatchBody).accepted).toBe(LIMITS.maxEventsPerRequest);
    const over = await postEvents(
      Array.from({ length: LIMITS.maxEventsPerRequest + 1 }, () => make.pageView()),
      { visitor: v },
    );
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject({ error: { code: "too_many_events" } });
    const s = await getSession(v);
    expect(s.events_applied).toBe(LIMITS.maxEventsPerRequest);
    expect(s.pending_forward).toBe(0);
  });

  it("timestamps: up to 24 h ahead and 30 days old are accepted, past either bound rejected", async () => {
    const v = await newVisitor();
    const now = Date.now();
    const margin = 60_000;
    const res = await postEvents(
      [
        make.pageView(now + LIMITS.maxFutureMs - margin),
        make.pageView(now + LIMITS.maxFutureMs + margin),
        make.pageView(now - LIMITS.maxAgeMs + margin),
        make.pageView(now - LIMITS.maxAgeMs - margin),
        { ...make.pageView(), timestamp: new Date(now + LIMITS.maxFutureMs + margin).toISOString() },
        { ...make.pageView(), timestamp: new Date(now - LIMITS.maxAgeMs + margin).toISOString() },
      ],
      { visitor: v },
    );
    const body = (await res.json()) as BatchBody;
    expect(body.results.map((r) => r.code ?? r.status)).toEqual(["accepted", "timestamp_in_future", "accepted", "timestamp_too_old", "timestamp_in_future", "accepted"]);
    expect((await getSession(v)).events_applied).toBe(3);
  });

  it("event ids: 64 characters accepted, 65 rejected", async () => {
    const v = await newVisitor();
    const res = await postEvents(
      [
        { ...make.pageView(), id: "a".repeat(64) },
        { ...make.pageView(), id: "b".repeat(65) },
      ],
      { visitor: v },
    );
    const body = (await res.json()) as BatchBody;
    expect(body.results.map((r) => r.code ?? r.status)).toEqual(["accepted", "invalid_event"]);
  });
});
