import * as v from "valibot";
import { EVENT_SCHEMA_VERSION, EVENT_TYPES, type EventMessage } from "../events/types";

/**
 * Shape check for queue messages. The producer is our own SessionDO, so this is
 * a guard against poison (a foreign producer, a schema from the future, a
 * corrupted body), not a second validation of event properties.
 */
const EventMessageSchema = v.object({
  kind: v.literal("event"),
  schema_version: v.literal(EVENT_SCHEMA_VERSION),
  tenant: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)),
  visitor_id: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  seq: v.pipe(v.number(), v.integer(), v.minValue(1)),
  received_at: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  event: v.object({
    id: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
    type: v.picklist(EVENT_TYPES),
    timestamp: v.pipe(v.number(), v.safeInteger()),
    properties: v.record(v.string(), v.unknown()),
  }),
});

/** True when a queue message body is a well-formed event message. */
export function isEventMessage(body: unknown): body is EventMessage {
  return v.is(EventMessageSchema, body);
}
