/**
 * LambdaMART (Burges 2010): gradient-boosted regression trees whose gradients
 * are pairwise lambdas weighted by the NDCG change of swapping the pair, over
 * lists (queries) of candidates. Histogram-based (features quantised to at most
 * 255 thresholds taken from the data), depth-wise trees, Newton leaf values,
 * early stopping on a validation set's HR@20 + MRR@20. Deterministic: no
 * randomness. Offline code (Node), exported through `buildTreeEnsembleModel`.
 */
import type { Tree, TreeEnsemble } from "../../models/ranker/trees";

/** Lists of candidates: rows × features (row-major), a label per row (1 = the clicked item), list boundaries. */
export interface RankingData {
  numFeatures: number;
  values: Float32Array;
  labels: Uint8Array;
  /** queries + 1 offsets into the rows. */
  queryOffsets: Int32Array;
  /** Lists that had no candidate labelled 1 are not in `values`; they still count as misses in the metrics. */
  missedQueries?: number;
}

/** Trainer settings. */
export interface LambdaMartOptions {
  maxTrees: number;
  maxDepth: number;
  learningRate: number;
  /** Fewest rows in a leaf. */
  minLeaf: number;
  /** L2 regularisation of leaf values. */
  l2: number;
  /** At most this many thresholds per feature (≤ 255). */
  bins: number;
  /** Stop when the validation metric has not improved for this many trees. */
  patience: number;
  /** Progress callback, once per tree. */
  onTree?: (t: number, metric: ListMetrics) => void;
}

/** HR@20 and MRR@20 over lists (misses included). */
export interface ListMetrics {
  hr20: number;
  mrr20: number;
}

/** What training returns: the ensemble cut at the best validation tree, and the curve. */
export interface LambdaMartResult {
  ensemble: TreeEnsemble;
  bestTrees: number;
  best: ListMetrics;
  curve: ListMetrics[];
}

export const DEFAULT_LAMBDAMART: LambdaMartOptions = { maxTrees: 200, maxDepth: 6, learningRate: 0.15, minLeaf: 50, l2: 1, bins: 63, patience: 20 };

/** Trains on `train`, early-stopping on `valid`. */
export function trainLambdaMart(train: RankingData, valid: RankingData, opts: LambdaMartOptions = DEFAULT_LAMBDAMART): LambdaMartResult {
  const F = train.numFeatures;
  const n = train.labels.length;
  const thresholds = quantiseThresholds(train, opts.bins);
  const B = Math.max(1, ...thresholds.map((t) => t.length + 1));
  const bins = binRows(train, thresholds);
  const scores = new Float64Array(n);
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  const validScores = new Float64Array(valid.labels.length);
  const trees: Tree[] = [];
  const curve: ListMetrics[] = [];
  let best = { metric: -1, trees: 0, m: { hr20: 0, mrr20: 0 } };

  for (let t = 0; t < opts.maxTrees; t++) {
    lambdas(train, scores, g, h);
    const tree = growTree(bins, thresholds, F, B, g, h, opts);
    // Shrink leaf values by the learning rate, then move both score vectors.
    for (let i = 0; i < tree.value.length; i++) tree.value[i] = Math.fround(tree.value[i]! * opts.learningRate);
    trees.push(tree);
    addTree(tree, train, scores);
    addTree(tree, valid, validScores);
    const m = listMetrics(valid, validScores);
    curve.push(m);
    opts.onTree?.(t + 1, m);
    if (m.hr20 + m.mrr20 > best.metric + 1e-9) best = { metric: m.hr20 + m.mrr20, trees: t + 1, m };
    else if (t + 1 - best.trees >= opts.patience) break;
  }
  return { ensemble: { numFeatures: F, base: 0, trees: trees.slice(0, Math.max(1, best.trees)) }, bestTrees: best.trees, best: best.m, curve };
}

/** HR@20 / MRR@20 of `scores` over the lists (ties: the earlier-listed row first). */
export function listMetrics(data: RankingData, scores: ArrayLike<number>): ListMetrics {
  const q = data.queryOffsets.length - 1;
  let hr = 0;
  let mrr = 0;
  for (let k = 0; k < q; k++) {
    const a = data.queryOffsets[k]!;
    const b = data.queryOffsets[k + 1]!;
    let pos = -1;
    for (let r = a; r < b; r++) if (data.labels[r] === 1) pos = r;
    if (pos < 0) continue;
    let rank = 1;
    for (let r = a; r < b; r++) if (scores[r]! > scores[pos]! || (scores[r] === scores[pos] && r < pos)) rank++;
    if (rank <= 20) (hr += 1), (mrr += 1 / rank);
  }
  const total = q + (data.missedQueries ?? 0);
  return { hr20: total ? hr / total : 0, mrr20: total ? mrr / total : 0 };
}

