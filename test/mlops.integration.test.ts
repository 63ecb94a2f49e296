import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { DEFAULT_VARIANT_PARAMS, parseTenantConfig } from "../src/experiments/config";
import worker from "../src/index";
import type { DashboardData } from "../src/mlops/monitor/dashboard-data";
import type { Rollout } from "../src/mlops/rollout/plan";
import { SHOP_A, SHOP_B, call, make, newVisitor, postEvents } from "./helpers";
import { chainWeights, publishTestModel, setTenantConfig } from "./models";
import { readEventLog } from "./r2";
import { backendToken, bearer } from "./tokens";

const PARAMS = DEFAULT_VARIANT_PARAMS;

async function admin(path: string, init: { method?: string; body?: unknown; token?: string; key?: string; headers?: Record<string, string> } = {}) {
  const token = init.token ?? (await backendToken("admin"));
  const headers: Record<string, string> = { "x-edgewise-key": init.key ?? SHOP_A.key, ...bearer(token), ...init.headers };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  return call(`/admin/api${path}`, { method: init.method ?? "GET", headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
}

async function dashboard(): Promise<DashboardData> {
  const res = await admin("/dashboard");
  expect(res.status).toBe(200);
  return (await res.json()) as DashboardData;
}

async function storedConfig() {
  const obj = await env.MODELS.get("tenants/shop-a/experiments.json");
  return obj ? parseTenantConfig(await obj.json()) : null;
}

/** Gives shop A trending items so that lists without a model still fill up (and get logged as impressions). */
async function seedTrending(): Promise<string[]> {
  const items = ["sku-t1", "sku-t2", "sku-t3", "sku-t4", "sku-t5"];
  const v = await newVisitor();
  await postEvents(
    items.map((i) => make.productView(i)),
    { visitor: v },
  );
  await vi.waitUntil(async () => (await env.TRENDING.getByName(SHOP_A.id).top(10)).length >= items.length, { timeout: 10_000, interval: 50 });
  return items;
}

interface Reco {
  impression_id: string;
  variant: string;
  experiment: string | null;
  degraded: string | null;
  items: Array<{ item_id: string }>;
}

async function recommend(visitor: string, query = "type=trending&k=3", headers: Record<string, string> = {}): Promise<Reco> {
  const res = await call(`/v1/recommendations?${query}`, { headers: { "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": visitor, ...headers } });
  expect(res.status).toBe(200);
  return (await res.json()) as Reco;
}

describe("admin API access", () => {
  it("rejects a missing token, a token without the admin scope, another shop's token and a storefront origin", async () => {
    const noToken = await call("/admin/api/dashboard", { headers: { "x-edgewise-key": SHOP_A.key } });
    expect(noToken.status).toBe(401);
    expect(await noToken.json()).toMatchObject({ error: { code: "missing_token" } });

    const notAdmin = await admin("/dashboard", { token: await backendToken("events:write recommendations:read") });
    expect(notAdmin.status).toBe(403);
    expect(await notAdmin.json()).toMatchObject({ error: { code: "insufficient_scope" } });

    const otherShop = await admin("/dashboard", { token: await backendToken("admin", "shop-b") });
    expect(otherShop.status).toBe(401);
    expect(await otherShop.json()).toMatchObject({ error: { code: "invalid_token" } });

    const noKey = await call("/admin/api/rollouts", { headers: bearer(await backendToken("admin")) });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ error: { code: "missing_key" } });

    const storefront = await admin("/dashboard", { headers: { origin: SHOP_A.origin } });
    expect(storefront.status).toBe(403);
    expect(await storefront.json()).toMatchObject({ error: { code: "forbidden_origin" } });

    // Writes with a non-admin token change nothing.
    await publishTestModel("denied", "1", chainWeights(10));
    const write = await admin("/rollouts", { method: "POST", body: { model: "denied/1" }, token: await backendToken("events:write") });
    expect(write.status).toBe(403);
    expect(await storedConfig()).toBeNull();
    expect(((await (await admin("/rollouts")).json()) as { rollouts: Rollout[] }).rollouts).toEqual([]);

    // Shop B's admin sees shop B only.
    const b = await admin("/dashboard", { key: SHOP_B.key, token: await backendToken("admin", "shop-b") });
    expect(b.status).toBe(200);
    expect(await b.json()).toMatchObject({ tenant: "shop-b" });
  });

  it("accepts the dashboard's own same-origin calls, and serves the page with a strict CSP", async () => {
    const same = await admin("/rollouts", { headers: { origin: "https://edge.test" } });
    expect(same.status).toBe(200);
    const page = await call("/admin");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'; style-src 'sha256-/);
    const html = await page.text();
    expect(html).toContain('id="login"');
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // nothing loaded from elsewhere
  });

  it("answers bad input with 4xx and changes nothing", async () => {
    await setTenantConfig(SHOP_A.id, { default_model: null });
    const cases: Array<[string, Parameters<typeof admin>[1], number, string]> = [
      ["/rollouts", { method: "POST", body: { model: "no version" } }, 400, "invalid_body"],
      ["/rollouts", { method: "POST", body: { model: "ghost/1" } }, 400, "unknown_model"],
      ["/rollouts", { method: "POST", body: { model: "ghost/1", steps: [50, 20, 100] } }, 400, "invalid_body"],
      ["/rollouts", { method: "POST", body: { model: "ghost/1", surprise: 1 } }, 400, "invalid_body"],
      ["/rollouts/ro999/promote", { method: "POST", body: {} }, 404, "not_found"],
      ["/rollouts/..%2Fx/rollback", { method: "POST" }, 404, "not_found"],
      ["/experiments/current/weights", { method: "PUT", body: { weights: { a: 1 } } }, 409, "conflict"],
      ["/experiments/current/weights", { method: "PUT", body: { weights: { a: -1 } } }, 400, "invalid_body"],
      ["/settings", { method: "PUT", body: { psi: { watch: 0.5, act: 0.1 } } }, 400, "invalid_body"],
      ["/dashboard?hours=0", {}, 400, "invalid_parameter"],
      ["/dashboard?hours=1e3", {}, 400, "invalid_parameter"],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await admin(path, init);
      expect({ path, status: res.status, body: await res.json() }).toMatchObject({ path, status, body: { error: { code } } });
    }
    const raw = await call("/admin/api/rollouts", { method: "POST", headers: { "x-edgewise-key": SHOP_A.key, ...bearer(await backendToken("admin")), "content-type": "application/json" }, body: "{" });
    expect(raw.status).toBe(400);
    expect(await storedConfig()).toEqual({ default_model: null });
    expect((await dashboard()).history).toEqual([]);
  });
});

