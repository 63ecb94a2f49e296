/**
 * V-SKNN ("vector multiplication" session-kNN) of Ludewig & Jannach,
 * "Evaluation of session-based recommendation algorithms" (2018), scored over
 * a {@link KnnIndex}. Pure code; one recommender reuses its scratch buffers,
 * so a call allocates only its result.
 */
import type { KnnIndex } from "./index";

/** Weight of the prefix click at 1-based position `i` of `n` (most recent = n). */
export type PositionWeighting = "same" | "div" | "linear" | "quadratic" | "log";
/** Decay of a neighbour's votes by how far back its most recent shared item is: "div" = 1/step. */
export type MatchDecay = "same" | "div";

/** Options of {@link createVsknn}; defaults follow session-rec's VMContextKNN. */
export interface VsknnOptions {
  /** m: candidate neighbours, the most recent sessions sharing any prefix item (default 1000). */
  sampleSize?: number;
  /** k: neighbours kept, the most similar candidates (default 100). */
  neighbours?: number;
  /** Position weight of a shared item in the similarity (default "div": i / n). */
  weighting?: PositionWeighting;
  /** Decay of a neighbour's votes by the recency of its last shared item (default "div"). */
  matchDecay?: MatchDecay;
  /** λ of the IDF boost of voted items: vote × (1 + λ · log(S / sessions with item)) (default 0). */
  idf?: number;
  /** Fills lists the neighbours cannot fill with the most clicked items (default false). */
  backfill?: boolean;
}

/** A scored recommendation. */
export interface ScoredItem {
  item: string;
  score: number;
}

/** A V-SKNN recommender bound to one index. */
export interface VsknnRecommender {
  name: string;
  /** The top `k` items with scores, best first; ties go to the more clicked item. */
  score(prefix: readonly string[], k: number): ScoredItem[];
  /** The top `k` item ids, best first. */
  recommend(prefix: readonly string[], k: number): string[];
}

/** The position weights of session-rec (`i` is 1-based, `n` the prefix length in clicks). */
export const POSITION_WEIGHTS: Record<PositionWeighting, (i: number, n: number) => number> = {
  same: () => 1,
  div: (i, n) => i / n,
  // session-rec's linear goes negative after 10 steps back; clamped so old clicks just stop counting.
  linear: (i, n) => Math.max(0, 1 - 0.1 * (n - i)),
  quadratic: (i, n) => (i / n) ** 2,
  log: (i, n) => 1 / (Math.log10(n - i + 1) + 1),
};

