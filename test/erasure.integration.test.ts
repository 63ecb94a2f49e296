import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { EVENT_SCHEMA_VERSION } from "../src/contracts/events";
import type { EventMessage } from "../src/contracts/queue";
import { hmacHex } from "../src/auth/crypto";
import { personIdOf } from "../src/identity/identifiers";
import { honourTombstones } from "../src/offline/replay/tombstones";
import { customerHash } from "../src/privacy/pseudonymise";
import { sessionStub } from "../src/session/stub";
import { SHOP_A, SHOP_B, call, make, newVisitor, postEvents, visitorIdOf } from "./helpers";
import { readEventLog } from "./r2";
import { backendToken, bearer, customerToken } from "./tokens";

const PII = "test-pii-secret-0123456789abcdef0123456789";
const EMAIL = "erase.me@example.com";
let phone = "";
let laptop = "";
let bystander = "";
let copyBeforeErasure: EventMessage[] = [];
/** Lines of the two erased visitors in the log before the erasure (events, plus a served list each when it had items). */
let erasedLines = 0;

const logText = async () => {
  const parts: string[] = [];
  for (const prefix of ["events/", "impressions/", "dead-letter/"]) {
    const page = await env.EVENT_LOG.list({ prefix });
    for (const o of page.objects) parts.push(await (await env.EVENT_LOG.get(o.key))!.text());
  }
  return parts.join("\n");
};
const erase = (subject: string, headers: Record<string, string>, key = SHOP_A.key) =>
  call(`/v1/subjects/${encodeURIComponent(subject)}`, { method: "DELETE", headers: { "x-edgewise-key": key, ...headers } });

