import * as v from "valibot";
import { purposesFromTcf } from "../privacy/consent";
import { looksLikeEmail } from "../privacy/scrub";
import { EVENT_TYPES } from "../contracts/events";

/**
 * Wire schemas of incoming events (valibot: tree-shakes to a few KB in the edge
 * bundle). Objects are strict: a field we do not know, including server-owned
 * ones such as `tenant`, `visitor_id`, `received_at` or `consent` on a non-consent
 * event, is rejected rather than silently kept or dropped.
 */

// Lone UTF-16 surrogates are not text: UTF-8 encoders would silently replace them downstream.
const wellFormed = (max: number) =>
  v.pipe(
    v.string(),
    v.minLength(1),
    v.maxLength(max),
    v.check((s) => s.isWellFormed(), "text must be well-formed Unicode (no lone surrogates)"),
  );
// Identifier-like fields are stored and forwarded as sent: an email address in one would be PII
// in the clear, so it is refused (free text is scrubbed instead, identify fields are hashed).
const text = (max: number) =>
  v.pipe(
    wellFormed(max),
    v.check((s) => !looksLikeEmail(s), "this field cannot contain an email address"),
  );
// Item ids key model vocabularies and indexes (newline-separated in the kNN index): no control characters.
const itemId = v.pipe(text(128), v.regex(/^[^\x00-\x1f\x7f]+$/, "item ids cannot contain control characters"));
const category = text(128);
const price = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(1e9));
const currency = v.pipe(v.string(), v.regex(/^[A-Z]{3}$/, "currency must be an ISO 4217 code such as EUR"));
const quantity = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000));

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;
/** ISO 8601 with a zone, or epoch milliseconds; normalised to epoch milliseconds. */
const timestamp = v.union(
  [
    v.pipe(
      v.string(),
      v.regex(ISO_8601, "timestamp must be ISO 8601 with a time zone, e.g. 2026-11-25T10:00:00Z"),
      v.transform((s) => Date.parse(s)),
      v.check((n) => Number.isFinite(n), "timestamp is not a valid date"),
    ),
    v.pipe(v.number(), v.safeInteger("epoch timestamps are integer milliseconds"), v.minValue(0)),
  ],
  "timestamp must be an ISO 8601 string or epoch milliseconds",
);

const base = {
  // Event ids are stored in the clear (dedup index, queue, log): never an email.
  id: v.pipe(
    v.string(),
    v.regex(/^[\x21-\x7e]{1,64}$/, "id must be 1-64 visible ASCII characters"),
    v.check((s) => !looksLikeEmail(s), "id cannot contain an email address"),
  ),
  timestamp,
};

const props = <T extends v.ObjectEntries>(entries: T) => v.strictObject(entries);

const PageView = v.strictObject({
  ...base,
  type: v.literal("page_view"),
  properties: v.optional(props({ path: v.optional(wellFormed(1024)), page_type: v.optional(text(32)), referrer: v.optional(wellFormed(2048)) }), {}),
});
const ProductView = v.strictObject({
  ...base,
  type: v.literal("product_view"),
  properties: props({ item_id: itemId, category: v.optional(category), price: v.optional(price), currency: v.optional(currency) }),
});
const Search = v.strictObject({
  ...base,
  type: v.literal("search"),
  properties: props({
    query: wellFormed(256),
    results_count: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(1_000_000_000))),
  }),
});
const AddToCart = v.strictObject({
  ...base,
  type: v.literal("add_to_cart"),
  properties: props({
    item_id: itemId,
    quantity: v.optional(quantity, 1),
    price: v.optional(price),
    currency: v.optional(currency),
    category: v.optional(category),
  }),
});
const RemoveFromCart = v.strictObject({
  ...base,
  type: v.literal("remove_from_cart"),
  properties: props({ item_id: itemId, quantity: v.optional(quantity) }),
});
const Purchase = v.strictObject({
  ...base,
  type: v.literal("purchase"),
  properties: props({
    order_id: text(128),
    items: v.pipe(v.array(props({ item_id: itemId, quantity: v.optional(quantity, 1), price: v.optional(price), category: v.optional(category) })), v.minLength(1), v.maxLength(200)),
    currency: v.optional(currency),
    total: v.optional(price),
  }),
});
const RecommendationClick = v.strictObject({
  ...base,
  type: v.literal("recommendation_click"),
  properties: props({
    impression_id: text(128),
    item_id: itemId,
    position: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1000))),
  }),
});
const Identify = v.strictObject({
  ...base,
  type: v.literal("identify"),
  properties: v.pipe(
    props({
      customer_id: v.optional(wellFormed(256)),
      email: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(320), v.email())),
      /** A mobile app's install id or similar; the visitor id is linked anyway. */
      device_id: v.optional(wellFormed(128)),
    }),
    // A guest checkout knows only the email; an account login knows the customer id.
    v.check((p) => p.customer_id !== undefined || p.email !== undefined, "identify needs customer_id or email"),
  ),
});
const Consent = v.strictObject({
  ...base,
  type: v.literal("consent"),
  properties: v.pipe(
    props({
      analytics: v.optional(v.boolean()),
      personalization: v.optional(v.boolean()),
      /** An IAB TCF v2 TC string; purposes 1, 5 and 6 map to ours (src/privacy/consent.ts). */
      tcf: v.optional(v.pipe(v.string(), v.maxLength(4096), v.regex(/^[A-Za-z0-9_.-]+$/, "tcf must be a TC string"))),
    }),
    v.check((p) => p.tcf !== undefined || (p.analytics !== undefined && p.personalization !== undefined), "consent needs analytics and personalization, or a tcf string"),
    v.check((p) => p.tcf === undefined || purposesFromTcf(p.tcf) !== null, "tcf is not a valid TCF v2 consent string"),
    // Normalised: explicit booleans win over the TC string.
    v.transform((p) => {
      const fromTcf = p.tcf !== undefined ? purposesFromTcf(p.tcf)! : null;
      return { analytics: p.analytics ?? fromTcf!.analytics, personalization: p.personalization ?? fromTcf!.personalization, ...(p.tcf ? { source: "tcf" as const } : {}) };
    }),
  ),
});

/** Schema of one incoming event, discriminated by `type`. */
export const IncomingEventSchema = v.variant("type", [PageView, ProductView, Search, AddToCart, RemoveFromCart, Purchase, RecommendationClick, Identify, Consent]);

/** An incoming event after schema validation (identify still carries clear identifiers). */
export type IncomingEvent = v.InferOutput<typeof IncomingEventSchema>;

/** The request body: `{ "events": [ … ] }`; events are validated one by one. */
export const BatchSchema = v.strictObject({ events: v.array(v.unknown()) });

/** True when `type` names an event type the API knows. */
export function isKnownType(type: unknown): boolean {
  return typeof type === "string" && (EVENT_TYPES as readonly string[]).includes(type);
}
