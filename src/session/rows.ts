import type { TrackedEvent } from "../contracts/events";
import type { FeatureState } from "../features/engine";
import type { FoldResult } from "./fold";
import { HISTORY_LIMIT } from "./schema";
import { SeenIndex } from "./seen";

/** The one session row: identity, sequence counter and the feature state. */
export interface SessionRow {
  tenant: string;
  visitor_id: string;
  next_seq: number;
  last_received_at: number;
  state: string;
}

/**
 * The session's own tables — the row, the dedup index (`seen.ts`) and the history —
 * with the row and its parsed state kept in memory while the instance lives. Every
 * write to the row goes through this instance (ingest, erase, expiry), which keeps
 * the cache true. A request writes one row to each table (design 0026).
 */
export class SessionRows {
  /** `undefined`: not read yet; `null`: no session. */
  private cached: { row: SessionRow; state: FeatureState } | null | undefined;
  private readonly dedup: SeenIndex;

  constructor(private readonly sql: SqlStorage) {
    this.dedup = new SeenIndex(sql);
  }

  /** The row and its parsed state, from memory after the first read. */
  get(): { row: SessionRow; state: FeatureState } | null {
    if (this.cached === undefined) {
      const rows = this.sql.exec<Record<string, SqlStorageValue>>("SELECT tenant, visitor_id, next_seq, last_received_at, state FROM session WHERE id = 1").toArray();
      const row = (rows[0] as SessionRow | undefined) ?? null;
      this.cached = row ? { row, state: JSON.parse(row.state) as FeatureState } : null;
    }
    return this.cached;
  }

  /** Which of `ids` were applied before (exact: design 0026). */
  seen(ids: string[]): Set<string> {
    return this.dedup.seen(ids);
  }

  /**
   * Writes a fold (inside the caller's transaction): one row per table — the request's ids, its
   * events for the history, the session row. Returns the new row; memory follows in `committed`.
   */
  write(row: SessionRow, fold: FoldResult, receivedAt: number): { row: SessionRow; state: FeatureState; ids: string[] } {
    const sql = this.sql;
    if (fold.withdrawn) sql.exec("DELETE FROM history_batches");
    const ids = fold.seenRows.map(([id]) => id);
    if (ids.length > 0) this.dedup.write(fold.seenRows[0]![1], receivedAt, ids);
    const history = fold.historyRows;
    if (history.length > 0) {
      // The events are serialised already: the batch is joined as text, not re-encoded.
      sql.exec("INSERT INTO history_batches (seq, last, events) VALUES (?, ?, ?)", history[0]![0], history.at(-1)![0], `[${history.map(([seq, e]) => `[${seq},${e}]`).join(",")}]`);
      // A batch goes once every event in it is older than the newest HISTORY_LIMIT seqs.
      if (fold.nextSeq - 1 > HISTORY_LIMIT) sql.exec("DELETE FROM history_batches WHERE last <= ?", fold.nextSeq - 1 - HISTORY_LIMIT);
    }
    const next: SessionRow = { ...row, next_seq: fold.nextSeq, last_received_at: Math.max(row.last_received_at, receivedAt), state: JSON.stringify(fold.state) };
    sql.exec(
      `INSERT INTO session (id, tenant, visitor_id, next_seq, last_received_at, state) VALUES (1, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET next_seq = excluded.next_seq, last_received_at = excluded.last_received_at, state = excluded.state`,
      next.tenant,
      next.visitor_id,
      next.next_seq,
      next.last_received_at,
      next.state,
    );
    return { row: next, state: fold.state, ids };
  }

  /** The transaction committed: memory follows storage. */
  committed(value: { row: SessionRow; state: FeatureState; ids: string[] }): void {
    this.cached = { row: value.row, state: value.state };
    this.dedup.committed(value.ids);
  }

  /** The transaction rolled back: nothing it staged reaches memory. */
  rolledBack(): void {
    this.dedup.rolledBack();
  }

  /** The newest `n` events of the history (within the newest HISTORY_LIMIT seqs), oldest first. */
  recent(n: number): TrackedEvent[] {
    const row = this.get()?.row;
    if (!row) return [];
    const oldest = row.next_seq - HISTORY_LIMIT;
    const out: TrackedEvent[] = [];
    for (const b of this.sql.exec<{ events: string }>("SELECT events FROM history_batches ORDER BY seq DESC")) {
      const batch = JSON.parse(b.events) as Array<[number, TrackedEvent]>;
      for (let i = batch.length - 1; i >= 0 && out.length < n; i--) if (batch[i]![0] >= oldest) out.push(batch[i]![1]);
      if (out.length >= n) break;
    }
    return out.reverse();
  }

  /** Storage was wiped. */
  forget(): void {
    this.cached = undefined;
    this.dedup.forget();
  }
}
