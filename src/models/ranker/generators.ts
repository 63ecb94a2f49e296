/**
 * Stage one of a two-stage model: the candidate generators a model version
 * declares, each turning the visit's sequence into a scored list. Their union
 * goes to the ranker (stage two). Pure code over loaded artifacts.
 */
import type { CooccurrenceModel } from "../knn/cooccurrence";
import { scoreCooccurrence } from "../knn/cooccurrence";
import type { KnnIndex } from "../knn/index";
import type { VsknnRecommender } from "../knn/vsknn";
import { sequenceInput } from "../inputs";
import type { RankerSpec } from "../manifest";
import { type OrtSession, runSessionTopK } from "../ort-session";
import type { GeneratorOutput, GeneratorOutputs } from "./features";
import { type FreshNeighbours, scoreFresh } from "./fresh";

/** The loaded artifacts the generators run on. */
export interface Stage1 {
  vsknn: VsknnRecommender;
  iknn: CooccurrenceModel | null;
  /** The neural session model (ONNX top-k) and its vocabulary, when the version ships one. */
  neural: { session: OrtSession; items: readonly string[]; vocab: ReadonlyMap<string, number> } | null;
  /** Training clicks per item (0 when unknown). */
  clicks: (item: string) => number;
  /** Items by training clicks, most clicked first. */
  popular: readonly string[];
}

/** Builds the click lookup and popularity list from a V-SKNN index's counts. */
export function popularityOf(index: KnnIndex): Pick<Stage1, "clicks" | "popular"> {
  const order = Int32Array.from(index.items.keys()).sort((a, b) => index.clicks[b]! - index.clicks[a]! || a - b);
  return {
    clicks: (item) => {
      const ix = index.itemIndex.get(item);
      return ix === undefined ? 0 : index.clicks[ix]!;
    },
    popular: Array.from(order.subarray(0, 1000), (ix) => index.items[ix]!),
  };
}

/**
 * Runs every generator the spec enables (k > 0) on `sequence` (oldest first). `fresh`: the
 * tenant's streaming co-visitation now (design 0028), read only when the spec declares it.
 */
export async function runGenerators(stage1: Stage1, spec: RankerSpec["generators"], sequence: readonly string[], fresh: FreshNeighbours | null = null): Promise<GeneratorOutputs> {
  const out: GeneratorOutputs = {};
  if (sequence.length === 0) return out;
  if (spec.vsknn.k > 0) out.vsknn = normalised(stage1.vsknn.score(sequence, spec.vsknn.k).filter((s) => s.score > 0));
  if (spec.iknn.k > 0 && stage1.iknn) out.iknn = normalised(scoreCooccurrence(stage1.iknn, sequence, spec.iknn.k, spec.iknn.depth, spec.iknn.decay));
  if (spec.session.k > 0) out.session = sessionItems(sequence, stage1.clicks, spec.session.k);
  if (spec.popular.k > 0) {
    const items = stage1.popular.slice(0, spec.popular.k);
    const top = Math.log1p(stage1.clicks(items[0] ?? ""));
    out.popular = { items, scores: items.map((i) => (top > 0 ? Math.log1p(stage1.clicks(i)) / top : 0)) };
  }
  if (spec.fresh && spec.fresh.k > 0 && fresh) {
    const listed = scoreFresh(fresh, sequence, spec.fresh.k, spec.fresh.depth, spec.fresh.decay, spec.fresh.exclude_viewed === true);
    if (listed.items.length > 0) out.fresh = listed;
  }
  const neural = stage1.neural;
  if (spec.neural.k > 0 && neural) {
    const input = sequenceInput(sequence, neural.vocab);
    if (input.w.some((w) => w > 0)) {
      const top = await runSessionTopK(neural.session, input.idx, input.w, Math.min(spec.neural.k, neural.items.length));
      const best = top.scores[0] ?? 0;
      const items: string[] = [];
      const scores: number[] = [];
      top.indices.forEach((ix, i) => {
        if (ix >= 1 && ix <= neural.items.length) items.push(neural.items[ix - 1]!), scores.push(Math.exp(top.scores[i]! - best));
      });
      out.neural = { items, scores };
    }
  }
  return out;
}

/**
 * The visit's own items (the S-POP signal): by views in the visit, then by
 * recency, then training popularity; score = views / the most viewed item's views.
 */
export function sessionItems(sequence: readonly string[], clicks: (item: string) => number, k: number): GeneratorOutput {
  const stats = new Map<string, { count: number; last: number }>();
  sequence.forEach((item, i) => {
    const s = stats.get(item);
    if (s) (s.count += 1), (s.last = i);
    else stats.set(item, { count: 1, last: i });
  });
  const ranked = [...stats].sort((a, b) => b[1].count - a[1].count || b[1].last - a[1].last || clicks(b[0]) - clicks(a[0])).slice(0, k);
  const top = ranked[0]?.[1].count ?? 1;
  return { items: ranked.map(([i]) => i), scores: ranked.map(([, s]) => s.count / top) };
}

function normalised(list: ReadonlyArray<{ item: string; score: number }>): GeneratorOutput {
  const top = list[0]?.score ?? 0;
  return { items: list.map((s) => s.item), scores: list.map((s) => (top > 0 ? s.score / top : 0)) };
}
