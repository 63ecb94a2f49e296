import { describe, expect, it } from "vitest";
import { buildCooccurrence, createCooccurrenceRecommender } from "../src/models/knn/cooccurrence";
import { buildIndex, deserializeIndex, serializeIndex } from "../src/models/knn/index";
import { buildPopularity, createPopularityRecommender } from "../src/models/knn/popularity";
import { createVsknn } from "../src/models/knn/vsknn";
import { evaluateRecommender, evaluationPoints, quantile, rankIn, type Recommender } from "../src/offline/eval/metrics";

// Five training sessions, oldest first (session id = position). Item indices follow first appearance: A0 B1 C2 D3 E4 F5.
// Clicks: A3 C3 B2 D2 E1 F1. Sessions containing: A {0,2,4}, B {0,1}, C {0,2,3}, D {1,4}, E {2}, F {3}.
const train = [
  ["A", "B", "C"],
  ["B", "D"],
  ["A", "C", "E"],
  ["C", "F"],
  ["D", "A"],
];

describe("session-kNN index", () => {
  const index = buildIndex(train);
  const sessionsOf = (id: string) => {
    const ix = index.itemIndex.get(id)!;
    return [...index.itemSessions.subarray(index.itemSessionOffsets[ix], index.itemSessionOffsets[ix + 1])];
  };

  it("lists each item's sessions most recent first, and each session's distinct items", () => {
    expect(index.items).toEqual(["A", "B", "C", "D", "E", "F"]);
    expect(sessionsOf("A")).toEqual([4, 2, 0]);
    expect(sessionsOf("C")).toEqual([3, 2, 0]);
    expect([...index.clicks]).toEqual([3, 2, 3, 2, 1, 1]);
    expect([...index.sessionsWithItem]).toEqual([3, 2, 3, 2, 1, 1]);
    const dup = buildIndex([["A", "B", "A", "A"]]);
    expect([...dup.sessionItems]).toEqual([0, 1]);
    expect([...dup.clicks]).toEqual([3, 1]);
  });

  it("caps popular items to their most recent sessions but keeps the true count for IDF", () => {
    const capped = buildIndex(train, { maxSessionsPerItem: 2 });
    const a = capped.itemIndex.get("A")!;
    expect([...capped.itemSessions.subarray(capped.itemSessionOffsets[a], capped.itemSessionOffsets[a + 1])]).toEqual([4, 2]);
    expect(capped.sessionsWithItem[a]).toBe(3);
  });

  it("round-trips through bytes, also from an unaligned buffer, and rejects bad bytes", () => {
    const bytes = serializeIndex(index);
    const names = new TextEncoder().encode("A\nB\nC\nD\nE\nF").byteLength;
    expect(bytes.byteLength).toBe(32 + 4 * (6 + 6 + 7 + 12 + 6 + 12) + names);
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    for (const input of [bytes, shifted.subarray(1)]) {
      const back = deserializeIndex(input);
      expect(back.items).toEqual(index.items);
      expect(back.sessionCount).toBe(5);
      expect(back.itemIndex.get("E")).toBe(4);
      for (const key of ["clicks", "sessionsWithItem", "itemSessionOffsets", "itemSessions", "sessionItemOffsets", "sessionItems"] as const) {
        expect([...back[key]]).toEqual([...index[key]]);
      }
      expect(createVsknn(back).score(["A", "C"], 10)).toEqual(createVsknn(index).score(["A", "C"], 10));
    }
    const bad = bytes.slice();
    bad[0] = 0;
    expect(() => deserializeIndex(bad)).toThrow(RangeError);
    expect(() => deserializeIndex(bytes.subarray(0, bytes.byteLength - 1))).toThrow(RangeError);
    expect(deserializeIndex(serializeIndex(buildIndex([]))).items).toEqual([]);
  });
});

