import * as v from "valibot";
import { EVENT_SCHEMA_VERSION, EVENT_TYPES, type LineBatchMessage, type QueueMessage } from "../contracts/events";

/**
 * Shape checks for queue messages. The producers are our own worker and
 * SessionDO, so this guards against poison (a foreign producer, a schema from
 * the future, a corrupted body), not a second validation of event properties.
 */
const common = {
  schema_version: v.literal(EVENT_SCHEMA_VERSION),
  tenant: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)),
  visitor_id: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
};

const EventMessageSchema = v.object({
  ...common,
  kind: v.literal("event"),
  seq: v.pipe(v.number(), v.integer(), v.minValue(1)),
  received_at: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  event: v.object({
    id: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
    type: v.picklist(EVENT_TYPES),
    timestamp: v.pipe(v.number(), v.safeInteger()),
    properties: v.record(v.string(), v.unknown()),
  }),
});

const ImpressionMessageSchema = v.object({
  ...common,
  kind: v.literal("impression"),
  impression_id: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  served_at: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  variant: v.string(),
  items: v.array(v.object({ item_id: v.string(), position: v.number(), score: v.number() })),
});

/** True when a queue message body is a well-formed event or impression message. */
export function isQueueMessage(body: unknown): body is QueueMessage {
  return v.is(EventMessageSchema, body) || v.is(ImpressionMessageSchema, body);
}

const LineBatchSchema = v.object({
  kind: v.literal("lines"),
  schema_version: v.literal(EVENT_SCHEMA_VERSION),
  tenant: common.tenant,
  lines: v.pipe(v.array(v.union([EventMessageSchema, ImpressionMessageSchema])), v.minLength(1)),
});

/** True when a queue message body is a well-formed line batch whose lines all belong to its tenant. */
export function isLineBatch(body: unknown): body is LineBatchMessage {
  return v.is(LineBatchSchema, body) && body.lines.every((l) => l.tenant === body.tenant);
}

/** The log lines a queue message carries, or `null` when it is poison. */
export function linesOf(body: unknown): QueueMessage[] | null {
  if (isLineBatch(body)) return body.lines as QueueMessage[];
  return isQueueMessage(body) ? [body] : null;
}

/** The time a message is partitioned by: receipt for events, serving for impressions. */
export function messageTime(m: QueueMessage): number {
  return m.kind === "event" ? m.received_at : m.served_at;
}
