/**
 * A loaded two-stage ranker and how a list is ranked with it: generators →
 * ranker features → ONNX tree ensemble → candidates by score.
 */
import type { FeatureVector } from "../../features/engine";
import { ModelLoadError } from "../errors";
import type { RankerSpec } from "../manifest";
import type { OrtSession } from "../ort-session";
import { GENERATORS, type GeneratorName, type ItemData, type RankerMatrix, rankerColumn, rankerFeatures, rankerRow, selectColumns, sessionSequence } from "./features";
import type { FreshNeighbours } from "./fresh";
import { type Stage1, runGenerators } from "./generators";
import { RANKER_IO } from "./trees";

/** A model version's second stage, ready to score. */
export interface LoadedRanker {
  spec: RankerSpec;
  stage1: Stage1;
  /** The ONNX tree ensemble. */
  session: OrtSession;
  /** The manifest's ranker features as column indices into RANKER_FEATURES (the model's input order). */
  columns: number[];
  /** Ablations (`npm run eval`): order the union by one generator's own ranks instead of the ranker. */
  orderBy?: GeneratorName;
}

/** Maps the manifest's ranker features to columns; an unknown name is a `feature_mismatch`. */
export function rankerColumns(spec: RankerSpec): number[] {
  return spec.features.map((f) => {
    const c = rankerColumn(f.name);
    if (c === undefined) throw new ModelLoadError("feature_mismatch", `the ranker reads ${f.name}, which the worker does not compute`);
    return c;
  });
}

/** One list's candidates with every ranker feature (stage one and the feature function); `fresh`: the tenant's co-visitation now. */
export async function candidateMatrix(
  ranker: Pick<LoadedRanker, "spec" | "stage1">,
  features: FeatureVector | null,
  items: Omit<ItemData, "clicks">,
  fresh: FreshNeighbours | null = null,
): Promise<RankerMatrix> {
  const generators = await runGenerators(ranker.stage1, ranker.spec.generators, sessionSequence(features), fresh);
  return rankerFeatures({ features, generators, items: { ...items, clicks: ranker.stage1.clicks } });
}

/** Scores a matrix's candidates with the ONNX ranker; best first, ties in first-listed order. */
export async function rankMatrix(ranker: LoadedRanker, m: RankerMatrix): Promise<Array<{ item_id: string; score: number }>> {
  const n = m.candidates.length;
  if (n === 0) return [];
  if (ranker.orderBy) {
    const col = 3 * GENERATORS.indexOf(ranker.orderBy) + 1; // gen.<g>.rank
    return Array.from({ length: n }, (_, i) => i)
      .filter((i) => m.values[i * m.width + col + 1] === 0) // listed by that generator
      .sort((a, b) => m.values[a * m.width + col]! - m.values[b * m.width + col]!)
      .map((i) => ({ item_id: m.candidates[i]!, score: -m.values[i * m.width + col]! }));
  }
  const out = await ranker.session.run({ [RANKER_IO.features]: { type: "float32", data: selectColumns(m, ranker.columns), dims: [n, ranker.columns.length] } });
  const scores = out[RANKER_IO.scores]?.data;
  if (!(scores instanceof Float32Array) || scores.length !== n) throw new ModelLoadError("inference_failed", "ranker output does not match the contract (scores float32 [N, 1])");
  return Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => scores[b]! - scores[a]! || a - b)
    .map((i) => ({ item_id: m.candidates[i]!, score: scores[i]! }));
}

/** The ranker's input row (manifest order) of the candidate it ranked first, for drift monitoring; `null` for an empty list. */
export function topRankedRow(ranker: Pick<LoadedRanker, "columns">, m: RankerMatrix, ranked: ReadonlyArray<{ item_id: string }>): Array<number | null> | null {
  const top = ranked[0] ? m.candidates.indexOf(ranked[0].item_id) : -1;
  return top >= 0 ? rankerRow(m, top, ranker.columns) : null;
}
