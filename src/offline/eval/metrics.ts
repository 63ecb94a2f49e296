/**
 * Next-item evaluation harness for any recommender that returns a ranked list
 * (kNN baselines now, the ONNX model later): every prefix of every test
 * session predicts the next click. Reports hit rate and MRR at several
 * cut-offs, split by repeat and new-item targets, catalogue coverage and the
 * latency of each call. Pure code apart from `performance.now()`.
 */

/** Anything that ranks items for a session prefix (oldest click first), best first. */
export interface Recommender {
  name: string;
  recommend(prefix: readonly string[], k: number): string[] | Promise<string[]>;
  /** Called before a session's first prefix (state that streams over the evaluated sessions, as the fresh generator's). */
  startSession?(session: readonly string[]): void;
}

/** Hit rate and MRR of one group of evaluation points, per cut-off. */
export interface SegmentMetrics {
  cases: number;
  /** cut-off → share of cases whose target is in the top cut-off. */
  hr: Record<number, number>;
  /** cut-off → mean of 1/rank over cases (0 when the target is below the cut-off). */
  mrr: Record<number, number>;
}

/** Latency of `recommend` calls in milliseconds. */
export interface LatencySummary {
  mean: number;
  p50: number;
  p99: number;
}

/** Result of {@link evaluateRecommender}. */
export interface EvalResult {
  name: string;
  cutoffs: number[];
  all: SegmentMetrics;
  /** Targets already clicked earlier in their prefix. */
  repeat: SegmentMetrics;
  /** Targets not in their prefix. */
  fresh: SegmentMetrics;
  /** Targets outside the vocabulary (counted as misses in every segment). */
  unknownTargets: number;
  /** Distinct items ever recommended in a top-`coverageAt` list / vocabulary size. */
  coverage: number;
  coverageAt: number;
  latencyMs: LatencySummary;
}

/** Options of {@link evaluateRecommender}. */
export interface EvalOptions {
  /** The training items: the ranking universe and the coverage denominator. */
  vocabulary: ReadonlySet<string>;
  /** Default [10, 20]. */
  cutoffs?: number[];
  /** Cut-off of the coverage measure (default 20). */
  coverageAt?: number;
  /** Called every `progressEvery` points and at the end. */
  onProgress?: (done: number, total: number) => void;
  /** Default 5,000. */
  progressEvery?: number;
}

/** Number of evaluation points of `sessions`: Σ (length − 1). */
export function evaluationPoints(sessions: readonly (readonly string[])[]): number {
  return sessions.reduce((sum, seq) => sum + Math.max(0, seq.length - 1), 0);
}

/** 1-based rank of `target` in the first `k` entries of `list`, or Infinity when absent. */
export function rankIn(list: readonly string[], target: string, k: number): number {
  const end = Math.min(k, list.length);
  for (let r = 0; r < end; r++) if (list[r] === target) return r + 1;
  return Infinity;
}

/** The q-quantile (0..1) of ascending `sorted` values, nearest rank; NaN when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Accumulates ranks into hit and reciprocal-rank sums per cut-off. */
class Segment {
  cases = 0;
  readonly hits: number[];
  readonly rr: number[];
  constructor(readonly cutoffs: readonly number[]) {
    this.hits = cutoffs.map(() => 0);
    this.rr = cutoffs.map(() => 0);
  }
  add(rank: number): void {
    this.cases++;
    this.cutoffs.forEach((k, i) => {
      if (rank > k) return;
      this.hits[i]! += 1;
      this.rr[i]! += 1 / rank;
    });
  }
  summary(): SegmentMetrics {
    const hr: Record<number, number> = {};
    const mrr: Record<number, number> = {};
    this.cutoffs.forEach((k, i) => {
      hr[k] = this.cases ? this.hits[i]! / this.cases : 0;
      mrr[k] = this.cases ? this.rr[i]! / this.cases : 0;
    });
    return { cases: this.cases, hr, mrr };
  }
}

/**
 * For each session s1..sn and each i in 1..n-1, asks for the top
 * max(cut-offs, coverageAt) items after s1..si and ranks s(i+1) in that list.
 * Items already in the prefix stay candidates, as at serving time. Latency is
 * measured around each call, including the await of an async recommender.
 */
export async function evaluateRecommender(rec: Recommender, sessions: readonly (readonly string[])[], opts: EvalOptions): Promise<EvalResult> {
  const cutoffs = opts.cutoffs ?? [10, 20];
  const coverageAt = opts.coverageAt ?? 20;
  for (const k of [...cutoffs, coverageAt]) if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`cut-offs must be positive integers, got ${k}`);
  const depth = Math.max(coverageAt, ...cutoffs);
  const every = opts.progressEvery ?? 5000;
  const total = evaluationPoints(sessions);
  const all = new Segment(cutoffs);
  const repeat = new Segment(cutoffs);
  const fresh = new Segment(cutoffs);
  const recommended = new Set<string>();
  const latencies = new Float64Array(total);
  let unknownTargets = 0;
  let done = 0;

  for (const seq of sessions) {
    rec.startSession?.(seq);
    for (let i = 1; i < seq.length; i++) {
      const prefix = seq.slice(0, i);
      const target = seq[i]!;
      const t0 = performance.now();
      let list = rec.recommend(prefix, depth);
      if (list instanceof Promise) list = await list;
      latencies[done] = performance.now() - t0;

      for (let r = 0; r < Math.min(coverageAt, list.length); r++) recommended.add(list[r]!);
      const known = opts.vocabulary.has(target);
      if (!known) unknownTargets++;
      // An unknown target cannot be ranked among the training items: a miss, whatever the list says.
      const rank = known ? rankIn(list, target, depth) : Infinity;
      all.add(rank);
      (prefix.includes(target) ? repeat : fresh).add(rank);
      done++;
      if (opts.onProgress && (done % every === 0 || done === total)) opts.onProgress(done, total);
    }
  }

  latencies.sort();
  const mean = total ? latencies.reduce((s, x) => s + x, 0) / total : NaN;
  let covered = 0;
  for (const id of recommended) if (opts.vocabulary.has(id)) covered++;
  return {
    name: rec.name,
    cutoffs,
    all: all.summary(),
    repeat: repeat.summary(),
    fresh: fresh.summary(),
    unknownTargets,
    coverage: opts.vocabulary.size ? covered / opts.vocabulary.size : 0,
    coverageAt,
    latencyMs: { mean, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) },
  };
}