/** Builds a V-SKNN recommender over `index`; options are checked here, not per call. */
export function createVsknn(index: KnnIndex, opts: VsknnOptions = {}): VsknnRecommender {
  const m = opts.sampleSize ?? 1000;
  const kNeighbours = opts.neighbours ?? 100;
  const weighting = opts.weighting ?? "div";
  const matchDecay = opts.matchDecay ?? "div";
  const lambda = opts.idf ?? 0;
  const backfill = opts.backfill ?? false;
  if (!(Number.isInteger(m) && m >= 1)) throw new RangeError(`sampleSize must be a positive integer, got ${m}`);
  if (!(Number.isInteger(kNeighbours) && kNeighbours >= 1)) throw new RangeError(`neighbours must be a positive integer, got ${kNeighbours}`);
  if (!(lambda >= 0)) throw new RangeError(`idf must be ≥ 0, got ${lambda}`);
  const posWeight = POSITION_WEIGHTS[weighting];
  const { items, itemIndex, itemSessionOffsets, itemSessions, sessionItemOffsets, sessionItems, clicks } = index;
  const n = items.length;

  const boost = new Float64Array(n).fill(1);
  if (lambda > 0) for (let i = 0; i < n; i++) boost[i] = 1 + lambda * Math.log(index.sessionCount / Math.max(1, index.sessionsWithItem[i]!));
  // Most clicked first: the tie-break and the backfill order.
  const byPopularity = Int32Array.from(items.keys()).sort((a, b) => clicks[b]! - clicks[a]! || a - b);
  const popRank = new Int32Array(n);
  byPopularity.forEach((ix, r) => (popRank[ix] = r));

  // Scratch, reused by every call: the recommender is synchronous, so calls never interleave.
  const itemWeight = new Float64Array(n);
  const itemLastPos = new Int32Array(n);
  const scores = new Float64Array(n);
  const candSession = new Int32Array(m);
  const candSim = new Float64Array(m);
  const candMatch = new Int32Array(m);

  function score(prefix: readonly string[], k: number): ScoredItem[] {
    // Distinct known prefix items; a repeated item keeps the weight of its latest click (as in session-rec).
    const unique: number[] = [];
    for (let p = 0; p < prefix.length; p++) {
      const ix = itemIndex.get(prefix[p]!);
      if (ix === undefined) continue;
      if (itemLastPos[ix] === 0) unique.push(ix);
      itemLastPos[ix] = p + 1;
      itemWeight[ix] = posWeight(p + 1, prefix.length);
    }

    // Merge the per-item lists (each most recent first) to take the m most recent distinct sessions;
    // a session that appears in several lists shares several items, so its similarity is summed on the way.
    const heads = unique.map((ix) => itemSessionOffsets[ix]!);
    let candidates = 0;
    while (candidates < m) {
      let best = -1;
      for (let u = 0; u < unique.length; u++) {
        const h = heads[u]!;
        if (h < itemSessionOffsets[unique[u]! + 1]! && itemSessions[h]! > best) best = itemSessions[h]!;
      }
      if (best < 0) break;
      let sim = 0;
      let match = 0;
      for (let u = 0; u < unique.length; u++) {
        const h = heads[u]!;
        const ix = unique[u]!;
        if (h < itemSessionOffsets[ix + 1]! && itemSessions[h] === best) {
          sim += itemWeight[ix]!;
          if (itemLastPos[ix]! > match) match = itemLastPos[ix]!;
          heads[u] = h + 1;
        }
      }
      candSession[candidates] = best;
      candSim[candidates] = sim / unique.length;
      candMatch[candidates] = match;
      candidates++;
    }

    // The k most similar candidates; equal similarity goes to the more recent session (lower slot).
    const order = Array.from({ length: candidates }, (_, c) => c).filter((c) => candSim[c]! > 0);
    order.sort((a, b) => candSim[b]! - candSim[a]! || a - b);
    const touched: number[] = [];
    for (let r = 0; r < Math.min(kNeighbours, order.length); r++) {
      const c = order[r]!;
      const step = prefix.length - candMatch[c]! + 1;
      const vote = candSim[c]! * (matchDecay === "div" ? 1 / step : 1);
      const s = candSession[c]!;
      for (let p = sessionItemOffsets[s]!; p < sessionItemOffsets[s + 1]!; p++) {
        const ix = sessionItems[p]!;
        if (scores[ix] === 0) touched.push(ix);
        scores[ix]! += vote * boost[ix]!;
      }
    }

    touched.sort((a, b) => scores[b]! - scores[a]! || popRank[a]! - popRank[b]!);
    const out: ScoredItem[] = [];
    for (let r = 0; r < Math.min(k, touched.length); r++) out.push({ item: items[touched[r]!]!, score: scores[touched[r]!]! });
    if (backfill) {
      for (let r = 0; out.length < k && r < n; r++) {
        const ix = byPopularity[r]!;
        if (scores[ix] === 0) out.push({ item: items[ix]!, score: 0 });
      }
    }
    for (const ix of touched) scores[ix] = 0;
    for (const ix of unique) itemLastPos[ix] = 0;
    return out;
  }

  const name = `V-SKNN(m=${m},k=${kNeighbours},w=${weighting},decay=${matchDecay},idf=${lambda}${backfill ? ",backfill" : ""})`;
  return { name, score, recommend: (prefix, k) => score(prefix, k).map((s) => s.item) };
}
