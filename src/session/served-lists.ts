import type { AlarmPlanner } from "./alarm";
import type { StoredImpression } from "./attribution";
import { ATTRIBUTION_WINDOW_MS, IMPRESSIONS_LIMIT } from "./schema";

/**
 * Served lists handed over with `features()` are kept in memory and written in
 * batches (design 0019): with the next event batch (which needs them for
 * attribution), at this many, or by an alarm this soon. A write per served list
 * cost about a third of the recommendation path's throughput.
 */
const SAVE_BATCH = 25;
const SAVE_MS = 1000;

/**
 * The lists served to this visitor, kept for attribution (24 h, 50 at most): the
 * one owner of when they are written. The isolate only carries a visitor's new
 * lists to the object with its next call (src/recommend/impression.ts); this
 * class decides when they reach storage. Lists in memory are lost only if the
 * instance dies within SAVE_MS.
 *
 * All of a visitor's lists live in one row (`served_lists`, a JSON array, newest
 * first; design 0027): a write rewrites that row, so it costs one billed row
 * however many lists it carries, and nothing is deleted row by row. The row is
 * read once per instance and kept in memory, like the session row: every write
 * goes through this instance. Objects from before keep theirs in the older
 * `impressions` table (one row per list plus its key index): read with the row,
 * and emptied by the first write.
 */
export class ServedLists {
  private unsaved: StoredImpression[] = [];
  private alarmSet = false;
  /** The stored lists, newest first; `undefined`: not read yet. */
  private stored: StoredImpression[] | undefined;
  /** Whether the older per-list table still holds rows (emptied by the next write). */
  private legacyRows = false;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly alarm: AlarmPlanner,
  ) {}

  /** Keeps lists in memory until a batch is worth a write; makes sure an alarm writes them soon. */
  async buffer(impressions: StoredImpression[], now: number): Promise<void> {
    this.unsaved.push(...impressions);
    if (this.unsaved.length >= SAVE_BATCH) {
      this.write([]);
      return;
    }
    if (this.alarmSet) return;
    await this.alarm.noLaterThan(now + SAVE_MS);
    this.alarmSet = true;
  }

  /**
   * Writes what is buffered plus `more` (an ingest's lists: before its events, so they can be
   * attributed). `hasSession: false` drops them: a visitor with no session has nothing to attribute later.
   */
  write(more: StoredImpression[], hasSession = true): void {
    const impressions = [...this.unsaved.splice(0), ...more];
    if (impressions.length === 0 || !hasSession) return;
    const kept = retained(this.read(), impressions);
    const sql = this.storage.sql;
    const legacy = this.legacyRows;
    this.storage.transactionSync(() => {
      sql.exec("INSERT INTO served_lists (id, data) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data", JSON.stringify(kept));
      if (legacy) sql.exec("DELETE FROM impressions");
    });
    this.stored = kept;
    this.legacyRows = false;
  }

  /** The alarm ran: whatever is buffered is written now. */
  onAlarm(): void {
    this.alarmSet = false;
  }

  /** Stored lists, newest first. */
  read(): StoredImpression[] {
    if (this.stored === undefined) {
      const sql = this.storage.sql;
      const row = sql.exec<{ data: string }>("SELECT data FROM served_lists WHERE id = 1").toArray()[0];
      const legacy = sql
        .exec<{ data: string }>("SELECT data FROM impressions ORDER BY served_at DESC")
        .toArray()
        .map((r) => JSON.parse(r.data) as StoredImpression);
      this.legacyRows = legacy.length > 0;
      const current = row ? (JSON.parse(row.data) as StoredImpression[]) : [];
      this.stored = legacy.length > 0 ? retained(legacy, current) : current;
    }
    return this.stored;
  }

  /** Withdrawal or erasure: nothing served is kept. */
  clear(): void {
    this.unsaved = [];
    this.storage.sql.exec("DELETE FROM served_lists");
    this.storage.sql.exec("DELETE FROM impressions");
    // Re-read after: this may run inside a transaction that could still roll back.
    this.stored = undefined;
  }

  /** Storage was wiped. */
  forget(): void {
    this.unsaved = [];
    this.alarmSet = false;
    this.stored = undefined;
    this.legacyRows = false;
  }
}

/**
 * What a write keeps, newest first: `stored` with `added` (a list recorded again replaces
 * its older copy), none served more than ATTRIBUTION_WINDOW_MS before the newest added
 * list, at most IMPRESSIONS_LIMIT. Ties in time keep the later-recorded list first.
 */
export function retained(stored: readonly StoredImpression[], added: readonly StoredImpression[]): StoredImpression[] {
  const ids = new Set(added.map((i) => i.impression_id));
  let newest = 0;
  for (const imp of added) newest = Math.max(newest, imp.served_at);
  const all = [...[...added].reverse(), ...stored.filter((i) => !ids.has(i.impression_id))];
  const seen = new Set<string>();
  const unique = all.filter((i) => !seen.has(i.impression_id) && (seen.add(i.impression_id), true));
  return unique
    .filter((i) => i.served_at >= newest - ATTRIBUTION_WINDOW_MS)
    .sort((a, b) => b.served_at - a.served_at)
    .slice(0, IMPRESSIONS_LIMIT);
}
