import { normalCdf, normalQuantile } from "./distributions";

/** A share with its two-sided confidence interval. */
export interface Interval {
  value: number;
  low: number;
  high: number;
}

/** Wilson score interval of `successes` out of `trials` (null for no trials). */
export function wilson(successes: number, trials: number, confidence = 0.95): Interval | null {
  if (trials <= 0) return null;
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / trials;
  const z2n = (z * z) / trials;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials))) / (1 + z2n);
  return { value: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** A treatment share compared with control's. */
export interface Comparison {
  /** (p_t − p_c) / p_c with its interval (from the log risk ratio); null when control is 0. */
  lift: Interval | null;
  /** Two-sided p-value of the pooled two-proportion z-test. */
  p_value: number;
  z: number;
  significant: boolean;
}

/**
 * Two-proportion z-test (pooled variance) of treatment against control, and the
 * relative lift with an interval from the normal approximation of ln(p_t / p_c).
 */
export function compareProportions(control: { successes: number; trials: number }, treatment: { successes: number; trials: number }, alpha = 0.05): Comparison | null {
  const { successes: xc, trials: nc } = control;
  const { successes: xt, trials: nt } = treatment;
  if (nc <= 0 || nt <= 0) return null;
  const pc = xc / nc;
  const pt = xt / nt;
  const pooled = (xc + xt) / (nc + nt);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nt));
  const z = se > 0 ? (pt - pc) / se : 0;
  const p = se > 0 ? 2 * (1 - normalCdf(Math.abs(z))) : 1;
  let lift: Interval | null = null;
  if (pc > 0) {
    const value = pt / pc - 1;
    if (xt > 0) {
      const seLog = Math.sqrt((1 - pt) / xt + (1 - pc) / xc);
      const zq = normalQuantile(1 - alpha / 2);
      const logRr = Math.log(pt / pc);
      lift = { value, low: Math.exp(logRr - zq * seLog) - 1, high: Math.exp(logRr + zq * seLog) - 1 };
    } else {
      lift = { value, low: -1, high: Number.NaN };
    }
  }
  return { lift, p_value: p, z, significant: p < alpha };
}
