// The real Segment clients against a real `wrangler dev`: @segment/analytics-node (server
// source, secret write key) and @segment/analytics-next in headless Chromium (browser
// source, publishable key, settings given locally, every other host blocked).
import { Analytics, FetchHTTPClient } from "@segment/analytics-node";
import { build } from "esbuild";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withLocalBucket, listAll } from "../tools/local/local-r2";
import { type DevWorker, KEY, SEGMENT_WRITE_KEY, launchChromium, session, startDevWorker, waitFor } from "./dev-worker";

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

interface SegmentBody {
  accepted: number;
  duplicate: number;
  rejected: number;
  results: Array<{ messageId: string; status: string; code?: string }>;
  visitors?: Record<string, string>;
}

/** analytics-node with its own fetch client; `dropResponses` loses that many responses after the worker answered (a reset connection). */
function nodeClient(captured: SegmentBody[], dropResponses = 0): Analytics {
  let drop = dropResponses;
  return new Analytics({
    writeKey: SEGMENT_WRITE_KEY,
    host: worker.base,
    path: "/v1/batch",
    flushAt: 50,
    flushInterval: 200,
    maxRetries: 3,
    httpClient: new FetchHTTPClient(async (url, init) => {
      const res = await fetch(url, init as RequestInit);
      captured.push((await res.clone().json()) as SegmentBody);
      if (drop-- > 0) throw new Error("connection reset after the worker answered");
      return res;
    }),
  });
}

async function eventLogText(): Promise<string> {
  return withLocalBucket(
    "edgewise-event-log",
    async (bucket) => {
      let text = "";
      for (const key of await listAll(bucket, "events/tenant=demo/")) text += await (await bucket.get(key))!.text();
      return text;
    },
    join(worker.state, "v3", "r2"),
  );
}

