import { type KnnIndex, deserializeIndex } from "./knn/index";
import { type VsknnRecommender, createVsknn } from "./knn/vsknn";
import type { Manifest } from "./manifest";

/** A model version's session-kNN candidate generator and its blend weight. */
export interface CandidateGenerator {
  vsknn: VsknnRecommender;
  /** The index it scores over (training clicks per item come from here too). */
  index: KnnIndex;
  /** Weight of the ONNX model's scores in the blend (0: V-SKNN only, 1: the model only). */
  modelWeight: number;
}

/** Builds the V-SKNN candidate generator a manifest describes from its index bytes. */
export function candidateGenerator(spec: NonNullable<Manifest["candidates"]>, bytes: Uint8Array): CandidateGenerator {
  const o = spec.options;
  const index = deserializeIndex(bytes);
  const vsknn = createVsknn(index, {
    sampleSize: o.sample_size,
    neighbours: o.neighbours,
    weighting: o.weighting,
    matchDecay: o.match_decay,
    idf: o.idf,
    backfill: o.backfill,
  });
  return { vsknn, index, modelWeight: spec.model_weight };
}
