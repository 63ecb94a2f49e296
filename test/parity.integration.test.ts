import { describe, expect, it } from "vitest";
import type { EventMessage } from "../src/contracts/queue";
import { featuresFromLog } from "../src/offline/replay/replay-log";
import { RANKER_FEATURES, rankerFeatures } from "../src/models/ranker/features";
import { SHOP_A, getSession, make, newVisitor, postEvents, visitorIdOf } from "./helpers";
import { waitForVisitorLines } from "./r2";

const opts = { sessionGapMs: 1800 * 1000 }; // SESSION_GAP_SECONDS in wrangler.toml

describe("offline replay of the event log equals the online features", () => {
  it("for a stream with late events, duplicates, rejections and several visits", async () => {
    const v = await newVisitor();
    const id = visitorIdOf(v);
    const now = Date.now();
    const min = 60_000;
    const early = [make.pageView(now - 200 * min), make.productView("a", "shoes", 40, now - 199 * min), make.addToCart("a", 2, 40, now - 198 * min)];
    const batches: unknown[][] = [
      early,
      // A new visit, with an event arriving out of order and one invalid event.
      [make.productView("b", "bags", 120, now - 20 * min), make.productView("c", "shoes", 60, now - 25 * min), { type: "bogus" }],
      [make.search("trail shoes", now - 10 * min), make.consent(true, true, now - 9 * min), make.identify("c-9", "p@example.com", now - 8 * min)],
      [...early, make.removeFromCart("a", 1, now - 2 * min), make.productView("a", "shoes", 40, now - 1 * min)], // replays `early`
      [make.purchase(["a"], now - 30_000), make.recClick("d", now - 20_000)],
    ];
    let accepted = 0;
    for (const batch of batches) {
      const res = await postEvents(batch, { visitor: v });
      accepted += ((await res.json()) as { accepted: number }).accepted;
    }
    expect(accepted).toBe(12);

    const online = await getSession(v);
    const lines = (await waitForVisitorLines(id, accepted)).map((x) => x.line);
    // Delivery is at-least-once and unordered: shuffle and duplicate the log as a consumer might see it.
    const messy: EventMessage[] = [...lines].reverse().concat(lines.slice(0, 3));
    const offline = featuresFromLog(messy, `${SHOP_A.id}:${id}`, online.computed_at, opts);

    expect(offline).toEqual(online.features);
    // The ranker's rows, computed by the one feature function from either side, are equal too.
    const rankerInput = (features: Record<string, unknown>) => ({
      features,
      generators: { vsknn: { items: ["d", "a", "x"], scores: [1, 0.6, 0.2] }, session: { items: ["a", "b"], scores: [1, 0.5] } },
      items: {
        clicks: (item: string) => item.charCodeAt(0),
        catalog: {
          byId: new Map([
            ["a", { item_id: "a", category: "shoes", price: 40 }],
            ["d", { item_id: "d", category: "bags", price: 80 }],
          ]),
        },
        trending: new Map([["x", 1]]),
      },
    });
    const onlineRows = rankerFeatures(rankerInput(online.features));
    const offlineRows = rankerFeatures(rankerInput(offline ?? {}));
    expect(offlineRows.candidates).toEqual(["d", "a", "x", "b"]);
    expect([...offlineRows.values]).toEqual([...onlineRows.values]);
    const a = (name: string) => onlineRows.values[1 * onlineRows.width + RANKER_FEATURES.findIndex((f) => f.name === name)];
    expect([a("visit.count"), a("visit.is_last"), a("visitor.purchased"), a("visitor.lifetime_count")]).toEqual([1, 1, 1, 2]);
    expect(a("item.category_share")).toBeGreaterThan(0);
    expect(a("item.price_ratio")).toBeGreaterThan(0);
    // And the stream was non-trivial.
    expect(online.features.session).toMatchObject({ index: 2, active: true });
    expect(online.features.last_viewed_items).toEqual(["a", "b", "c", "a"]);
    expect(online.features.consent).toMatchObject({ analytics: true, personalization: true });
  });

  it("with consent withdrawn and granted again mid-stream (the same consent gate on both sides)", async () => {
    const v = await newVisitor();
    const id = visitorIdOf(v);
    const now = Date.now();
    const batches: unknown[][] = [
      [make.productView("a", "shoes", 40, now - 50_000), make.productView("b", "bags", 40, now - 49_000)],
      [make.consent(true, false, now - 40_000), make.productView("c", "shoes", 40, now - 39_000)], // analytics only: logged, not folded
      [make.consent(true, true, now - 30_000), make.productView("d", "bags", 40, now - 29_000)],
    ];
    for (const batch of batches) expect((await postEvents(batch, { visitor: v })).status).toBe(202);
    const online = await getSession(v);
    const lines = (await waitForVisitorLines(id, 6)).map((x) => x.line);
    expect(featuresFromLog(lines, `${SHOP_A.id}:${id}`, online.computed_at, opts)).toEqual(online.features);
    expect(online.features.last_viewed_items).toEqual(["d"]); // wiped at the withdrawal; "c" never folded
  });
});
