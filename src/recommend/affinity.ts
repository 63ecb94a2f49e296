import type { Catalog } from "../catalog/catalog";
import type { Scored } from "./rules";

/**
 * Category shares of a long-term profile, relative to its strongest category
 * (that one is 1), or `null` when the profile has no affinity to use.
 */
export function affinityShares(value: unknown): Map<string, number> | null {
  if (!Array.isArray(value)) return null;
  const scores = value.filter((c): c is { category: string; score: number } => typeof c?.category === "string" && typeof c?.score === "number" && c.score > 0);
  const top = Math.max(0, ...scores.map((c) => c.score));
  if (top <= 0) return null;
  return new Map(scores.map((c) => [c.category, c.score / top]));
}

/**
 * Re-ranks a list toward the person's long-term categories. Ranks, not raw
 * scores, are combined (model logits, kNN votes and trending counts live on
 * different scales): an item at rank i of n keeps `1 − i/n`, times
 * `1 + weight × share` of its category. Items without a known category keep
 * their place relative to each other; the sort is stable.
 */
export function preferAffinity(ranked: readonly Scored[], shares: ReadonlyMap<string, number> | null, catalog: Catalog | null, weight: number): Scored[] {
  if (!shares || !catalog || weight <= 0 || ranked.length < 2) return [...ranked];
  const n = ranked.length;
  return ranked
    .map((s, i) => {
      const category = catalog.byId.get(s.item_id)?.category;
      const share = category === undefined ? 0 : (shares.get(category) ?? 0);
      return { s, i, key: (1 - i / n) * (1 + weight * share) };
    })
    .sort((a, b) => b.key - a.key || a.i - b.i)
    .map((x) => x.s);
}
