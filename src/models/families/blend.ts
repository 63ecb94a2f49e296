import type { ScoredItem as Scored } from "./family";

/**
 * Blends two ranked candidate lists: session-kNN votes (scaled by the best vote)
 * and the model's logits (as exp(logit − best), i.e. probabilities relative to
 * the model's top item). score = (1 − w)·kNN + w·model over the union; an item
 * missing from one list scores 0 there. Ties keep the kNN order, then the model's.
 */
export function blendScores(knn: readonly Scored[], model: readonly Scored[], modelWeight: number): Scored[] {
  const topVote = knn.reduce((m, s) => Math.max(m, s.score), 0);
  const topLogit = model.reduce((m, s) => Math.max(m, s.score), -Infinity);
  const combined = new Map<string, { score: number; order: number }>();
  knn.forEach((s, i) => combined.set(s.item_id, { score: topVote > 0 ? (1 - modelWeight) * (s.score / topVote) : 0, order: i }));
  model.forEach((s, i) => {
    const part = modelWeight * Math.exp(s.score - topLogit);
    const hit = combined.get(s.item_id);
    if (hit) hit.score += part;
    else combined.set(s.item_id, { score: part, order: knn.length + i });
  });
  return [...combined].sort((a, b) => b[1].score - a[1].score || a[1].order - b[1].order).map(([item_id, { score }]) => ({ item_id, score }));
}
