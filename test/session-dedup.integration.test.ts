/**
 * The SessionDO's two-level dedup index and packed history (design 0026): exact
 * across bulk merges, whether the merged level is held in memory or searched in
 * SQLite, after a restart, and for objects written before the change.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { initialState } from "../src/features/engine";
import { SCHEMA_SQL } from "../src/session/schema";
import { SeenIndex } from "../src/session/seen";
import { sessionStub } from "../src/session/stub";
import { type BatchBody, SHOP_A, getSession, make, newVisitor, postEvents, visitorIdOf } from "./helpers";

describe("the two-level dedup index", () => {
  for (const memoryIds of [10_000, 5]) {
    it(`is exact across bulk merges and a restart (merged ids ${memoryIds > 5 ? "in memory" : "searched in SQLite"})`, async () => {
      const stub = sessionStub(env, SHOP_A.id, `dedup-unit-${memoryIds}`);
      const counts = await runInDurableObject(stub, (_i, state) => {
        const sql = state.storage.sql;
        sql.exec(SCHEMA_SQL);
        const limits = { mergeAt: 3, memoryIds };
        const index = new SeenIndex(sql, limits);
        const batches = Array.from({ length: 8 }, (_, b) => Array.from({ length: 4 }, (_, i) => `b${b}-e${i}`));
        for (const [b, ids] of batches.entries()) {
          // Every earlier id is a duplicate, none of this batch is yet: before and after each merge.
          const earlier = batches.slice(0, b).flat();
          expect([...index.seen([...earlier, ...ids])].sort()).toEqual([...earlier].sort());
          const staged = state.storage.transactionSync(() => (index.write(b * 4 + 1, Date.now(), ids), ids));
          index.committed(staged);
        }
        const all = batches.flat();
        // A new instance reads both levels back from storage.
        const fresh = new SeenIndex(sql, limits);
        expect([...fresh.seen([...all, "never-sent"])].sort()).toEqual([...all].sort());
        const n = (t: string) => sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${t}`).one().n;
        return { recent: n("seen_recent"), merged: n("seen_merged") };
      });
      // 8 requests, merged every 3: two merged rows, two recent ones.
      expect(counts).toEqual({ recent: 2, merged: 2 });
    });
  }

  it("keeps the dedup and the history of an object written before design 0026 (one row per event)", async () => {
    const v = await newVisitor(); // issued without waking its object: the storage below is all it has
    const batch = [make.productView("a"), make.addToCart("a", 1, 10), make.search("boots")];
    const now = Date.now();
    await runInDurableObject(sessionStub(env, SHOP_A.id, visitorIdOf(v)), (_i, state) => {
      const sql = state.storage.sql;
      // The tables as such an object has them: `seen` and `history` hold one row per event.
      sql.exec(`
        CREATE TABLE session (id INTEGER PRIMARY KEY CHECK (id = 1), tenant TEXT NOT NULL, visitor_id TEXT NOT NULL, next_seq INTEGER NOT NULL, last_received_at INTEGER NOT NULL, state TEXT NOT NULL);
        CREATE TABLE seen (event_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, received_at INTEGER NOT NULL);
        CREATE INDEX seen_received_at ON seen (received_at);
        CREATE TABLE history (seq INTEGER PRIMARY KEY, event TEXT NOT NULL);
        CREATE TABLE outbox_messages (seq INTEGER PRIMARY KEY, events INTEGER NOT NULL, message TEXT NOT NULL);
        CREATE TABLE impressions (impression_id TEXT PRIMARY KEY, served_at INTEGER NOT NULL, data TEXT NOT NULL);
      `);
      sql.exec("INSERT INTO session VALUES (1, ?, ?, ?, ?, ?)", SHOP_A.id, visitorIdOf(v), batch.length + 1, now, JSON.stringify(initialState()));
      for (const [i, e] of batch.entries()) {
        sql.exec("INSERT INTO seen VALUES (?, ?, ?)", e.id, i + 1, now);
        sql.exec("INSERT INTO history VALUES (?, ?)", i + 1, JSON.stringify(e));
      }
    });

    expect((await getSession(v)).recent_events).toEqual(batch);
    const replay = (await (await postEvents(batch, { visitor: v })).json()) as BatchBody;
    expect(replay).toMatchObject({ accepted: 0, duplicate: 3 });
    const next = make.productView("b");
    expect(((await (await postEvents([next], { visitor: v })).json()) as BatchBody).accepted).toBe(1);
    const after = await getSession(v);
    expect(after.events_applied).toBe(4);
    expect(after.recent_events.map((e) => e.id)).toEqual([...batch, next].map((e) => e.id));
    const tables = await runInDurableObject(sessionStub(env, SHOP_A.id, visitorIdOf(v)), (_i, state) =>
      state.storage.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('seen', 'history')")
        .toArray()
        .map((r) => r.name),
    );
    expect(tables).toEqual([]);
  });

  it("answers the history from packed batches: the newest 20 of the last 100 events, oldest first", async () => {
    const v = await newVisitor();
    for (let b = 0; b < 6; b++) {
      const events = Array.from({ length: 20 }, (_, i) => ({ ...make.productView(`sku-${b}-${i}`), id: `h-${b}-${i}` }));
      expect((await postEvents(events, { visitor: v })).status).toBe(202);
    }
    const s = await getSession(v);
    expect(s.events_applied).toBe(120);
    expect(s.recent_events.map((e) => e.id)).toEqual(Array.from({ length: 20 }, (_, i) => `h-5-${i}`));
    const rows = await runInDurableObject(sessionStub(env, SHOP_A.id, visitorIdOf(v)), (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM history_batches").one().n);
    expect(rows).toBe(5); // the first batch (seqs 1–20) is older than the newest 100
  });
});
