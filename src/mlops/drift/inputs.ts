import type { ServedFeatures } from "../../contracts/queue";

/**
 * Monitored model inputs, named as the manifest's baseline histograms name them
 * (src/offline/export/model-version.ts `inputBaselines`). Each takes the exact
 * input an impression logged; `null` means the model got no input (a missing value).
 */
export const MONITORED_INPUTS: Record<string, (f: ServedFeatures) => number | null> = {
  "item_idx.known_items": (f) => (f.item_idx ? f.item_idx.filter((i) => i > 0).length : null),
  "item_w.latest_weight": (f) => (f.item_w && f.item_w.length > 0 ? f.item_w[f.item_w.length - 1]! : null),
};

/** What each monitored input is, in words (the dashboard's headings). */
export const INPUT_LABELS: Readonly<Record<string, string>> = {
  "item_idx.known_items": "Products the model recognises in a shopper's recent views",
  "item_w.latest_weight": "Weight of the latest viewed product",
};

/** Request types that feed the model an input (trending lists never do). */
export const MODEL_INPUT_TYPES: ReadonlySet<string> = new Set(["personalized", "similar", "cart"]);

/** The monitored values of one impression's served features. */
export function monitoredValues(features: ServedFeatures): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [name, read] of Object.entries(MONITORED_INPUTS)) out[name] = read(features);
  return out;
}

/** Bins of the prediction (top score) histogram: symmetric, wide enough for logits and blended scores. */
export const SCORE_EDGES: readonly number[] = [-50, -20, -10, -5, -2, -1, -0.5, 0, 0.5, 1, 2, 5, 10, 20, 50];

/** The score bin of `x`, values beyond the outer edges clamped into the outer bins. */
export function scoreBin(x: number): number {
  const n = SCORE_EDGES.length - 1;
  for (let b = 0; b < n; b++) if (x < SCORE_EDGES[b + 1]!) return b;
  return n - 1;
}
