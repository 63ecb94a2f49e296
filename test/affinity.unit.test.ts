import { describe, expect, it } from "vitest";
import { parseCatalog } from "../src/catalog/catalog";
import { affinityShares, preferAffinity } from "../src/recommend/affinity";

const catalog = parseCatalog({
  items: [
    { item_id: "a1", category: "shoes" },
    { item_id: "a2", category: "shoes" },
    { item_id: "b1", category: "bags" },
    { item_id: "b2", category: "bags" },
    { item_id: "c1", category: "hats" },
    { item_id: "x" },
  ],
});
const list = (...ids: string[]) => ids.map((item_id, i) => ({ item_id, score: 100 - i }));
const order = (xs: Array<{ item_id: string }>) => xs.map((x) => x.item_id);

describe("long-term category affinity", () => {
  it("turns a profile's affinity into shares of its strongest category, or null when there is nothing to use", () => {
    expect(
      affinityShares([
        { category: "bags", score: 4 },
        { category: "shoes", score: 1 },
      ]),
    ).toEqual(
      new Map([
        ["bags", 1],
        ["shoes", 0.25],
      ]),
    );
    expect(affinityShares(undefined)).toBeNull();
    expect(affinityShares([])).toBeNull();
    expect(affinityShares([{ category: "bags", score: 0 }])).toBeNull();
    // Malformed entries (a profile written by an older version) are ignored, not fatal.
    expect(affinityShares([{ category: 3, score: 1 }, null, { category: "hats", score: 2 }])).toEqual(new Map([["hats", 1]]));
  });

  it("leans the ranking toward the person's categories by rank, keeping order otherwise", () => {
    const shares = affinityShares([{ category: "bags", score: 1 }]);
    // Ranked a1 a2 b1 b2 c1: keys (1 − i/5)·(1 + 0.5·share) → a1 1.0, a2 0.8, b1 0.9, b2 0.6, c1 0.2.
    expect(order(preferAffinity(list("a1", "a2", "b1", "b2", "c1"), shares, catalog, 0.5))).toEqual(["a1", "b1", "a2", "b2", "c1"]);
    // A stronger weight pulls bags to the top; items without a category keep their relative place.
    expect(order(preferAffinity(list("a1", "x", "b1", "b2"), shares, catalog, 5))).toEqual(["b1", "b2", "a1", "x"]);
  });

  it("changes nothing without a profile, without a catalog, or with weight 0", () => {
    const ranked = list("a1", "a2", "b1");
    const shares = affinityShares([{ category: "bags", score: 1 }]);
    expect(order(preferAffinity(ranked, null, catalog, 0.5))).toEqual(["a1", "a2", "b1"]);
    expect(order(preferAffinity(ranked, shares, null, 0.5))).toEqual(["a1", "a2", "b1"]);
    expect(order(preferAffinity(ranked, shares, catalog, 0))).toEqual(["a1", "a2", "b1"]);
  });
});