describe("experiment analysis from the event stream", () => {
  it("counts exactly what was sent: impressions, visitors, attributed clicks, carts and purchases, duplicates excluded", async () => {
    await seedTrending();
    await setTenantConfig(SHOP_A.id, {
      default_model: null,
      experiment: {
        name: "exp-count",
        salt: "s-count",
        variants: [
          { name: "control", weight: 50, model: null, params: PARAMS },
          { name: "treatment", weight: 50, model: null, params: PARAMS },
        ],
      },
    });
    type Expect = {
      visitors: number;
      impressions: number;
      clicks: number;
      add_to_carts: number;
      purchases: number;
      clicked_impressions: number;
      carted_impressions: number;
      purchased_impressions: number;
    };
    const zero = (): Expect => ({ visitors: 0, impressions: 0, clicks: 0, add_to_carts: 0, purchases: 0, clicked_impressions: 0, carted_impressions: 0, purchased_impressions: 0 });
    const expected: Record<string, Expect> = { control: zero(), treatment: zero() };
    const plans: Array<{ visitor: string; first: Reco; second: Reco }> = [];
    for (let i = 0; i < 8; i++) {
      const visitor = await newVisitor();
      await postEvents([make.pageView()], { visitor }); // a session, so attribution is remembered
      const first = await recommend(visitor);
      const second = await recommend(visitor);
      expect(first.experiment).toBe("exp-count");
      expect(second.variant).toBe(first.variant);
      expect(first.items.length).toBeGreaterThan(1);
      const e = expected[first.variant]!;
      e.visitors++;
      e.impressions += 2;
      plans.push({ visitor, first, second });
    }
    // Impressions reach the MonitorDO (and the SessionDOs) before outcomes are sent.
    await vi.waitUntil(async () => (await dashboard()).experiments.find((x) => x.experiment === "exp-count")?.variants.reduce((a, v) => a + v.impressions, 0) === 16, {
      timeout: 15_000,
      interval: 100,
    });

    for (const [i, { visitor, first, second }] of plans.entries()) {
      const e = expected[first.variant]!;
      const clickA = { ...make.recClick(first.items[0]!.item_id), properties: { impression_id: first.impression_id, item_id: first.items[0]!.item_id, position: 1 } };
      const clickB = { ...make.recClick(first.items[1]!.item_id), properties: { impression_id: first.impression_id, item_id: first.items[1]!.item_id, position: 2 } };
      const stray = { ...make.recClick("sku-nowhere"), properties: { impression_id: "not-an-impression", item_id: "sku-nowhere", position: 1 } };
      const batch: unknown[] = [clickA, stray];
      e.clicks++;
      e.clicked_impressions++;
      if (i % 2 === 0) {
        batch.push(clickB); // a second click on the same list: 2 clicks, still 1 clicked list
        e.clicks++;
      }
      if (i % 3 === 0) {
        // Shown in both lists; attributed to the latest one that showed it (the second).
        batch.push(make.addToCart(second.items[0]!.item_id), make.purchase([second.items[0]!.item_id, "sku-not-shown"]));
        e.add_to_carts++;
        e.carted_impressions++;
        e.purchases++;
        e.purchased_impressions++;
      }
      expect((await postEvents(batch, { visitor })).status).toBe(202);
      const again = await postEvents(batch, { visitor }); // the client's retry: all duplicates
      expect(await again.json()).toMatchObject({ accepted: 0, duplicate: batch.length });
    }

    const counts = async () => {
      const exp = (await dashboard()).experiments.find((x) => x.experiment === "exp-count")!;
      return Object.fromEntries(
        exp.variants.map((v) => [
          v.variant,
          {
            visitors: v.visitors,
            impressions: v.impressions,
            clicks: v.clicks,
            add_to_carts: v.add_to_carts,
            purchases: v.purchases,
            clicked_impressions: v.clicked_impressions,
            carted_impressions: v.carted_impressions,
            purchased_impressions: v.purchased_impressions,
          },
        ]),
      );
    };
    const want = Object.fromEntries(Object.entries(expected).filter(([, e]) => e.visitors > 0));
    await vi
      .waitUntil(async () => JSON.stringify(await counts()) === JSON.stringify(want), { timeout: 15_000, interval: 100 })
      .catch(async () => {
        expect(await counts()).toEqual(want);
      });

    // At-least-once delivery: the whole log delivered a second time changes nothing.
    const log = [...(await readEventLog("events/tenant=shop-a/")), ...(await readEventLog("impressions/tenant=shop-a/"))].map((x) => x.line);
    for (let i = 0; i < log.length; i += 100) {
      const batch = createMessageBatch(
        "edgewise-events",
        log.slice(i, i + 100).map((body, j) => ({ id: `redo-${i + j}`, timestamp: new Date(), attempts: 2, body })),
      );
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      expect((await getQueueResult(batch, ctx)).retryMessages).toEqual([]);
    }
    expect(await counts()).toEqual(want);

    const result = (await dashboard()).experiments.find((x) => x.experiment === "exp-count")!;
    expect(result.control).toBe("control");
    expect(result.srm).not.toBeNull();
    for (const v of result.variants) {
      expect(v.weight).toBe(50);
      expect(v.ctr!.value).toBeCloseTo(v.clicked_impressions / v.impressions, 12);
      expect(v.ctr!.low).toBeLessThanOrEqual(v.ctr!.value);
      expect(v.ctr!.high).toBeGreaterThanOrEqual(v.ctr!.value);
    }
  });

  it("warns of a sample ratio mismatch when assignment is broken", async () => {
    await seedTrending();
    await setTenantConfig(SHOP_A.id, {
      default_model: null,
      experiment: {
        name: "exp-srm",
        salt: "s-srm",
        variants: [
          { name: "control", weight: 50, model: null, params: PARAMS },
          { name: "treatment", weight: 50, model: null, params: PARAMS },
        ],
      },
    });
    // A CDN rule (the shop's edge, holding a backend token) that forces everyone into treatment: 30 visitors, none in control.
    const edge = bearer(await backendToken("recommendations:read"));
    for (let i = 0; i < 30; i++) await recommend(await newVisitor(), "type=trending&k=2", { "x-edgewise-variant": "treatment", ...edge });
    const exp = await vi.waitUntil(
      async () => {
        const e = (await dashboard()).experiments.find((x) => x.experiment === "exp-srm");
        return e && e.variants.reduce((a, v) => a + v.impressions, 0) === 30 ? e : false;
      },
      { timeout: 15_000, interval: 100 },
    );
    // χ² = (0 − 15)² / 15 + (30 − 15)² / 15 = 30, df 1
    expect(exp.srm).toMatchObject({ chi_square: 30, df: 1, mismatch: true, expected: { control: 15, treatment: 15 } });
    expect(exp.srm!.p_value).toBeLessThan(1e-6);
  });
});

