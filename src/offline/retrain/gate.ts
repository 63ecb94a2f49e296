/**
 * The champion/challenger gate: a new version is published only when it is better
 * than the tenant's current default on the most recent held-out visits — by the
 * margin, and clearly (the 95 % interval of the paired difference above zero) — and
 * no guard figure is worse beyond its limit. Pure: the decision and every reason are data.
 */
import type { Comparison, Metric, ModelScores } from "./compare";

/** The gate's settings (`npm run retrain` flags; defaults in {@link DEFAULT_GATE}). */
export interface GateSettings {
  /** The figure the challenger must improve. */
  metric: Metric;
  /** By at least this much (absolute: 0.005 = half a point of HR@20). */
  margin: number;
  /**
   * Coverage@20 (distinct items recommended / items) may fall by at most this share of the
   * champion's. The guard is against a collapse (the same few items for everyone), not
   * against losing the long tail a worse model scatters: a champion that no longer fits
   * the shop covers much (79 % vs a far better challenger's 57 % in the shifted-intent test).
   */
  maxCoverageDrop: number;
  /** p95 serving time may grow to at most this multiple of the champion's (plus `latencySlackMs`, timer noise). */
  maxLatencyRatio: number;
  latencySlackMs: number;
  /** HR@20 on new-item and on repeat targets may each fall by at most this much (the repeat/new balance). */
  maxSegmentDrop: number;
  /** Fewer held-out prediction points than this: no verdict, refused. */
  minCases: number;
}

export const DEFAULT_GATE: GateSettings = {
  metric: "hr@20",
  margin: 0.005,
  maxCoverageDrop: 0.5,
  maxLatencyRatio: 1.5,
  latencySlackMs: 2,
  maxSegmentDrop: 0.02,
  minCases: 200,
};

/** One rule of the gate and how it came out. */
export interface GateCheck {
  rule: string;
  passed: boolean;
  detail: string;
}

/** The gate's decision. */
export interface GateVerdict {
  publish: boolean;
  checks: GateCheck[];
  /** The failed checks' details (empty when published). */
  reasons: string[];
}

const pct = (x: number) => `${(100 * x).toFixed(2)}`;

/** Judges a challenger against the champion; `items` is the coverage denominator (the catalog or both vocabularies). */
export function judge(c: Comparison, challenger: ModelScores, champion: ModelScores, items: number, s: GateSettings = DEFAULT_GATE): GateVerdict {
  const cases = challenger.visits.reduce((n, v) => n + v.cases, 0);
  const m = c[s.metric];
  const checks: GateCheck[] = [];
  checks.push({ rule: "enough held-out data", passed: cases >= s.minCases, detail: `${cases} prediction points in ${challenger.visits.length} held-out visits (at least ${s.minCases})` });
  checks.push({
    rule: `${s.metric} better by the margin`,
    passed: m.difference.value >= s.margin,
    detail: `${s.metric} ${pct(m.challenger.value)} vs champion ${pct(m.champion.value)}: ${m.difference.value >= 0 ? "+" : ""}${pct(m.difference.value)} points (margin ${pct(s.margin)})`,
  });
  checks.push({
    rule: `${s.metric} clearly better`,
    passed: m.difference.low > 0,
    detail: `95 % interval of the difference ${pct(m.difference.low)} to ${pct(m.difference.high)} points (must lie above 0)`,
  });
  const covA = challenger.recommended / Math.max(1, items);
  const covB = champion.recommended / Math.max(1, items);
  checks.push({
    rule: "coverage not worse",
    passed: covA >= covB * (1 - s.maxCoverageDrop),
    detail: `coverage@20 ${pct(covA)} % vs champion ${pct(covB)} % (may fall by ${pct(s.maxCoverageDrop)} % of it)`,
  });
  const latLimit = champion.latency.p95 * s.maxLatencyRatio + s.latencySlackMs;
  checks.push({
    rule: "latency not worse",
    passed: challenger.latency.p95 <= latLimit,
    detail: `p95 ${challenger.latency.p95.toFixed(2)} ms vs champion ${champion.latency.p95.toFixed(2)} ms (limit ${latLimit.toFixed(2)} ms)`,
  });
  for (const seg of ["new_hr@20", "repeat_hr@20"] as const) {
    const d = c[seg].difference.value;
    checks.push({
      rule: `${seg} not worse`,
      // A segment without points (NaN) cannot regress.
      passed: !(d < -s.maxSegmentDrop),
      detail: `${seg} ${pct(c[seg].challenger.value)} vs champion ${pct(c[seg].champion.value)} (may fall by ${pct(s.maxSegmentDrop)} points)`,
    });
  }
  const failed = checks.filter((x) => !x.passed);
  return { publish: failed.length === 0, checks, reasons: failed.map((x) => `${x.rule}: ${x.detail}`) };
}
