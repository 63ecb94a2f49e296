import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activate, publishModel } from "../tools/cli/registry";
import { withLocalBucket } from "../tools/local/local-r2";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const KEY = "pk_demo_edgewise";
const TENANT = "demo";
const SCREENSHOT = process.env.DASHBOARD_SCREENSHOT ?? join(tmpdir(), "edgewise-dashboard.png");
const DEMO_JWT_SECRET = JSON.parse(/^JWT_SECRETS='(.+)'$/m.exec(readFileSync(".dev.vars.example", "utf8"))![1]!).demo as string;

let dev: ChildProcess | null = null;
let browser: Browser | null = null;
let state = "";
let base = "";
let devLog = "";

function freePort(from: number, to: number): Promise<number> {
  const port = from + Math.floor(Math.random() * (to - from));
  return new Promise((ok) => {
    const srv = createServer()
      .once("error", () => ok(freePort(from, to)))
      .listen(port, "127.0.0.1", () => srv.close(() => ok(port)));
  });
}

function token(scope: string): Promise<string> {
  return new SignJWT({ scope })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("https://demo.edgewise.local")
    .setAudience("edgewise")
    .setSubject("dashboard-test")
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(new TextEncoder().encode(DEMO_JWT_SECRET));
}

async function waitFor<T>(what: string, fn: () => Promise<T | false>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}\n${devLog.slice(-2000)}`);
}

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true);
  state = mkdtempSync(join(tmpdir(), "edgewise-dash-"));
  // The demo model and catalog, and an A/B test between two serving settings of it.
  await withLocalBucket(
    "edgewise-models",
    async (bucket) => {
      const target = { kind: "local" as const, bucket };
      const id = await publishModel(target, "models/demo/1");
      await activate(target, { tenant: TENANT, experiment: "homepage", salt: "homepage", variants: [`control=${id}:50`, `treatment=${id}:50:max_per_category=2`] });
    },
    join(state, "v3", "r2"),
  );
  const port = await freePort(19000, 19900);
  const inspector = await freePort(19900, 19999);
  base = `http://127.0.0.1:${port}`;
  dev = spawn(
    "node_modules/.bin/wrangler",
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspector),
      "--persist-to",
      state,
      "--log-level",
      "warn",
      "--var",
      "LOG_LEVEL:warn",
      "--var",
      "REGISTRY_REFRESH_SECONDS:0",
      "--var",
      "VISITOR_SECRET:dashboard-test-visitor-secret-0123456789",
      "--var",
      "PII_SECRET:dashboard-test-pii-secret-0123456789abcd",
      "--var",
      `JWT_SECRETS:${JSON.stringify({ demo: DEMO_JWT_SECRET })}`,
    ],
    { env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" }, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  dev.stdout!.on("data", (d: Buffer) => (devLog += d.toString()));
  dev.stderr!.on("data", (d: Buffer) => (devLog += d.toString()));
  await waitFor("wrangler dev", async () => (await fetch(`${base}/healthz`)).ok || false, 60_000);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});

afterAll(async () => {
  await browser?.close();
  if (dev?.pid) {
    try {
      process.kill(-dev.pid, "SIGTERM"); // the whole group: wrangler and its workerd
    } catch {
      /* already gone */
    }
  }
  if (state) rmSync(state, { recursive: true, force: true });
});

interface Reco {
  impression_id: string;
  variant: string;
  items: Array<{ item_id: string }>;
}

