import { listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sessionStub } from "../src/session/stub";
import { type BatchBody, SHOP_A, SHOP_B, call, getSession, make, newVisitor, postEvents, visitorIdOf } from "./helpers";
import { waitForVisitorLines } from "./r2";

afterEach(() => {
  vi.useRealTimers();
});

describe("idempotency: replays change features once", () => {
  it("sequential replay of a batch reports duplicates and changes nothing", async () => {
    const v = await newVisitor();
    const batch = [make.productView("a"), make.addToCart("a", 2, 10), make.search("boots")];
    const first = (await (await postEvents(batch, { visitor: v })).json()) as BatchBody;
    expect(first).toMatchObject({ accepted: 3, duplicate: 0 });
    const before = await getSession(v);
    for (let i = 0; i < 3; i++) {
      const again = (await (await postEvents(batch, { visitor: v })).json()) as BatchBody;
      expect(again).toMatchObject({ accepted: 0, duplicate: 3, rejected: 0 });
      expect(again.results.every((r) => r.status === "duplicate")).toBe(true);
    }
    const after = await getSession(v);
    expect(after.events_applied).toBe(3);
    expect(after.features.cart).toEqual(before.features.cart);
    expect(after.features.last_viewed_items).toEqual(["a"]);
    expect(after.features.search_count).toBe(1);
  });

  it("ten concurrent copies of a batch apply each event exactly once", async () => {
    const v = await newVisitor();
    const batch = [make.productView("a"), make.productView("b"), make.addToCart("b", 1, 25)];
    const responses = await Promise.all(Array.from({ length: 10 }, () => postEvents(batch, { visitor: v })));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as BatchBody[];
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(202));
    // Across all responses each event is accepted once and reported duplicate nine times.
    for (let i = 0; i < batch.length; i++) {
      const statuses = bodies.map((b) => b.results[i]!.status);
      expect(statuses.filter((s) => s === "accepted")).toHaveLength(1);
      expect(statuses.filter((s) => s === "duplicate")).toHaveLength(9);
    }
    const s = await getSession(v);
    expect(s.events_applied).toBe(3);
    expect(s.features.last_viewed_items).toEqual(["a", "b"]);
    expect(s.features.cart).toMatchObject({ quantity: 1, value: 25 });
  });
});

describe("visitor identity", () => {
  it("issues a signed visitor id as cookie and header, and accepts it back as a cookie", async () => {
    const res = await postEvents([make.pageView()]);
    const token = res.headers.get("x-edgewise-visitor")!;
    expect(token).toMatch(/^v1\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toContain(`ew_vid=${token}`);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Secure/i); // the test origin is https
    const again = await call("/v1/session", { headers: { "x-edgewise-key": SHOP_A.key, cookie: `ew_vid=${token}` } });
    expect(((await again.json()) as { visitor_id: string }).visitor_id).toBe(visitorIdOf(token));
    expect(again.headers.get("set-cookie")).toBeNull();
  });

  it("rejects forged and tampered ids with 401 and never names a Durable Object from them", async () => {
    const v = await newVisitor();
    const [, id, sig] = v.split(".") as [string, string, string];
    const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
    const forged = [
      `v1.${flip(id)}.${sig}`, // another visitor's id with this signature
      `v1.${id}.${flip(sig)}`, // tampered signature
      `v1.${"A".repeat(22)}.${"A".repeat(43)}`,
      `v2.${id}.${sig}`,
      "just-a-string",
      `v1.${id}.${sig}x`,
    ];
    const idsBefore = (await listDurableObjectIds(env.SESSIONS)).length;
    for (const token of forged) {
      for (const res of [await postEvents([make.pageView()], { visitor: token }), await call("/v1/session", { headers: { "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": token } })]) {
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ error: { code: "invalid_visitor" } });
        expect(res.headers.get("set-cookie")).toMatch(/ew_vid=;.*Max-Age=0/i);
      }
    }
    expect((await listDurableObjectIds(env.SESSIONS)).length).toBe(idsBefore);
  });

  it("a visitor id signed for one tenant is refused by another", async () => {
    const v = await newVisitor(SHOP_A.key);
    const res = await postEvents([make.pageView()], { key: SHOP_B.key, visitor: v });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_visitor" } });
  });

  it("no visitor can read another's session", async () => {
    const alice = await newVisitor();
    const bob = await newVisitor();
    await postEvents([make.productView("alice-secret-item")], { visitor: alice });
    // Bob has no way to name Alice: query parameters and headers other than his own token are ignored.
    const res = await call(`/v1/session?visitor_id=${visitorIdOf(alice)}&visitor=${alice}`, {
      headers: { "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": bob },
    });
    const body = JSON.stringify(await res.json());
    expect(body).not.toContain("alice-secret-item");
    expect((await getSession(bob)).features.last_viewed_items).toEqual([]);
    // The same visitor id under another tenant is another session.
    expect((await getSession(alice)).features.last_viewed_items).toEqual(["alice-secret-item"]);
  });

  it("reading a session without a visitor issues one and creates no storage", async () => {
    const idsBefore = (await listDurableObjectIds(env.SESSIONS)).length;
    const res = await call("/v1/session", { headers: { "x-edgewise-key": SHOP_A.key } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { events_applied: number; features: Record<string, unknown> };
    expect(body.events_applied).toBe(0);
    expect(body.features.last_viewed_items).toEqual([]);
    expect((await listDurableObjectIds(env.SESSIONS)).length).toBe(idsBefore);
  });
});

