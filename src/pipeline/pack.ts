import { EVENT_SCHEMA_VERSION } from "../contracts/events";
import type { QueueBody } from "../contracts/queue";

/**
 * Bytes of one packed queue message. Queues accepts up to 128 KB per message;
 * the rest is headroom for the platform's envelope.
 */
export const MAX_MESSAGE_BYTES = 112 * 1024;
/** Lines per packed message, so a consumer batch of 100 messages stays bounded. */
export const MAX_LINES_PER_MESSAGE = 100;

/** Per-call limits of `Queue.sendBatch`. */
export const SEND_BATCH_MAX_MESSAGES = 100;
export const SEND_BATCH_MAX_BYTES = 256 * 1024;
/** Headroom per message for the queue's own envelope (id, timestamps, content type). */
export const PER_MESSAGE_OVERHEAD = 512;

const encoder = new TextEncoder();

/** One packed queue message, serialised: the JSON of a `LineBatchMessage` and how many lines it holds. */
export interface PackedMessage {
  json: string;
  lines: number;
}

/** UTF-8 length of a string (ASCII fast path: JSON of ids and numbers usually is). */
export function utf8Bytes(s: string): number {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s.length : encoder.encode(s).byteLength;
}

/**
 * Packs serialised log lines of one tenant (each the JSON of a `QueueMessage`)
 * into as few `LineBatchMessage`s as fit `MAX_MESSAGE_BYTES` and
 * `MAX_LINES_PER_MESSAGE`, in order. A line too big to share a message goes alone.
 */
export function packLines(tenant: string, lines: readonly string[]): PackedMessage[] {
  const head = `{"kind":"lines","schema_version":${EVENT_SCHEMA_VERSION},"tenant":${JSON.stringify(tenant)},"lines":[`;
  const out: PackedMessage[] = [];
  let current: string[] = [];
  let bytes = head.length + 2;
  const close = () => {
    if (current.length > 0) out.push({ json: `${head}${current.join(",")}]}`, lines: current.length });
    current = [];
    bytes = head.length + 2;
  };
  for (const line of lines) {
    const size = utf8Bytes(line) + 1;
    if (current.length > 0 && (current.length === MAX_LINES_PER_MESSAGE || bytes + size > MAX_MESSAGE_BYTES)) close();
    current.push(line);
    bytes += size;
  }
  close();
  return out;
}

/** Splits serialised messages into groups that each fit one `sendBatch` call (count and bytes). */
export function chunkForSendBatch<T extends { json: string }>(messages: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = utf8Bytes(m.json) + PER_MESSAGE_OVERHEAD;
    if (current.length > 0 && (current.length === SEND_BATCH_MAX_MESSAGES || bytes + size > SEND_BATCH_MAX_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Sends serialised message bodies in one `sendBatch`; throws when the queue refuses them. */
export async function sendSerialised(queue: Queue, messages: ReadonlyArray<{ json: string }>): Promise<void> {
  await queue.sendBatch(messages.map((m) => ({ body: JSON.parse(m.json) as QueueBody, contentType: "json" as const })));
}
