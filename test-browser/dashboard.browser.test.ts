import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevWorker, KEY, demoToken as token, launchChromium, startDevWorker, waitFor as waitUntil } from "./dev-worker";

const SCREENSHOT = process.env.DASHBOARD_SCREENSHOT ?? join(tmpdir(), "edgewise-dashboard.png");

// One seeded `wrangler dev` (the demo model and catalog, an A/B test between two serving settings of it)
// and the house Chromium, shared with the storefront tests (dev-worker.ts).
let worker: DevWorker;
let browser: Browser | null = null;
let base = "";

const waitFor = <T>(what: string, fn: () => Promise<T | false>, timeoutMs: number) => waitUntil(what, fn, timeoutMs, () => worker.log());

beforeAll(async () => {
  worker = await startDevWorker();
  base = worker.base;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
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
    // Each ranker feature too, rendered from the API's entry (its label, its observations: one per ranked list).
    const steps = page.locator('[data-testid="drift-demo_1-ranker_visit_steps_since_last"]');
    expect(await steps.locator("h4").textContent()).toContain("views since the candidate's last view");
    expect(await steps.locator("svg.chart").count()).toBe(2);
    expect(await steps.locator(".figures").textContent()).toContain("observations: 20");
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