describe("expiry", () => {
  it("the alarm deletes an idle session after the TTL, and is idempotent", async () => {
    const v = await newVisitor();
    await postEvents([make.productView("a"), make.addToCart("a")], { visitor: v });
    const stub = sessionStub(env, SHOP_A.id, visitorIdOf(v));
    const alarmAt = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    // Default TTL 30 days after the last event.
    expect(alarmAt).toBeGreaterThan(Date.now() + 29 * 86_400_000);

    // Before the TTL, an alarm run keeps everything.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await getSession(v)).events_applied).toBe(2);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 31 * 86_400_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const tables = await runInDurableObject(stub, (_i, state) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").toArray());
    expect(tables).toEqual([]);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeNull();
    // Second run: nothing scheduled, nothing to do, no error.
    expect(await runDurableObjectAlarm(stub)).toBe(false);
    await runInDurableObject(stub, (instance) => instance.alarm());
    vi.useRealTimers();

    const s = await getSession(v);
    expect(s.events_applied).toBe(0);
    expect(s.features.last_viewed_items).toEqual([]);
    // The same visitor can start over.
    await postEvents([make.productView("b")], { visitor: v });
    expect((await getSession(v)).features.last_viewed_items).toEqual(["b"]);
  });
});

describe("served lists handed over with features()", () => {
  const served = (n: number, at: number) => ({ impression_id: `imp-${n}`, served_at: at, experiment: null, variant: "default", model: "m/1", items: [`sku-${n}`] });
  const stored = (stub: ReturnType<typeof sessionStub>) =>
    runInDurableObject(stub, (_i, state) =>
      state.storage.sql
        .exec<{ data: string }>("SELECT data FROM served_lists")
        .toArray()
        .flatMap((r) => (JSON.parse(r.data) as Array<{ impression_id: string }>).map((i) => i.impression_id))
        .sort(),
    );
  /** A visitor with one product view, and their SessionDO. */
  async function visitorWithSession() {
    const v = await newVisitor();
    await postEvents([make.productView("a")], { visitor: v });
    return { v, stub: sessionStub(env, SHOP_A.id, visitorIdOf(v)), now: Date.now() };
  }

  it("are written in a batch by an alarm within a second, and the expiry alarm comes back", async () => {
    const { stub, now } = await visitorWithSession();
    await stub.features(now, [served(1, now)]);
    await stub.features(now, [served(2, now)]);
    expect(await stored(stub)).toEqual([]); // in memory: no write per served list
    const alarmAt = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarmAt).toBeLessThanOrEqual(now + 1000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stored(stub)).toEqual(["imp-1", "imp-2"]);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeGreaterThan(now + 29 * 86_400_000);
  });

  it("are there for the next event batch's attribution even before the alarm", async () => {
    const { v, stub, now } = await visitorWithSession();
    await stub.features(now, [served(7, now)]);
    const click = { ...make.productView("sku-7"), type: "recommendation_click", properties: { item_id: "sku-7", impression_id: "imp-7" } };
    const res = (await (await postEvents([click], { visitor: v })).json()) as BatchBody;
    expect(res.accepted).toBe(1);
    expect(await stored(stub)).toEqual(["imp-7"]);
    const lines = await waitForVisitorLines(visitorIdOf(v), 2);
    expect(lines.find((l) => l.line.event.id === click.id)?.line.attribution).toEqual([{ item_id: "sku-7", impression_id: "imp-7", experiment: null, variant: "default", model: "m/1", position: 1 }]);
  });

  it("held by an object from before one-row storage are still attributed, and its next write moves them into one row", async () => {
    const { v, stub, now } = await visitorWithSession();
    // The older layout: one row per list in `impressions`.
    await runInDurableObject(stub, (_i, state) => {
      for (const n of [40, 41]) state.storage.sql.exec("INSERT INTO impressions (impression_id, served_at, data) VALUES (?, ?, ?)", `imp-${n}`, now - n, JSON.stringify(served(n, now - n)));
    });
    const fresh = sessionStub(env, SHOP_A.id, visitorIdOf(v)); // the same object: its in-memory copy is not read yet
    await runInDurableObject(fresh, (instance) => instance.recordImpressions([served(42, now)]));
    expect(await stored(stub)).toEqual(["imp-40", "imp-41", "imp-42"]);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM impressions").one().n)).toBe(0);
    const click = { ...make.productView("sku-41"), type: "recommendation_click", properties: { item_id: "sku-41", impression_id: "imp-41" } };
    expect(((await (await postEvents([click], { visitor: v })).json()) as BatchBody).accepted).toBe(1);
    const lines = await waitForVisitorLines(visitorIdOf(v), 2);
    expect(lines.find((l) => l.line.event.id === click.id)?.line.attribution).toEqual([
      { item_id: "sku-41", impression_id: "imp-41", experiment: null, variant: "default", model: "m/1", position: 1 },
    ]);
  });

  it("25 of them are written at once, without waiting for the alarm", async () => {
    const { stub, now } = await visitorWithSession();
    for (let i = 10; i < 35; i++) await stub.features(now, [served(i, now + i)]);
    expect(await stored(stub)).toHaveLength(25);
  });
});
