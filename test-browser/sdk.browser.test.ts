// The browser SDK (sdk/, served at /sdk/edgewise.js) in headless Chromium against a real
// `wrangler dev`: batching, one request per event with batching off, the keepalive flush
// on page hide, retry after a 503 honouring Retry-After (and none after a 400), consent
// gating and GPC, the bounded offline queue, recommendations and click attribution.
import { SignJWT } from "jose";
import type { Browser, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_JWT_SECRET, type DevWorker, KEY, launchChromium, session, startDevWorker, waitFor } from "./dev-worker";

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

interface Sent {
  at: number;
  status: number | null;
  events: Array<{ id: string; type: string; properties?: Record<string, unknown> }>;
}

/** A blank page on the worker's origin that loads the SDK; every POST /v1/events is recorded. */
async function sdkPage(init?: (page: Page) => Promise<void>): Promise<{ page: Page; sent: Sent[]; errors: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const sent: Sent[] = [];
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const record = (req: Request) => {
    if (!req.url().includes("/v1/events") || req.method() !== "POST") return null;
    const entry: Sent = { at: Date.now(), status: null, events: (JSON.parse(req.postData() ?? "{}") as { events: Sent["events"] }).events };
    sent.push(entry);
    return entry;
  };
  page.on("requestfinished", async (req) => {
    const entry = sent.find((s) => s.status === null && s.events.length > 0 && JSON.stringify(s.events) === JSON.stringify((JSON.parse(req.postData() ?? "{}") as { events: unknown }).events));
    if (entry) entry.status = (await req.response())?.status() ?? null;
  });
  page.on("request", record);
  await page.route(`${worker.base}/__sdk`, (route) => route.fulfill({ contentType: "text/html", body: `<!doctype html><title>sdk</title><script src="/sdk/edgewise.js"></script>` }));
  await init?.(page);
  await page.goto(`${worker.base}/__sdk`);
  return { page, sent, errors };
}