/** LambdaRank gradients (of the loss; descend) and Hessians for every row, list by list. */
export function lambdas(data: RankingData, scores: Float64Array, g: Float64Array, h: Float64Array): void {
  g.fill(0);
  h.fill(0);
  const discount = new Float64Array(4096).map((_, r) => 1 / Math.log2(r + 2));
  let order = new Int32Array(256);
  let rankOf = new Int32Array(256);
  for (let k = 0; k + 1 < data.queryOffsets.length; k++) {
    const a = data.queryOffsets[k]!;
    const b = data.queryOffsets[k + 1]!;
    const len = b - a;
    if (len > order.length) (order = new Int32Array(len)), (rankOf = new Int32Array(len));
    if (len > discount.length) throw new RangeError(`lists of more than ${discount.length} candidates are not supported`);
    const o = order.subarray(0, len);
    for (let i = 0; i < len; i++) o[i] = i;
    o.sort((x, y) => scores[a + y]! - scores[a + x]! || x - y);
    for (let i = 0; i < len; i++) rankOf[o[i]!] = i;
    let ideal = 0;
    let relevant = 0;
    for (let r = a; r < b; r++) if (data.labels[r]) ideal += discount[relevant++]!;
    if (ideal === 0) continue;
    for (let i = a; i < b; i++) {
      if (!data.labels[i]) continue;
      const di = discount[rankOf[i - a]!]!;
      const si = scores[i]!;
      for (let j = a; j < b; j++) {
        if (data.labels[j]) continue;
        const delta = Math.abs(di - discount[rankOf[j - a]!]!) / ideal;
        const rho = 1 / (1 + Math.exp(si - scores[j]!));
        const lambda = delta * rho;
        const hess = Math.max(lambda * (1 - rho), 1e-12);
        g[i]! -= lambda;
        g[j]! += lambda;
        h[i]! += hess;
        h[j]! += hess;
      }
    }
  }
}

/** Per feature, up to `bins` split thresholds: quantiles of its distinct values (float32, as the model compares). */
export function quantiseThresholds(data: RankingData, bins: number): Float32Array[] {
  const F = data.numFeatures;
  const n = data.labels.length;
  const stride = Math.max(1, Math.floor(n / 200_000));
  const out: Float32Array[] = [];
  for (let f = 0; f < F; f++) {
    const sample: number[] = [];
    for (let r = 0; r < n; r += stride) sample.push(data.values[r * F + f]!);
    sample.sort((x, y) => x - y);
    const distinct: number[] = [];
    const counts: number[] = [];
    for (const x of sample) {
      if (distinct.length && distinct[distinct.length - 1] === x) counts[counts.length - 1]!++;
      else distinct.push(x), counts.push(1);
    }
    // A threshold t sends x ≤ t left; the largest value needs none.
    let cuts: number[];
    if (distinct.length - 1 <= bins) cuts = distinct.slice(0, -1);
    else {
      cuts = [];
      let seen = 0;
      let next = sample.length / (bins + 1);
      for (let d = 0; d < distinct.length - 1; d++) {
        seen += counts[d]!;
        if (seen >= next) {
          cuts.push(distinct[d]!);
          while (next <= seen) next += sample.length / (bins + 1);
        }
      }
    }
    out.push(Float32Array.from(cuts));
  }
  return out;
}

/** Bin of every value: the number of thresholds below it (row-major, like the values). */
function binRows(data: RankingData, thresholds: Float32Array[]): Uint8Array {
  const F = data.numFeatures;
  const n = data.labels.length;
  const out = new Uint8Array(n * F);
  for (let f = 0; f < F; f++) {
    const t = thresholds[f]!;
    for (let r = 0; r < n; r++) {
      const x = data.values[r * F + f]!;
      let lo = 0;
      let hi = t.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (t[mid]! < x) lo = mid + 1;
        else hi = mid;
      }
      out[r * F + f] = lo;
    }
  }
  return out;
}

interface Leaf {
  node: number;
  G: number;
  H: number;
  count: number;
}

/**
 * One depth-wise tree on the histograms of the current gradients. Per level,
 * only the smaller child of each split is histogrammed; its sibling is the
 * parent's histogram minus it.
 */
