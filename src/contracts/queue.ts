import * as v from "valibot";
import { EVENT_SCHEMA_VERSION, EVENT_TYPES, type TrackedEvent } from "./events";

/**
 * Shapes of the queue messages and event-log lines, and their TypeScript types
 * (inferred: one source). The producers are our own worker and SessionDO, so the
 * consumer's check guards against poison — a foreign producer, a schema from the
 * future, a corrupted body — not a second validation of event properties: the
 * event itself is checked for its envelope only.
 */

const common = {
  schema_version: v.literal(EVENT_SCHEMA_VERSION),
  tenant: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)),
  visitor_id: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
};

const EventEnvelope = v.object({
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  type: v.picklist(EVENT_TYPES),
  timestamp: v.pipe(v.number(), v.safeInteger()),
  properties: v.record(v.string(), v.unknown()),
});

/** Links one item of an event to the impression that showed it. */
const AttributionSchema = v.object({
  item_id: v.string(),
  impression_id: v.string(),
  experiment: v.nullable(v.string()),
  variant: v.string(),
  model: v.nullable(v.string()),
  position: v.number(),
});

/**
 * A queue message / event-log line: the event plus server-owned fields. `seq` is the
 * event's position in its visitor's stream, assigned by the SessionDO: offline replay
 * sorts by it to see events in the order the online feature store applied them.
 * `attribution`: for clicks, add-to-carts and purchases of items a recommendation showed
 * this visitor in the last 24 h, which impression (so which variant and model) showed
 * each item — added by the SessionDO when the event is applied.
 */
export const EventMessageSchema = v.object({
  ...common,
  kind: v.literal("event"),
  seq: v.pipe(v.number(), v.integer(), v.minValue(1)),
  received_at: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  // The envelope is checked; the typed event is what our SessionDO wrote.
  event: v.custom<TrackedEvent>((x) => v.is(EventEnvelope, x), "event envelope"),
  attribution: v.optional(v.array(AttributionSchema)),
});

/** Ranker features logged per list, at most (a model's ranker reads fewer: 27 are defined today). */
export const MAX_LOGGED_RANKER_FEATURES = 64;

/** The exact model input of an impression (the feature vector the model saw). */
const ServedFeaturesSchema = v.object({
  /** Features used, by name, as read from the SessionDO. */
  source: v.record(v.string(), v.unknown()),
  /** Vocabulary indices and weights fed to the model, or null when no model ran. */
  item_idx: v.nullable(v.array(v.number())),
  item_w: v.nullable(v.array(v.number())),
  /**
   * When the two-stage ranker ranked the list: the ranker's input row of the candidate
   * it put first, in the manifest's `ranker.features` order (`null`: not a finite number).
   * One row, not the ~200 candidates', keeps the line small (~0.5 KB); drift compares it
   * with the manifest's `ranker.baselines`, histograms of the same row in training.
   * Absent when no ranker ran, and in older messages.
   */
  ranker: v.optional(v.pipe(v.array(v.nullable(v.number())), v.maxLength(MAX_LOGGED_RANKER_FEATURES))),
});

/**
 * One served recommendation list, logged for training and experiment analysis.
 * `latency_ms`: request to response (MLOps latency guard rails; older messages lack it).
 * `forced`: the variant was forced with `X-Edgewise-Variant` (QA): `experiment` is then
 * `null`, so the list and whatever is attributed to it stay out of experiment statistics
 * and rollout guard rails.
 */
export const ImpressionMessageSchema = v.object({
  ...common,
  kind: v.literal("impression"),
  impression_id: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  served_at: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  type: v.string(),
  experiment: v.nullable(v.string()),
  variant: v.string(),
  model: v.nullable(v.string()),
  degraded: v.nullable(v.string()),
  latency_ms: v.optional(v.number()),
  forced: v.optional(v.literal(true)),
  features: ServedFeaturesSchema,
  items: v.array(v.object({ item_id: v.string(), position: v.number(), score: v.number() })),
});

/** One line of the event log: an event or a served list. */
export const QueueMessageSchema = v.union([EventMessageSchema, ImpressionMessageSchema]);

/**
 * One queue message carrying several log lines of one tenant: the events a SessionDO
 * applied from one request, or the lists an isolate served in one flush window. The
 * consumer logs each line exactly as if it had come alone (design 0014).
 */
export const LineBatchSchema = v.object({
  kind: v.literal("lines"),
  schema_version: v.literal(EVENT_SCHEMA_VERSION),
  tenant: common.tenant,
  lines: v.pipe(v.array(QueueMessageSchema), v.minLength(1)),
});

export type Attribution = v.InferOutput<typeof AttributionSchema>;
export type ServedFeatures = v.InferOutput<typeof ServedFeaturesSchema>;
export type EventMessage = v.InferOutput<typeof EventMessageSchema>;
export type ImpressionMessage = v.InferOutput<typeof ImpressionMessageSchema>;
export type QueueMessage = EventMessage | ImpressionMessage;
export type LineBatchMessage = v.InferOutput<typeof LineBatchSchema>;
/** Every message body on the central queue: a line batch, or a single line (older producers). */
export type QueueBody = LineBatchMessage | QueueMessage;

/**
 * `retrain_requested`: a MonitorDO found a served model's drift at "act" and asks the
 * scheduler for a retrain (`npm run retrain -- --request <id>`). One per model and
 * window (`window`: the UTC day, epoch ms): `id` is `<tenant>:<model>:<window start>`,
 * so a redelivery or a resend is recognisable. `reasons`: the figures at "act", in words.
 */
export const RetrainRequestSchema = v.object({
  kind: v.literal("retrain_requested"),
  schema_version: v.literal(1),
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  tenant: common.tenant,
  model: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,62}\/[A-Za-z0-9._-]{1,32}$/)),
  window: v.object({ from: v.pipe(v.number(), v.safeInteger()), to: v.pipe(v.number(), v.safeInteger()) }),
  requested_at: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  reasons: v.pipe(v.array(v.pipe(v.string(), v.maxLength(300))), v.maxLength(50)),
});
export type RetrainRequest = v.InferOutput<typeof RetrainRequestSchema>;
