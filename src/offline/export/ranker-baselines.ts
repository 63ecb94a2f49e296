/**
 * Training histograms of the ranker's features, for drift monitoring
 * (docs/mlops.md, "Drift"). Computed over the rows serving logs too — the
 * candidate the ranker puts first on each list — so MonitorDO compares like with like.
 * Platform-free.
 */
import type { RankerSpec } from "../../models/manifest";
import { isMissingRankerValue } from "../../models/ranker/features";
import { binOf } from "../../mlops/stats/psi";

/** One ranker feature's histogram, as the manifest stores it. */
export type RankerHistogram = NonNullable<RankerSpec["baselines"]>[string];

/** Bins per feature, at most: deciles, or one bin per value for a feature with at most this many values. */
export const RANKER_BINS = 10;

/**
 * Bin edges from the training values (finite, any order): a feature with at most
 * `bins` distinct values gets one bin per value (edges halfway between them, so
 * 0/1 flags and small counts keep their meaning); otherwise quantile edges
 * (deciles by default), duplicates merged so that a value carrying a large share
 * (a score of 0 for "not listed") is one bin. The outer edges are the minimum
 * and the maximum. `null` when there is no value.
 */
export function quantileEdges(values: readonly number[], bins = RANKER_BINS): number[] | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const distinct = sorted.filter((x, i) => i === 0 || x !== sorted[i - 1]);
  const min = sorted[0]!;
  const max = sorted[sorted.length - 1]!;
  if (distinct.length === 1) return [min, max];
  if (distinct.length <= bins) return [min, ...distinct.slice(1).map((x, i) => (distinct[i]! + x) / 2), max];
  const edges = [min];
  for (let q = 1; q < bins; q++) {
    const e = sorted[Math.floor((q * sorted.length) / bins)]!;
    if (e > edges[edges.length - 1]!) edges.push(e);
  }
  if (max > edges[edges.length - 1]!) edges.push(max);
  return edges;
}

/** The histogram of one feature's training values; `null` when every value is missing. */
export function rankerHistogram(name: string, values: ArrayLike<number>, bins = RANKER_BINS): RankerHistogram | null {
  const present: number[] = [];
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (isMissingRankerValue(name, x)) missing++;
    else present.push(x);
  }
  const edges = quantileEdges(present, bins);
  if (!edges) return null;
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (const x of present) counts[binOf(x, edges)!]!++;
  return { edges, counts, missing, min: edges[0]!, max: edges[edges.length - 1]! };
}

/**
 * Histograms of every feature the ranker reads, from `rows` (row-major, one
 * value per name in `names` order). A feature missing in every row gets none:
 * nothing to compare serving with.
 */
export function rankerBaselines(names: readonly string[], rows: Float32Array, bins = RANKER_BINS): Record<string, RankerHistogram> {
  const n = names.length > 0 ? rows.length / names.length : 0;
  const out: Record<string, RankerHistogram> = {};
  names.forEach((name, c) => {
    const column = Array.from({ length: n }, (_, r) => rows[r * names.length + c]!);
    const h = rankerHistogram(name, column, bins);
    if (h) out[name] = h;
  });
  return out;
}
