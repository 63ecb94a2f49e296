import * as v from "valibot";
import { normalCdf } from "../stats/distributions";

/** Limits a canary must stay within; breaking one rolls it back. */
export const GuardRailsSchema = v.object({
  /** Canary impressions (in the current step) before any verdict. */
  min_impressions: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000)), 100),
  /** Share of canary lists served degraded by a model or feature failure. */
  max_error_rate: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.05),
  /** 95th percentile of the canary's serving time. */
  max_p95_latency_ms: v.optional(v.pipe(v.number(), v.minValue(1), v.maxValue(60_000)), 800),
  /** Largest relative CTR drop against stable tolerated (0.3: canary CTR may be 30 % lower), when significant. */
  max_ctr_drop: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.3),
});
export type GuardRails = v.InferOutput<typeof GuardRailsSchema>;

/** What guard rails read of one arm (canary or stable) in the current step. */
export interface ArmStats {
  impressions: number;
  errors: number;
  clicked_impressions: number;
  p95_latency_ms: number | null;
}

/** `wait`: not enough data; `ok`: within every rail; `breach`: roll back, for `reasons`. */
export interface GuardRailVerdict {
  verdict: "wait" | "ok" | "breach";
  reasons: string[];
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Checks a canary against its guard rails and the stable arm; reasons are plain sentences. */
export function checkGuardRails(canary: ArmStats, stable: ArmStats, rails: GuardRails): GuardRailVerdict {
  if (canary.impressions < rails.min_impressions) return { verdict: "wait", reasons: [] };
  const reasons: string[] = [];
  const errorRate = canary.errors / canary.impressions;
  if (errorRate > rails.max_error_rate) {
    reasons.push(`error rate ${pct(errorRate)} is above the ${pct(rails.max_error_rate)} limit (${canary.errors} of ${canary.impressions} lists failed)`);
  }
  if (canary.p95_latency_ms !== null && canary.p95_latency_ms > rails.max_p95_latency_ms) {
    reasons.push(`p95 latency ${Math.round(canary.p95_latency_ms)} ms is above the ${rails.max_p95_latency_ms} ms limit`);
  }
  if (stable.impressions >= rails.min_impressions) {
    const ctrC = canary.clicked_impressions / canary.impressions;
    const ctrS = stable.clicked_impressions / stable.impressions;
    if (ctrS > 0 && ctrC < ctrS * (1 - rails.max_ctr_drop) && oneSidedLowerP(stable, canary) < 0.05) {
      reasons.push(`click-through rate ${pct(ctrC)} is more than ${pct(rails.max_ctr_drop)} below stable's ${pct(ctrS)}`);
    }
  }
  return { verdict: reasons.length > 0 ? "breach" : "ok", reasons };
}

/** One-sided p-value that the canary's CTR is below stable's (pooled two-proportion z-test). */
function oneSidedLowerP(stable: ArmStats, canary: ArmStats): number {
  const n1 = stable.impressions;
  const n2 = canary.impressions;
  const pooled = (stable.clicked_impressions + canary.clicked_impressions) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return 1;
  const z = (canary.clicked_impressions / n2 - stable.clicked_impressions / n1) / se;
  return normalCdf(z);
}

/** Latency histogram bucket upper edges in ms (the last bucket is open). */
export const LATENCY_EDGES_MS: readonly number[] = [1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000];

/** The latency bucket of `ms`. */
export function latencyBucket(ms: number): number {
  for (let b = 0; b < LATENCY_EDGES_MS.length; b++) if (ms <= LATENCY_EDGES_MS[b]!) return b;
  return LATENCY_EDGES_MS.length;
}

/** Quantile `q` of a bucketed histogram, linearly interpolated inside the bucket (as Prometheus does). */
export function latencyQuantile(counts: ReadonlyMap<number, number>, q: number): number | null {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const target = q * total;
  let seen = 0;
  for (let b = 0; b <= LATENCY_EDGES_MS.length; b++) {
    const c = counts.get(b) ?? 0;
    if (c > 0 && seen + c >= target) {
      const lo = b === 0 ? 0 : LATENCY_EDGES_MS[b - 1]!;
      const hi = LATENCY_EDGES_MS[b] ?? lo * 2;
      return lo + ((hi - lo) * (target - seen)) / c;
    }
    seen += c;
  }
  return LATENCY_EDGES_MS.at(-1)!;
}
