import type { TrackedEvent } from "../events/types";
import type { FeatureState } from "../features/engine";
import type { FoldResult } from "./fold";
import { DEDUP_HORIZON_MS, HISTORY_LIMIT, SEEN_PRUNE_EVERY_MS } from "./schema";

/** The one session row: identity, sequence counter and the feature state. */
export interface SessionRow {
  tenant: string;
  visitor_id: string;
  next_seq: number;
  last_received_at: number;
  state: string;
}

/**
 * The session's own tables — the row, the dedup index (`seen`) and the history —
 * with the row and its parsed state kept in memory while the instance lives. Every
 * write to the row goes through this instance (ingest, erase, expiry), which keeps
 * the cache true.
 */
export class SessionRows {
  /** `undefined`: not read yet; `null`: no session. */
  private cached: { row: SessionRow; state: FeatureState } | null | undefined;
  private seenPrunedAt = 0;

  constructor(private readonly sql: SqlStorage) {}

  /** The row and its parsed state, from memory after the first read. */
  get(): { row: SessionRow; state: FeatureState } | null {
    if (this.cached === undefined) {
      const rows = this.sql.exec<Record<string, SqlStorageValue>>("SELECT tenant, visitor_id, next_seq, last_received_at, state FROM session WHERE id = 1").toArray();
      const row = (rows[0] as SessionRow | undefined) ?? null;
      this.cached = row ? { row, state: JSON.parse(row.state) as FeatureState } : null;
    }
    return this.cached;
  }

  /** Which of `ids` were applied before. */
  seen(ids: string[]): Set<string> {
    const rows = this.sql.exec<{ event_id: string }>("SELECT event_id FROM seen WHERE event_id IN (SELECT value FROM json_each(?))", JSON.stringify([...new Set(ids)])).toArray();
    return new Set(rows.map((r) => r.event_id));
  }

  /**
   * Writes a fold (inside the caller's transaction): one statement per table, rows as one
   * JSON parameter. Returns the new row; the cache follows only once the caller commits.
   */
  write(row: SessionRow, fold: FoldResult, receivedAt: number): { row: SessionRow; state: FeatureState } {
    const sql = this.sql;
    if (fold.withdrawn) sql.exec("DELETE FROM history");
    if (fold.seenRows.length > 0) {
      sql.exec("INSERT INTO seen (event_id, seq, received_at) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ? FROM json_each(?)", receivedAt, JSON.stringify(fold.seenRows));
    }
    if (fold.historyRows.length > 0) {
      sql.exec("INSERT INTO history (seq, event) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)", JSON.stringify(fold.historyRows));
      if (fold.nextSeq - 1 > HISTORY_LIMIT) sql.exec("DELETE FROM history WHERE seq <= ?", fold.nextSeq - 1 - HISTORY_LIMIT);
    }
    if (receivedAt - this.seenPrunedAt > SEEN_PRUNE_EVERY_MS) {
      sql.exec("DELETE FROM seen WHERE received_at < ?", receivedAt - DEDUP_HORIZON_MS);
      this.seenPrunedAt = receivedAt;
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
    return { row: next, state: fold.state };
  }

  /** The transaction committed: memory follows storage. */
  committed(value: { row: SessionRow; state: FeatureState }): void {
    this.cached = value;
  }

  /** The newest `n` events of the history, oldest first. */
  recent(n: number): TrackedEvent[] {
    return this.sql
      .exec<{ event: string }>("SELECT event FROM history ORDER BY seq DESC LIMIT ?", n)
      .toArray()
      .reverse()
      .map((r) => JSON.parse(r.event) as TrackedEvent);
  }

  /** Storage was wiped. */
  forget(): void {
    this.cached = undefined;
  }
}
