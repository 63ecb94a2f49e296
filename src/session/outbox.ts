import type { Logger } from "../http/log";
import { chunkForSendBatch, packLines, sendSerialised } from "../pipeline/pack";
import { LEGACY_OUTBOX } from "./schema";

/**
 * The transactional outbox of a SessionDO (design 0003): applied events are
 * written in the same transaction that folds them, as packed queue messages (one
 * per request, design 0014), and sent afterwards; a row goes only once the queue
 * took it. Objects created before packing may still hold an `outbox` table of one
 * event per row: it is drained first and dropped.
 */
export class Outbox {
  private chain: Promise<boolean> = Promise.resolve(true);
  /** Whether the pre-packing table exists (`undefined`: not looked yet). */
  private legacy: boolean | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly queue: () => Queue,
    private readonly log: () => Logger,
  ) {}

  /** Adds a request's forwarded lines (inside the caller's transaction); `seqs[i]` is line i's seq. */
  add(tenant: string, lines: string[], seqs: number[]): void {
    let at = 0;
    // One queue message per request (more only past the message size), keyed by the seq of its first event.
    for (const packed of packLines(tenant, lines)) {
      this.sql.exec("INSERT INTO outbox_messages (seq, events, message) VALUES (?, ?, ?)", seqs[at]!, packed.lines, packed.json);
      at += packed.lines;
    }
  }

  /** Events applied but not yet taken by the queue. */
  pending(): number {
    return (
      this.sql.exec<{ n: number }>("SELECT coalesce(sum(events), 0) AS n FROM outbox_messages").one().n +
      (this.hasLegacy() ? this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${LEGACY_OUTBOX}`).one().n : 0)
    );
  }

  /** Tables to count and drop on erasure. */
  tables(): string[] {
    return ["outbox_messages", ...(this.hasLegacy() ? [LEGACY_OUTBOX] : [])];
  }

  /** Sends every row to the queue; `false` when the queue refused (rows stay for a retry). */
  flush(): Promise<boolean> {
    // Serialised, so concurrent requests and the alarm never send the same rows twice.
    const run = this.chain.then(() => this.flushOnce());
    this.chain = run.catch(() => false);
    return run;
  }

  /** Storage was wiped. */
  forget(): void {
    this.legacy = false;
  }

  private async flushOnce(): Promise<boolean> {
    if (this.hasLegacy()) {
      const rows = this.sql.exec<{ seq: number; message: string }>(`SELECT seq, message FROM ${LEGACY_OUTBOX} ORDER BY seq`).toArray();
      if (!(await this.send(LEGACY_OUTBOX, rows))) return false;
      this.sql.exec(`DROP TABLE ${LEGACY_OUTBOX}`);
      this.legacy = false;
    }
    for (;;) {
      const rows = this.sql.exec<{ seq: number; message: string }>("SELECT seq, message FROM outbox_messages ORDER BY seq LIMIT 100").toArray();
      if (rows.length === 0) return true;
      if (!(await this.send("outbox_messages", rows))) return false;
    }
  }

  /** Sends rows in `sendBatch` chunks, deleting each chunk once the queue took it; `false` when it refused. */
  private async send(table: string, rows: Array<{ seq: number; message: string }>): Promise<boolean> {
    for (const chunk of chunkForSendBatch(rows.map((r) => ({ seq: r.seq, json: r.message })))) {
      try {
        await sendSerialised(this.queue(), chunk);
      } catch (err) {
        this.log().warn("enqueue_failed", { pending_messages: rows.length, error: err instanceof Error ? err.message : String(err) });
        return false;
      }
      this.sql.exec(`DELETE FROM ${table} WHERE seq BETWEEN ? AND ?`, chunk[0]!.seq, chunk[chunk.length - 1]!.seq);
    }
    return true;
  }

  private hasLegacy(): boolean {
    if (this.legacy === undefined) {
      this.legacy = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", LEGACY_OUTBOX).toArray().length > 0;
    }
    return this.legacy;
  }
}
