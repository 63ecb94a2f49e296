/**
 * Event types as stored and forwarded after validation and pseudonymisation.
 * Pure types: the feature definitions and the offline pipeline import them too.
 */

/** Every event type the API accepts. */
export const EVENT_TYPES = ["page_view", "product_view", "search", "add_to_cart", "remove_from_cart", "purchase", "recommendation_click", "identify", "consent"] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Outcomes of a recommendation: the event types attributed to the lists that showed
 * their items (SessionDO) and counted per experiment (MonitorDO). One set, both use it.
 */
export const OUTCOME_TYPES = ["recommendation_click", "add_to_cart", "purchase"] as const satisfies readonly EventType[];
export type OutcomeType = (typeof OUTCOME_TYPES)[number];

/** Whether an event type is an outcome (narrows the type). */
export function isOutcomeType(type: EventType): type is OutcomeType {
  return (OUTCOME_TYPES as readonly string[]).includes(type);
}

export interface PageViewProps {
  path?: string;
  page_type?: string;
  referrer?: string;
}
export interface ProductViewProps {
  item_id: string;
  category?: string;
  price?: number;
  currency?: string;
}
export interface SearchProps {
  /** Scrubbed of email-like and long number-like tokens before storage. */
  query: string;
  results_count?: number;
}
export interface AddToCartProps {
  item_id: string;
  quantity: number;
  price?: number;
  currency?: string;
  category?: string;
}
export interface RemoveFromCartProps {
  item_id: string;
  /** Absent: remove the item entirely. */
  quantity?: number;
}
export interface PurchaseItem {
  item_id: string;
  quantity: number;
  price?: number;
  category?: string;
}
export interface PurchaseProps {
  order_id: string;
  items: PurchaseItem[];
  currency?: string;
  total?: number;
}
export interface RecommendationClickProps {
  impression_id: string;
  item_id: string;
  position?: number;
}
/** Identifiers arrive in clear and are stored only as keyed HMACs. */
export interface IdentifyProps {
  /** Which PII_SECRET generation made the hashes below (key rotation). */
  key_id?: string;
  customer_hash?: string;
  email_hash?: string;
  device_hash?: string;
  /**
   * An email or device a customer token named without the shop having signed it into
   * the token: recorded with the claim, never linked to the customer (design 0012).
   */
  unproven_email_hash?: string;
  unproven_device_hash?: string;
}
export interface ConsentProps {
  analytics: boolean;
  personalization: boolean;
  /** Present when the purposes were read from an IAB TCF v2 string (the string itself is not kept). */
  source?: "tcf";
}

interface PropsByType {
  page_view: PageViewProps;
  product_view: ProductViewProps;
  search: SearchProps;
  add_to_cart: AddToCartProps;
  remove_from_cart: RemoveFromCartProps;
  purchase: PurchaseProps;
  recommendation_click: RecommendationClickProps;
  identify: IdentifyProps;
  consent: ConsentProps;
}

/** One validated event of type `T`, timestamp normalised to epoch milliseconds. */
export type TrackedEventOf<T extends EventType> = {
  id: string;
  type: T;
  timestamp: number;
  properties: PropsByType[T];
};

/** A validated, pseudonymised event: the input of every feature reducer. */
export type TrackedEvent = { [T in EventType]: TrackedEventOf<T> }[EventType];

/** Version of the event and queue-message schema; bump on a breaking change. */
export const EVENT_SCHEMA_VERSION = 1;

// Queue messages and event-log lines are in ./queue.ts (types inferred from their valibot schemas).
