import { DurableObject } from "cloudflare:workers";

/** Half-life of trending scores: "popular now" means the last few hours. */
export const TRENDING_HALF_LIFE_MS = 6 * 3600 * 1000;
const MAX_ITEMS = 5000;
// Scores are stored scaled to a reference time so that decay never needs a full
// rewrite: score_now = stored × 2^(−(now − ref) / half-life). Rescale before the
// exponent grows large enough to lose float precision.
const RESCALE_AFTER_HALF_LIVES = 40;

/** One trending item and its decayed score at read time. */
export interface TrendingItem {
  item_id: string;
  score: number;
}

/**
 * Per-tenant "popular now": decayed interaction counts fed by the queue consumer
 * (views 1, add-to-carts 3, purchased lines 5). Bounded to the top 5,000 items.
 */
export class TrendingDO extends DurableObject<Env> {
  private ready = false;

  /** Adds weighted interactions observed at `at` (epoch ms). */
  async record(weights: Array<[itemId: string, weight: number]>, at: number): Promise<void> {
    this.ensureSchema();
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      let ref = this.ref() ?? at;
      if ((at - ref) / TRENDING_HALF_LIFE_MS > RESCALE_AFTER_HALF_LIVES) {
        sql.exec("UPDATE scores SET score = score * ?", 2 ** (-(at - ref) / TRENDING_HALF_LIFE_MS));
        sql.exec("DELETE FROM scores WHERE score < 1e-9");
        ref = at;
      }
      sql.exec("INSERT INTO meta (id, ref) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET ref = excluded.ref", ref);
      const scale = 2 ** ((at - ref) / TRENDING_HALF_LIFE_MS);
      for (const [itemId, weight] of weights) {
        sql.exec("INSERT INTO scores (item_id, score) VALUES (?, ?) ON CONFLICT (item_id) DO UPDATE SET score = score + excluded.score", itemId, weight * scale);
      }
      const n = sql.exec<{ n: number }>("SELECT count(*) AS n FROM scores").one().n;
      if (n > MAX_ITEMS * 1.2) {
        sql.exec("DELETE FROM scores WHERE item_id NOT IN (SELECT item_id FROM scores ORDER BY score DESC LIMIT ?)", MAX_ITEMS);
      }
    });
    // Trending data expires with the shop's traffic: a week without events deletes it.
    await this.ctx.storage.setAlarm(Date.now() + 7 * 86_400_000);
  }

  /** The `n` highest-scoring items at `now`. */
  async top(n: number, now: number = Date.now()): Promise<TrendingItem[]> {
    if (!this.hasSchema()) return [];
    const ref = this.ref();
    if (ref === null) return [];
    const factor = 2 ** (-(now - ref) / TRENDING_HALF_LIFE_MS);
    return this.ctx.storage.sql
      .exec<{ item_id: string; score: number }>("SELECT item_id, score FROM scores ORDER BY score DESC, item_id LIMIT ?", n)
      .toArray()
      .map((r) => ({ item_id: r.item_id, score: r.score * factor }));
  }

  /** For the retention audit: when this object deletes itself, and whether it holds anything. */
  async retentionStatus(): Promise<{ alarm: number | null; empty: boolean }> {
    return { alarm: await this.ctx.storage.getAlarm(), empty: !this.hasSchema() || this.ref() === null };
  }

  /** Deletes everything after a week without traffic (idempotent). */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
    this.ready = false;
  }

  private ref(): number | null {
    const rows = this.ctx.storage.sql.exec<{ ref: number }>("SELECT ref FROM meta WHERE id = 1").toArray();
    return rows[0]?.ref ?? null;
  }

  private ensureSchema(): void {
    if (this.ready) return;
    this.ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), ref INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS scores (item_id TEXT PRIMARY KEY, score REAL NOT NULL);
      CREATE INDEX IF NOT EXISTS scores_by_score ON scores (score DESC);
    `);
    this.ready = true;
  }

  private hasSchema(): boolean {
    if (this.ready) return true;
    this.ready = this.ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'scores'").toArray().length > 0;
    return this.ready;
  }
}
