import { describe, expect, it } from "vitest";
import { ModelLoadError } from "../src/models/errors";
import { type Manifest, checkManifestAgainstFeatures } from "../src/models/manifest";
import { ABSENT_RANK, MISSING, NEVER_VIEWED_STEPS, RANKER_FEATURES, rankerFeatures } from "../src/models/ranker/features";
import { sessionItems } from "../src/models/ranker/generators";
import { scoreEnsemble } from "../src/models/ranker/trees";
import { type RankingData, lambdas, listMetrics, quantiseThresholds, trainLambdaMart } from "../src/offline/train/lambdamart";

const col = (name: string) => RANKER_FEATURES.findIndex((f) => f.name === name);
const row = (m: ReturnType<typeof rankerFeatures>, item: string) => {
  const r = m.candidates.indexOf(item);
  return (name: string) => m.values[r * m.width + col(name)];
};

describe("ranker features", () => {
  const catalog = {
    byId: new Map([
      ["a", { item_id: "a", category: "shoes", price: 50 }],
      ["x", { item_id: "x", category: "bags" }],
    ]),
  };
  const features = {
    visit_viewed_items: ["a", "b", "a", "c"],
    last_viewed_items: ["z", "a", "b", "a", "c"],
    cart: { items: [{ item_id: "b", quantity: 1 }], quantity: 1, value: 0, currency: null, unpriced_lines: 1 },
    purchased_items: ["c"],
    category_affinity: [
      { category: "shoes", score: 3 },
      { category: "bags", score: 1 },
    ],
    viewed_price_band: { min: 10, median: 25, max: 50, count: 3 },
  };
  const generators = {
    vsknn: { items: ["x", "a"], scores: [1, 0.5] },
    session: { items: ["a", "c", "b"], scores: [1, 0.5, 0.5] },
  };
  const clicks = (i: string) => ({ a: 9, x: 1 })[i as "a" | "x"] ?? 0;
  const m = rankerFeatures({ features, generators, items: { clicks, catalog, trending: new Map([["x", 1]]) } });

  it("lists the union of the generators once each, in generator order, with every named feature", () => {
    expect(m.candidates).toEqual(["x", "a", "c", "b"]);
    expect(m.width).toBe(RANKER_FEATURES.length);
    expect(new Set(RANKER_FEATURES.map((f) => f.name)).size).toBe(RANKER_FEATURES.length);
    expect(m.values.length).toBe(4 * m.width);
  });

  it("computes per-generator score, rank and absence, and the visit, visitor and item features", () => {
    const a = row(m, "a");
    expect([a("gen.vsknn.score"), a("gen.vsknn.rank"), a("gen.vsknn.absent")]).toEqual([0.5, 2, 0]);
    expect([a("gen.neural.score"), a("gen.neural.rank"), a("gen.neural.absent")]).toEqual([0, ABSENT_RANK, 1]);
    expect(a("gen.count")).toBe(2);
    expect([a("visit.count"), a("visit.steps_since_last"), a("visit.is_last"), a("visit.length"), a("visit.distinct")]).toEqual([2, 1, 0, 4, 3]);
    expect(a("visitor.lifetime_count")).toBe(2);
    expect(a("item.popularity")).toBeCloseTo(Math.log(10), 6);
    expect(a("item.category_share")).toBeCloseTo(0.75, 6);
    expect(a("item.price_ratio")).toBeCloseTo(2, 6);
    expect(a("item.trending")).toBe(0);
    const c = row(m, "c");
    expect([c("visit.is_last"), c("visit.steps_since_last"), c("visitor.purchased"), c("visitor.in_cart")]).toEqual([1, 0, 1, 0]);
    expect(c("item.category_share")).toBe(MISSING); // not in the catalog
    expect(row(m, "b")("visitor.in_cart")).toBe(1);
    const x = row(m, "x");
    expect([x("visit.count"), x("visit.steps_since_last"), x("item.trending"), x("item.price_ratio")]).toEqual([0, NEVER_VIEWED_STEPS, 1, MISSING]);
    expect(x("item.category_share")).toBeCloseTo(0.25, 6);
  });

  it("marks what the data cannot provide as missing, not invented", () => {
    const bare = rankerFeatures({ features: { visit_viewed_items: ["a"] }, generators, items: { clicks, catalog: null, trending: null } });
    const a = row(bare, "a");
    expect([a("item.trending"), a("item.category_share"), a("item.price_ratio")]).toEqual([MISSING, MISSING, MISSING]);
  });

  it("the session generator ranks the visit's items by views, then recency (S-POP)", () => {
    expect(sessionItems(["a", "b", "a", "c", "b", "d"], () => 0, 10).items).toEqual(["b", "a", "d", "c"]);
  });
});

