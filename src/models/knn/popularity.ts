/**
 * Most-clicked baseline: the same list for every session. The floor any
 * session model must clear, and the fallback when a session has no known item.
 * Pure code: no platform APIs.
 */

/** Items by training clicks, most clicked first (ties: first seen first). */
export interface PopularityModel {
  items: string[];
  counts: number[];
}

/** Counts clicks per item over `sessions` and orders items by count. */
export function buildPopularity(sessions: readonly (readonly string[])[]): PopularityModel {
  const counts = new Map<string, number>();
  for (const seq of sessions) for (const id of seq) counts.set(id, (counts.get(id) ?? 0) + 1);
  // Map iteration keeps insertion order and the sort is stable, so ties stay in first-seen order.
  const ranked = [...counts].sort((a, b) => b[1] - a[1]);
  return { items: ranked.map(([id]) => id), counts: ranked.map(([, c]) => c) };
}

/** Recommends the `k` most clicked items whatever the prefix. */
export function createPopularityRecommender(model: PopularityModel, name = "POP"): { name: string; recommend(prefix: readonly string[], k: number): string[] } {
  return { name, recommend: (_prefix, k) => model.items.slice(0, k) };
}
