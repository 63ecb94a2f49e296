import type { EventMessage } from "../contracts/queue";
import type { FreshView } from "../models/ranker/fresh";

/**
 * The product views of a consumer batch, per tenant, in the order the state applies
 * them: by time, then visitor, then the visitor's sequence number (the queue is
 * unordered; a batch is at least ordered within itself). A view's time is the
 * event's own, but never later than its receipt: a client clock ahead cannot age
 * everyone else's weights.
 */
export function freshViews(messages: Iterable<EventMessage>): Map<string, FreshView[]> {
  const byTenant = new Map<string, Array<FreshView & { seq: number }>>();
  for (const m of messages) {
    if (m.event.type !== "product_view") continue;
    const list = byTenant.get(m.tenant) ?? [];
    list.push({ visitor: m.visitor_id, item: m.event.properties.item_id, at: Math.min(m.event.timestamp, m.received_at), seq: m.seq });
    byTenant.set(m.tenant, list);
  }
  const out = new Map<string, FreshView[]>();
  for (const [tenant, list] of byTenant) {
    list.sort((a, b) => a.at - b.at || (a.visitor < b.visitor ? -1 : a.visitor > b.visitor ? 1 : 0) || a.seq - b.seq);
    out.set(
      tenant,
      list.map(({ visitor, item, at }) => ({ visitor, item, at })),
    );
  }
  return out;
}
