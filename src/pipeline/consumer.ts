import type { QueueMessage } from "../contracts/queue";
import type { Logger } from "../http/log";
import { partition } from "./event-log";
import { isLineBatch, linesOf } from "./message";
import { type LogLine, SINKS } from "./sinks";
import { eventLogSink } from "./sinks/event-log";
import { loadConfig } from "../config";
import { type TombstoneMessage, dropErased, isTombstone, purgeLog, receiptKey } from "../privacy/tombstones";

/** Delay before a message whose R2 write failed is delivered again. */
const RETRY_DELAY_S = 10;

/** Counts of one consumer run, for logs and tests. */
export interface ConsumeReport {
  /** Log lines written. */
  written: number;
  objects: number;
  /** Queue messages sent to the dead-letter queue. */
  poison: number;
  /** Queue messages retried. */
  retried: number;
  /** Lines of erased subjects dropped on arrival. */
  dropped?: number;
}

/** One log line and the queue message that carried it. */
interface Line {
  message: Message<unknown>;
  index: number;
  body: QueueMessage;
}

/**
 * Delivers a batch of queue messages — one log line per event or served list (a
 * line batch carries many) — to the registered sinks (src/pipeline/sinks): the R2
 * log, the MLOps monitor, then trending. Acks or retries each message
 * individually — a message is acked only when every line it carries is logged —
 * and never throws: a throw after an ack would redeliver acked messages. Poison
 * goes to the dead-letter queue at once rather than burning retries.
 */
export async function consumeEvents(batch: MessageBatch<unknown>, env: Env, log: Logger): Promise<ConsumeReport> {
  const report: ConsumeReport = { written: 0, objects: 0, poison: 0, retried: 0 };
  let lines: Line[] = [];
  const carriers: Array<Message<unknown>> = [];
  const poison: Array<Message<unknown>> = [];
  const tombstones: Array<Message<TombstoneMessage>> = [];
  for (const m of batch.messages) {
    const carried = linesOf(m.body);
    if (carried) {
      carriers.push(m);
      carried.forEach((body, index) => lines.push({ message: m, index, body }));
    } else if (isTombstone(m.body)) tombstones.push(m as Message<TombstoneMessage>);
    else poison.push(m);
  }
  for (const t of tombstones) await applyTombstone(env, t, log);
  // A message is retried whole when any of its lines could not be handled.
  const failed = new Set<Message<unknown>>();
  // Lines of an erased subject that were still in flight are dropped, not logged.
  if (lines.length > 0) {
    try {
      const { kept, dropped } = await dropErased(env.EVENT_LOG, loadConfig(env).piiSecret, lines);
      if (dropped.length > 0) log.info("erased_messages_dropped", { count: dropped.length });
      report.dropped = dropped.length;
      lines = kept;
    } catch (err) {
      // Without the erasure check nothing may be written: try the whole batch again.
      for (const m of carriers) failed.add(m);
      log.error("erasure_check_failed", { error: describe(err) });
      lines = [];
    }
  }

  if (poison.length > 0) {
    try {
      await env.DEAD_LETTERS.sendBatch(poison.map((m) => ({ body: { reason: "poison", queue: batch.queue, message_id: m.id, attempts: m.attempts, body: m.body } })));
      for (const m of poison) m.ack();
      report.poison = poison.length;
      log.warn("poison_messages", { queue: batch.queue, count: poison.length, ids: poison.map((m) => m.id) });
    } catch (err) {
      // Retrying exhausts max_retries and the platform moves them to the DLQ itself.
      for (const m of poison) m.retry({ delaySeconds: RETRY_DELAY_S });
      report.retried += poison.length;
      log.error("dead_letter_send_failed", { error: describe(err) });
    }
  }

  // Exact sinks in order, each on the lines every earlier one took; a message is retried
  // whole when any of its lines failed. Best-effort sinks then see the acked messages' lines.
  const carrier = new Map<LogLine, Message<unknown>>();
  let taken: LogLine[] = lines
    .filter((l) => !failed.has(l.message))
    .map((l) => {
      const line: LogLine = { key: `${l.message.id}:${l.index}`, body: l.body };
      carrier.set(line, l.message);
      return line;
    });
  for (const sink of SINKS.filter((s) => s.delivery === "exact")) {
    const refused = await sink.accept(taken, env, log);
    if (sink === eventLogSink) {
      const written = taken.filter((l) => !refused.has(l));
      report.written = written.length;
      report.objects = partition(written).size;
    }
    for (const l of refused) failed.add(carrier.get(l)!);
    taken = taken.filter((l) => !failed.has(carrier.get(l)!));
  }
  for (const m of carriers) {
    if (failed.has(m)) {
      m.retry({ delaySeconds: RETRY_DELAY_S });
      report.retried++;
    } else m.ack();
  }
  for (const sink of SINKS.filter((s) => s.delivery === "best_effort")) await sink.accept(taken, env, log);
  return report;
}

/**
 * Purges an erased subject from the R2 log and completes the erasure receipt.
 * Retried on failure (idempotent); the erasure markers keep dropping late messages meanwhile.
 */
async function applyTombstone(env: Env, m: Message<TombstoneMessage>, log: Logger): Promise<void> {
  try {
    const purge = await purgeLog(env.EVENT_LOG, m.body);
    const key = receiptKey(m.body.tenant, m.body.erasure_id);
    const receipt = (await (await env.EVENT_LOG.get(key))?.json<Record<string, unknown>>()) ?? {};
    const stores = { ...(receipt.stores as Record<string, unknown> | undefined), event_log: { status: "done", ...purge } };
    await env.EVENT_LOG.put(key, JSON.stringify({ ...receipt, stores, completed_at: purge.purged_at }), { httpMetadata: { contentType: "application/json" } });
    m.ack();
    log.info("erasure_log_purged", { erasure_id: m.body.erasure_id, lines_removed: purge.lines_removed, objects_scanned: purge.objects_scanned });
  } catch (err) {
    m.retry({ delaySeconds: RETRY_DELAY_S });
    log.error("erasure_log_purge_failed", { erasure_id: m.body.erasure_id, error: describe(err) });
  }
}

/**
 * Parks dead letters in R2 under `dead-letter/` so none is dropped silently and an
 * operator can inspect or replay them.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env, log: Logger): Promise<number> {
  let parked = 0;
  for (const m of batch.messages) {
    try {
      const day = new Date(m.timestamp.getTime()).toISOString().slice(0, 10);
      const record = { message_id: m.id, queue: batch.queue, attempts: m.attempts, timestamp: m.timestamp.toISOString() };
      // A line batch is parked one record (NDJSON line) per log line, so an erasure purge can remove one visitor's lines.
      const records = isLineBatch(m.body) ? m.body.lines.map((line, line_index) => ({ ...record, line_index, body: line })) : [{ ...record, body: m.body }];
      await env.EVENT_LOG.put(`dead-letter/dt=${day}/${m.id}.json`, records.map(safeJson).join("\n"), {
        httpMetadata: { contentType: records.length > 1 ? "application/x-ndjson" : "application/json" },
      });
      m.ack();
      parked++;
    } catch (err) {
      m.retry({ delaySeconds: RETRY_DELAY_S });
      log.error("dead_letter_park_failed", { message_id: m.id, error: describe(err) });
    }
  }
  if (parked > 0) log.warn("dead_letters_parked", { count: parked });
  return parked;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  } catch {
    return JSON.stringify({ unserialisable: Object.prototype.toString.call(value) });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
