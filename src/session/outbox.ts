import type { Logger } from "../http/log";
import { type PackedMessage, chunkForSendBatch, packLines, sendSerialised } from "../pipeline/pack";
import { LEGACY_OUTBOX } from "./schema";

/** A request's forwarded lines packed as queue messages (design 0014), each keyed by the seq of its first line. */
export type OutgoingMessage = PackedMessage & { seq: number };

/**
 * The outbox of a SessionDO (designs 0003, 0026): a request's packed messages are
 * sent to the queue before its transaction commits, and written here, in that
 * transaction, only when the queue refused them; a row goes once the queue took
 * it. Callers serialise ingests per object, so what is sent is what commits.
 * Objects created before packing may still hold an `outbox` table of one event
 * per row: it is drained first and dropped.
 */
export class Outbox {
  private chain: Promise<boolean> = Promise.resolve(true);
  /** Whether the pre-packing table exists (`undefined`: not looked yet). */
  private legacy: boolean | undefined;
  /** Whether rows wait for the queue (`undefined`: not looked yet); kept by every path that changes it. */
  private waiting: boolean | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly queue: () => Queue,
    private readonly log: () => Logger,
  ) {}

  /** Packs a request's forwarded lines: one queue message (more only past the message size); `seqs[i]` is line i's seq. */
  static pack(tenant: string, lines: string[], seqs: number[]): OutgoingMessage[] {
    let at = 0;
    return packLines(tenant, lines).map((packed) => {
      const seq = seqs[at]!;
      at += packed.lines;
      return { ...packed, seq };
    });
  }

  /**
   * Sends a request's messages straight to the queue, after whatever already waits here (in seq
   * order). `unsent`: what the queue did not take, for `add` in the request's transaction;
   * `forwarded`: nothing is left waiting.
   */
  async sendNow(messages: OutgoingMessage[]): Promise<{ unsent: OutgoingMessage[]; forwarded: boolean }> {
    if (!(await this.flush())) return { unsent: messages, forwarded: false };
    const chunks = chunkForSendBatch(messages);
    for (const [i, chunk] of chunks.entries()) {
      try {
        await sendSerialised(this.queue(), chunk);
      } catch (err) {
        this.log().warn("enqueue_failed", { pending_messages: messages.length, error: err instanceof Error ? err.message : String(err) });
        return { unsent: chunks.slice(i).flat(), forwarded: false };
      }
    }
    return { unsent: [], forwarded: true };
  }

  /** Keeps messages the queue refused (inside the caller's transaction), for the alarm or the next request. */
  add(messages: OutgoingMessage[]): void {
    for (const m of messages) this.sql.exec("INSERT INTO outbox_messages (seq, events, message) VALUES (?, ?, ?)", m.seq, m.lines, m.json);
    if (messages.length > 0) this.waiting = true;
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
    this.waiting = false;
  }

  private async flushOnce(): Promise<boolean> {
    if (!this.hasWaiting()) return true;
    if (this.hasLegacy()) {
      const rows = this.sql.exec<{ seq: number; message: string }>(`SELECT seq, message FROM ${LEGACY_OUTBOX} ORDER BY seq`).toArray();
      if (!(await this.send(LEGACY_OUTBOX, rows))) return false;
      this.sql.exec(`DROP TABLE ${LEGACY_OUTBOX}`);
      this.legacy = false;
    }
    for (;;) {
      const rows = this.sql.exec<{ seq: number; message: string }>("SELECT seq, message FROM outbox_messages ORDER BY seq LIMIT 100").toArray();
      if (rows.length === 0) {
        this.waiting = false;
        return true;
      }
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

  private hasWaiting(): boolean {
    if (this.waiting === undefined) this.waiting = this.hasLegacy() || this.sql.exec("SELECT 1 FROM outbox_messages LIMIT 1").toArray().length > 0;
    return this.waiting;
  }

  private hasLegacy(): boolean {
    if (this.legacy === undefined) {
      this.legacy = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", LEGACY_OUTBOX).toArray().length > 0;
    }
    return this.legacy;
  }
}
