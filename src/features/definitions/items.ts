import { defineFeature } from "../definition";

const LAST_VIEWED = 20;
const PRICE_WINDOW = 20;

/** The last 20 viewed item ids, oldest first, repeats kept. */
export const lastViewedItems = defineFeature({
  name: "last_viewed_items",
  version: 1,
  entity: "visitor",
  description: `The last ${LAST_VIEWED} viewed item ids in arrival order, oldest first, repeats kept.`,
  sources: ["product_view"],
  aggregation: "last_n",
  window: "lifetime",
  ttl: "30d",
  init: (): string[] => [],
  reduce: (state, event) => (event.type === "product_view" ? [...state, event.properties.item_id].slice(-LAST_VIEWED) : state),
  value: (state) => state,
});

/** Item ids viewed in the current visit (last 20, oldest first, repeats kept); empty once the visit lapsed. */
export const visitViewedItems = defineFeature({
  name: "visit_viewed_items",
  version: 1,
  entity: "visitor",
  description: `The last ${LAST_VIEWED} item ids viewed in the current visit, oldest first, repeats kept.`,
  sources: ["product_view"],
  aggregation: "last_n",
  window: "session",
  ttl: "1d",
  init: (): string[] => [],
  // The engine restarts `window: "session"` state when a new visit begins.
  reduce: (state, event) => (event.type === "product_view" ? [...state, event.properties.item_id].slice(-LAST_VIEWED) : state),
  value: (state) => state,
});

/** Price band of viewed items. */
export interface PriceBand {
  min: number;
  median: number;
  max: number;
  count: number;
}

/** Min, median and max price of the last 20 priced product views. */
export const viewedPriceBand = defineFeature({
  name: "viewed_price_band",
  version: 1,
  entity: "visitor",
  description: `Min / median / max price of the last ${PRICE_WINDOW} product views that carried a price.`,
  sources: ["product_view"],
  aggregation: "stats",
  window: "lifetime",
  ttl: "30d",
  init: (): number[] => [],
  reduce(state, event) {
    if (event.type !== "product_view" || event.properties.price === undefined) return state;
    return [...state, event.properties.price].slice(-PRICE_WINDOW);
  },
  value(state): PriceBand | null {
    if (state.length === 0) return null;
    const sorted = [...state].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    return { min: sorted[0]!, median, max: sorted[sorted.length - 1]!, count: sorted.length };
  },
});

const PURCHASED = 50;

/** Item ids the visitor bought (latest 50, each once, most recent last): excluded from recommendations. */
export const purchasedItems = defineFeature({
  name: "purchased_items",
  version: 1,
  entity: "visitor",
  description: `Item ids of the last ${PURCHASED} distinct purchased items, most recent last.`,
  sources: ["purchase"],
  aggregation: "last_n",
  window: "lifetime",
  ttl: "30d",
  init: (): string[] => [],
  reduce(state, event) {
    if (event.type !== "purchase") return state;
    const bought = event.properties.items.map((i) => i.item_id);
    return [...state.filter((id) => !bought.includes(id)), ...new Set(bought)].slice(-PURCHASED);
  },
  value: (state) => state,
});
