import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SHOP_A, SHOP_B, call, getSession } from "./helpers";

const WRITE_KEY = "test-segment-write-key-shop-a-0123456789";
const basic = (key: string) => `Basic ${btoa(`${key}:`)}`;
let n = 0;
const mid = () => `msg-${Date.now().toString(36)}-${n++}`;
const anon = () => `anon-${crypto.randomUUID()}`;

interface SegmentBody {
  success: boolean;
  accepted: number;
  duplicate: number;
  rejected: number;
  results: Array<{ index: number; messageId: string | null; status: string; code?: string }>;
  visitors?: Record<string, string>;
}

async function batch(messages: unknown[], opts: { key?: string; headers?: Record<string, string>; extra?: Record<string, unknown> } = {}) {
  const res = await call("/v1/batch", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: basic(opts.key ?? WRITE_KEY), ...opts.headers },
    body: JSON.stringify({ batch: messages, sentAt: new Date().toISOString(), ...opts.extra }),
  });
  return { res, body: (await res.json()) as SegmentBody & { error?: { code: string } } };
}

describe("Segment HTTP Tracking API", () => {
  it("maps the E-commerce Spec v2 events and page onto our events, in the session of the anonymousId", async () => {
    const a = anon();
    const now = new Date().toISOString();
    const { res, body } = await batch([
      { type: "page", messageId: mid(), anonymousId: a, timestamp: now, category: "home", properties: { path: "/" } },
      { type: "track", event: "Product Viewed", messageId: mid(), anonymousId: a, timestamp: now, properties: { product_id: "sku-1", category: "shoes", price: 30, currency: "EUR", name: "Runner" } },
      { type: "track", event: "Product Added", messageId: mid(), anonymousId: a, timestamp: now, properties: { product_id: "sku-1", quantity: 2, price: 30, currency: "EUR" } },
      { type: "track", event: "Products Searched", messageId: mid(), anonymousId: a, timestamp: now, properties: { query: "red shoes" } },
      {
        type: "track",
        event: "Order Completed",
        messageId: mid(),
        anonymousId: a,
        timestamp: now,
        properties: { order_id: "o-1", total: 60, currency: "EUR", products: [{ product_id: "sku-1", quantity: 2, price: 30 }] },
      },
    ]);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ success: true, accepted: 5, duplicate: 0, rejected: 0 });
    const token = body.visitors![a]!;
    const s = await getSession(token);
    expect(s.features.event_counts_session).toEqual({ page_view: 1, product_view: 1, add_to_cart: 1, search: 1, purchase: 1 });
    expect(s.features.purchased_items).toEqual(["sku-1"]);
  });

  it("messageId is the idempotency key: a retried batch is all duplicates", async () => {
    const a = anon();
    const messages = [{ type: "track", event: "Product Viewed", messageId: mid(), anonymousId: a, properties: { product_id: "sku-2" } }];
    expect((await batch(messages)).body).toMatchObject({ accepted: 1, duplicate: 0 });
    const again = await batch(messages, { headers: { "x-retry-count": "1" } });
    expect(again.body).toMatchObject({ accepted: 0, duplicate: 1 });
    expect((await getSession(again.body.visitors![a]!)).events_applied).toBe(1);
  });

  it("a browser source (publishable key) may send browsing events but not identify or Order Completed, and learns no tokens", async () => {
    const a = anon();
    const { res, body } = await batch(
      [
        { type: "track", event: "Product Viewed", messageId: mid(), anonymousId: a, userId: null, properties: { product_id: "sku-3" } },
        { type: "identify", messageId: mid(), anonymousId: a, userId: "cust-1", traits: { email: "ada@example.com" } },
        { type: "track", event: "Order Completed", messageId: mid(), anonymousId: a, properties: { order_id: "o-2", products: [{ product_id: "sku-3" }] } },
      ],
      { key: SHOP_A.key, headers: { "content-type": "text/plain", origin: SHOP_A.origin } },
    );
    expect(res.status).toBe(200);
    expect(body.results.map((r) => r.code ?? r.status)).toEqual(["accepted", "token_required", "token_required"]);
    expect(body.visitors).toBeUndefined();
  });

  it("refuses unmapped track events and unsupported calls with a code, per message", async () => {
    const a = anon();
    const { body } = await batch([
      { type: "track", event: "Newsletter Subscribed", messageId: mid(), anonymousId: a },
      { type: "track", event: "Product Clicked", messageId: mid(), anonymousId: a, properties: { product_id: "sku-1" } },
      { type: "screen", messageId: mid(), anonymousId: a, name: "Home" },
      { type: "track", event: "Product Viewed", messageId: mid(), properties: { product_id: "sku-1" } },
      { type: "track", event: "Product Viewed", messageId: mid(), anonymousId: a, properties: { product_id: "a@b.example" } },
      { type: "track", event: "Product Viewed", messageId: mid(), anonymousId: a, properties: { product_id: "sku-1", pad: "x".repeat(33 * 1024) } },
    ]);
    expect(body.results.map((r) => r.code)).toEqual(["unmapped_event", "unmapped_event", "unsupported_call", "invalid_event", "invalid_event", "event_too_large"]);
  });

  it("corrects the client clock with sentAt", async () => {
    const a = anon();
    const clientNow = Date.now() + 3 * 24 * 3600 * 1000; // a client clock three days ahead
    const { body } = await batch([{ type: "track", event: "Product Viewed", messageId: mid(), anonymousId: a, timestamp: new Date(clientNow).toISOString(), properties: { product_id: "sku-4" } }], {
      extra: { sentAt: new Date(clientNow).toISOString() },
    });
    expect(body.accepted).toBe(1);
    const s = await getSession(body.visitors![a]!);
    expect(Math.abs(s.recent_events[0]!.timestamp - Date.now())).toBeLessThan(60_000);
  });

  it("a batch-level context applies to messages without their own (page path from context.page)", async () => {
    const a = anon();
    const { body } = await batch(
      [
        { type: "page", messageId: mid(), anonymousId: a },
        { type: "page", messageId: mid(), anonymousId: a, context: { page: { path: "/own" } } },
      ],
      { extra: { context: { page: { path: "/shared" } } } },
    );
    expect(body.accepted).toBe(2);
    const s = await getSession(body.visitors![a]!);
    expect(s.recent_events.map((e) => e.properties.path).sort()).toEqual(["/own", "/shared"]);
  });

  it("single-message endpoints take the type from the path", async () => {
    const a = anon();
    const res = await call("/v1/track", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basic(WRITE_KEY) },
      body: JSON.stringify({ event: "Product Viewed", messageId: mid(), anonymousId: a, properties: { product_id: "sku-5" } }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ accepted: 1 });
  });

  it("answers bad requests with the error envelope and a stable code", async () => {
    const req = (path: string, init: { headers: Record<string, string>; body: string }) =>
      call(path, { method: "POST", ...init }).then(async (r) => ({ status: r.status, code: ((await r.json()) as { error: { code: string } }).error.code }));
    const json = { "content-type": "application/json" };
    expect(await req("/v1/batch", { headers: json, body: JSON.stringify({ batch: [] }) })).toEqual({ status: 401, code: "missing_key" });
    expect(await req("/v1/batch", { headers: { ...json, authorization: basic("wrong-key-wrong-key-wrong-key-wrong") }, body: JSON.stringify({ batch: [{}] }) })).toEqual({
      status: 401,
      code: "unknown_key",
    });
    expect(await req("/v1/batch", { headers: { ...json, authorization: "Basic !!!" }, body: "{}" })).toEqual({ status: 401, code: "unknown_key" });
    expect(await req("/v1/batch", { headers: { ...json, authorization: basic(WRITE_KEY) }, body: JSON.stringify({ batch: [] }) })).toEqual({ status: 400, code: "empty_batch" });
    expect(await req("/v1/batch", { headers: { ...json, authorization: basic(WRITE_KEY) }, body: JSON.stringify({ events: [] }) })).toEqual({ status: 400, code: "invalid_body" });
    expect(await req("/v1/batch", { headers: { ...json, authorization: basic(WRITE_KEY) }, body: "{" })).toEqual({ status: 400, code: "malformed_json" });
    expect(await req("/v1/batch", { headers: { "content-type": "text/html", authorization: basic(WRITE_KEY) }, body: "{}" })).toEqual({ status: 415, code: "unsupported_media_type" });
    const big = JSON.stringify({ batch: [{ type: "page", anonymousId: "a", properties: { path: "x".repeat(501 * 1024) } }] });
    expect(await req("/v1/batch", { headers: { ...json, authorization: basic(WRITE_KEY) }, body: big })).toEqual({ status: 413, code: "payload_too_large" });
    expect(await req("/v1/track", { headers: { ...json, authorization: basic(WRITE_KEY) }, body: JSON.stringify({ event: "x", properties: { p: "x".repeat(33 * 1024) } }) })).toEqual({
      status: 413,
      code: "payload_too_large",
    });
    // Shop A's write key is not shop B's; a browser source from a foreign origin is refused.
    expect(await req("/v1/batch", { headers: { ...json, authorization: basic(SHOP_B.key), origin: SHOP_A.origin }, body: JSON.stringify({ batch: [{ type: "page", anonymousId: "a" }] }) })).toEqual({
      status: 403,
      code: "forbidden_origin",
    });
  });
});

