import { chiSquareGoodnessOfFit } from "../stats/chi-square";
import { type Comparison, type Interval, compareProportions, wilson } from "../stats/proportions";

/** Exact, deduplicated counts of one variant (MonitorDO `exp_counts`). */
export type VariantCounts = {
  variant: string;
  /** Distinct visitors shown at least one list of this experiment in this variant. */
  visitors: number;
  impressions: number;
  clicks: number;
  add_to_carts: number;
  purchases: number;
  /** Impressions with at least one attributed click / add-to-cart / purchase. */
  clicked_impressions: number;
  carted_impressions: number;
  purchased_impressions: number;
};

/** One variant's results. */
export interface VariantResult extends VariantCounts {
  weight: number | null;
  ctr: Interval | null;
  conversion: Interval | null;
  /** Against control (null for control itself, or with no control). */
  vs_control: { ctr: Comparison | null; conversion: Comparison | null } | null;
}

/** Sample-ratio-mismatch check: visitors per variant against the configured weights. */
export interface SrmCheck {
  chi_square: number;
  df: number;
  p_value: number;
  /** True when p < 0.001: assignment (or logging) is probably broken. */
  mismatch: boolean;
  expected: Record<string, number>;
}

export interface ExperimentResult {
  experiment: string;
  control: string | null;
  variants: VariantResult[];
  srm: SrmCheck | null;
}

/** p below this flags a sample ratio mismatch (the usual, deliberately strict, SRM threshold). */
export const SRM_ALPHA = 0.001;

/**
 * Analyses one experiment. CTR is the share of impressions clicked at least
 * once, conversion the share followed by an attributed purchase, both with
 * Wilson 95 % intervals; each non-control variant is compared with control by
 * a two-proportion z-test and a relative lift with its interval. Control is
 * the variant named "control" (or "stable" in a rollout), else the first one.
 */
export function analyseExperiment(experiment: string, counts: VariantCounts[], weights: Record<string, number> | null): ExperimentResult {
  const order = weights ? Object.keys(weights) : [];
  const sorted = [...counts].sort((a, b) => rank(order, a.variant) - rank(order, b.variant) || a.variant.localeCompare(b.variant));
  const control = sorted.find((v) => v.variant === "control" || v.variant === "stable") ?? sorted[0] ?? null;
  const variants = sorted.map((v): VariantResult => {
    const isControl = control !== null && v.variant === control.variant;
    return {
      ...v,
      weight: weights?.[v.variant] ?? null,
      ctr: wilson(v.clicked_impressions, v.impressions),
      conversion: wilson(v.purchased_impressions, v.impressions),
      vs_control:
        control && !isControl
          ? {
              ctr: compareProportions({ successes: control.clicked_impressions, trials: control.impressions }, { successes: v.clicked_impressions, trials: v.impressions }),
              conversion: compareProportions({ successes: control.purchased_impressions, trials: control.impressions }, { successes: v.purchased_impressions, trials: v.impressions }),
            }
          : null,
    };
  });
  return { experiment, control: control?.variant ?? null, variants, srm: weights ? srmCheck(counts, weights) : null };
}

/** Chi-square test of visitors per variant against the weights; variants with weight 0 must see no one. */
export function srmCheck(counts: VariantCounts[], weights: Record<string, number>): SrmCheck | null {
  const names = [...new Set([...Object.keys(weights), ...counts.map((c) => c.variant)])];
  const observed = names.map((n) => counts.find((c) => c.variant === n)?.visitors ?? 0);
  const w = names.map((n) => weights[n] ?? 0);
  const r = chiSquareGoodnessOfFit(observed, w);
  if (!r) return null;
  return {
    chi_square: r.statistic,
    df: r.df,
    p_value: r.p_value,
    mismatch: r.p_value < SRM_ALPHA,
    expected: Object.fromEntries(names.map((n, i) => [n, r.expected[i]!])),
  };
}

function rank(order: string[], name: string): number {
  const i = order.indexOf(name);
  return i === -1 ? order.length : i;
}
