import { describe, expect, it } from "vitest";
import { blendScores } from "../src/models/families/blend";

describe("blendScores", () => {
  const knn = [
    { item_id: "a", score: 4 },
    { item_id: "b", score: 2 },
  ];
  const model = [
    { item_id: "c", score: 1.0 },
    { item_id: "b", score: 1.0 - Math.log(2) }, // half of c's probability
  ];
  it("weights normalised kNN votes against relative model probabilities", () => {
    // a: 0.7·1 = 0.7; b: 0.7·0.5 + 0.3·0.5 = 0.5; c: 0.3·1 = 0.3
    const out = blendScores(knn, model, 0.3);
    expect(out.map((s) => s.item_id)).toEqual(["a", "b", "c"]);
    expect(out.map((s) => s.score)).toEqual([0.7, 0.5, 0.3].map((x) => expect.closeTo(x, 10)));
  });
  it("is the kNN order at weight 0 and the model order at weight 1", () => {
    expect(
      blendScores(knn, model, 0)
        .map((s) => s.item_id)
        .slice(0, 2),
    ).toEqual(["a", "b"]);
    expect(
      blendScores(knn, model, 1)
        .map((s) => s.item_id)
        .slice(0, 2),
    ).toEqual(["c", "b"]);
  });
  it("copes with an empty side", () => {
    expect(blendScores([], model, 0.5).map((s) => s.item_id)).toEqual(["c", "b"]);
    expect(blendScores(knn, [], 0.5).map((s) => s.item_id)).toEqual(["a", "b"]);
  });
});