function growTree(bins: Uint8Array, thresholds: Float32Array[], F: number, B: number, g: Float64Array, h: Float64Array, opts: LambdaMartOptions): Tree {
  const n = g.length;
  const tree: Tree = { feature: [-1], threshold: [0], left: [0], right: [0], value: [0] };
  const nodeOf = new Int32Array(n); // slot of the row's current leaf in `level`, −1 once its leaf is final
  const stride = F * B * 3; // per slot: (g, h, count) per feature and bin
  let G = 0;
  let H = 0;
  for (let r = 0; r < n; r++) (G += g[r]!), (H += h[r]!);
  let level: Leaf[] = [{ node: 0, G, H, count: n }];
  let hist = new Float64Array(stride);
  accumulate(hist, null);
  const leafValue = (l: Leaf) => -l.G / (l.H + opts.l2);

  function accumulate(into: Float64Array, wanted: Uint8Array | null): void {
    for (let r = 0; r < n; r++) {
      const slot = nodeOf[r]!;
      if (slot < 0 || (wanted && !wanted[slot])) continue;
      const gr = g[r]!;
      const hr = h[r]!;
      const base = slot * stride;
      const rb = r * F;
      for (let f = 0; f < F; f++) {
        const ix = base + (f * B + bins[rb + f]!) * 3;
        into[ix]! += gr;
        into[ix + 1]! += hr;
        into[ix + 2]! += 1;
      }
    }
  }

  for (let depth = 0; depth < opts.maxDepth && level.length > 0; depth++) {
    const L = level.length;
    const next: Leaf[] = [];
    const split: Array<{ feature: number; bin: number; leftSlot: number; rightSlot: number; parent: number } | null> = [];
    for (let s = 0; s < L; s++) {
      const leaf = level[s]!;
      const parentScore = (leaf.G * leaf.G) / (leaf.H + opts.l2);
      let best = { gain: 1e-9, feature: -1, bin: -1, GL: 0, HL: 0, CL: 0 };
      for (let f = 0; f < F; f++) {
        const nb = thresholds[f]!.length;
        let GL = 0;
        let HL = 0;
        let CL = 0;
        const base = s * stride + f * B * 3;
        for (let b = 0; b < nb; b++) {
          GL += hist[base + 3 * b]!;
          HL += hist[base + 3 * b + 1]!;
          CL += hist[base + 3 * b + 2]!;
          const CR = leaf.count - CL;
          if (CL < opts.minLeaf) continue;
          if (CR < opts.minLeaf) break;
          const GR = leaf.G - GL;
          const HR = leaf.H - HL;
          const gain = (GL * GL) / (HL + opts.l2) + (GR * GR) / (HR + opts.l2) - parentScore;
          if (gain > best.gain) best = { gain, feature: f, bin: b, GL, HL, CL };
        }
      }
      if (best.feature < 0 || depth + 1 > opts.maxDepth) {
        tree.value[leaf.node] = leafValue(leaf);
        split.push(null);
        continue;
      }
      const leftNode = tree.feature.length;
      const rightNode = leftNode + 1;
      for (const _ of [0, 1]) tree.feature.push(-1), tree.threshold.push(0), tree.left.push(0), tree.right.push(0), tree.value.push(0);
      tree.feature[leaf.node] = best.feature;
      tree.threshold[leaf.node] = thresholds[best.feature]![best.bin]!;
      tree.left[leaf.node] = leftNode;
      tree.right[leaf.node] = rightNode;
      const leftSlot = next.push({ node: leftNode, G: best.GL, H: best.HL, count: best.CL }) - 1;
      const rightSlot = next.push({ node: rightNode, G: leaf.G - best.GL, H: leaf.H - best.HL, count: leaf.count - best.CL }) - 1;
      split.push({ feature: best.feature, bin: best.bin, leftSlot, rightSlot, parent: s });
    }
    for (let r = 0; r < n; r++) {
      const slot = nodeOf[r]!;
      if (slot < 0) continue;
      const sp = split[slot];
      nodeOf[r] = sp ? (bins[r * F + sp.feature]! <= sp.bin ? sp.leftSlot : sp.rightSlot) : -1;
    }
    level = next;
    if (depth + 1 >= opts.maxDepth || next.length === 0) break;
    // Histogram the smaller child of every split; the larger one is the parent's minus it.
    const childHist = new Float64Array(next.length * stride);
    const wanted = new Uint8Array(next.length);
    for (const sp of split) {
      if (!sp) continue;
      const small = next[sp.leftSlot]!.count <= next[sp.rightSlot]!.count ? sp.leftSlot : sp.rightSlot;
      wanted[small] = 1;
    }
    accumulate(childHist, wanted);
    for (const sp of split) {
      if (!sp) continue;
      const small = wanted[sp.leftSlot] ? sp.leftSlot : sp.rightSlot;
      const large = small === sp.leftSlot ? sp.rightSlot : sp.leftSlot;
      const p = sp.parent * stride;
      const sb = small * stride;
      const lb = large * stride;
      for (let i = 0; i < stride; i++) childHist[lb + i] = hist[p + i]! - childHist[sb + i]!;
    }
    hist = childHist;
  }
  for (const leaf of level) tree.value[leaf.node] = leafValue(leaf);
  return tree;
}

/** Adds a tree's output to every row's score (float32 comparisons, as the exported model makes them). */
function addTree(tree: Tree, data: RankingData, scores: Float64Array): void {
  const F = data.numFeatures;
  const th = Float32Array.from(tree.threshold);
  for (let r = 0; r < scores.length; r++) {
    let node = 0;
    while (tree.feature[node]! >= 0) node = data.values[r * F + tree.feature[node]!]! <= th[node]! ? tree.left[node]! : tree.right[node]!;
    scores[r]! += tree.value[node]!;
  }
}