describe("V-SKNN on the toy sessions", () => {
  const index = buildIndex(train);

  it("scores prefix [A, C] by hand: div position weights, 1/step decay of the last shared item", () => {
    // Weights: A (pos 1 of 2) 1/2, C (pos 2) 1; similarity = Σ shared weights / 2 distinct prefix items.
    // S4 {D,A}: 0.25, last shared A is 2 steps back → vote 0.125.  S3 {C,F}: 0.5, step 1 → 0.5.
    // S2 {A,C,E}: 0.75 → 0.75.  S0 {A,B,C}: 0.75 → 0.75.
    const scored = createVsknn(index).score(["A", "C"], 10);
    const expected: Array<[string, number]> = [
      ["C", 0.5 + 0.75 + 0.75],
      ["A", 0.125 + 0.75 + 0.75],
      ["B", 0.75], // ties with E: B has more clicks
      ["E", 0.75],
      ["F", 0.5],
      ["D", 0.125],
    ];
    expect(scored.map((s) => s.item)).toEqual(expected.map(([id]) => id));
    scored.forEach((s, i) => expect(s.score).toBeCloseTo(expected[i]![1], 12));
    expect(createVsknn(index).recommend(["A", "C"], 3)).toEqual(["C", "A", "B"]);
  });

  it("samples the m most recent candidates and keeps the k most similar neighbours", () => {
    // m = 2: only S4 and S3. Scores A, D 0.125; C, F 0.5; ties by clicks.
    expect(createVsknn(index, { sampleSize: 2 }).recommend(["A", "C"], 10)).toEqual(["C", "F", "A", "D"]);
    // k = 2: S2 and S0 (0.75 each): A, C 1.5 (tie: A has the lower index), B, E 0.75.
    expect(createVsknn(index, { neighbours: 2 }).recommend(["A", "C"], 10)).toEqual(["A", "C", "B", "E"]);
    // k = 1: S2 and S0 tie on similarity; the more recent S2 wins, so E (not B) is recommended.
    expect(createVsknn(index, { neighbours: 1 }).recommend(["A", "C"], 10)).toEqual(["A", "C", "E"]);
  });

  it("gives a repeated item the weight of its latest click", () => {
    // [A, C, A]: A pos 3 of 3 → 1, C pos 2 → 2/3. S4: 1/2 (step 1); S3: 1/3, step 2 → 1/6; S2, S0: 5/6 (step 1).
    const scored = createVsknn(index).score(["A", "C", "A"], 10);
    expect(scored.map((s) => s.item)).toEqual(["A", "C", "B", "E", "D", "F"]);
    const byId = Object.fromEntries(scored.map((s) => [s.item, s.score]));
    expect(byId.A).toBeCloseTo(0.5 + 5 / 3, 12);
    expect(byId.C).toBeCloseTo(1 / 6 + 5 / 3, 12);
    expect(byId.F).toBeCloseTo(1 / 6, 12);
  });

  it("supports flat weights, IDF boosts and a popularity backfill", () => {
    // Flat weights, no decay: S4 0.5, S3 0.5, S2 1, S0 1.
    expect(createVsknn(index, { weighting: "same", matchDecay: "same" }).recommend(["A", "C"], 10)).toEqual(["A", "C", "B", "E", "D", "F"]);
    // IDF λ = 1: vote × (1 + ln(5 / sessions with item)).
    const byId = Object.fromEntries(
      createVsknn(index, { idf: 1 })
        .score(["A", "C"], 10)
        .map((s) => [s.item, s.score]),
    );
    expect(byId.C).toBeCloseTo(2 * (1 + Math.log(5 / 3)), 12);
    expect(byId.E).toBeCloseTo(0.75 * (1 + Math.log(5)), 12);
    expect(byId.F).toBeCloseTo(0.5 * (1 + Math.log(5)), 12);
    // Unknown items are ignored; with backfill the list is filled by clicks.
    expect(createVsknn(index).recommend(["Z"], 10)).toEqual([]);
    expect(createVsknn(index, { backfill: true }).recommend(["Z"], 4)).toEqual(["A", "C", "B", "D"]);
    expect(createVsknn(index, { backfill: true, sampleSize: 2 }).recommend(["A", "C"], 6)).toEqual(["C", "F", "A", "D", "B", "E"]);
  });

  it("rejects bad options when built", () => {
    expect(() => createVsknn(index, { sampleSize: 0 })).toThrow(RangeError);
    expect(() => createVsknn(index, { neighbours: 1.5 })).toThrow(RangeError);
  });
});

