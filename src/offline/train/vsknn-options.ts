/** V-SKNN options tuned on the Diginetica validation split (results/knn-validation.md); shipped in manifests. */
export const VSKNN_OPTIONS = { sample_size: 500, neighbours: 100, weighting: "linear", match_decay: "div", idf: 2, backfill: true } as const;

/** Blend weight of the neural model against V-SKNN, tuned on the same split (results/eval-validation.md). */
export const MODEL_BLEND_WEIGHT = 0.1;
