import { DurableObject } from "cloudflare:workers";
import { CoVisitation, type FreshChanges, type FreshTable, type FreshView } from "../models/ranker/fresh";
import { freshStateOptions } from "./options";

/** A week without views deletes the state (it describes the shop's traffic now, nothing older). */
const IDLE_DELETE_MS = 7 * 86_400_000;

/**
 * Per-tenant streaming co-visitation (design 0028): the pure `CoVisitation` state,
 * fed by the queue consumer's fresh sink and read by isolates as one compact table
 * (cached like trending). The state lives in memory and is mirrored to SQLite row
 * by row as it changes, so a restart resumes it; its bounds (FRESH_STATE) cap both.
 */
export class FreshDO extends DurableObject<Env> {
  private state: CoVisitation | null = null;
  private cachedTable: FreshTable | null = null;
  /** Views applied since this instance started (tests wait on it; not persisted). */
  private views = 0;

  /** Applies a batch of views (in the order given) and persists what changed. */
  async observe(views: FreshView[]): Promise<{ items: number; pairs: number; visits: number }> {
    const state = this.load();
    for (const v of views) state.observe(v);
    this.views += views.length;
    this.persist(state.takeChanges());
    this.cachedTable = null;
    await this.ctx.storage.setAlarm(Date.now() + IDLE_DELETE_MS);
    return state.size;
  }

  /** Every item's neighbours, best first, in the compact form isolates cache. */
  async table(): Promise<FreshTable> {
    this.cachedTable ??= this.load().table();
    return this.cachedTable;
  }

  /** For tests and the retention audit: sizes, and when this object deletes itself. */
  async status(): Promise<{ items: number; pairs: number; visits: number; views: number; rows: { items: number; visits: number }; alarm: number | null }> {
    const sql = this.ctx.storage.sql;
    this.ensureSchema();
    const rows = {
      items: sql.exec<{ n: number }>("SELECT count(*) AS n FROM fresh_items").one().n,
      visits: sql.exec<{ n: number }>("SELECT count(*) AS n FROM fresh_visits").one().n,
    };
    return { ...this.load().size, views: this.views, rows, alarm: await this.ctx.storage.getAlarm() };
  }

  /** For the retention audit: when this object deletes itself, and whether it holds anything. */
  async retentionStatus(): Promise<{ alarm: number | null; empty: boolean }> {
    const s = this.load().size;
    return { alarm: await this.ctx.storage.getAlarm(), empty: s.items === 0 && s.visits === 0 };
  }

  /** Deletes everything after a week without views (idempotent). */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
    this.state = null;
    this.cachedTable = null;
  }

  private load(): CoVisitation {
    if (this.state) return this.state;
    this.ensureSchema();
    const sql = this.ctx.storage.sql;
    const meta = sql.exec<{ ref: number; tick: number }>("SELECT ref, tick FROM fresh_meta WHERE id = 1").toArray()[0];
    const items = sql
      .exec<{ item_id: string; tick: number; neighbours: string }>("SELECT item_id, tick, neighbours FROM fresh_items")
      .toArray()
      .map((r) => ({ item: r.item_id, tick: r.tick, neighbours: JSON.parse(r.neighbours) as Array<[string, number]> }));
    const visits = sql
      .exec<{ visitor_id: string; tick: number; last: number; items: string }>("SELECT visitor_id, tick, last, items FROM fresh_visits")
      .toArray()
      .map((r) => ({ visitor: r.visitor_id, tick: r.tick, last: r.last, items: JSON.parse(r.items) as string[] }));
    this.state = CoVisitation.restore(freshStateOptions(this.env.FRESH_STATE), { ref: meta?.ref ?? null, tick: meta?.tick ?? 0, items, visits });
    return this.state;
  }

  private persist(c: FreshChanges): void {
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      sql.exec("INSERT INTO fresh_meta (id, ref, tick) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET ref = excluded.ref, tick = excluded.tick", c.ref, c.tick);
      for (const r of c.items) {
        sql.exec(
          "INSERT INTO fresh_items (item_id, tick, neighbours) VALUES (?, ?, ?) ON CONFLICT (item_id) DO UPDATE SET tick = excluded.tick, neighbours = excluded.neighbours",
          r.item,
          r.tick,
          JSON.stringify(r.neighbours),
        );
      }
      for (const item of c.removedItems) sql.exec("DELETE FROM fresh_items WHERE item_id = ?", item);
      for (const v of c.visits) {
        sql.exec(
          "INSERT INTO fresh_visits (visitor_id, tick, last, items) VALUES (?, ?, ?, ?) ON CONFLICT (visitor_id) DO UPDATE SET tick = excluded.tick, last = excluded.last, items = excluded.items",
          v.visitor,
          v.tick,
          v.last,
          JSON.stringify(v.items),
        );
      }
      for (const visitor of c.removedVisits) sql.exec("DELETE FROM fresh_visits WHERE visitor_id = ?", visitor);
    });
  }

  // WITHOUT ROWID: the key is the table, so an upsert writes one row, not a row and an index entry (billed rows).
  private ensureSchema(): void {
    this.ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS fresh_meta (id INTEGER PRIMARY KEY CHECK (id = 1), ref REAL NOT NULL, tick INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS fresh_items (item_id TEXT PRIMARY KEY, tick INTEGER NOT NULL, neighbours TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS fresh_visits (visitor_id TEXT PRIMARY KEY, tick INTEGER NOT NULL, last INTEGER NOT NULL, items TEXT NOT NULL) WITHOUT ROWID;
    `);
  }
}
