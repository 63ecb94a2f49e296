import type { EventMessage } from "../events/types";

/** Interaction weights for trending: a view 1, an add-to-cart 3, a purchased line 5. */
const WEIGHT = { product_view: 1, add_to_cart: 3, purchase: 5 } as const;

/** Sums trending weights per tenant and item over a batch of event messages. */
export function trendingWeights(messages: Iterable<EventMessage>): Map<string, Map<string, number>> {
  const byTenant = new Map<string, Map<string, number>>();
  const add = (tenant: string, item: string, w: number) => {
    const items = byTenant.get(tenant) ?? new Map<string, number>();
    items.set(item, (items.get(item) ?? 0) + w);
    byTenant.set(tenant, items);
  };
  for (const m of messages) {
    const e = m.event;
    if (e.type === "product_view") add(m.tenant, e.properties.item_id, WEIGHT.product_view);
    else if (e.type === "add_to_cart") add(m.tenant, e.properties.item_id, WEIGHT.add_to_cart);
    else if (e.type === "purchase") for (const i of e.properties.items) add(m.tenant, i.item_id, WEIGHT.purchase);
  }
  return byTenant;
}
