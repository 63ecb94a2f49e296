import type { TrackedEvent } from "../../contracts/events";
import { defineFeature, durationMs } from "../definition";

const HALF_LIFE = "1h" as const;
const HALF_LIFE_MS = durationMs(HALF_LIFE);
const WEIGHTS = { product_view: 1, add_to_cart: 3, purchase: 5 } as const;
const MAX_CATEGORIES = 50;
const TOP = 10;

/** One category and its decayed score. */
export interface CategoryScore {
  category: string;
  score: number;
}

/** Scores are kept as of the reference time `ref`; pairs rather than an object so no key can be `__proto__`. */
type AffinityState = { ref: number | null; scores: Array<[string, number]> };

/**
 * Per-category affinity with exponential decay (half-life 1 h): a view weighs 1,
 * an add-to-cart 3, a purchased line 5. Value: the top 10 categories at `now`.
 */
export const categoryAffinity = defineFeature({
  name: "category_affinity",
  version: 1,
  entity: "visitor",
  description: `Decayed per-category affinity (half-life ${HALF_LIFE}; view 1, add-to-cart 3, purchase 5), top ${TOP}.`,
  sources: ["product_view", "add_to_cart", "purchase"],
  aggregation: "decayed_sum",
  window: "lifetime",
  ttl: "30d",
  init: (): AffinityState => ({ ref: null, scores: [] }),
  reduce(state, event) {
    const hits = categoriesOf(event);
    if (hits.length === 0) return state;
    const t = event.timestamp;
    // Late events add their weight already decayed to `ref`; newer ones move `ref` forward.
    const ref = state.ref === null ? t : Math.max(state.ref, t);
    const carry = state.ref === null ? 1 : decay(ref - state.ref);
    const scores = new Map(state.scores.map(([c, s]) => [c, s * carry]));
    for (const [category, weight] of hits) scores.set(category, (scores.get(category) ?? 0) + weight * decay(ref - t));
    const kept = [...scores].sort(byScore).slice(0, MAX_CATEGORIES);
    return { ref, scores: kept };
  },
  value(state, now): CategoryScore[] {
    if (state.ref === null) return [];
    const f = decay(Math.max(0, now - state.ref));
    return state.scores
      .map(([category, s]): [string, number] => [category, s * f])
      .sort(byScore)
      .slice(0, TOP)
      .map(([category, s]) => ({ category, score: Math.round(s * 1e6) / 1e6 }));
  },
});

function categoriesOf(event: TrackedEvent): Array<[string, number]> {
  switch (event.type) {
    case "product_view":
      return event.properties.category ? [[event.properties.category, WEIGHTS.product_view]] : [];
    case "add_to_cart":
      return event.properties.category ? [[event.properties.category, WEIGHTS.add_to_cart]] : [];
    case "purchase":
      return event.properties.items.flatMap((i): Array<[string, number]> => (i.category ? [[i.category, WEIGHTS.purchase]] : []));
    default:
      return [];
  }
}

function decay(ms: number): number {
  return 0.5 ** (ms / HALF_LIFE_MS);
}

function byScore(a: [string, number], b: [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}
