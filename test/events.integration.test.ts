import { describe, expect, it } from "vitest";
import { type BatchBody, SHOP_A, call, eventId, getSession, make, newVisitor, postEvents } from "./helpers";

async function post(visitor: string, events: unknown[]) {
  const res = await postEvents(events, { visitor });
  return { res, body: (await res.json()) as BatchBody };
}

describe("POST /v1/events: each event type is accepted and reflected in features", () => {
  it("page_view", async () => {
    const v = await newVisitor();
    const { res, body } = await post(v, [make.pageView()]);
    expect(res.status).toBe(202);
    expect(body).toMatchObject({ accepted: 1, duplicate: 0, rejected: 0 });
    expect((await getSession(v)).features.event_counts_session).toEqual({ page_view: 1 });
  });

  it("product_view", async () => {
    const v = await newVisitor();
    await post(v, [make.productView("sku-1", "shoes", 30)]);
    const f = (await getSession(v)).features;
    expect(f.last_viewed_items).toEqual(["sku-1"]);
    expect(f.viewed_price_band).toEqual({ min: 30, median: 30, max: 30, count: 1 });
    expect(f.seconds_since_last_product_view).toEqual(expect.any(Number));
  });

  it("search (query scrubbed of emails and long numbers before storage)", async () => {
    const v = await newVisitor();
    await post(v, [make.search("order 1234 5678 for jane.doe@example.com")]);
    const s = await getSession(v);
    expect(s.features.search_count).toBe(1);
    expect(s.recent_events[0]!.properties.query).toBe("order [number] for [email]");
  });

  it("add_to_cart and remove_from_cart", async () => {
    const v = await newVisitor();
    await post(v, [make.addToCart("sku-1", 3, 10), make.addToCart("sku-2", 1, 5), make.removeFromCart("sku-1", 1), make.removeFromCart("sku-2")]);
    const f = (await getSession(v)).features;
    expect(f.cart).toEqual({ items: [{ item_id: "sku-1", quantity: 2, price: 10 }], quantity: 2, value: 20, currency: "EUR", unpriced_lines: 0 });
    expect(f.seconds_since_last_add_to_cart).toEqual(expect.any(Number));
  });

  it("purchase empties the purchased lines", async () => {
    const v = await newVisitor();
    await post(v, [make.addToCart("sku-1"), make.purchase(["sku-1"])]);
    const f = (await getSession(v)).features;
    expect(f.cart).toMatchObject({ items: [], value: 0 });
    expect(f.event_counts_session).toEqual({ add_to_cart: 1, purchase: 1 });
  });

  it("recommendation_click", async () => {
    const v = await newVisitor();
    await post(v, [make.recClick("sku-9")]);
    const s = await getSession(v);
    expect(s.features.event_counts_session).toEqual({ recommendation_click: 1 });
    expect(s.recent_events[0]!.properties).toEqual({ impression_id: "imp-1", item_id: "sku-9", position: 2 });
  });

  it("identify stores only keyed HMACs, never the customer id or email", async () => {
    const v = await newVisitor();
    await post(v, [make.identify("cust-42", "Ada.Lovelace@Example.com")]);
    const s = await getSession(v);
    const identity = s.features.identity as { customer_hash: string };
    expect(identity.customer_hash).toMatch(/^[0-9a-f]{64}$/);
    const stored = JSON.stringify(s);
    expect(stored).not.toContain("cust-42");
    expect(stored.toLowerCase()).not.toContain("lovelace");
    expect(s.recent_events[0]!.properties).toEqual({ key_id: "1", customer_hash: identity.customer_hash, email_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // Same email in another case → same pseudonym.
    const v2 = await newVisitor();
    await post(v2, [make.identify("cust-42", "  ada.lovelace@example.COM ")]);
    const s2 = await getSession(v2);
    expect(s2.recent_events[0]!.properties.email_hash).toBe(s.recent_events[0]!.properties.email_hash);
  });

  it("consent", async () => {
    const v = await newVisitor();
    // Stamped hours ahead by the client: consent is ordered by when we received it (issue 15, finding 5).
    const ev = make.consent(true, false, Date.now() + 3 * 3600_000);
    const before = Date.now();
    await post(v, [ev]);
    const consent = (await getSession(v)).features.consent as { updated_at: number };
    expect(consent).toEqual({ analytics: true, personalization: false, updated_at: expect.any(Number) });
    expect(consent.updated_at).toBeGreaterThanOrEqual(before);
    expect(consent.updated_at).toBeLessThanOrEqual(Date.now());
  });

  it("accepts ISO 8601 timestamps and corrects client clock skew with sent_at", async () => {
    const v = await newVisitor();
    const clientNow = Date.now() - 3_600_000; // the client's clock is one hour behind
    const res = await postEvents([{ ...make.pageView(), timestamp: new Date(clientNow - 5000).toISOString() }], {
      visitor: v,
      extra: { sent_at: clientNow },
    });
    expect(res.status).toBe(202);
    const s = await getSession(v);
    const ts = s.recent_events[0]!.timestamp;
    expect(Math.abs(ts - (Date.now() - 5000))).toBeLessThan(3000);
  });
});

describe("POST /v1/events: partial success", () => {
  it("answers per index and applies the valid events of a mixed batch exactly once", async () => {
    const v = await newVisitor();
    const good1 = make.productView("sku-1");
    const good2 = make.productView("sku-2");
    const events = [
      good1,
      { ...make.pageView(), type: "teleport" },
      { ...make.productView("x"), properties: { category: "no item id" } },
      "not an object",
      { ...make.pageView(), tenant: "shop-b" },
      good2,
      { ...good1 }, // same id again in the same batch
    ];
    const { res, body } = await post(v, events);
    expect(res.status).toBe(202);
    expect(body.results.map((r) => [r.index, r.status, r.code])).toEqual([
      [0, "accepted", undefined],
      [1, "rejected", "unknown_type"],
      [2, "rejected", "invalid_event"],
      [3, "rejected", "invalid_event"],
      [4, "rejected", "invalid_event"],
      [5, "accepted", undefined],
      [6, "duplicate", undefined],
    ]);
    expect(body.results[4]!.message).toContain("tenant");
    expect(body).toMatchObject({ accepted: 2, duplicate: 1, rejected: 4 });
    const s = await getSession(v);
    expect(s.events_applied).toBe(2);
    expect(s.features.last_viewed_items).toEqual(["sku-1", "sku-2"]);
  });

  it("never takes server-owned fields from the body", async () => {
    const v = await newVisitor();
    for (const field of ["tenant", "visitor_id", "received_at", "consent", "seq"]) {
      const { body } = await post(v, [{ ...make.pageView(), [field]: "x" }]);
      expect(body.results[0]).toMatchObject({ status: "rejected", code: "invalid_event" });
    }
    const res = await postEvents([make.pageView()], { visitor: v, extra: { tenant: "shop-b" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_body" } });
    expect((await getSession(v)).events_applied).toBe(0);
  });

  it("rejects bad ids, types and values per event with stable codes", async () => {
    const v = await newVisitor();
    const bad = [
      { ...make.pageView(), id: "" },
      { ...make.pageView(), id: "x".repeat(65) },
      { ...make.pageView(), id: "has space" },
      { ...make.pageView(), timestamp: "yesterday" },
      { ...make.pageView(), timestamp: "2026-11-25T10:00:00" }, // no zone
      { ...make.pageView(), timestamp: 1.5 },
      { ...make.addToCart("a"), properties: { item_id: "a", quantity: 0 } },
      { ...make.productView("a"), properties: { item_id: "a", price: -1 } },
      { ...make.productView("a"), properties: { item_id: "line\nbreak" } },
      { ...make.search(), properties: { query: "lone \udc00 surrogate" } },
      { ...make.productView("a"), properties: { item_id: "a", currency: "euro" } },
      { ...make.purchase(["a"]), properties: { order_id: "o", items: [] } },
      { ...make.identify(), properties: { customer_id: "c", email: "not-an-email" } },
      { ...make.consent(), properties: { analytics: "yes", personalization: true } },
      { type: "page_view" },
      { ...make.pageView(), ["__proto__"]: { polluted: true } },
    ];
    const { res, body } = await post(v, bad);
    expect(res.status).toBe(202);
    expect(body.rejected).toBe(bad.length);
    for (const r of body.results) expect(r).toMatchObject({ status: "rejected", code: "invalid_event", message: expect.any(String) });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await getSession(v)).events_applied).toBe(0);
  });

  it("a timestamp of epoch seconds is rejected as too old, with a hint", async () => {
    const v = await newVisitor();
    const { body } = await post(v, [{ ...make.pageView(), timestamp: Math.floor(Date.now() / 1000) }]);
    expect(body.results[0]).toMatchObject({ code: "timestamp_too_old", message: expect.stringContaining("milliseconds") });
  });
});

describe("POST /v1/events: request errors change nothing", () => {
  async function expectError(res: Response, status: number, code: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toContain("application/json");
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(0);
  }
  const headers = (v: string, type = "application/json") => ({ "content-type": type, "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": v });

  it("malformed JSON → 400 malformed_json", async () => {
    const v = await newVisitor();
    await expectError(await call("/v1/events", { method: "POST", headers: headers(v), body: '{"events": [' }), 400, "malformed_json");
    await expectError(await call("/v1/events", { method: "POST", headers: headers(v), body: "" }), 400, "malformed_json");
    await expectError(await call("/v1/events", { method: "POST", headers: headers(v), body: new Uint8Array([0x7b, 0xff, 0x7d]) }), 400, "malformed_json");
    expect((await getSession(v)).events_applied).toBe(0);
  });

  it("wrong content type → 415 unsupported_media_type", async () => {
    const v = await newVisitor();
    const body = JSON.stringify({ events: [make.pageView()] });
    await expectError(await call("/v1/events", { method: "POST", headers: headers(v, "text/plain"), body }), 415, "unsupported_media_type");
    await expectError(await call("/v1/events", { method: "POST", headers: headers(v, "application/x-www-form-urlencoded"), body }), 415, "unsupported_media_type");
    const { "content-type": _omit, ...noType } = headers(v);
    await expectError(await call("/v1/events", { method: "POST", headers: noType, body }), 415, "unsupported_media_type");
    // A charset parameter is fine.
    const ok = await call("/v1/events", { method: "POST", headers: headers(v, "application/json; charset=utf-8"), body });
    expect(ok.status).toBe(202);
    expect((await getSession(v)).events_applied).toBe(1);
  });

  it("wrong body shapes → 400 invalid_body / empty_batch", async () => {
    const v = await newVisitor();
    for (const body of ["[]", "42", "null", '{"events": {}}', '{"evts": []}']) {
      await expectError(await call("/v1/events", { method: "POST", headers: headers(v), body }), 400, "invalid_body");
    }
    await expectError(await call("/v1/events", { method: "POST", headers: headers(v), body: '{"events": []}' }), 400, "empty_batch");
    expect((await getSession(v)).events_applied).toBe(0);
  });

  it("missing or unknown publishable key → 401", async () => {
    await expectError(await call("/v1/events", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }), 401, "missing_key");
    await expectError(await call("/v1/events", { method: "POST", headers: { "content-type": "application/json", "x-edgewise-key": "pk_nope_00000" }, body: "{}" }), 401, "unknown_key");
  });

  it("accepts the key as ?key= for beacons", async () => {
    const res = await call(`/v1/events?key=${SHOP_A.key}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events: [make.pageView()] }),
    });
    expect(res.status).toBe(202);
  });

  it("unknown routes and methods answer JSON 404 / 405", async () => {
    await expectError(await call("/v2/nothing"), 404, "not_found");
    await expectError(await call("/v1/events", { headers: { "x-edgewise-key": SHOP_A.key } }), 405, "method_not_allowed");
  });

  it("issues distinct ids", () => {
    expect(eventId()).not.toBe(eventId());
  });
});
