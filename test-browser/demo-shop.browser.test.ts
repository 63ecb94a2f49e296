// The demo shop at `/` (built on the SDK) in headless Chromium against wrangler dev: three
// product views of one category move "Recommended for you" toward it; a click on a
// recommended item is attributed and counted on the /admin dashboard; withdrawing consent
// turns personalisation off. Leaves a screenshot (DEMO_SCREENSHOT, else in the temp dir).
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevWorker, KEY, demoToken, launchChromium, startDevWorker, waitFor } from "./dev-worker";

const SCREENSHOT = process.env.DEMO_SCREENSHOT ?? join(tmpdir(), "edgewise-demo-shop.png");
const CATEGORY = "home/coffee";
let worker: DevWorker;
let browser: Browser;

beforeAll(async () => {
  worker = await startDevWorker();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await worker?.stop();
});

const at = (page: Page, route: string) => page.waitForSelector(`body[data-route="${route}"][data-ready="true"]`);
const recommended = (page: Page) => page.$$eval('[data-testid="reco-personalized"] .card', (els) => els.map((e) => (e as HTMLElement).dataset.category ?? ""));

type Dash = { experiments: Array<{ experiment: string; variants: Array<{ variant: string; clicks: number; impressions: number }> }> };

describe("the demo shop at / in Chromium", () => {
  it("personalises toward a viewed category, attributes clicks to the dashboard, and stops personalising without consent", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(`${worker.base}/`);
    await page.waitForSelector("#consent:not([hidden])");
    expect(await page.getAttribute('a[href="/admin"]', "href")).toBe("/admin");
    expect(await page.getAttribute('header a[href="/docs"]', "href")).toBe("/docs");
    await page.click("#consent-accept");
    await at(page, "/");
    const before = await recommended(page);
    expect(before.length).toBeGreaterThan(0);

    // ── three products of one category, clicked from its grid ──────────────────
    await page.goto(`${worker.base}/#/c/${CATEGORY}`);
    await at(page, `/c/${CATEGORY}`);
    for (let i = 0; i < 3; i++) {
      const card = page.locator('[data-testid="grid"] .card').nth(i);
      const item = await card.getAttribute("data-item");
      await card.click();
      await at(page, `/p/${item}`);
      expect(await page.getAttribute('[data-testid="product"]', "data-item")).toBe(item);
      expect(await page.locator('[data-testid="reco-similar"] .card').count()).toBeGreaterThan(0);
      await page.goBack();
      await at(page, `/c/${CATEGORY}`);
    }
    // "Complete your cart" on the cart page: recommendations for what is in it, never the item itself.
    const inCart = await page.locator('[data-testid="grid"] .card').first().getAttribute("data-item");
    await page.goto(`${worker.base}/#/p/${inCart}`);
    await at(page, `/p/${inCart}`);
    await page.click('[data-testid="add-to-cart"]');
    await page.click("#cart-link");
    await at(page, "/cart");
    expect(await page.textContent("#cart-count")).toBe("1");
    const cartRecs = await page.$$eval('[data-testid="reco-cart"] .card', (els) => els.map((e) => (e as HTMLElement).dataset.item));
    expect(cartRecs.length).toBeGreaterThan(0);
    expect(cartRecs).not.toContain(inCart);
    await page.goto(`${worker.base}/#/`);
    await at(page, "/");
    const after = await recommended(page);
    const share = (cats: string[]) => cats.filter((c) => c === CATEGORY).length / cats.length;
    expect(share(after)).toBeGreaterThan(share(before));
    expect(share(after)).toBeGreaterThanOrEqual(0.5);
    await page.screenshot({ path: SCREENSHOT, fullPage: false });

    // ── a click on a recommended item is attributed ───────────────────────────
    const variant = (await page.getAttribute('[data-testid="reco-personalized"]', "data-variant"))!;
    const target = page.locator('[data-testid="reco-personalized"] .card').first();
    const clicked = await target.getAttribute("data-ew-item");
    expect(await target.getAttribute("data-ew-impression")).toBe(await page.getAttribute('[data-testid="reco-personalized"]', "data-impression"));
    await target.click();
    await at(page, `/p/${clicked}`);
    const admin = await demoToken("admin");
    const clicksOf = (d: Dash) => d.experiments.find((x) => x.experiment === "homepage")?.variants.find((v) => v.variant === variant)?.clicks ?? 0;
    await waitFor(
      "the click in the dashboard's counts",
      async () => {
        const d = (await (await fetch(`${worker.base}/admin/api/dashboard`, { headers: { "x-edgewise-key": KEY, authorization: `Bearer ${admin}` } })).json()) as Dash;
        return clicksOf(d) === 1 || false;
      },
      30_000,
      worker.log,
    );
    const dash = await browser.newPage();
    await dash.goto(`${worker.base}/admin`);
    await dash.fill("#key", KEY);
    await dash.fill("#token", admin);
    await dash.click("#signin");
    await dash.waitForSelector('#app[data-loaded="true"]', { timeout: 15_000 });
    expect(await dash.textContent(`[data-testid="exp-homepage-${variant}-clicks"]`)).toBe("1");
    await dash.close();

    // ── withdrawing consent turns personalisation off ─────────────────────────
    await page.goto(`${worker.base}/#/`);
    await at(page, "/");
    await page.click("#privacy");
    await page.click("#consent-decline");
    await page.waitForSelector('[data-testid="reco-personalized"][data-degraded="no_consent"]');
    expect(await page.isVisible('[data-testid="personalisation-off"]')).toBe(true);
    // The list is the shop's trending list (same variant, so the same serving rules), not this visitor's.
    const off = await page.$$eval('[data-testid="reco-personalized"] .card', (els) => els.map((e) => (e as HTMLElement).dataset.item));
    const trending = (await (await fetch(`${worker.base}/v1/recommendations?type=trending&k=8`, { headers: { "x-edgewise-key": KEY, "x-edgewise-variant": variant } })).json()) as {
      items: Array<{ item_id: string }>;
    };
    expect(off).toEqual(trending.items.map((i) => i.item_id));
    expect(await page.evaluate(() => localStorage.getItem("ew_c:pk_demo_edgewise"))).toBe('{"analytics":false,"personalization":false}');
    expect(errors).toEqual([]);
    await page.close();
  });
});