describe("manifest contract for the ranker", () => {
  const manifest = (features: Array<{ name: string; version: number }>) =>
    ({
      name: "m",
      version: "1",
      features: [],
      params: { seq_len: 20 },
      files: { "model.onnx": {}, "items.json": {}, "knn.bin": {}, "ranker.onnx": {}, "iknn.bin": {} },
      vocabulary: { file: "items.json" },
      candidates: { file: "knn.bin" },
      ranker: { file: "ranker.onnx", features, generators: { iknn: { k: 1, file: "iknn.bin" } } },
    }) as unknown as Manifest;
  const codeOf = (f: () => void) => {
    try {
      f();
      return null;
    } catch (e) {
      return e instanceof ModelLoadError ? e.code : String(e);
    }
  };

  it("accepts known ranker features and refuses an unknown one or another version with feature_mismatch", () => {
    expect(codeOf(() => checkManifestAgainstFeatures(manifest([{ name: "visit.count", version: 1 }])))).toBeNull();
    expect(codeOf(() => checkManifestAgainstFeatures(manifest([{ name: "visit.mood", version: 1 }])))).toBe("feature_mismatch");
    expect(codeOf(() => checkManifestAgainstFeatures(manifest([{ name: "visit.count", version: 2 }])))).toBe("feature_mismatch");
  });
});

/** A tiny ranking set: 3 features, lists of 4; the positive is the row with the highest feature 0 plus noise in feature 1. */
function tinyData(lists: number, seed: number): RankingData {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const F = 3;
  const values: number[] = [];
  const labels: number[] = [];
  const offsets = [0];
  for (let q = 0; q < lists; q++) {
    const rows = Array.from({ length: 4 }, () => [Math.floor(rand() * 8), Math.floor(rand() * 4), rand() < 0.5 ? 1 : 0]);
    const best = rows.reduce((b, r, i) => (r[0]! + 3 * r[2]! > rows[b]![0]! + 3 * rows[b]![2]! ? i : b), 0);
    rows.forEach((r, i) => (values.push(...r), labels.push(i === best ? 1 : 0)));
    offsets.push(offsets.at(-1)! + 4);
  }
  return { numFeatures: F, values: Float32Array.from(values), labels: Uint8Array.from(labels), queryOffsets: Int32Array.from(offsets) };
}

