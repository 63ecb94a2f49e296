import { chiSquareSurvival } from "./distributions";

/** Outcome of Pearson's chi-square goodness-of-fit test. */
export interface ChiSquareResult {
  statistic: number;
  df: number;
  p_value: number;
  expected: number[];
}

/**
 * Pearson's chi-square test of observed counts against expected shares (any
 * positive weights; normalised here). Bins with a zero expected share must be
 * empty: they are left out of the statistic and of the degrees of freedom, and
 * a count in one makes the p-value 0.
 */
export function chiSquareGoodnessOfFit(observed: readonly number[], weights: readonly number[]): ChiSquareResult | null {
  if (observed.length !== weights.length) throw new RangeError("chi-square: observed and weights differ in length");
  const n = observed.reduce((s, x) => s + x, 0);
  const wTotal = weights.reduce((s, w) => s + w, 0);
  if (n <= 0 || wTotal <= 0) return null;
  const expected = weights.map((w) => (n * w) / wTotal);
  let statistic = 0;
  let bins = 0;
  let impossible = false;
  for (let i = 0; i < observed.length; i++) {
    const e = expected[i]!;
    if (e === 0) {
      if (observed[i]! > 0) impossible = true;
      continue;
    }
    statistic += (observed[i]! - e) ** 2 / e;
    bins++;
  }
  const df = bins - 1;
  if (df < 1) return { statistic, df: Math.max(df, 0), p_value: impossible ? 0 : 1, expected };
  return { statistic, df, p_value: impossible ? 0 : chiSquareSurvival(statistic, df), expected };
}
