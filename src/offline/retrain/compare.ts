/**
 * Champion against challenger on the same held-out visits: every prefix of every visit
 * asks each model (through the serving path) for its top 20 and ranks the next view.
 * Scores are kept per visit so the confidence intervals resample visits — the unit that
 * is independent — not prediction points, which are correlated within a visit.
 */
import { quantile, rankIn, type Recommender } from "../eval/metrics";
import { Random } from "../synthetic/random";

export const CUTOFF = 20;

/** One model's scores on the held-out visits, per visit and overall. */
export interface ModelScores {
  name: string;
  /** Per visit: prediction points, hits@20, Σ 1/rank@20, and the same for new-item targets (not in the prefix). */
  visits: Array<{ cases: number; hits: number; rr: number; freshCases: number; freshHits: number; repeatCases: number; repeatHits: number }>;
  /** Distinct items in any top-20 list. */
  recommended: number;
  latency: { p50: number; p95: number };
}

/**
 * Scores each recommender on every prefix of `visits` (each visit ≥ 2 views). The models
 * take turns on every prefix, so load on the machine slows them alike: their latencies
 * are compared, not measured in two different moments.
 */
export async function scoreVisits(recs: readonly Recommender[], visits: readonly (readonly string[])[]): Promise<ModelScores[]> {
  const state = recs.map((rec) => ({ rec, visits: [] as ModelScores["visits"], seen: new Set<string>(), latencies: [] as number[] }));
  let turn = 0;
  for (const v of visits) {
    const per = state.map(() => ({ cases: 0, hits: 0, rr: 0, freshCases: 0, freshHits: 0, repeatCases: 0, repeatHits: 0 }));
    for (let i = 1; i < v.length; i++) {
      const prefix = v.slice(0, i);
      const target = v[i]!;
      const repeat = prefix.includes(target);
      turn++;
      for (let j = 0; j < state.length; j++) {
        const m = (j + turn) % state.length;
        const st = state[m]!;
        const t0 = performance.now();
        const list = await st.rec.recommend(prefix, CUTOFF);
        st.latencies.push(performance.now() - t0);
        for (const id of list.slice(0, CUTOFF)) st.seen.add(id);
        const rank = rankIn(list, target, CUTOFF);
        const hit = rank <= CUTOFF ? 1 : 0;
        const s = per[m]!;
        s.cases++;
        s.hits += hit;
        s.rr += hit ? 1 / rank : 0;
        if (repeat) {
          s.repeatCases++;
          s.repeatHits += hit;
        } else {
          s.freshCases++;
          s.freshHits += hit;
        }
      }
    }
    per.forEach((s, m) => state[m]!.visits.push(s));
  }
  return state.map((st) => {
    st.latencies.sort((a, b) => a - b);
    return { name: st.rec.name, visits: st.visits, recommended: st.seen.size, latency: { p50: quantile(st.latencies, 0.5), p95: quantile(st.latencies, 0.95) } };
  });
}

/** A metric over visits: a ratio of sums, so a resample weights visits by their points. */
export type Metric = "hr@20" | "mrr@20" | "new_hr@20" | "repeat_hr@20";

const PARTS: Record<Metric, (v: ModelScores["visits"][number]) => [number, number]> = {
  "hr@20": (v) => [v.hits, v.cases],
  "mrr@20": (v) => [v.rr, v.cases],
  "new_hr@20": (v) => [v.freshHits, v.freshCases],
  "repeat_hr@20": (v) => [v.repeatHits, v.repeatCases],
};

/** The metric over the given visit indices (all when omitted); NaN without points. */
export function metricOf(s: ModelScores, metric: Metric, idx?: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  const n = idx ? idx.length : s.visits.length;
  for (let j = 0; j < n; j++) {
    const [a, b] = PARTS[metric](s.visits[idx ? idx[j]! : j]!);
    num += a;
    den += b;
  }
  return den > 0 ? num / den : Number.NaN;
}

/** A point estimate with its 95 % bootstrap interval. */
export interface Estimate {
  value: number;
  low: number;
  high: number;
}

/** Both models and their difference (challenger − champion) per metric, with 95 % percentile intervals. */
export type Comparison = Record<Metric, { challenger: Estimate; champion: Estimate; difference: Estimate }>;

/**
 * Paired bootstrap over visits: each resample draws visits with replacement and
 * scores both models on the same draw, so the difference's interval reflects the
 * pairing (the models see the same visits). Seeded: the same inputs give the same intervals.
 */
export function pairedBootstrap(challenger: ModelScores, champion: ModelScores, samples = 1000, seed = 1): Comparison {
  const n = challenger.visits.length;
  if (champion.visits.length !== n) throw new Error("both models must be scored on the same visits");
  const rng = new Random(seed);
  const metrics = Object.keys(PARTS) as Metric[];
  const draws = new Map(metrics.map((m) => [m, { a: [] as number[], b: [] as number[], d: [] as number[] }]));
  const idx = new Int32Array(n);
  for (let s = 0; s < samples; s++) {
    for (let j = 0; j < n; j++) idx[j] = rng.int(0, n - 1);
    for (const m of metrics) {
      const a = metricOf(challenger, m, idx);
      const b = metricOf(champion, m, idx);
      const d = draws.get(m)!;
      if (Number.isFinite(a)) d.a.push(a);
      if (Number.isFinite(b)) d.b.push(b);
      if (Number.isFinite(a) && Number.isFinite(b)) d.d.push(a - b);
    }
  }
  const interval = (value: number, xs: number[]): Estimate => {
    xs.sort((x, y) => x - y);
    return { value, low: quantile(xs, 0.025), high: quantile(xs, 0.975) };
  };
  const out = {} as Comparison;
  for (const m of metrics) {
    const a = metricOf(challenger, m);
    const b = metricOf(champion, m);
    const d = draws.get(m)!;
    out[m] = { challenger: interval(a, d.a), champion: interval(b, d.b), difference: interval(a - b, d.d) };
  }
  return out;
}
