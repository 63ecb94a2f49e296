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

/**
 * A queue message / event-log line: the event plus server-owned fields.
 * `seq` is the event's position in its visitor's stream, assigned by the
 * SessionDO: offline replay sorts by it to see events in the order the
 * online feature store applied them.
 */
export interface EventMessage {
  kind: "event";
  schema_version: typeof EVENT_SCHEMA_VERSION;
  tenant: string;
  visitor_id: string;
  seq: number;
  received_at: number;
  event: TrackedEvent;
  /**
   * For clicks, add-to-carts and purchases of items a recommendation showed this
   * visitor in the last 24 h: which impression (and so which variant and model)
   * showed each item. Added by the SessionDO when the event is applied.
   */
  attribution?: Attribution[];
}

/** Links one item of an event to the impression that showed it. */
export interface Attribution {
  item_id: string;
  impression_id: string;
  experiment: string | null;
  variant: string;
  model: string | null;
  position: number;
}

/** The exact model input of an impression (the feature vector the model saw). */
export interface ServedFeatures {
  /** Features used, by name, as read from the SessionDO. */
  source: Record<string, unknown>;
  /** Vocabulary indices and weights fed to the model, or null when no model ran. */
  item_idx: number[] | null;
  item_w: number[] | null;
}

/** One served recommendation list: logged to the queue for training and experiment analysis. */
export interface ImpressionMessage {
  kind: "impression";
  schema_version: typeof EVENT_SCHEMA_VERSION;
  tenant: string;
  visitor_id: string;
  impression_id: string;
  served_at: number;
  type: string;
  experiment: string | null;
  variant: string;
  model: string | null;
  degraded: string | null;
  /** Time from request to response in ms (for MLOps latency guard rails). Optional: older messages lack it. */
  latency_ms?: number;
  /**
   * The variant was forced with `X-Edgewise-Variant` (QA): `experiment` is then `null`, so the
   * list and whatever is attributed to it stay out of experiment statistics and rollout guard rails.
   */
  forced?: true;
  features: ServedFeatures;
  items: Array<{ item_id: string; position: number; score: number }>;
}

/** One line of the event log: an event or a served list. */
export type QueueMessage = EventMessage | ImpressionMessage;

/**
 * One queue message carrying several log lines of one tenant: the events a
 * SessionDO applied from one request, or the lists an isolate served in one
 * flush window. The consumer logs each line exactly as if it had come alone
 * (design 0014).
 */
export interface LineBatchMessage {
  kind: "lines";
  schema_version: typeof EVENT_SCHEMA_VERSION;
  tenant: string;
  lines: QueueMessage[];
}

/** Every message body on the central queue: a line batch, or a single line (older producers). */
export type QueueBody = LineBatchMessage | QueueMessage;
