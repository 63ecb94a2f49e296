import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { purposesFromTcf } from "../src/privacy/consent";
import { sessionStub } from "../src/session/stub";
import { SHOP_A, SHOP_C, type BatchBody, call, getSession, make, newVisitor, postEvents, visitorIdOf } from "./helpers";
import { readEventLog, waitForVisitorLines, settleVisitorLog } from "./r2";
import { bearer, customerToken } from "./tokens";

const C = SHOP_C.key;
const post = async (visitor: string, events: unknown[], key = C, headers: Record<string, string> = {}) => (await (await postEvents(events, { key, visitor, headers })).json()) as BatchBody;
const reco = async (visitor: string, key = C, headers: Record<string, string> = {}, query = "?k=5") => {
  const res = await call(`/v1/recommendations${query}`, { headers: { "x-edgewise-key": key, "x-edgewise-visitor": visitor, ...headers } });
  expect(res.status).toBe(200);
  return (await res.json()) as { degraded: string | null; profile_used: boolean; impression_id: string; items: unknown[] };
};
const loggedIds = async (visitor: string) => (await readEventLog()).filter((x) => x.line.visitor_id === visitorIdOf(visitor)).map((x) => x.line.event.id);
/** What the visitor's Durable Object holds: tables' row counts (0 everywhere when nothing was stored). */
async function stored(visitor: string, tenant = SHOP_C.id) {
  return runInDurableObject(sessionStub(env, tenant, visitorIdOf(visitor)), async (_i, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'")
      .toArray()
      .map((r) => r.name);
    const counts: Record<string, number> = {};
    for (const t of tables) counts[t] = state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${t}`).one().n;
    return counts;
  });
}

/** Builds a TCF v2 core string with the given purposes consented (enough bits for the fields we read). */
function tcString(purposes: number[]): string {
  const bits: number[] = [];
  const push = (value: number, length: number) => {
    for (let i = length - 1; i >= 0; i--) bits.push(Math.floor(value / 2 ** i) % 2);
  };
  push(2, 6); // version
  push(17_000_000_000, 36); // created (deciseconds)
  push(17_000_000_000, 36); // last updated
  push(7, 12); // CMP id
  push(1, 12); // CMP version
  push(1, 6); // consent screen
  push(4 * 26 + 13, 12); // language "EN"
  push(120, 12); // vendor list version
  push(4, 6); // policy version
  push(1, 1); // is service specific
  push(0, 1); // non-standard texts
  push(0, 12); // special feature opt-ins
  for (let p = 1; p <= 24; p++) bits.push(purposes.includes(p) ? 1 : 0);
  for (let i = 0; i < 48; i++) bits.push(0); // legitimate interests and more
  while (bits.length % 6) bits.push(0);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  let out = "";
  for (let i = 0; i < bits.length; i += 6) out += alphabet[parseInt(bits.slice(i, i + 6).join(""), 2)];
  return out;
}

describe("consent matrix (shop C: opt-in by default)", () => {
  it("none: nothing is stored, nothing forwarded, recommendations are not personalised", async () => {
    const v = await newVisitor(C);
    const body = await post(v, [make.productView("sku-01"), make.addToCart("sku-01")]);
    expect(body).toMatchObject({ accepted: 0, rejected: 2 });
    expect(body.results.map((r) => r.code)).toEqual(["consent_required", "consent_required"]);
    const empty = (rows: Record<string, number>) => Object.values(rows).every((n) => n === 0);
    expect(empty(await stored(v))).toBe(true); // not even a session row
    // What the shop's shoppers are buying now is all that is left to recommend: trending, in its order.
    await env.TRENDING.getByName(SHOP_C.id).record(
      [
        ["sku-t2", 3],
        ["sku-t1", 5],
        ["sku-t3", 1],
      ],
      Date.now(),
    );
    const r = await reco(v);
    expect(r.degraded).toBe("no_consent");
    expect(r.profile_used).toBe(false);
    expect((r.items as Array<{ item_id: string }>).map((i) => i.item_id)).toEqual(["sku-t1", "sku-t2", "sku-t3"]);
    expect(empty(await stored(v))).toBe(true); // serving a list stored nothing either
  });

  it("granted: stored, forwarded, personalised", async () => {
    const v = await newVisitor(C);
    const body = await post(v, [make.consent(true, true), make.productView("sku-01")]);
    expect(body.accepted).toBe(2);
    expect((await getSession(v, C)).features.last_viewed_items as string[]).toEqual(["sku-01"]);
    await waitForVisitorLines(visitorIdOf(v), 2);
    expect((await reco(v)).degraded).not.toBe("no_consent");
  });

  it("purpose missing: analytics only → logged, not in features; personalization only → in features, not logged", async () => {
    const analyticsOnly = await newVisitor(C);
    expect((await post(analyticsOnly, [make.consent(true, false), make.productView("sku-02")])).accepted).toBe(2);
    expect((await getSession(analyticsOnly, C)).features.last_viewed_items).toEqual([]);
    const lines = await waitForVisitorLines(visitorIdOf(analyticsOnly), 2);
    expect(lines.map((l) => l.line.event.type).sort()).toEqual(["consent", "product_view"]);
    expect((await reco(analyticsOnly)).degraded).toBe("no_consent");
    expect((await stored(analyticsOnly)).history_batches).toBe(0);

    const personalOnly = await newVisitor(C);
    const events = [make.consent(false, true), make.productView("sku-03")];
    expect((await post(personalOnly, events)).accepted).toBe(2);
    expect((await getSession(personalOnly, C)).features.last_viewed_items).toEqual(["sku-03"]);
    // The consent record itself is forwarded; the view is not. A later marker proves the consumer ran.
    await waitForVisitorLines(visitorIdOf(personalOnly), 1);
    const r = await reco(personalOnly);
    expect(r.degraded).not.toBe("no_consent");
    // Only consent records pass this visitor's consent: the marker is one (the same declaration again).
    const marker = await settleVisitorLog(visitorIdOf(personalOnly), (e) => post(personalOnly, [e]), { type: "consent", properties: { analytics: false, personalization: true } });
    expect((await loggedIds(personalOnly)).filter((id) => id !== marker)).toEqual([(events[0] as { id: string }).id]);
    expect((await readEventLog("impressions/")).some((x) => (x.line as unknown as { impression_id: string }).impression_id === r.impression_id)).toBe(false);
  });

  it("withdrawn: the features are deleted at once and later events are not folded", async () => {
    const v = await newVisitor(C);
    await post(v, [make.consent(true, true), make.productView("sku-01"), make.productView("sku-02"), make.addToCart("sku-02")]);
    await reco(v); // an impression is recorded for attribution
    // One row holds the visitor's served lists (design 0027).
    await vi.waitUntil(async () => (await stored(v)).served_lists === 1, { timeout: 3000 });
    const body = await post(v, [make.consent(false, false), make.productView("sku-03")]);
    expect(body.results.map((r) => r.code ?? r.status)).toEqual(["accepted", "consent_required"]);
    const s = await getSession(v, C);
    expect(s.features.last_viewed_items).toEqual([]);
    expect(s.features.cart).toMatchObject({ items: [] });
    expect(s.features.consent).toMatchObject({ analytics: false, personalization: false });
    expect(s.recent_events).toEqual([]);
    const rows = await stored(v);
    expect(rows).toMatchObject({ history_batches: 0, served_lists: 0, impressions: 0, outbox_messages: 0 });
    expect((await reco(v)).degraded).toBe("no_consent");
    // Granting again starts from nothing.
    await post(v, [make.consent(true, true, Date.now() + 1), make.productView("sku-09")]);
    expect((await getSession(v, C)).features.last_viewed_items).toEqual(["sku-09"]);
  });

  it("a withdrawal removes the device's contribution from the person's profile", async () => {
    const v = await newVisitor(C);
    await post(v, [make.consent(true, true), make.productView("sku-05"), make.identify("cust-withdraw")]);
    const token = await customerToken("cust-withdraw", "recommendations:read", "shop-c");
    const profile = async () => (await (await call("/v1/profile", { headers: { "x-edgewise-key": C, ...bearer(token) } })).json()) as { profile: { sessions: number } };
    expect((await profile()).profile.sessions).toBe(1);
    await post(v, [make.consent(true, false)]);
    expect((await profile()).profile.sessions).toBe(0);
  });

  it("consent is also the person's: withdrawing on one device stops the profile on every device", async () => {
    const phone = await newVisitor(C);
    const laptop = await newVisitor(C);
    await post(phone, [make.consent(true, true), make.productView("sku-05"), make.identify("cust-person")]);
    await post(laptop, [make.consent(true, true), make.productView("sku-06"), make.identify("cust-person")]);
    const token = await customerToken("cust-person", "recommendations:read", "shop-c");
    const profile = async () => (await (await call("/v1/profile", { headers: { "x-edgewise-key": C, ...bearer(token) } })).json()) as { profile: { sessions: number } };
    expect((await profile()).profile.sessions).toBe(2);
    const tablet = await newVisitor(C);
    expect((await reco(tablet, C, bearer(token))).profile_used).toBe(true);

    await post(phone, [make.consent(true, false, Date.now() + 1)]);
    expect((await profile()).profile.sessions).toBe(0); // the laptop's contribution went too
    expect((await reco(tablet, C, bearer(token))).profile_used).toBe(false);
    // The laptop keeps its own session, but no longer feeds the person's profile.
    await post(laptop, [make.productView("sku-07")]);
    expect((await profile()).profile.sessions).toBe(0);
    // Granting again (later) on any identified device resumes profiling.
    await post(laptop, [make.consent(true, true, Date.now() + 2), make.productView("sku-08")]);
    expect((await profile()).profile.sessions).toBe(1);
  });

  it("Sec-GPC: 1 is an opt-out of sharing: folded into features, never forwarded to the central log", async () => {
    const v = await newVisitor(SHOP_A.key);
    const gpc = { "sec-gpc": "1" };
    const shared = make.productView("sku-07");
    const body = await post(v, [make.productView("sku-06"), make.productView("sku-08")], SHOP_A.key, gpc);
    expect(body.accepted).toBe(2);
    expect((await getSession(v, SHOP_A.key)).features.last_viewed_items).toEqual(["sku-06", "sku-08"]);
    const r = await reco(v, SHOP_A.key, gpc);
    expect(r.degraded).not.toBe("no_consent");
    await post(v, [shared], SHOP_A.key); // same visitor, no GPC this time: forwarded
    await waitForVisitorLines(visitorIdOf(v), 1);
    const marker = await settleVisitorLog(visitorIdOf(v), (e) => post(v, [e], SHOP_A.key));
    expect((await loggedIds(v)).filter((id) => id !== marker)).toEqual([shared.id]);
    expect((await readEventLog("impressions/")).some((x) => (x.line as unknown as { impression_id: string }).impression_id === r.impression_id)).toBe(false);
  });
});

describe("IAB TCF v2", () => {
  it("maps purposes 1, 5, 6 to personalization and purpose 1 to analytics", () => {
    expect(purposesFromTcf(tcString([1, 5, 6]))).toEqual({ analytics: true, personalization: true });
    expect(purposesFromTcf(tcString([1, 7, 8]))).toEqual({ analytics: true, personalization: false });
    expect(purposesFromTcf(tcString([5, 6]))).toEqual({ analytics: false, personalization: false });
    expect(purposesFromTcf("not*a*tc")).toBeNull();
    expect(purposesFromTcf("BAAA")).toBeNull(); // too short
  });

  it("a consent event may carry a TC string instead of booleans", async () => {
    const v = await newVisitor(C);
    const consent = { ...make.consent(), properties: { tcf: tcString([1, 5, 6]) } };
    expect((await post(v, [consent, make.productView("sku-04")])).accepted).toBe(2);
    expect((await getSession(v, C)).features.consent).toMatchObject({ analytics: true, personalization: true });
    const bad = { ...make.consent(), properties: { tcf: "AAAA" } };
    const res = await post(v, [bad]);
    expect(res.results[0]).toMatchObject({ status: "rejected", code: "invalid_event" });
  });
});