describe("canary rollout", () => {
  it("promotes in steps, changes weights only through the API, and records every change", async () => {
    await publishTestModel("stable", "1", chainWeights(10));
    const next = await publishTestModel("stable", "2", chainWeights(12));
    await setTenantConfig(SHOP_A.id, { default_model: "stable/1" });
    const started = await admin("/rollouts", { method: "POST", body: { model: next, steps: [10, 50, 100] } });
    expect(started.status).toBe(201);
    const r = (await started.json()) as Rollout;
    expect(r).toMatchObject({ model: next, baseline: "stable/1", step: 0, status: "running" });
    expect(await storedConfig()).toMatchObject({
      default_model: "stable/1",
      experiment: {
        name: `${r.id}-s1`,
        variants: [
          { name: "stable", weight: 90 },
          { name: "canary", weight: 10, model: next },
        ],
      },
    });

    // A second rollout, or a weight change of the rollout's experiment, is a conflict.
    expect((await admin("/rollouts", { method: "POST", body: { model: "stable/1" } })).status).toBe(409);
    expect((await admin("/experiments/current/weights", { method: "PUT", body: { weights: { stable: 1, canary: 1 } } })).status).toBe(409);

    const p1 = await admin(`/rollouts/${r.id}/promote`, { method: "POST", body: {} });
    expect(p1.status).toBe(200);
    expect(await storedConfig()).toMatchObject({ experiment: { name: `${r.id}-s2`, salt: r.id, variants: [{ weight: 50 }, { weight: 50 }] } });
    const p2 = await admin(`/rollouts/${r.id}/promote`, { method: "POST", body: {} });
    expect(await p2.json()).toMatchObject({ status: "promoted", step: 2 });
    expect(await storedConfig()).toEqual({ default_model: next });
    expect((await admin(`/rollouts/${r.id}/rollback`, { method: "POST" })).status).toBe(409);

    // A plain experiment's weights change through the API.
    await setTenantConfig(SHOP_A.id, {
      default_model: next,
      experiment: {
        name: "exp-w",
        salt: "w",
        variants: [
          { name: "control", weight: 50, model: next, params: PARAMS },
          { name: "treatment", weight: 50, model: "stable/1", params: PARAMS },
        ],
      },
    });
    const w = await admin("/experiments/current/weights", { method: "PUT", body: { weights: { control: 80, treatment: 20 } } });
    expect(w.status).toBe(200);
    expect((await storedConfig())!.experiment!.variants.map((x) => x.weight)).toEqual([80, 20]);

    const { history } = await dashboard();
    expect(history.map((h) => [h.kind, h.detail.percent ?? null])).toEqual([
      ["weights_changed", null],
      ["rollout_completed", 100],
      ["rollout_promoted", 50],
      ["rollout_started", 10],
    ]);
    expect(history[0]!.detail).toMatchObject({ by: "shop-backend", experiment: "exp-w", from: { control: 50, treatment: 50 }, to: { control: 80, treatment: 20 } });
  });

  it("an admin rolls a canary back by hand, with a reason; the listings show models, experiments and rollouts", async () => {
    await publishTestModel("manual", "1", chainWeights(10));
    const next = await publishTestModel("manual", "2", chainWeights(12));
    await setTenantConfig(SHOP_A.id, { default_model: "manual/1" });
    const r = (await (await admin("/rollouts", { method: "POST", body: { model: next, steps: [20, 100] } })).json()) as Rollout;

    const experiments = (await (await admin("/experiments")).json()) as { current: { name: string; variants: Array<{ name: string; weight: number }> } | null };
    expect(experiments.current).toMatchObject({
      name: `${r.id}-s1`,
      variants: [
        { name: "stable", weight: 80 },
        { name: "canary", weight: 20 },
      ],
    });
    const models = (await (await admin("/models")).json()) as { models: Array<{ model: string; roles: string[] }> };
    expect(models.models.find((m) => m.model === next)?.roles).toEqual(expect.arrayContaining([`canary of ${r.id}`, `${r.id}-s1: canary (20)`]));
    expect(models.models.find((m) => m.model === "manual/1")?.roles).toEqual(expect.arrayContaining(["default", `${r.id}-s1: stable (80)`]));

    // An invalid body changes nothing; a valid one rolls back at once.
    expect((await admin(`/rollouts/${r.id}/rollback`, { method: "POST", body: { reason: 42 } })).status).toBe(400);
    expect((await storedConfig())?.experiment?.name).toBe(`${r.id}-s1`);
    const back = await admin(`/rollouts/${r.id}/rollback`, { method: "POST", body: { reason: "merchandiser saw odd lists" } });
    expect(back.status).toBe(200);
    expect(await back.json()).toMatchObject({ id: r.id, status: "rolled_back", reason: "merchandiser saw odd lists" });
    expect(await storedConfig()).toEqual({ default_model: "manual/1" });
    expect((await admin(`/rollouts/${r.id}/promote`, { method: "POST", body: {} })).status).toBe(409);

    const { rollouts } = (await (await admin("/rollouts")).json()) as { rollouts: Rollout[] };
    expect(rollouts.find((x) => x.id === r.id)).toMatchObject({ status: "rolled_back", reason: "merchandiser saw odd lists" });
    const { history } = await dashboard();
    expect(history[0]).toMatchObject({ kind: "rollout_rolled_back", rollout: r.id, detail: { by: "shop-backend", percent: 20, reason: "merchandiser saw odd lists" } });
    expect((await (await admin("/experiments")).json()) as { current: unknown }).toMatchObject({ current: null });
  });

  it("rolls a failing canary back automatically and records why", async () => {
    await seedTrending();
    const broken = await publishTestModel("broken", "1", chainWeights(10), (files) => {
      const onnx = files["model.onnx"]!;
      onnx[20] = onnx[20]! ^ 0xff; // the worker refuses it: checksum mismatch → every canary list is degraded
    });
    await setTenantConfig(SHOP_A.id, { default_model: null });
    const started = await admin("/rollouts", { method: "POST", body: { model: broken, steps: [50, 100], guard_rails: { min_impressions: 5 } } });
    expect(started.status).toBe(201);
    const r = (await started.json()) as Rollout;

    const edge = bearer(await backendToken("recommendations:read"));
    for (let i = 0; i < 6; i++) {
      const reco = await recommend(await newVisitor(), "type=personalized&k=3", { "x-edgewise-variant": "canary", ...edge });
      expect(reco).toMatchObject({ experiment: `${r.id}-s1`, variant: "canary", degraded: "model_unavailable" });
    }
    const rolled = await vi.waitUntil(
      async () => {
        const { rollouts } = (await (await admin("/rollouts")).json()) as { rollouts: Rollout[] };
        const x = rollouts.find((y) => y.id === r.id)!;
        return x.status === "rolled_back" ? x : false;
      },
      { timeout: 15_000, interval: 100 },
    );
    expect(rolled.reason).toMatch(/^Guard rail: error rate 100\.0% is above the 5\.0% limit \(\d+ of \d+ lists failed\)$/);
    expect(await storedConfig()).toEqual({ default_model: null });
    const { history } = await dashboard();
    expect(history[0]).toMatchObject({ kind: "rollout_rolled_back", rollout: r.id, detail: { by: "guard rails", percent: 50, reason: rolled.reason } });
    // Serving follows the config: the canary variant is gone.
    const after = await call("/v1/recommendations?type=trending", { headers: { "x-edgewise-key": SHOP_A.key, "x-edgewise-variant": "canary" } });
    expect(after.status).toBe(400);
    expect(await after.json()).toMatchObject({ error: { code: "unknown_variant" } });
  });
});

