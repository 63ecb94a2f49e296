/**
 * Offline evaluation of the session model: next-item hit rate and MRR over
 * every prefix of held-out sessions, with an exact ranking over the whole
 * vocabulary, against a most-popular baseline under the same protocol.
 */
import { modelVocab, scoreItems, type SessionModel } from "./session-model";

/** Hit rate and mean reciprocal rank at one cut-off. */
export interface MetricsAtK {
  k: number;
  /** Share of prefixes whose next item ranks in the top k. */
  hr: number;
  /** Mean of 1/rank when the next item ranks in the top k, 0 otherwise. */
  mrr: number;
}

/** Result of {@link evaluateNextItem}. */
export interface NextItemMetrics {
  /** Prefixes evaluated (each predicts one next item). */
  cases: number;
  /** Cases whose next item is not in the model's vocabulary: misses for both rankers. */
  unknownTargets: number;
  model: MetricsAtK[];
  popularity: MetricsAtK[];
}

/** Options of {@link evaluateNextItem}. */
export interface EvaluateOptions {
  /** Cut-offs, such as [10, 20]; the popularity baseline supports k up to its list length (200). */
  k: number[];
}

/**
 * For each test session and each i ≥ 1, ranks every vocabulary index by the
 * serving contract's logits for prefix items 1..i and records where item i+1
 * lands. Nothing is excluded: items already viewed stay candidates, as they do
 * at serving time. Ties rank the lower index first, so results are deterministic.
 */
export function evaluateNextItem(model: SessionModel, testSessions: readonly (readonly string[])[], opts: EvaluateOptions): NextItemMetrics {
  const maxPopular = model.popularity.length;
  for (const k of opts.k) {
    if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`k must be a positive integer, got ${k}`);
    if (k > maxPopular) throw new RangeError(`k = ${k} exceeds the popularity list (${maxPopular} items)`);
  }
  const vocab = modelVocab(model);
  const popularRank = new Map(model.popularity.map((p, r) => [p.item_id, r + 1]));
  const hits = { model: opts.k.map(() => 0), popularity: opts.k.map(() => 0) };
  const rr = { model: opts.k.map(() => 0), popularity: opts.k.map(() => 0) };
  let cases = 0;
  let unknownTargets = 0;

  const record = (who: "model" | "popularity", rank: number): void => {
    opts.k.forEach((k, i) => {
      if (rank > k) return;
      hits[who][i]! += 1;
      rr[who][i]! += 1 / rank;
    });
  };

  for (const seq of testSessions) {
    for (let i = 1; i < seq.length; i++) {
      cases++;
      const target = vocab.get(seq[i]!);
      if (target === undefined) {
        unknownTargets++;
        continue;
      }
      record("model", rankOf(scoreItems(model, seq.slice(0, i), vocab), target));
      record("popularity", popularRank.get(seq[i]!) ?? Infinity);
    }
  }
  const summarise = (who: "model" | "popularity"): MetricsAtK[] => opts.k.map((k, i) => ({ k, hr: cases ? hits[who][i]! / cases : 0, mrr: cases ? rr[who][i]! / cases : 0 }));
  return { cases, unknownTargets, model: summarise("model"), popularity: summarise("popularity") };
}

/** 1-based rank of `target` among `scores`: higher scores first, ties broken by lower index. */
function rankOf(scores: Float32Array, target: number): number {
  const t = scores[target]!;
  let rank = 1;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]!;
    if (v > t || (v === t && i < target)) rank++;
  }
  return rank;
}
