import type { ProfileKV, WriteBatch } from "../identity/kv";

/** Schema of the embedded store: string keys and hash fields, each with an expiry. */
export const PROFILE_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS hkv (key TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (key, field));
CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_at);
CREATE INDEX IF NOT EXISTS hkv_expiry ON hkv (expires_at);
`;

/**
 * `ProfileKV` on a Durable Object's SQLite storage. Expired rows read as missing
 * at once and are purged by the object's alarm. Calls are synchronous underneath,
 * so a whole `link` runs without interleaving inside the object.
 */
export class SqliteKV implements ProfileKV {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async mget(keys: string[]): Promise<Array<string | null>> {
    const now = this.now();
    return keys.map((k) => {
      const row = this.storage.sql.exec<{ value: string }>("SELECT value FROM kv WHERE key = ? AND expires_at > ?", k, now).toArray()[0];
      return row?.value ?? null;
    });
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    const rows = this.storage.sql.exec<{ field: string; value: string }>("SELECT field, value FROM hkv WHERE key = ? AND expires_at > ?", key, this.now()).toArray();
    const out: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const r of rows) out[r.field] = r.value;
    return out;
  }

  async write(batch: WriteBatch): Promise<void> {
    const sql = this.storage.sql;
    const expires = this.now() + this.ttlMs;
    this.storage.transactionSync(() => {
      for (const [from, to] of batch.moveHashes ?? []) {
        sql.exec("INSERT INTO hkv (key, field, value, expires_at) SELECT ?, field, value, ? FROM hkv WHERE key = ? ON CONFLICT (key, field) DO NOTHING", to, expires, from);
        sql.exec("DELETE FROM hkv WHERE key = ?", from);
        sql.exec("UPDATE hkv SET expires_at = ? WHERE key = ?", expires, to);
      }
      for (const [k, v] of batch.sets ?? []) {
        sql.exec("INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at", k, v, expires);
      }
      for (const [k, f, v] of batch.hsets ?? []) {
        sql.exec("INSERT INTO hkv (key, field, value, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (key, field) DO UPDATE SET value = excluded.value", k, f, v, expires);
        sql.exec("UPDATE hkv SET expires_at = ? WHERE key = ?", expires, k);
      }
      for (const [k, fields] of batch.hdels ?? []) for (const f of fields) sql.exec("DELETE FROM hkv WHERE key = ? AND field = ?", k, f);
      for (const k of batch.dels ?? []) {
        sql.exec("DELETE FROM kv WHERE key = ?", k);
        sql.exec("DELETE FROM hkv WHERE key = ?", k);
      }
    });
  }

  async scan(prefix: string): Promise<string[]> {
    const like = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const rows = this.storage.sql.exec<{ key: string }>("SELECT key FROM kv WHERE key LIKE ? ESCAPE '\\' UNION SELECT DISTINCT key FROM hkv WHERE key LIKE ? ESCAPE '\\'", like, like).toArray();
    return rows.map((r) => r.key);
  }

  async ttl(key: string): Promise<number | null> {
    const row = this.storage.sql
      .exec<{ e: number | null }>("SELECT max(expires_at) AS e FROM (SELECT expires_at FROM kv WHERE key = ? UNION ALL SELECT expires_at FROM hkv WHERE key = ?)", key, key)
      .one();
    if (row.e === null) return -2;
    return Math.max(0, Math.ceil((row.e - this.now()) / 1000));
  }

  /** Deletes expired rows; returns the next expiry (epoch ms) or `null` when empty. */
  purgeExpired(): number | null {
    const sql = this.storage.sql;
    const now = this.now();
    sql.exec("DELETE FROM kv WHERE expires_at <= ?", now);
    sql.exec("DELETE FROM hkv WHERE expires_at <= ?", now);
    const next = sql.exec<{ e: number | null }>("SELECT min(e) AS e FROM (SELECT min(expires_at) AS e FROM kv UNION ALL SELECT min(expires_at) AS e FROM hkv)").one().e;
    return next;
  }
}