describe("Segment API rate limits", () => {
  it("a browser source is limited per client address although it sends Basic auth; a server source is not", async () => {
    const send = (key: string) =>
      call("/v1/batch", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: basic(key), "cf-connecting-ip": "198.51.100.99" },
        body: JSON.stringify({ batch: [{ type: "page", messageId: mid(), anonymousId: anon() }] }),
      });
    // The suite's limit is 40 per 10 s per address (vitest.config.ts).
    const browser = await Promise.all(Array.from({ length: 60 }, () => send(SHOP_A.key)));
    const limited = browser.find((r) => r.status === 429);
    expect(limited).toBeDefined();
    expect(limited!.headers.get("retry-after")).toBe("10");
    expect(((await limited!.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    const server = await send(WRITE_KEY);
    expect(server.status).toBe(200);
  });
});

describe("Segment API under arbitrary input", () => {
  it("never answers 500: any JSON as a batch, a message or a field value is a 200 with per-message codes or a 4xx envelope", async () => {
    const message = fc.oneof(
      fc.anything(),
      fc.record(
        {
          type: fc.constantFrom("track", "page", "identify", "screen", "x"),
          event: fc.oneof(fc.string(), fc.anything()),
          anonymousId: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
          messageId: fc.oneof(fc.string(), fc.anything()),
          timestamp: fc.oneof(
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            fc.string(),
          ),
          properties: fc.anything(),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 5 }), fc.oneof(fc.constant(undefined), fc.string(), fc.anything()), async (batchBody, sentAt) => {
        const res = await call("/v1/batch", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: basic(WRITE_KEY) },
          body: JSON.stringify({ batch: batchBody, ...(sentAt === undefined ? {} : { sentAt }) }),
        });
        const body = (await res.json()) as SegmentBody & { error?: { code: string } };
        expect(res.status === 200 || (res.status >= 400 && res.status < 500), `${res.status} ${JSON.stringify(body)}`).toBe(true);
        if (res.status === 200) expect(body.results).toHaveLength(batchBody.length);
        else expect(body.error?.code).toEqual(expect.any(String));
      }),
      { numRuns: 150 },
    );
  });

  it("a browser source writes into its own signed visitor's session, never into one named by an anonymousId", async () => {
    const victim = anon();
    // The shop's server source knows the victim by anonymousId.
    const server = await batch([{ type: "track", event: "Product Viewed", messageId: mid(), anonymousId: victim, properties: { product_id: "sku-own" } }]);
    const victimToken = server.body.visitors![victim]!;
    // Someone who learnt that anonymousId sends from a browser (publishable key) under it.
    const attacker = await batch([{ type: "track", event: "Product Viewed", messageId: mid(), anonymousId: victim, properties: { product_id: "sku-injected" } }], { key: SHOP_A.key });
    expect(attacker.body).toMatchObject({ accepted: 1 });
    expect(attacker.body.visitors).toBeUndefined();
    expect((await getSession(victimToken)).features.last_viewed_items).toEqual(["sku-own"]);
    // The browser's events are in the session of the visitor token it was given.
    const issued = attacker.res.headers.get("x-edgewise-visitor")!;
    expect((await getSession(issued)).features.last_viewed_items).toEqual(["sku-injected"]);
    const again = await batch([{ type: "track", event: "Product Viewed", messageId: mid(), anonymousId: anon(), properties: { product_id: "sku-2nd" } }], {
      key: SHOP_A.key,
      headers: { "x-edgewise-visitor": issued },
    });
    expect(again.body.accepted).toBe(1);
    expect((await getSession(issued)).features.last_viewed_items).toEqual(["sku-injected", "sku-2nd"]);
  });

  it("a server source reaches the browser's session by its signed visitor token; a forged one is refused", async () => {
    const browser = await batch([{ type: "page", messageId: mid(), anonymousId: anon(), properties: { path: "/" } }], { key: SHOP_A.key });
    const token = browser.res.headers.get("x-edgewise-visitor")!;
    const order = {
      type: "track",
      event: "Order Completed",
      messageId: mid(),
      anonymousId: anon(),
      context: { edgewise_visitor: token },
      properties: { order_id: `o-${mid()}`, products: [{ product_id: "sku-9", quantity: 1 }] },
    };
    const res = await batch([order, { ...order, messageId: mid(), context: { edgewise_visitor: `${token.slice(0, -4)}AAAA` } }]);
    expect(res.body.results.map((r) => r.code ?? r.status)).toEqual(["accepted", "invalid_event"]);
    expect((await getSession(token)).features.purchased_items).toEqual(["sku-9"]);
  });
});
