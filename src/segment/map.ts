import type { SegmentMessage } from "./schema";

/** Why a Segment message was refused before our event validation; stable codes. */
export type SegmentRejectCode =
  /** A `track` event that maps to none of our event types (see the compatibility table). */
  | "unmapped_event"
  /** `screen`, `group` and `alias` calls: nothing of ours to map them to. */
  | "unsupported_call";

export type Mapped = { ok: true; event: Record<string, unknown> } | { ok: false; code: SegmentRejectCode; message: string };

type Props = Record<string, unknown>;
type Mapper = (p: Props) => { type: string; properties: Props } | null;

function compact(o: Props): Props {
  const out: Props = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
/** Ids may be numbers in Segment payloads; ours are strings. Anything else goes to validation as sent. */
const idOf = (x: unknown): unknown => (typeof x === "number" && Number.isFinite(x) ? String(x) : x);
const itemOf = (p: Props): unknown => idOf(p.product_id ?? p.sku ?? p.id);

/** E-commerce Spec v2 events we map, by lower-cased event name. */
const TRACK: Record<string, Mapper> = {
  "product viewed": (p) => ({ type: "product_view", properties: compact({ item_id: itemOf(p), category: p.category, price: p.price, currency: p.currency }) }),
  "product added": (p) => ({ type: "add_to_cart", properties: compact({ item_id: itemOf(p), quantity: p.quantity, price: p.price, currency: p.currency, category: p.category }) }),
  "product removed": (p) => ({ type: "remove_from_cart", properties: compact({ item_id: itemOf(p), quantity: p.quantity }) }),
  "products searched": (p) => ({ type: "search", properties: compact({ query: p.query }) }),
  "order completed": (p) => ({
    type: "purchase",
    properties: compact({
      order_id: idOf(p.order_id ?? p.checkout_id),
      items: Array.isArray(p.products)
        ? p.products.map((x: unknown) =>
            typeof x === "object" && x !== null ? compact({ item_id: itemOf(x as Props), quantity: (x as Props).quantity, price: (x as Props).price, category: (x as Props).category }) : x,
          )
        : p.products,
      currency: p.currency,
      total: p.total ?? p.revenue,
    }),
  }),
  // A click on a list we served: the item carries the impression id the SDK and `GET /v1/recommendations` return.
  "product clicked": (p) =>
    p.impression_id === undefined ? null : { type: "recommendation_click", properties: compact({ impression_id: p.impression_id, item_id: itemOf(p), position: p.position }) },
};

/** The spec events we map, for docs and the OpenAPI description. */
export const MAPPED_TRACK_EVENTS = ["Product Viewed", "Product Added", "Product Removed", "Products Searched", "Order Completed", "Product Clicked"] as const;

/**
 * Maps one Segment message onto an event of ours (still unvalidated: it goes through
 * `validateEvent` like any `/v1/events` event). `timestamp` is corrected for the
 * client's clock: `receivedAt - sentAt` added to the client's own time, as Segment does.
 */
export function mapSegmentMessage(msg: SegmentMessage, eventId: string, receivedAt: number, batchSentAt: string | undefined): Mapped {
  const clientTime = msg.originalTimestamp ?? msg.timestamp;
  const sentAt = msg.sentAt ?? batchSentAt;
  const skew = sentAt !== undefined ? receivedAt - parseTime(sentAt) : 0;
  const timestamp = Math.round(clientTime !== undefined ? parseTime(clientTime) + (Number.isFinite(skew) ? skew : 0) : receivedAt);
  const base = { id: eventId, timestamp };
  switch (msg.type) {
    case "page": {
      const p = msg.properties ?? {};
      const page = (msg.context?.page ?? {}) as Props;
      return { ok: true, event: { ...base, type: "page_view", properties: compact({ path: p.path ?? page.path, referrer: emptyToUndefined(p.referrer ?? page.referrer), page_type: msg.category }) } };
    }
    case "identify": {
      const email = msg.traits?.email;
      return { ok: true, event: { ...base, type: "identify", properties: compact({ customer_id: msg.userId ?? undefined, email }) } };
    }
    case "track": {
      const mapper = TRACK[msg.event.toLowerCase()];
      const mapped = mapper?.(msg.properties ?? {});
      if (!mapped) {
        const hint = mapper ? " without an impression_id (only clicks on lists we served are attributed)" : "";
        return { ok: false, code: "unmapped_event", message: `track event ${JSON.stringify(msg.event.slice(0, 80))}${hint} maps to no Edgewise event type; it was not stored` };
      }
      return { ok: true, event: { ...base, ...mapped } };
    }
    default:
      return { ok: false, code: "unsupported_call", message: `${msg.type} calls are not supported; send track, page or identify` };
  }
}

function emptyToUndefined(x: unknown): unknown {
  return x === "" ? undefined : x;
}

// A batch repeats the same few timestamps (one sentAt, often one client time): parse each once.
let lastText = "";
let lastValue = NaN;
function parseTime(text: string): number {
  if (text !== lastText) {
    lastText = text;
    lastValue = Date.parse(text);
  }
  return lastValue;
}