describe("the browser SDK in Chromium, against wrangler dev", () => {
  it("with batching off, one event is one request answered 202; with batching, by size and by time", async () => {
    const { page, sent, errors } = await sdkPage();
    await page.evaluate((key) => {
      (window as never as { ew: unknown }).ew = Edgewise.init({ key, batchSize: 1 });
    }, KEY);
    const id = await page.evaluate(() => (window as never as { ew: Edgewise.Edgewise }).ew.track("page_view", { path: "/" }));
    await waitFor("the 202", async () => sent[0]?.status === 202 || false, 10_000);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.events.map((e) => e.id)).toEqual([id]);

    const { page: p2, sent: s2 } = await sdkPage();
    await p2.evaluate((key) => {
      const ew = Edgewise.init({ key, batchSize: 3, flushInterval: 400 });
      for (const item of ["sku-00001", "sku-00002", "sku-00003", "sku-00004"]) ew.track("product_view", { item_id: item });
      (window as never as { ew: unknown }).ew = ew;
    }, KEY);
    await waitFor("two batches", async () => (s2.length === 2 && s2.every((s) => s.status === 202)) || false, 10_000);
    expect(s2.map((s) => s.events.length)).toEqual([3, 1]);
    // The lone fourth event waited for the timer, not for more events.
    expect(s2[1]!.at - s2[0]!.at).toBeGreaterThanOrEqual(300);
    const token = (await p2.evaluate(() => (window as never as { ew: Edgewise.Edgewise }).ew.visitor()))!;
    expect((await session(worker.base, token)).events_applied).toBe(4);
    expect(errors).toEqual([]);
  });

  it("flushes with keepalive when the page is hidden: events queued at navigation still arrive", async () => {
    const { page } = await sdkPage();
    const token = await page.evaluate(async (key) => {
      const ew = Edgewise.init({ key, batchSize: 50, flushInterval: 60_000 });
      ew.track("page_view", { path: "/" });
      await ew.flush();
      ew.track("product_view", { item_id: "sku-00010" });
      ew.track("add_to_cart", { item_id: "sku-00010", quantity: 1 });
      return ew.visitor();
    }, KEY);
    expect(token).toMatch(/^v1\./);
    await page.goto("about:blank"); // pagehide → fetch(keepalive)
    const s = await waitFor(
      "the beaconed events",
      async () => {
        const x = await session(worker.base, token!);
        return x.events_applied === 3 ? x : false;
      },
      10_000,
    );
    expect(s.recent_events.map((e) => e.type).sort()).toEqual(["add_to_cart", "page_view", "product_view"]);
  });

  it("retries after a 503 with the same event ids, no sooner than Retry-After; never retries a 400", async () => {
    let failed = 0;
    const { page, sent } = await sdkPage(async (p) => {
      await p.route(`${worker.base}/v1/events`, async (route) => {
        // The edge in front of the worker is overloaded once: 503 with Retry-After.
        if (failed++ === 0)
          return route.fulfill({
            status: 503,
            headers: { "retry-after": "1", "content-type": "application/json" },
            body: JSON.stringify({ error: { code: "session_unavailable", message: "retry" } }),
          });
        return route.continue();
      });
    });
    await page.evaluate((key) => {
      const ew = Edgewise.init({ key, batchSize: 1 });
      ew.track("product_view", { item_id: "sku-00020" });
      (window as never as { ew: unknown }).ew = ew;
    }, KEY);
    await waitFor("the retry's 202", async () => sent.some((s) => s.status === 202) || false, 15_000);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.events.map((e) => e.id)).toEqual(sent[0]!.events.map((e) => e.id));
    expect(sent[1]!.at - sent[0]!.at).toBeGreaterThanOrEqual(950);
    const token = (await page.evaluate(() => (window as never as { ew: Edgewise.Edgewise }).ew.visitor()))!;
    expect((await session(worker.base, token)).events_applied).toBe(1);

    // A 400 (here: an invalid event the worker itself refuses per event is a 202; a malformed request is a 400).
    const { page: p2, sent: s2 } = await sdkPage(async (p) => {
      await p.route(`${worker.base}/v1/events`, (route) => route.fulfill({ status: 400, contentType: "application/json", body: JSON.stringify({ error: { code: "invalid_body", message: "no" } }) }));
    });
    const left = await p2.evaluate(async (key) => {
      const ew = Edgewise.init({ key, batchSize: 1 });
      ew.track("page_view");
      await new Promise((r) => setTimeout(r, 1500));
      return JSON.parse(localStorage.getItem(`ew_q:${key}`) ?? "[]").length as number;
    }, KEY);
    expect(s2).toHaveLength(1);
    expect(left).toBe(0);
  });

  it("sends nothing before consent where the shop requires it; GPC withholds analytics", async () => {
    const { page, sent } = await sdkPage();
    const before = await page.evaluate(async (key) => {
      const ew = Edgewise.init({ key, batchSize: 1, consent: "required" });
      (window as never as { ew: unknown }).ew = ew;
      const id = ew.track("product_view", { item_id: "sku-00030" });
      await new Promise((r) => setTimeout(r, 800));
      return id;
    }, KEY);
    expect(before).toBeNull();
    expect(sent).toHaveLength(0);
    await page.evaluate(() => {
      const ew = (window as never as { ew: Edgewise.Edgewise }).ew;
      ew.consent({ analytics: true, personalization: true });
      ew.track("product_view", { item_id: "sku-00030" });
    });
    await waitFor("consent, then the event", async () => sent.filter((s) => s.status === 202).length === 2 || false, 10_000);
    expect(sent.flatMap((s) => s.events.map((e) => e.type))).toEqual(["consent", "product_view"]);

    // Global Privacy Control: the SDK declares analytics withdrawn (personalization stays).
    const { page: gpc, sent: gpcSent } = await sdkPage(async (p) => {
      await p.addInitScript(() => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }));
    });
    await gpc.evaluate((key) => {
      Edgewise.init({ key, batchSize: 1 });
    }, KEY);
    await waitFor("the GPC consent event", async () => gpcSent[0]?.status === 202 || false, 10_000);
    expect(gpcSent[0]!.events[0]).toMatchObject({ type: "consent", properties: { analytics: false, personalization: true } });
  });

  it("keeps at most maxQueue events in localStorage while offline and sends them when back online", async () => {
    const { page, sent } = await sdkPage();
    await page.context().setOffline(true);
    const queued = await page.evaluate(async (key) => {
      const ew = Edgewise.init({ key, batchSize: 1, maxQueue: 5, maxAttempts: 1 });
      (window as never as { ew: unknown }).ew = ew;
      for (let i = 0; i < 8; i++) ew.track("product_view", { item_id: `sku-0004${i}` });
      await new Promise((r) => setTimeout(r, 500));
      return (JSON.parse(localStorage.getItem(`ew_q:${key}`) ?? "[]") as Array<{ properties: { item_id: string } }>).map((e) => e.properties.item_id);
    }, KEY);
    expect(queued).toEqual(["sku-00043", "sku-00044", "sku-00045", "sku-00046", "sku-00047"]);
    await page.context().setOffline(false);
    await waitFor("the queue to drain", async () => sent.some((s) => s.status === 202) || false, 10_000);
    const left = await page.evaluate((key) => JSON.parse(localStorage.getItem(`ew_q:${key}`) ?? "[]").length as number, KEY);
    expect(left).toBe(0);
    const token = (await page.evaluate(() => (window as never as { ew: Edgewise.Edgewise }).ew.visitor()))!;
    expect((await session(worker.base, token)).events_applied).toBe(5);
  });

  it("recommendations() returns items with their impression id; a click on a shown item is attributed", async () => {
    const { page } = await sdkPage();
    const shown = await page.evaluate(async (key) => {
      const ew = Edgewise.init({ key, batchSize: 1 });
      (window as never as { ew: unknown }).ew = ew;
      ew.track("product_view", { item_id: "sku-00001" });
      const list = await ew.recommendations({ type: "personalized", k: 4 });
      const a = document.createElement("a");
      const item = list.items[1]!;
      a.dataset.ewImpression = item.impression_id;
      a.dataset.ewItem = item.item_id;
      a.dataset.ewPosition = String(item.position);
      a.textContent = item.item_id;
      a.id = "shown";
      document.body.append(a);
      return { impression: list.impression_id, items: list.items, token: ew.visitor() };
    }, KEY);
    expect(shown.items).toHaveLength(4);
    for (const [i, item] of shown.items.entries()) expect(item).toMatchObject({ impression_id: shown.impression, position: i + 1, item_id: expect.any(String) });
    await page.click("#shown");
    const s = await waitFor(
      "the click",
      async () => {
        const x = await session(worker.base, shown.token!);
        return x.recent_events.some((e) => e.type === "recommendation_click") ? x : false;
      },
      10_000,
    );
    expect(s.recent_events.find((e) => e.type === "recommendation_click")!.properties).toEqual({ impression_id: shown.impression, item_id: shown.items[1]!.item_id, position: 2 });
  });

  it("sends identify and purchase with a customer token the shop minted; without one they are refused per event", async () => {
    const customer = await new SignJWT({ scope: "identify events:write", customer_id: "cust-7" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("https://demo.edgewise.local")
      .setAudience("edgewise")
      .setSubject("cust-7")
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(DEMO_JWT_SECRET));
    const { page } = await sdkPage();
    const results = await page.evaluate(
      async ({ key, customer }) => {
        const answers: unknown[] = [];
        const orig = window.fetch;
        window.fetch = async (...a) => {
          const res = await orig(...a);
          if (String(a[0]).includes("/v1/events")) answers.push(await res.clone().json());
          return res;
        };
        const anonymous = Edgewise.init({ key, batchSize: 1 });
        anonymous.track("identify", { customer_id: "cust-7" });
        await anonymous.flush();
        const signedIn = Edgewise.init({ key, batchSize: 1, token: () => customer });
        signedIn.track("identify", { customer_id: "cust-7" });
        signedIn.track("purchase", { order_id: "o-7", items: [{ item_id: "sku-00001", quantity: 1 }] });
        await signedIn.flush();
        return { answers, token: signedIn.visitor() };
      },
      { key: KEY, customer },
    );
    const codes = (results.answers as Array<{ results: Array<{ status: string; code?: string }> }>).flatMap((a) => a.results.map((r) => r.code ?? r.status));
    expect(codes).toEqual(["token_required", "accepted", "accepted"]);
    expect((await session(worker.base, results.token!)).features.purchased_items).toEqual(["sku-00001"]);
  });
});
