import type { TrackedEvent } from "../contracts/events";
import type { Attribution } from "../contracts/queue";
import { ATTRIBUTION_WINDOW_MS } from "./schema";

/** What the SessionDO remembers of an impression it served to this visitor. */
export interface StoredImpression {
  impression_id: string;
  served_at: number;
  experiment: string | null;
  variant: string;
  model: string | null;
  items: string[];
}

/**
 * Attributes a click, add-to-cart or purchase to the impressions that showed its
 * items: a click to the impression it names; other events, per item, to the most
 * recent impression within 24 h before the event that showed that item.
 */
export function attribute(event: TrackedEvent, impressions: StoredImpression[]): Attribution[] {
  const link = (imp: StoredImpression, itemId: string): Attribution => ({
    item_id: itemId,
    impression_id: imp.impression_id,
    experiment: imp.experiment,
    variant: imp.variant,
    model: imp.model,
    position: imp.items.indexOf(itemId) + 1,
  });
  const latestShowing = (itemId: string): StoredImpression | undefined =>
    impressions
      .filter((i) => i.items.includes(itemId) && i.served_at <= event.timestamp + 60_000 && event.timestamp - i.served_at <= ATTRIBUTION_WINDOW_MS)
      .sort((a, b) => b.served_at - a.served_at)[0];

  switch (event.type) {
    case "recommendation_click": {
      const imp = impressions.find((i) => i.impression_id === event.properties.impression_id);
      return imp?.items.includes(event.properties.item_id) ? [link(imp, event.properties.item_id)] : [];
    }
    case "add_to_cart": {
      const imp = latestShowing(event.properties.item_id);
      return imp ? [link(imp, event.properties.item_id)] : [];
    }
    case "purchase":
      return event.properties.items.flatMap((line) => {
        const imp = latestShowing(line.item_id);
        return imp ? [link(imp, line.item_id)] : [];
      });
    default:
      return [];
  }
}