describe("LambdaMART trainer against a brute-force reference", () => {
  const data = tinyData(60, 7);

  it("first-tree gradients equal the pairwise LambdaRank formula computed naively", () => {
    const n = data.labels.length;
    const g = new Float64Array(n);
    const h = new Float64Array(n);
    const scores = Float64Array.from({ length: n }, (_, i) => ((i * 37) % 11) / 10);
    lambdas(data, scores, g, h);
    const refG = new Array<number>(n).fill(0);
    for (let q = 0; q + 1 < data.queryOffsets.length; q++) {
      const rows = Array.from({ length: 4 }, (_, i) => data.queryOffsets[q]! + i);
      const sorted = [...rows].sort((a, b) => scores[b]! - scores[a]! || a - b);
      const rank = (r: number) => sorted.indexOf(r);
      for (const i of rows.filter((r) => data.labels[r])) {
        for (const j of rows.filter((r) => !data.labels[r])) {
          const delta = Math.abs(1 / Math.log2(rank(i) + 2) - 1 / Math.log2(rank(j) + 2));
          const lambda = delta / (1 + Math.exp(scores[i]! - scores[j]!));
          refG[i]! -= lambda;
          refG[j]! += lambda;
        }
      }
    }
    refG.forEach((x, i) => expect(g[i]).toBeCloseTo(x, 10));
  });

  it("the root split is the best of every feature × threshold, found exhaustively", () => {
    const n = data.labels.length;
    const g = new Float64Array(n);
    const h = new Float64Array(n);
    lambdas(data, new Float64Array(n), g, h);
    const opts = { maxTrees: 1, maxDepth: 1, learningRate: 1, minLeaf: 1, l2: 1, bins: 255, patience: 1 };
    const tree = trainLambdaMart(data, data, opts).ensemble.trees[0]!;
    // Brute force: every distinct value of every feature as "x <= t" threshold.
    let best = { gain: -Infinity, feature: -1, threshold: 0 };
    const G = g.reduce((a, b) => a + b, 0);
    const H = h.reduce((a, b) => a + b, 0);
    for (let f = 0; f < 3; f++) {
      const values = [...new Set(Array.from({ length: n }, (_, r) => data.values[r * 3 + f]!))].sort((a, b) => a - b);
      for (const t of values.slice(0, -1)) {
        let GL = 0;
        let HL = 0;
        for (let r = 0; r < n; r++) if (data.values[r * 3 + f]! <= t) (GL += g[r]!), (HL += h[r]!);
        const gain = (GL * GL) / (HL + 1) + ((G - GL) * (G - GL)) / (H - HL + 1) - (G * G) / (H + 1);
        if (gain > best.gain + 1e-12) best = { gain, feature: f, threshold: t };
      }
    }
    expect(tree.feature[0]).toBe(best.feature);
    expect(tree.threshold[0]).toBe(best.threshold);
    // Newton leaf values: −ΣG / (ΣH + λ) over the rows that reach each leaf.
    let GL = 0;
    let HL = 0;
    for (let r = 0; r < n; r++) if (data.values[r * 3 + best.feature]! <= best.threshold) (GL += g[r]!), (HL += h[r]!);
    expect(tree.value[tree.left[0]!]).toBeCloseTo(Math.fround(-GL / (HL + 1)), 5);
    expect(tree.value[tree.right[0]!]).toBeCloseTo(Math.fround(-(G - GL) / (H - HL + 1)), 5);
  });

  it("learns the hidden rule: ranks held-out lists far better than their given order, and scoreEnsemble agrees with training", () => {
    const train = tinyData(400, 1);
    const valid = tinyData(200, 2);
    const res = trainLambdaMart(train, valid, { maxTrees: 60, maxDepth: 3, learningRate: 0.3, minLeaf: 5, l2: 1, bins: 16, patience: 60 });
    const given = listMetrics(
      valid,
      Float64Array.from({ length: valid.labels.length }, (_, i) => -i),
    );
    const scores = scoreEnsemble(res.ensemble, valid.values);
    const learned = listMetrics(valid, scores);
    expect(given.mrr20).toBeLessThan(0.6);
    expect(learned.mrr20).toBeGreaterThan(0.9);
    expect(learned.mrr20).toBeCloseTo(res.best.mrr20, 6);
  });

  it("takes thresholds from the data, at most `bins` per feature", () => {
    const t = quantiseThresholds(tinyData(100, 3), 4);
    expect(t.map((x) => x.length).every((l) => l <= 4)).toBe(true);
    expect([...t[2]!]).toEqual([0]); // a 0/1 feature has one threshold
  });
});