describe("MonitorDO ingest claims a batch at once", () => {
  it("counts a list repeated within a batch and a redelivered batch once; a visitor once per experiment", async () => {
    const tenant = "claims-test";
    const at = Date.now();
    const imp = (id: string, visitor: string, variant = "control") => ({
      id,
      visitor,
      at,
      type: "personalized",
      experiment: "exp-claims",
      variant,
      model: null,
      degraded: null,
      latency_ms: 3,
      values: {},
      top_score: null,
      items: ["a"],
    });
    const batch = {
      impressions: [imp("l1", "v1"), imp("l2", "v1"), imp("l1", "v1"), imp("l3", "v2", "treatment")],
      outcomes: [{ id: "v1:e1", type: "recommendation_click" as const, at, impressions: [{ impression_id: "l1", experiment: "exp-claims", variant: "control" }] }],
      received: [],
    };
    const stub = env.MONITOR.getByName(tenant);
    expect(await stub.ingest(tenant, batch)).toMatchObject({ impressions: 3, outcomes: 1, duplicates: 1 });
    expect(await stub.ingest(tenant, batch)).toMatchObject({ impressions: 0, outcomes: 0, duplicates: 5 });
    const arms = (await stub.dashboard(tenant, 24)).experiments.find((e) => e.experiment === "exp-claims")!.variants;
    const byName = Object.fromEntries(arms.map((v) => [v.variant, { visitors: v.visitors, impressions: v.impressions, clicks: v.clicks }]));
    expect(byName).toEqual({ control: { visitors: 1, impressions: 2, clicks: 1 }, treatment: { visitors: 1, impressions: 1, clicks: 0 } });
  });
});