describe("Segment's own clients", () => {
  it("@segment/analytics-node: spec events land in the anonymousId's session and the event log; a retried batch is deduplicated", async () => {
    const captured: SegmentBody[] = [];
    const analytics = nodeClient(captured);
    const anonymousId = `anon-${crypto.randomUUID()}`;
    analytics.identify({ anonymousId, userId: "cust-42", traits: { email: "ada@example.com" } });
    for (const id of ["sku-00001", "sku-00002", "sku-00007"])
      analytics.track({ anonymousId, event: "Product Viewed", properties: { product_id: id, category: "shoes/running", price: 99.5, currency: "EUR" } });
    analytics.track({ anonymousId, event: "Products Searched", properties: { query: "trail shoes" } });
    analytics.track({ anonymousId, event: "Product Added", properties: { product_id: "sku-00001", quantity: 1, price: 99.5, currency: "EUR" } });
    analytics.track({ anonymousId, event: "Order Completed", properties: { order_id: "order-1", total: 99.5, currency: "EUR", products: [{ product_id: "sku-00001", quantity: 1, price: 99.5 }] } });
    analytics.track({ anonymousId, event: "Coupon Applied", properties: { coupon_id: "x" } });
    analytics.page({ anonymousId, name: "Home", properties: { path: "/", referrer: "" } });
    await analytics.closeAndFlush({ timeout: 10_000 });

    expect(captured).toHaveLength(1);
    expect(captured[0]).toMatchObject({ accepted: 8, duplicate: 0, rejected: 1 });
    expect(captured[0]!.results.find((r) => r.status === "rejected")).toMatchObject({ code: "unmapped_event" });
    const token = captured[0]!.visitors![anonymousId]!;
    const s = await session(worker.base, token);
    expect(s.features.event_counts_session).toMatchObject({ identify: 1, product_view: 3, search: 1, add_to_cart: 1, purchase: 1, page_view: 1 });
    expect(s.features.purchased_items).toEqual(["sku-00001"]);
    // The identify's email is stored only as an HMAC.
    expect(JSON.stringify(s)).not.toContain("ada@example.com");

    // The worker answers, the connection drops, the client retries the same batch: all duplicates.
    const retried: SegmentBody[] = [];
    const flaky = nodeClient(retried, 1);
    flaky.track({ anonymousId, event: "Product Viewed", properties: { product_id: "sku-00003" } });
    flaky.track({ anonymousId, event: "Product Viewed", properties: { product_id: "sku-00004" } });
    await flaky.closeAndFlush({ timeout: 15_000 });
    expect(retried.map((r) => [r.accepted, r.duplicate])).toEqual([
      [2, 0],
      [0, 2],
    ]);
    expect(retried[1]!.results.map((r) => r.messageId)).toEqual(retried[0]!.results.map((r) => r.messageId));
    expect((await session(worker.base, token)).events_applied).toBe(s.events_applied + 2);

    // …and in the central event log (queue → R2), once each.
    const ids = [...captured[0]!.results.filter((r) => r.status === "accepted"), ...retried[0]!.results].map((r) => r.messageId);
    const log = await waitFor(
      "the event log lines",
      async () => {
        const text = await eventLogText();
        return ids.every((id) => text.includes(`"${id}"`)) ? text : false;
      },
      30_000,
      worker.log,
    );
    for (const id of retried[0]!.results.map((r) => r.messageId)) expect(log.split(`"${id}"`).length - 1).toBe(1);
  });

  it("@segment/analytics-next in Chromium (browser source, publishable key): page and track reach the visitor's session", async () => {
    const bundle = await build({
      stdin: { contents: `import { AnalyticsBrowser } from "@segment/analytics-next"; window.AnalyticsBrowser = AnalyticsBrowser;`, resolveDir: process.cwd() },
      bundle: true,
      format: "iife",
      platform: "browser",
      write: false,
      minify: true,
      logLevel: "silent",
    });
    const context = await browser.newContext();
    const outside: string[] = [];
    // No network: anything not addressed to the dev worker is refused (and counted).
    await context.route("**/*", (route) => {
      if (route.request().url().startsWith(worker.base)) return route.continue();
      outside.push(route.request().url());
      return route.abort();
    });
    const page = await context.newPage();
    await page.route(`${worker.base}/__ajs`, (r) => r.fulfill({ contentType: "text/html", body: `<!doctype html><title>ajs</title><script src="/__ajs.js"></script>` }));
    await page.route(`${worker.base}/__ajs.js`, (r) => r.fulfill({ contentType: "text/javascript", body: bundle.outputFiles[0]!.text }));
    const posted: Array<{ url: string; status: number }> = [];
    page.on("response", (res) => res.request().method() === "POST" && posted.push({ url: res.url(), status: res.status() }));
    await page.goto(`${worker.base}/__ajs`);
    const anonymousId = await page.evaluate(
      async ({ key, host }) => {
        const { AnalyticsBrowser } = window as never as {
          AnalyticsBrowser: {
            load: (s: unknown, o?: unknown) => Promise<[{ page: (...a: unknown[]) => Promise<unknown>; track: (...a: unknown[]) => Promise<unknown>; user: () => { anonymousId: () => string } }]>;
          };
        };
        const [analytics] = await AnalyticsBrowser.load({
          writeKey: key,
          cdnSettings: { integrations: { "Segment.io": { apiKey: key, apiHost: `${host}/v1`, protocol: "http" } }, metrics: { sampleRate: 0 } },
        });
        await analytics.page("Home", { path: "/" });
        await analytics.track("Product Viewed", { product_id: "sku-00011", category: "clothing/knitwear", price: 49, currency: "EUR" });
        await analytics.track("Product Added", { product_id: "sku-00011", quantity: 1, price: 49, currency: "EUR" });
        await analytics.track("Newsletter Subscribed", {});
        // The page's own visitor (the cookie the worker set on analytics.js's first call, same origin).
        const own = await fetch("/v1/session", { headers: { "x-edgewise-key": key } });
        return { anonymousId: analytics.user().anonymousId(), visitor: own.headers.get("x-edgewise-visitor")! };
      },
      { key: KEY, host: worker.base.replace(/^http:\/\//, "") },
    );
    expect(anonymousId.anonymousId).toMatch(/^[0-9a-f-]{36}$/);
    expect(posted.map((p) => [new URL(p.url).pathname, p.status])).toEqual([
      ["/v1/p", 200],
      ["/v1/t", 200],
      ["/v1/t", 200],
      ["/v1/t", 200],
    ]);
    expect(outside).toEqual([]);

    // Browser-source events are in the session of the page's signed visitor (never one named by the
    // anonymousId); a server source joins it by naming that visitor's token.
    const res = await fetch(`${worker.base}/v1/batch`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Basic ${btoa(`${SEGMENT_WRITE_KEY}:`)}` },
      body: JSON.stringify({
        batch: [{ type: "page", anonymousId: anonymousId.anonymousId, context: { edgewise_visitor: anonymousId.visitor }, messageId: `srv-${Date.now()}`, properties: { path: "/checkout" } }],
      }),
    });
    expect(((await res.json()) as SegmentBody).accepted).toBe(1);
    const s = await session(worker.base, anonymousId.visitor);
    expect(s.features.event_counts_session).toEqual({ page_view: 2, product_view: 1, add_to_cart: 1 });
    expect(s.features.last_viewed_items).toEqual(["sku-00011"]);
    await context.close();
  });
});
