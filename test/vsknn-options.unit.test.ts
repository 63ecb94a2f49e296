import { describe, expect, it } from "vitest";
import { buildIndex } from "../src/models/knn/index";
import { createVsknn } from "../src/models/knn/vsknn";
import { evaluateRecommender } from "../src/offline/eval/metrics";
import { generateCatalog } from "../src/offline/synthetic/catalog";
import { generateSessions, viewSequences } from "../src/offline/synthetic/sessions";
import { VSKNN_OPTIONS, type VsknnManifestOptions, chooseVsknnOptions } from "../src/offline/train/vsknn-options";

describe("V-SKNN options chosen per run on held-out sessions", () => {
  const catalog = generateCatalog(7, { items: 300 });
  const sequences = viewSequences(generateSessions(catalog, 8, { sessions: 1200 })).filter((s) => s.length >= 2);
  const cut = Math.floor(sequences.length * 0.8);
  const index = buildIndex(sequences.slice(0, cut));
  const heldOut = sequences.slice(cut);
  // A deliberately poor neighbourhood (one neighbour from one candidate session) beside the shipped default.
  const poor: VsknnManifestOptions = { ...VSKNN_OPTIONS, sample_size: 1, neighbours: 1, backfill: false };

  it("reports each setting's HR@20 / MRR@20 as the offline evaluator measures them, and picks the best", async () => {
    const choice = chooseVsknnOptions(index, heldOut, 1e9, [poor, VSKNN_OPTIONS]);
    const vocabulary = new Set(sequences.slice(0, cut).flat());
    for (const o of [poor, VSKNN_OPTIONS]) {
      const rec = createVsknn(index, { sampleSize: o.sample_size, neighbours: o.neighbours, weighting: o.weighting, matchDecay: o.match_decay, idf: o.idf, backfill: o.backfill });
      // Unknown targets are misses for both (V-SKNN never lists an item outside its index).
      const ref = await evaluateRecommender({ name: "ref", recommend: (p, k) => rec.score(p, k).map((s) => s.item) }, heldOut, { vocabulary });
      const tag = `m ${o.sample_size}, k ${o.neighbours}, ${o.weighting}, idf ${o.idf}`;
      expect(choice.selection[`vsknn[${tag}].hr@20`]).toBeCloseTo(ref.all.hr[20]!, 4);
      expect(choice.selection[`vsknn[${tag}].mrr@20`]).toBeCloseTo(ref.all.mrr[20]!, 4);
    }
    expect(choice.options).toEqual(VSKNN_OPTIONS);
    // Listed first or second, the better setting wins.
    expect(chooseVsknnOptions(index, heldOut, 1e9, [VSKNN_OPTIONS, poor]).options).toEqual(VSKNN_OPTIONS);
  });

  it("samples at most maxPoints held-out prefixes, evenly, and is deterministic", () => {
    const a = chooseVsknnOptions(index, heldOut, 500);
    expect(a.selection["vsknn.points"]).toBeLessThanOrEqual(501);
    expect(a.selection["vsknn.points"]).toBeGreaterThanOrEqual(499);
    expect(chooseVsknnOptions(index, heldOut, 500)).toEqual(a);
  });
});
