import * as v from "valibot";
import type { LineBatchMessage, QueueMessage } from "../contracts/queue";
import { EventMessageSchema, ImpressionMessageSchema, LineBatchSchema } from "../contracts/queue";

/** True when a queue message body is a well-formed event or impression message. */
export function isQueueMessage(body: unknown): body is QueueMessage {
  return v.is(EventMessageSchema, body) || v.is(ImpressionMessageSchema, body);
}

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
