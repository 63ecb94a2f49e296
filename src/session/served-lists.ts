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
 */
export class ServedLists {
  private unsaved: StoredImpression[] = [];
  private alarmSet = false;

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
    const sql = this.storage.sql;
    this.storage.transactionSync(() => {
      let newest = 0;
      for (const imp of impressions) {
        sql.exec("INSERT OR REPLACE INTO impressions (impression_id, served_at, data) VALUES (?, ?, ?)", imp.impression_id, imp.served_at, JSON.stringify(imp));
        newest = Math.max(newest, imp.served_at);
      }
      sql.exec("DELETE FROM impressions WHERE served_at < ?", newest - ATTRIBUTION_WINDOW_MS);
      sql.exec("DELETE FROM impressions WHERE impression_id NOT IN (SELECT impression_id FROM impressions ORDER BY served_at DESC LIMIT ?)", IMPRESSIONS_LIMIT);
    });
  }

  /** The alarm ran: whatever is buffered is written now. */
  onAlarm(): void {
    this.alarmSet = false;
  }

  /** Stored lists, newest first. */
  read(): StoredImpression[] {
    return this.storage.sql
      .exec<{ data: string }>("SELECT data FROM impressions ORDER BY served_at DESC")
      .toArray()
      .map((r) => JSON.parse(r.data) as StoredImpression);
  }

  /** Withdrawal or erasure: nothing served is kept. */
  clear(): void {
    this.unsaved = [];
    this.storage.sql.exec("DELETE FROM impressions");
  }

  /** Storage was wiped. */
  forget(): void {
    this.unsaved = [];
    this.alarmSet = false;
  }
}