describe("co-occurrence and popularity baselines", () => {
  it("ranks same-session neighbours by cosine, from the last known item", () => {
    // With A: C in 2 sessions, B, D, E in 1. cos = co / √(n_A · n_j): C 2/3, E 1/√3, B = D 1/√6 (tie: lower index).
    const model = buildCooccurrence(train);
    const rec = createCooccurrenceRecommender(model);
    expect(rec.recommend(["A", "Z"], 10)).toEqual(["C", "E", "B", "D"]);
    const a = model.itemIndex.get("A")!;
    const weights = [...model.weights.subarray(model.offsets[a], model.offsets[a + 1])];
    [2 / 3, 1 / Math.sqrt(3), 1 / Math.sqrt(6), 1 / Math.sqrt(6)].forEach((w, i) => expect(weights[i]).toBeCloseTo(w, 6));
    expect(rec.recommend(["Z"], 10)).toEqual([]);
    const shrunk = buildCooccurrence(train, { shrinkage: 20 });
    expect(shrunk.weights[shrunk.offsets[a]!]).toBeCloseTo(2 / 23, 6);
  });

  it("counts directed next-click transitions in next mode", () => {
    // A → B and A → C once each: 1/√6 > 1/3. C → E and C → F tie at 1/√3: lower index first.
    const rec = createCooccurrenceRecommender(buildCooccurrence(train, { mode: "next", maxNeighbours: 5 }));
    expect(rec.recommend(["A"], 10)).toEqual(["B", "C"]);
    expect(rec.recommend(["C"], 1)).toEqual(["E"]);
    expect(rec.recommend(["F"], 10)).toEqual([]);
  });

  it("recommends the most clicked items, ties in first-seen order", () => {
    const model = buildPopularity(train);
    expect(model.items).toEqual(["A", "C", "B", "D", "E", "F"]);
    expect(model.counts).toEqual([3, 3, 2, 2, 1, 1]);
    expect(createPopularityRecommender(model).recommend(["F"], 3)).toEqual(["A", "C", "B"]);
  });
});

describe("next-item metrics", () => {
  const vocabulary = new Set(["A", "B", "C", "D", "E", "F"]);
  // Points: [A]→B (rank 1), [A,B]→C (rank 3), [C]→C (repeat, rank 2), [D]→X (unknown: a miss although listed).
  const test = [["A", "B", "C"], ["C", "C"], ["D", "X"], ["E"]];
  const lists: Record<string, string[]> = { A: ["B", "C", "D"], "A B": ["A", "D", "C"], C: ["A", "C", "B"], D: ["X", "A", "B"] };
  const fixed: Recommender = { name: "fixed", recommend: (prefix) => lists[prefix.join(" ")] ?? [] };

  it("computes HR and MRR at each cut-off, split into repeat and new targets, and coverage", async () => {
    const progress: Array<[number, number]> = [];
    const r = await evaluateRecommender(fixed, test, { vocabulary, cutoffs: [1, 3], coverageAt: 3, progressEvery: 2, onProgress: (d, t) => progress.push([d, t]) });
    expect(r.all.cases).toBe(4);
    expect(r.all.hr[1]).toBeCloseTo(1 / 4, 12);
    expect(r.all.hr[3]).toBeCloseTo(3 / 4, 12);
    expect(r.all.mrr[1]).toBeCloseTo(1 / 4, 12);
    expect(r.all.mrr[3]).toBeCloseTo((1 + 1 / 3 + 1 / 2) / 4, 12);
    expect(r.repeat).toEqual({ cases: 1, hr: { 1: 0, 3: 1 }, mrr: { 1: 0, 3: 0.5 } });
    expect(r.fresh.cases).toBe(3);
    expect(r.fresh.hr[3]).toBeCloseTo(2 / 3, 12);
    expect(r.fresh.mrr[3]).toBeCloseTo((1 + 1 / 3) / 3, 12);
    expect(r.unknownTargets).toBe(1);
    // Recommended in a top 3: B C D A X; X is outside the vocabulary → 4 of 6 items.
    expect(r.coverage).toBeCloseTo(4 / 6, 12);
    expect(progress).toEqual([
      [2, 4],
      [4, 4],
    ]);
    expect(r.latencyMs.p99).toBeGreaterThanOrEqual(0);
  });

  it("awaits async recommenders and gives the same numbers", async () => {
    const asyncRec: Recommender = { name: "async", recommend: async (prefix, k) => fixed.recommend(prefix, k) };
    const a = await evaluateRecommender(asyncRec, test, { vocabulary, cutoffs: [1, 3], coverageAt: 3 });
    const b = await evaluateRecommender(fixed, test, { vocabulary, cutoffs: [1, 3], coverageAt: 3 });
    expect({ ...a, name: "", latencyMs: null }).toEqual({ ...b, name: "", latencyMs: null });
  });

  it("has small helpers with exact answers", async () => {
    expect(evaluationPoints(test)).toBe(4);
    expect(rankIn(["a", "b", "c"], "c", 3)).toBe(3);
    expect(rankIn(["a", "b", "c"], "c", 2)).toBe(Infinity);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([1, 2, 3, 4], 0.99)).toBe(4);
    await expect(evaluateRecommender(fixed, test, { vocabulary, cutoffs: [0] })).rejects.toThrow(RangeError);
  });
});
