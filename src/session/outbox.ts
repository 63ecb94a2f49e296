import type { EventMessage } from "../events/types";

/** Per-call limits of `Queue.sendBatch`. */
export const SEND_BATCH_MAX_MESSAGES = 100;
export const SEND_BATCH_MAX_BYTES = 256 * 1024;
// Headroom per message for the queue's own envelope (id, timestamps, content type).
export const PER_MESSAGE_OVERHEAD = 512;
const encoder = new TextEncoder();

/** An outbox row: the event's sequence number and its serialised message. */
export interface OutboxRow {
  seq: number;
  message: string;
}

/** Splits outbox rows into chunks that each fit one `sendBatch` call. */
export function chunkForSendBatch(rows: OutboxRow[]): OutboxRow[][] {
  const chunks: OutboxRow[][] = [];
  let current: OutboxRow[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = encoder.encode(row.message).byteLength + PER_MESSAGE_OVERHEAD;
    if (current.length > 0 && (current.length === SEND_BATCH_MAX_MESSAGES || bytes + size > SEND_BATCH_MAX_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Sends one chunk of outbox rows as JSON messages; throws when the queue refuses them. */
export async function sendChunk(queue: Queue, chunk: OutboxRow[]): Promise<void> {
  await queue.sendBatch(chunk.map((r) => ({ body: JSON.parse(r.message) as EventMessage, contentType: "json" as const })));
}
