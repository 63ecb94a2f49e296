import { describe, expect, it } from "vitest";
import type { TrackedEvent } from "../src/contracts/events";
import { FEATURES, applyEvent, assertValidRegistry, featureSpecs, initialState, materialise, replay } from "../src/features";

const opts = { sessionGapMs: 30 * 60_000 };
const t0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const s = (sec: number) => t0 + sec * 1000;

const script: TrackedEvent[] = [
  { id: "1", type: "page_view", timestamp: s(0), properties: { path: "/" } },
  { id: "2", type: "product_view", timestamp: s(10), properties: { item_id: "A", category: "shoes", price: 40 } },
  { id: "3", type: "product_view", timestamp: s(20), properties: { item_id: "B", category: "shoes", price: 60 } },
  { id: "4", type: "product_view", timestamp: s(30), properties: { item_id: "A", category: "shoes", price: 40 } },
  { id: "5", type: "search", timestamp: s(40), properties: { query: "boots" } },
  { id: "6", type: "add_to_cart", timestamp: s(50), properties: { item_id: "A", quantity: 2, price: 40, currency: "EUR", category: "shoes" } },
  { id: "7", type: "product_view", timestamp: s(60), properties: { item_id: "C", category: "bags", price: 100 } },
  { id: "8", type: "add_to_cart", timestamp: s(70), properties: { item_id: "C", quantity: 1, price: 100, currency: "EUR", category: "bags" } },
  { id: "9", type: "remove_from_cart", timestamp: s(80), properties: { item_id: "A", quantity: 1 } },
];

// Decay by hand: weight × 0.5^(age / half-life), half-life one hour.
const d = (ageSec: number) => 0.5 ** (ageSec / 3600);
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

