import type { EventType } from "../../contracts/events";
import { defineFeature } from "../definition";

/** Seconds since the latest event of `type` (by event time), `null` if none. */
export function secondsSinceLast<const N extends string>(type: EventType, name: N) {
  return defineFeature({
    name,
    version: 1,
    entity: "visitor",
    description: `Seconds since the latest ${type} event.`,
    sources: [type],
    aggregation: "max_time",
    window: "lifetime",
    ttl: "30d",
    init: (): number | null => null,
    // The max keeps the value right when events arrive out of order.
    reduce: (state, event) => (state === null ? event.timestamp : Math.max(state, event.timestamp)),
    value: (state, now) => (state === null ? null : Math.max(0, now - state) / 1000),
  });
}

export const secondsSinceLastProductView = secondsSinceLast("product_view", "seconds_since_last_product_view");
export const secondsSinceLastAddToCart = secondsSinceLast("add_to_cart", "seconds_since_last_add_to_cart");