/** Rows in a visitor's SessionDO, plus 1 for an alarm further away than the erasure guard (an erased object keeps only a 15-minute guard). */
async function sessionRows(visitor: string): Promise<number> {
  return runInDurableObject(sessionStub(env, SHOP_A.id, visitorIdOf(visitor)), async (_i, state) => {
    const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\'").toArray();
    let n = 0;
    for (const { name } of tables) n += state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${name}`).one().n;
    const alarm = await state.storage.getAlarm();
    return n + (alarm === null || alarm <= Date.now() + 15 * 60_000 ? 0 : 1);
  });
}

beforeAll(async () => {
  phone = await newVisitor();
  laptop = await newVisitor();
  bystander = await newVisitor();
  await postEvents([make.productView("sku-01"), make.search(`gift for ${EMAIL}`), make.identify("cust-erase", EMAIL), make.purchase(["sku-01"])], { visitor: phone });
  await postEvents([make.productView("sku-02"), make.identify("cust-erase"), make.recClick("sku-02")], { visitor: laptop });
  await postEvents([make.productView("sku-03"), make.identify("cust-bystander")], { visitor: bystander });
  // A visitor is logged a served list only when the list has items: trending may not know the new
  // events yet when the first visitor asks, so which visitors got one is read from the answers.
  const lines = new Map([
    [phone, 4],
    [laptop, 3],
    [bystander, 2],
  ]);
  for (const v of [phone, laptop, bystander]) {
    const res = await call("/v1/recommendations?type=trending", { headers: { "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": v } });
    if (((await res.json()) as { items: unknown[] }).items.length > 0) lines.set(v, lines.get(v)! + 1);
  }
  // Every line is logged before anything is erased, so the purge's count below does not race the consumer.
  await vi.waitUntil(
    async () => {
      const text = await logText();
      return [...lines].every(([v, n]) => text.split(visitorIdOf(v)).length - 1 >= n);
    },
    { timeout: 10_000 },
  );
  erasedLines = lines.get(phone)! + lines.get(laptop)!;
  copyBeforeErasure = (await readEventLog()).map((x) => x.line); // an export taken before any erasure
});

describe("DELETE /v1/subjects/{id}", () => {
  it("needs a backend token with privacy:erase", async () => {
    expect((await erase(`email:${EMAIL}`, {})).status).toBe(401);
    expect((await erase(`email:${EMAIL}`, bearer(await backendToken("events:write identify recommendations:read admin")))).status).toBe(403);
    expect((await erase(`email:${EMAIL}`, bearer(await customerToken("cust-erase", "privacy:erase")))).status).toBe(403);
    expect((await erase(`email:${EMAIL}`, bearer(await backendToken("privacy:erase")), SHOP_B.key)).status).toBe(401);
    const bad = await erase("nickname:ada", bearer(await backendToken("privacy:erase")));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("invalid_parameter");
    // None of that touched anything.
    expect(await sessionRows(phone)).toBeGreaterThan(0);
  });

  it("erases the person behind any linked identifier, everywhere, with a receipt — and leaves zero residue", async () => {
    const token = bearer(await backendToken("privacy:erase"));
    const person = personIdOf(await customerHash(PII, SHOP_A.id, "cust-erase"));
    const res = await erase(`email:${EMAIL.toUpperCase()}`, token); // any linked identifier, any case
    expect(res.status).toBe(200);
    const receipt = (await res.json()) as { erasure_id: string; found: boolean; stores: Record<string, Record<string, unknown>>; beyond_our_control: string[] };
    expect(receipt.found).toBe(true);
    expect(receipt.stores.sessions).toMatchObject({ visitors: 2 });
    // Each visitor holds at least its session row, its request's packed ids and its history batch (design 0026).
    expect(receipt.stores.sessions!.rows_deleted as number).toBeGreaterThanOrEqual(6);
    // 2 visitors, the customer, 2 emails (make.identify's default one on the laptop), person, profile,
    // and the flag on that default email, which the bystander claimed too.
    expect(receipt.stores.profile_store).toMatchObject({ backend: "durable-object", keys_deleted: 8, flags_edited: 0 });
    expect(receipt.stores.event_log).toMatchObject({ status: "scheduled" });
    expect(receipt.beyond_our_control.join(" ")).toMatch(/30 days/);
    expect(JSON.stringify(receipt)).not.toMatch(/erase\.me|cust-erase|p_/i);

    // The purge runs through the queue; the receipt completes.
    const done = await vi.waitUntil(
      async () => {
        const r = await call(`/v1/subjects/erasures/${receipt.erasure_id}`, { headers: { "x-edgewise-key": SHOP_A.key, ...token } });
        const body = (await r.json()) as { stores: { event_log: { status: string; lines_removed?: number } } };
        return body.stores.event_log.status === "done" ? body : false;
      },
      { timeout: 10_000 },
    );
    expect(done.stores.event_log.lines_removed).toBe(erasedLines);

    // Scan every store.
    for (const v of [phone, laptop]) expect(await sessionRows(v)).toBe(0);
    const profileDump = await runInDurableObject(env.PROFILES.getByName(`tenant:${SHOP_A.id}`), async (_i, state) =>
      JSON.stringify([state.storage.sql.exec("SELECT * FROM kv").toArray(), state.storage.sql.exec("SELECT * FROM hkv").toArray()]),
    );
    for (const needle of [person, visitorIdOf(phone), visitorIdOf(laptop), (await customerHash(PII, SHOP_A.id, "cust-erase")).slice(0, 32)]) expect(profileDump).not.toContain(needle);
    const text = await logText();
    for (const v of [phone, laptop]) expect(text).not.toContain(visitorIdOf(v));
    const monitorDump = await runInDurableObject(env.MONITOR.getByName(SHOP_A.id), async (_i, state) =>
      JSON.stringify([state.storage.sql.exec("SELECT * FROM exp_units").toArray(), state.storage.sql.exec("SELECT * FROM seen").toArray()]),
    );
    for (const v of [phone, laptop]) expect(monitorDump).not.toContain(visitorIdOf(v));
    // The bystander is untouched.
    expect(await sessionRows(bystander)).toBeGreaterThan(0);
    expect(text).toContain(visitorIdOf(bystander));
    expect(profileDump).toContain(visitorIdOf(bystander));
  });

  it("drops that subject's events still in flight when they arrive", async () => {
    const late: EventMessage = {
      kind: "event",
      schema_version: EVENT_SCHEMA_VERSION,
      tenant: SHOP_A.id,
      visitor_id: visitorIdOf(phone),
      seq: 99,
      received_at: Date.now() - 5000, // received before the erasure, delivered after it
      event: { id: "late-1", type: "product_view", timestamp: Date.now() - 5000, properties: { item_id: "sku-09" } },
    };
    const marker: EventMessage = { ...late, visitor_id: visitorIdOf(bystander), event: { ...late.event, id: "marker-1" } };
    await env.EVENTS.send(late, { contentType: "json" });
    await env.EVENTS.send(marker, { contentType: "json" });
    await vi.waitUntil(async () => (await logText()).includes("marker-1"), { timeout: 10_000 });
    expect(await logText()).not.toContain("late-1");
  });

  it("a request received before the erasure but applied after it cannot bring the visitor back", async () => {
    const stub = sessionStub(env, SHOP_A.id, visitorIdOf(phone));
    const erasedAt = await runInDurableObject(stub, (_i, state) => state.storage.get<number>("erased_at"));
    expect(erasedAt).toBeGreaterThan(0);
    // The worker received it a moment before the erasure; the SessionDO sees it only now.
    const inFlight = await stub.ingest({ tenant: SHOP_A.id, visitorId: visitorIdOf(phone) }, [make.productView("sku-11") as never, make.identify("cust-erase") as never], erasedAt! - 1);
    expect(inFlight).toMatchObject({ ok: true, outcomes: ["erased", "erased"], identified: null });
    expect(await sessionRows(phone)).toBe(0);
    // The guard stays only briefly: its alarm clears the object.
    const alarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).toBe(erasedAt! + 15 * 60_000);
    // Received after the erasure: a new visit is new data.
    const res = await postEvents([make.productView("sku-12")], { visitor: phone });
    expect(((await res.json()) as { accepted: number }).accepted).toBe(1);
  });

  it("the erasure guard expires: the alarm leaves an erased, unused object empty", async () => {
    const stub = sessionStub(env, SHOP_A.id, visitorIdOf(laptop));
    const erasedAt = await runInDurableObject(stub, (_i, state) => state.storage.get<number>("erased_at"));
    expect(erasedAt).toBeGreaterThan(0);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(erasedAt! + 15 * 60_000 + 1);
      await runInDurableObject(stub, (instance) => instance.alarm());
      expect(await runInDurableObject(stub, async (_i, state) => [await state.storage.get("erased_at"), await state.storage.getAlarm()])).toEqual([undefined, null]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a copy of the log taken before the purge honours the tombstones (what replay and training do)", async () => {
    const markers = new Map<string, number>();
    for (const o of (await env.EVENT_LOG.list({ prefix: `erasures/tenant=${SHOP_A.id}/visitors/` })).objects) {
      markers.set(o.key.split("/").at(-1)!.replace(".json", ""), ((await (await env.EVENT_LOG.get(o.key))!.json()) as { erased_at: number }).erased_at);
    }
    expect(markers.size).toBe(2);
    const visitorsIn = (lines: EventMessage[]) => new Set(lines.map((l) => l.visitor_id));
    expect(visitorsIn(copyBeforeErasure)).toEqual(new Set([phone, laptop, bystander].map(visitorIdOf)));
    const honoured = await honourTombstones(copyBeforeErasure, markers, (d) => hmacHex(PII, d));
    expect(visitorsIn(honoured)).toEqual(new Set([visitorIdOf(bystander)]));
  });

  it("is idempotent: erasing again finds nothing and says so", async () => {
    const res = await erase(`customer:cust-erase`, bearer(await backendToken("privacy:erase")));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ found: false, stores: { sessions: { visitors: 0 }, event_log: { status: "nothing_to_purge" } } });
  });
});
