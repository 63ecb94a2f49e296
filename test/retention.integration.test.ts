import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { sweepEventLog } from "../src/privacy/retention";
import { sessionStub } from "../src/session/stub";
import { SHOP_A, SHOP_C, call, make, newVisitor, postEvents, visitorIdOf } from "./helpers";
import { backendToken, bearer } from "./tokens";

interface Audit {
  without_expiry: number;
  overdue: number;
  stores: Array<{ store: string; items: number; without_expiry: string[] }>;
}
const audit = async (scope = "admin") => {
  const res = await call("/v1/subjects/retention", { headers: { "x-edgewise-key": SHOP_A.key, ...bearer(await backendToken(scope)) } });
  return { status: res.status, body: (await res.json()) as Audit };
};

beforeAll(async () => {
  const v = await newVisitor();
  await postEvents([make.productView("sku-01"), make.identify("cust-ret"), make.purchase(["sku-01"])], { visitor: v });
  await call("/v1/recommendations?type=trending", { headers: { "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": v } });
  const other = await newVisitor();
  await postEvents([make.productView("sku-02"), make.identify("cust-ret-2")], { visitor: other });
  await call(`/v1/subjects/customer:cust-ret-2`, { method: "DELETE", headers: { "x-edgewise-key": SHOP_A.key, ...bearer(await backendToken("privacy:erase")) } });
  await vi.waitUntil(
    async () => {
      const keys = (await env.EVENT_LOG.list()).objects.map((o) => o.key);
      return keys.some((k) => k.startsWith("events/")) && keys.some((k) => k.includes("/receipts/"));
    },
    { timeout: 15_000, interval: 100 },
  );
}, 30_000);

describe("retention", () => {
  it("the audit finds nothing without an expiry across every store", async () => {
    const { status, body } = await audit();
    expect(status).toBe(200);
    expect(body.without_expiry).toBe(0);
    expect(body.overdue).toBe(0);
    const byStore = Object.fromEntries(body.stores.map((s) => [s.store, s]));
    expect(byStore["r2:EVENT_LOG"]!.items).toBeGreaterThanOrEqual(3); // events, an erasure receipt and its marker
    expect(byStore["profile:durable-object"]!.items).toBeGreaterThan(0);
    expect(Object.keys(byStore)).toEqual(expect.arrayContaining(["do:ProfileDO", "do:TrendingDO", "do:FreshDO", "do:MonitorDO", "do:SessionDO"]));
  });

  it("reports anything stored outside a retention class (so the audit can fail)", async () => {
    await env.EVENT_LOG.put(`erasures/tenant=${SHOP_A.id}/stray/x.json`, "{}");
    try {
      const { body } = await audit();
      expect(body.without_expiry).toBe(1);
      expect(body.stores.find((s) => s.store === "r2:EVENT_LOG")!.without_expiry).toEqual([`erasures/tenant=${SHOP_A.id}/stray/x.json`]);
    } finally {
      await env.EVENT_LOG.delete(`erasures/tenant=${SHOP_A.id}/stray/x.json`);
    }
  });

  it("needs the admin scope", async () => {
    expect((await audit("privacy:erase")).status).toBe(403);
  });

  it("every session that stores something has its expiry alarm, including a consent-only one", async () => {
    const v = await newVisitor(SHOP_C.key);
    await postEvents([make.consent(true, false)], { key: SHOP_C.key, visitor: v });
    const alarm = await runInDurableObject(sessionStub(env, SHOP_C.id, visitorIdOf(v)), (_i, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now() + 29 * 86_400_000);
  });

  it("the daily sweep deletes each log class after its retention, and only then", async () => {
    await env.EVENT_LOG.put("dead-letter/queue=edgewise-events/dt=2026-01-01/x.ndjson", "{}\n");
    const before = (await env.EVENT_LOG.list()).objects.length;
    expect(await sweepEventLog(env.EVENT_LOG)).toMatchObject({ deleted: 0 });
    const deadLetters = (await env.EVENT_LOG.list({ prefix: "dead-letter/" })).objects.length;
    const markers = (await env.EVENT_LOG.list({ prefix: `erasures/tenant=${SHOP_A.id}/visitors/` })).objects.length;
    expect(markers).toBeGreaterThan(0);
    expect(deadLetters).toBeGreaterThan(0);
    // 31 days on: only dead letters (30 d) are due. Erasure markers outlive the log
    // lines they filter offline (design 0013), so they are still there.
    expect(await sweepEventLog(env.EVENT_LOG, Date.now() + 31 * 86_400_000)).toMatchObject({ deleted: deadLetters });
    expect((await env.EVENT_LOG.list({ prefix: `erasures/tenant=${SHOP_A.id}/visitors/` })).objects).toHaveLength(markers);
    // 401 days on: everything is due.
    expect((await sweepEventLog(env.EVENT_LOG, Date.now() + 401 * 86_400_000)).deleted).toBe(before - deadLetters);
    expect((await env.EVENT_LOG.list()).objects).toEqual([]);
  });

  it("the scheduled handler runs the sweep", async () => {
    await env.EVENT_LOG.put("events/tenant=shop-a/dt=2020-01-01/hour=00/x.ndjson", "{}\n");
    const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined } as unknown as ExecutionContext;
    await worker.scheduled({ cron: "17 3 * * *", scheduledTime: Date.now(), noRetry: () => undefined } as ScheduledController, env, ctx);
    // Uploaded just now: not due yet, so still there.
    expect((await env.EVENT_LOG.list({ prefix: "events/" })).objects).toHaveLength(1);
  });
});