describe("the /admin dashboard in Chromium", () => {
  it("signs in, and shows the seeded traffic's exact numbers in tables and charts", async () => {
    // ── seed: 10 visitors view products, get two lists each, some click ──────────
    const expected: Record<string, { visitors: number; impressions: number; clicks: number }> = {};
    let events = 0;
    for (let i = 0; i < 10; i++) {
      const session = await fetch(`${base}/v1/session`, { headers: { "x-edgewise-key": KEY } });
      const visitor = session.headers.get("x-edgewise-visitor")!;
      await session.body?.cancel();
      const headers = { "x-edgewise-key": KEY, "x-edgewise-visitor": visitor, "content-type": "application/json" };
      const now = Date.now();
      const views = [1, 2, 3].map((k) => ({ id: `v${i}-${k}`, type: "product_view", timestamp: now, properties: { item_id: `sku-${String(i * 7 + k).padStart(5, "0")}` } }));
      expect((await fetch(`${base}/v1/events`, { method: "POST", headers, body: JSON.stringify({ events: views }) })).status).toBe(202);
      events += views.length;
      const lists: Reco[] = [];
      for (let k = 0; k < 2; k++) {
        const res = await fetch(`${base}/v1/recommendations?k=5`, { headers });
        expect(res.status).toBe(200);
        lists.push((await res.json()) as Reco);
      }
      const e = (expected[lists[0]!.variant] ??= { visitors: 0, impressions: 0, clicks: 0 });
      e.visitors++;
      e.impressions += 2;
      if (i % 2 === 0) {
        // Wait until the impression is remembered for attribution, then click it (and retry the click: a duplicate).
        await new Promise((r) => setTimeout(r, 100));
        const click = { id: `c${i}`, type: "recommendation_click", timestamp: Date.now(), properties: { impression_id: lists[0]!.impression_id, item_id: lists[0]!.items[0]!.item_id, position: 1 } };
        for (let r = 0; r < 2; r++) await fetch(`${base}/v1/events`, { method: "POST", headers, body: JSON.stringify({ events: [click] }) });
        events++;
        e.clicks++;
      }
    }
    const admin = await token("admin");
    const apiHeaders = { "x-edgewise-key": KEY, authorization: `Bearer ${admin}` };
    type Dash = { experiments: Array<{ experiment: string; variants: Array<{ variant: string; visitors: number; impressions: number; clicks: number }> }>; ingestion: { totals: { events: number } } };
    const counts = (d: Dash) =>
      Object.fromEntries((d.experiments.find((x) => x.experiment === "homepage")?.variants ?? []).map((v) => [v.variant, { visitors: v.visitors, impressions: v.impressions, clicks: v.clicks }]));
    await waitFor(
      "the queue consumer to aggregate the seeded traffic",
      async () => {
        const d = (await (await fetch(`${base}/admin/api/dashboard`, { headers: apiHeaders })).json()) as Dash;
        return JSON.stringify(counts(d)) ===
          JSON.stringify(
            Object.fromEntries(
              Object.keys(expected)
                .sort()
                .map((k) => [k, expected[k]]),
            ),
          ) && d.ingestion.totals.events === events
          ? d
          : false;
      },
      30_000,
    );

    // ── the page ────────────────────────────────────────────────────────────
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(`${base}/admin`);
    await page.fill("#key", KEY);

    // A token without the admin scope is refused, in words.
    await page.fill("#token", await token("events:write"));
    await page.click("#signin");
    await page.waitForSelector("#error:not([hidden])");
    expect(await page.textContent("#error")).toContain("insufficient_scope");
    expect(await page.isVisible("#login")).toBe(true);
    expect(errors).toEqual(["Failed to load resource: the server responded with a status of 403 (Forbidden)"]);
    errors.length = 0;

    await page.fill("#key", KEY);
    await page.fill("#token", admin);
    await page.click("#signin");
    await page.waitForSelector('#app[data-loaded="true"]', { timeout: 15_000 });
    expect(await page.isVisible("#error")).toBe(false);

    const text = (id: string) => page.textContent(`[data-testid="${id}"]`);
    for (const [variant, e] of Object.entries(expected)) {
      expect(await text(`exp-homepage-${variant}-visitors`)).toBe(String(e.visitors));
      expect(await text(`exp-homepage-${variant}-impressions`)).toBe(String(e.impressions));
      expect(await text(`exp-homepage-${variant}-clicks`)).toBe(String(e.clicks));
      expect(await text(`exp-homepage-${variant}-ctr`)).toMatch(new RegExp(`^${((e.clicks / e.impressions) * 100).toFixed(1)}% \\(`));
    }
    expect(await text("traffic-events")).toBe(String(events));
    expect(await text("traffic-impressions")).toBe(String(20));
    // Drift of the demo model, with a status in words and its charts.
    expect(await text("drift-demo_1-status")).toMatch(/^(Fine|Watch|Act now|Not enough data)$/);
    expect(await page.locator('[data-testid="drift-demo_1-item_idx_known_items"] svg.chart').count()).toBe(2);
    expect(await page.locator("#experiments svg.chart rect").count()).toBeGreaterThanOrEqual(Object.keys(expected).length);
    // The click-rate chart draws each variant with the rate the events give (not just some bars).
    const ctrChart = (await page.locator("#experiments svg.chart").first().textContent()) ?? "";
    for (const [variant, e] of Object.entries(expected)) {
      expect(ctrChart).toContain(variant);
      expect(ctrChart).toContain(`${((e.clicks / e.impressions) * 100).toFixed(1)}%`);
    }
    expect(await page.locator("svg.chart").count()).toBeGreaterThanOrEqual(8);
    expect(await text("rollout-none")).toContain("No rollout in progress");
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(errors).toEqual([]); // no script errors, no CSP violations
    await page.close();
  });
});
