import { DEDUP_HORIZON_MS, DEDUP_MEMORY_IDS, SEEN_MERGE_AT, SEEN_PRUNE_EVERY_MS } from "./schema";

/**
 * The dedup index of a SessionDO, in two levels (design 0026): every request that
 * applies events writes one packed row of their ids (`seen_recent`), and every
 * SEEN_MERGE_AT such rows are merged in bulk into one row of `seen_merged`. A commit
 * writes one row instead of two per event (a row and an index entry), and dirties a
 * page or two instead of one per random id. Lookups are exact: the ids are held in a
 * `Set`, loaded once per instance; past DEDUP_MEMORY_IDS merged ids the merged level
 * is searched in SQLite instead (slower, still exact), so memory stays bounded.
 */
export class SeenIndex {
  /** Ids of both levels (or only the recent one, when `mergedInSql`); `undefined`: not loaded. */
  private ids: Set<string> | undefined;
  private recentRows = 0;
  private mergedInSql = false;
  private prunedAt = 0;
  /** The write being committed pruned ids: memory reloads rather than track which ids left. */
  private pruned = false;

  constructor(
    private readonly sql: SqlStorage,
    private readonly limits = { mergeAt: SEEN_MERGE_AT, memoryIds: DEDUP_MEMORY_IDS },
  ) {}

  /** Which of `ids` were applied before. */
  seen(ids: readonly string[]): Set<string> {
    const known = this.load();
    const found = new Set<string>();
    for (const id of ids) if (known.has(id)) found.add(id);
    if (this.mergedInSql && found.size < ids.length) {
      const rest = [...new Set(ids.filter((id) => !found.has(id)))];
      const rows = this.sql.exec<{ id: string }>(
        "SELECT DISTINCT j.value AS id FROM seen_merged, json_each(seen_merged.ids) AS j WHERE j.value IN (SELECT value FROM json_each(?))",
        JSON.stringify(rest),
      );
      for (const r of rows) found.add(r.id);
    }
    return found;
  }

  /**
   * Records a request's applied ids (inside the caller's transaction): one row, a bulk merge every
   * SEEN_MERGE_AT rows, and ids past the horizon pruned at most hourly. Memory follows in `committed`.
   */
  write(firstSeq: number, receivedAt: number, ids: readonly string[]): void {
    this.load();
    this.sql.exec("INSERT INTO seen_recent (seq, received_at, ids) VALUES (?, ?, ?)", firstSeq, receivedAt, JSON.stringify(ids));
    if (this.recentRows + 1 >= this.limits.mergeAt) {
      this.sql.exec("INSERT INTO seen_merged (seq, newest, ids) SELECT min(r.seq), max(r.received_at), json_group_array(j.value) FROM seen_recent AS r, json_each(r.ids) AS j");
      this.sql.exec("DELETE FROM seen_recent");
    }
    if (receivedAt - this.prunedAt > SEEN_PRUNE_EVERY_MS) {
      const horizon = receivedAt - DEDUP_HORIZON_MS;
      const pruned = this.sql.exec("DELETE FROM seen_recent WHERE received_at < ?", horizon).rowsWritten + this.sql.exec("DELETE FROM seen_merged WHERE newest < ?", horizon).rowsWritten;
      this.prunedAt = receivedAt;
      if (pruned > 0) this.pruned = true;
    }
  }

  /** The caller's transaction committed: memory follows storage. */
  committed(ids: readonly string[]): void {
    if (this.pruned) {
      this.pruned = false;
      this.forget();
      return;
    }
    if (!this.ids) return;
    for (const id of ids) this.ids.add(id);
    this.recentRows = this.recentRows + 1 >= this.limits.mergeAt ? 0 : this.recentRows + 1;
    if (this.recentRows === 0 && this.mergedInSql) this.ids = undefined; // the recent level just moved into SQL
  }

  /** The transaction rolled back: what was staged for `committed` is dropped. */
  rolledBack(): void {
    this.pruned = false;
    this.prunedAt = 0;
  }

  /** Storage was wiped. */
  forget(): void {
    this.ids = undefined;
    this.recentRows = 0;
    this.mergedInSql = false;
  }

  private load(): Set<string> {
    if (this.ids) return this.ids;
    const ids = new Set<string>();
    const merged = this.sql.exec<{ n: number }>("SELECT coalesce(sum(json_array_length(ids)), 0) AS n FROM seen_merged").one().n;
    this.mergedInSql = merged > this.limits.memoryIds;
    if (!this.mergedInSql) for (const r of this.sql.exec<{ ids: string }>("SELECT ids FROM seen_merged")) for (const id of JSON.parse(r.ids) as string[]) ids.add(id);
    this.recentRows = 0;
    for (const r of this.sql.exec<{ ids: string }>("SELECT ids FROM seen_recent")) {
      this.recentRows++;
      for (const id of JSON.parse(r.ids) as string[]) ids.add(id);
    }
    this.ids = ids;
    return ids;
  }
}
