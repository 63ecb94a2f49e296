import type { EventMessage } from "../contracts/queue";

/** Interaction weights for trending: a view 1, an add-to-cart 3, a purchased line 5. */
const WEIGHT = { product_view: 1, add_to_cart: 3, purchase: 5 } as const;

/**
 * One visitor's say in a tenant's trending list, per consumer batch: at most a
 * purchase's weight for one item, and this much over all items. Without it one
 * 500-event request added 1,500 to an item of the attacker's choosing; now it adds
 * 5, whatever the request held (and the rate limits bound the requests).
 */
export const TRENDING_CAPS = { perVisitorItem: WEIGHT.purchase, perVisitor: 25 } as const;

/** Sums trending weights per tenant and item over a batch of event messages, each visitor's share capped. */
export function trendingWeights(messages: Iterable<EventMessage>): Map<string, Map<string, number>> {
  const byTenant = new Map<string, Map<string, number>>();
  const perVisitorItem = new Map<string, number>();
  const perVisitor = new Map<string, number>();
  const add = (m: EventMessage, item: string, w: number) => {
    const who = `${m.tenant}\u0000${m.visitor_id}`;
    const pair = `${who}\u0000${item}`;
    const room = Math.min(TRENDING_CAPS.perVisitorItem - (perVisitorItem.get(pair) ?? 0), TRENDING_CAPS.perVisitor - (perVisitor.get(who) ?? 0));
    const take = Math.min(w, room);
    if (take <= 0) return;
    perVisitorItem.set(pair, (perVisitorItem.get(pair) ?? 0) + take);
    perVisitor.set(who, (perVisitor.get(who) ?? 0) + take);
    const items = byTenant.get(m.tenant) ?? new Map<string, number>();
    items.set(item, (items.get(item) ?? 0) + take);
    byTenant.set(m.tenant, items);
  };
  for (const m of messages) {
    const e = m.event;
    if (e.type === "product_view") add(m, e.properties.item_id, WEIGHT.product_view);
    else if (e.type === "add_to_cart") add(m, e.properties.item_id, WEIGHT.add_to_cart);
    else if (e.type === "purchase") for (const i of e.properties.items) add(m, i.item_id, WEIGHT.purchase);
  }
  return byTenant;
}