describe("feature definitions over a scripted sequence", () => {
  const state = replay(script, opts);

  it("equal values computed by hand at now = t0 + 120 s", () => {
    const f = materialise(state, s(120), opts);
    const counts = { page_view: 1, product_view: 4, search: 1, add_to_cart: 2, remove_from_cart: 1 };
    expect(f.event_counts_5m).toEqual(counts);
    expect(f.event_counts_1h).toEqual(counts);
    expect(f.event_counts_session).toEqual(counts);
    expect(f.seconds_since_last_product_view).toBe(60);
    expect(f.seconds_since_last_add_to_cart).toBe(50);
    expect(f.last_viewed_items).toEqual(["A", "B", "A", "C"]);
    expect(f.visit_viewed_items).toEqual(["A", "B", "A", "C"]);
    expect(f.cart).toEqual({
      items: [
        { item_id: "A", quantity: 1, price: 40 },
        { item_id: "C", quantity: 1, price: 100 },
      ],
      quantity: 2,
      value: 140,
      currency: "EUR",
      unpriced_lines: 0,
    });
    expect(f.category_affinity).toEqual([
      { category: "shoes", score: round6(d(110) + d(100) + d(90) + 3 * d(70)) },
      { category: "bags", score: round6(d(60) + 3 * d(50)) },
    ]);
    expect(f.session).toEqual({ index: 1, started_at: t0, length_s: 80, events: 9, active: true });
    expect(f.viewed_price_band).toEqual({ min: 40, median: 50, max: 100, count: 4 });
    expect(f.search_count).toBe(1);
    expect(f.purchased_items).toEqual([]);
    expect(f.consent).toBeNull();
    expect(f.identity).toBeNull();
  });

  it("slides the 5-minute window: at t0 + 6 min only events after t0 + 60 s count", () => {
    const f = materialise(state, s(360), opts);
    expect(f.event_counts_5m).toEqual({ add_to_cart: 1, remove_from_cart: 1 });
    expect(f.event_counts_1h).toEqual({ page_view: 1, product_view: 4, search: 1, add_to_cart: 2, remove_from_cart: 1 });
  });

  it("closes the visit after the gap and opens a new one on the next event", () => {
    const idle = materialise(state, s(80) + 31 * 60_000, opts);
    expect(idle.event_counts_session).toEqual({});
    expect(idle.session).toEqual({ index: 1, started_at: null, length_s: 0, events: 0, active: false });
    // Lifetime features survive the end of a visit; visit features do not.
    expect(idle.last_viewed_items).toEqual(["A", "B", "A", "C"]);
    expect(idle.visit_viewed_items).toEqual([]);

    const back = applyEvent(state, { id: "10", type: "page_view", timestamp: s(80) + 31 * 60_000, properties: {} }, opts);
    const f = materialise(back, s(80) + 32 * 60_000, opts);
    expect(f.event_counts_session).toEqual({ page_view: 1 });
    const view = applyEvent(back, { id: "10b", type: "product_view", timestamp: s(80) + 31 * 60_000 + 1000, properties: { item_id: "Q" } }, opts);
    expect(materialise(view, s(80) + 32 * 60_000, opts).visit_viewed_items).toEqual(["Q"]);
    expect(materialise(view, s(80) + 32 * 60_000, opts).last_viewed_items).toEqual(["A", "B", "A", "C", "Q"]);
    expect(f.session).toEqual({ index: 2, started_at: s(80) + 31 * 60_000, length_s: 0, events: 1, active: true });
  });

  it("expires a feature after its TTL (cart: 7 days)", () => {
    const f = materialise(state, s(80) + 8 * 86_400_000, opts);
    expect(f.cart).toEqual({ items: [], quantity: 0, value: 0, currency: null, unpriced_lines: 0 });
    expect(f.last_viewed_items).toEqual(["A", "B", "A", "C"]); // 30-day TTL
  });

  it("handles late events: recency uses the newest time, lists keep arrival order", () => {
    const late = applyEvent(state, { id: "11", type: "product_view", timestamp: s(5), properties: { item_id: "Z" } }, opts);
    const f = materialise(late, s(120), opts);
    expect(f.seconds_since_last_product_view).toBe(60);
    expect(f.last_viewed_items).toEqual(["A", "B", "A", "C", "Z"]);
    expect(f.session).toMatchObject({ index: 1, started_at: t0, events: 10 });
  });

  it("removes purchased lines from the cart and weighs purchases in the affinity", () => {
    const bought = applyEvent(state, { id: "12", type: "purchase", timestamp: s(90), properties: { order_id: "o1", items: [{ item_id: "C", quantity: 1, category: "bags" }] } }, opts);
    const f = materialise(bought, s(90), opts);
    expect((f.cart as { items: unknown[] }).items).toEqual([{ item_id: "A", quantity: 1, price: 40 }]);
    expect(f.purchased_items).toEqual(["C"]);
    expect(f.category_affinity).toEqual([
      { category: "bags", score: round6(d(30) + 3 * d(20) + 5) },
      { category: "shoes", score: round6(d(80) + d(70) + d(60) + 3 * d(40)) },
    ]);
  });

  it("keeps consent and identity from the latest event by event time", () => {
    let st = replay(
      [
        { id: "c2", type: "consent", timestamp: s(20), properties: { analytics: false, personalization: false } },
        { id: "c1", type: "consent", timestamp: s(10), properties: { analytics: true, personalization: true } },
        { id: "i1", type: "identify", timestamp: s(30), properties: { customer_hash: "h1" } },
      ],
      opts,
    );
    st = applyEvent(st, { id: "r", type: "remove_from_cart", timestamp: s(40), properties: { item_id: "nope" } }, opts);
    const f = materialise(st, s(60), opts);
    expect(f.consent).toEqual({ analytics: false, personalization: false, updated_at: s(20) });
    expect(f.identity).toEqual({ customer_hash: "h1", email_hash: null, identified_at: s(30) });
    expect(f.cart).toMatchObject({ items: [] });
  });

  it("is deterministic and survives a JSON round trip (the DO stores JSON)", () => {
    let step = initialState();
    for (const e of script) step = JSON.parse(JSON.stringify(applyEvent(step, e, opts)));
    expect(materialise(step, s(120), opts)).toEqual(materialise(state, s(120), opts));
  });

  it("resets a feature whose definition version changed", () => {
    const bumped = FEATURES.map((def) => (def.name === "search_count" ? { ...def, version: def.version + 1 } : def));
    expect(materialise(state, s(120), opts, bumped).search_count).toBe(0);
  });

  it("describes every feature declaratively and refuses duplicate names", () => {
    const specs = featureSpecs();
    expect(specs.map((x) => x.name)).toContain("category_affinity");
    for (const spec of specs) {
      expect(spec).toMatchObject({ entity: "visitor", version: expect.any(Number), ttl: expect.stringMatching(/^\d+[smhd]$/) });
      expect(spec.sources.length).toBeGreaterThan(0);
    }
    expect(() => assertValidRegistry([...FEATURES, FEATURES[0]!])).toThrow(/duplicate feature name/);
  });

  it("treats __proto__ as an ordinary category", () => {
    const st = replay([{ id: "x", type: "product_view", timestamp: s(0), properties: { item_id: "A", category: "__proto__" } }], opts);
    expect(materialise(st, s(0), opts).category_affinity).toEqual([{ category: "__proto__", score: 1 }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("counts a burst exactly in bounded state, and lets events leave the window bucket by bucket", () => {
    // 5,000 views in 4 minutes: a bot's rate. The 5-minute window keeps at most 60 buckets per type.
    const burst: TrackedEvent[] = Array.from({ length: 5000 }, (_, i) => ({ id: `b${i}`, type: "product_view", timestamp: s(0) + i * 48, properties: { item_id: "A" } }));
    const st = replay(burst, opts);
    expect(materialise(st, s(240), opts).event_counts_5m).toEqual({ product_view: 5000 });
    expect((st.slots.event_counts_5m!.s as unknown[]).length).toBeLessThanOrEqual(60);
    // 5-second buckets: the window is the current bucket and the 59 before it, so at t0 + 5 min the
    // first bucket (t0 … t0 + 5 s, 105 events) has left, and at t0 + 5 min 5 s the second (104 more).
    expect(materialise(st, s(300), opts).event_counts_5m).toEqual({ product_view: 5000 - 105 });
    expect(materialise(st, s(305), opts).event_counts_5m).toEqual({ product_view: 5000 - 105 - 104 });
    expect(materialise(st, s(240), opts).event_counts_1h).toEqual({ product_view: 5000 });
  });
});
