import { env } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import worker from "../src/index";
import { sessionStub } from "../src/session/stub";
import { SHOP_A, eventId, make, visitorIdOf } from "./helpers";
import { readEventLog } from "./r2";
import { backendToken, bearer, customerToken } from "./tokens";

const EMAIL = "Canary.Person+shop@Example.org";
const IP = "203.0.113.77";
const IPV6 = "2001:db8::c0ff:ee";
const upstash = inject("upstash");

/** Every place a clear identifier could leak, as text. */
const leaks = (text: string) => [EMAIL.toLowerCase(), "canary.person", IP, IPV6].filter((needle) => text.toLowerCase().includes(needle.toLowerCase()));

describe("a canary email and IP through every endpoint appear nowhere in clear", () => {
  const logs: string[] = [];
  const testEnv = {
    ...env,
    LOG_LEVEL: "debug", // every log line the worker can write is captured
    ...(upstash ? { UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token } : {}),
  } as Env;
  const clientHeaders = {
    "cf-connecting-ip": IP,
    "x-forwarded-for": `${IP}, ${IPV6}`,
    "x-real-ip": IP,
    "true-client-ip": IP,
    "user-agent": `Mozilla/5.0 (${EMAIL})`,
    referer: `https://shop-a.example/?email=${EMAIL}`,
  };
  let visitor = "";

  async function send(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`https://edge.test${path}`, { ...init, headers: { "x-edgewise-key": SHOP_A.key, ...clientHeaders, ...init.headers } }), testEnv, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }

  beforeAll(async () => {
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void logs.push(args.map(String).join(" ")));
    }
    const first = await send("/v1/session");
    visitor = first.headers.get("x-edgewise-visitor")!;
    const v = { "x-edgewise-visitor": visitor, "content-type": "application/json" };
    const backend = bearer(await backendToken("events:write identify recommendations:read"));
    const now = Date.now();
    const events = [
      make.productView("sku-01"),
      { id: eventId("pv"), type: "page_view", timestamp: now, properties: { path: `/account?email=${EMAIL}&ip=${IP}`, referrer: `https://mail.example/?to=${EMAIL}` } },
      { id: eventId("s"), type: "search", timestamp: now, properties: { query: `order for ${EMAIL} from ${IP}` } },
      { id: eventId("i"), type: "identify", timestamp: now, properties: { customer_id: "cust-canary", email: EMAIL, device_id: `device-of-${IP}` } },
      make.productView(EMAIL), // refused: an item id cannot be an email
      { ...make.addToCart("sku-01"), properties: { item_id: "sku-01", category: EMAIL } }, // refused
      make.purchase(["sku-01"]),
      { ...make.productView("sku-02"), id: EMAIL }, // refused: event ids are stored in the clear
    ];
    const res = await send("/v1/events", { method: "POST", headers: { ...v, ...backend }, body: JSON.stringify({ events }) });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { results: Array<{ status: string; code?: string }> };
    expect(body.results.map((r) => r.code ?? r.status)).toEqual(["accepted", "accepted", "accepted", "accepted", "invalid_event", "invalid_event", "accepted", "invalid_event"]);
    // Recommendations with the canary in every parameter, profile lookups by the email-shaped customer id.
    expect((await send(`/v1/recommendations?type=similar&item=${encodeURIComponent(EMAIL)}`, { headers: v })).status).toBe(400);
    expect((await send(`/v1/recommendations?exclude=${encodeURIComponent(EMAIL)}`, { headers: v })).status).toBe(400);
    expect((await send("/v1/recommendations?k=5", { headers: v })).status).toBe(200);
    expect((await send("/v1/recommendations?k=5", { headers: { ...bearer(await customerToken("cust-canary")) } })).status).toBe(200);
    await send(`/v1/profile?customer_id=${encodeURIComponent(EMAIL)}`, { headers: backend });
    await send("/v1/profile", { headers: v });
    await send(`/v1/nope/${encodeURIComponent(EMAIL)}`);
    await send(`/v1/features?email=${encodeURIComponent(EMAIL)}`);
    // Erasure by email without the scope, and the admin API with the canary in path and query.
    expect((await send(`/v1/subjects/email:${encodeURIComponent(EMAIL)}`, { method: "DELETE", headers: backend })).status).toBe(403);
    expect((await send(`/admin/api/experiments?email=${encodeURIComponent(EMAIL)}`, { headers: bearer(await backendToken("admin")) })).status).toBe(200);
    await send(`/admin/api/rollouts/${encodeURIComponent(EMAIL)}/rollback`, {
      method: "POST",
      headers: { ...bearer(await backendToken("admin")), "content-type": "application/json" },
      body: JSON.stringify({ reason: EMAIL }),
    });
    await send("/v1/events", { method: "POST", headers: v, body: `{"events":[{"id":"x","type":"search","timestamp":"${EMAIL}"` });
    // Let the queue deliver everything to the log.
    await vi.waitUntil(async () => (await readEventLog()).filter((x) => x.line.visitor_id === visitorIdOf(visitor)).length >= 5, { timeout: 10_000 });
  });
  afterAll(() => vi.restoreAllMocks());

  it("not in the visitor's Durable Object storage", async () => {
    const dump = await runInDurableObject(sessionStub(env, SHOP_A.id, visitorIdOf(visitor)), async (_i, state) => {
      const tables = state.storage.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .toArray()
        .map((r) => r.name);
      return tables
        .filter((t) => !t.startsWith("_cf"))
        .map((t) => JSON.stringify(state.storage.sql.exec(`SELECT * FROM ${t}`).toArray()))
        .join("\n");
    });
    expect(dump).toContain("[email]"); // the scrubbed query and path are there…
    expect(leaks(dump)).toEqual([]); // …the clear values are not
  });

  it("not in the profile store (embedded Durable Object and Redis)", async () => {
    const dump = await runInDurableObject(env.PROFILES.getByName(`tenant:${SHOP_A.id}`), async (_i, state) =>
      JSON.stringify([state.storage.sql.exec("SELECT * FROM kv").toArray(), state.storage.sql.exec("SELECT * FROM hkv").toArray()]),
    );
    expect(leaks(dump)).toEqual([]);
    if (upstash) {
      const redis = async (cmd: unknown[]) =>
        ((await (await fetch(upstash.url, { method: "POST", headers: { authorization: `Bearer ${upstash.token}` }, body: JSON.stringify(cmd) })).json()) as { result: unknown }).result;
      const keys = (await redis(["KEYS", `ew:${SHOP_A.id}:*`])) as string[];
      expect(keys.length).toBeGreaterThan(0);
      let all = keys.join("\n");
      for (const k of keys) all += JSON.stringify((await redis(["TYPE", k])) === "hash" ? await redis(["HGETALL", k]) : await redis(["GET", k]));
      expect(leaks(all)).toEqual([]);
    }
  });

  it("not in the shop's monitoring and trending Durable Objects", async () => {
    const dump = async (ns: DurableObjectNamespace) =>
      runInDurableObject(ns.getByName(SHOP_A.id), async (_i, state) => {
        const tables = state.storage.sql
          .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
          .toArray()
          .map((r) => r.name);
        return tables
          .filter((t) => !t.startsWith("_cf") && !t.startsWith("sqlite"))
          .map((t) => JSON.stringify(state.storage.sql.exec(`SELECT * FROM ${t}`).toArray()))
          .join("\n");
      });
    // The consumer feeds the monitor after the log: wait until it has counted this visitor's traffic.
    let monitor = "";
    await vi.waitUntil(async () => (monitor = await dump(env.MONITOR as unknown as DurableObjectNamespace)).includes('"type":"search"'), { timeout: 10_000 });
    expect(leaks(monitor)).toEqual([]);
    expect(leaks(await dump(env.TRENDING as unknown as DurableObjectNamespace))).toEqual([]);
  });

  it("not in queue messages as logged in R2 (events, impressions, dead letters)", async () => {
    const objects: string[] = [];
    for (const prefix of ["events/", "impressions/", "dead-letter/"]) {
      const page = await env.EVENT_LOG.list({ prefix });
      for (const o of page.objects) objects.push(await (await env.EVENT_LOG.get(o.key))!.text());
    }
    const all = objects.join("\n");
    expect(all).toContain(visitorIdOf(visitor));
    expect(leaks(all)).toEqual([]);
  });

  it("not in the worker's logs", () => {
    expect(logs.length).toBeGreaterThan(5);
    expect(leaks(logs.join("\n"))).toEqual([]);
  });
});
