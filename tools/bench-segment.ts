/**
 * The Segment-compatible ingest against our own: 100 product views per request either way,
 * as `POST /v1/events` (visitor tokens) and as `POST /v1/batch` (Segment "Product Viewed"
 * messages from a browser source, anonymousIds), over the same number of visitors. Used by
 * `npm run bench` (tools/bench.ts), which runs both loads with the same settings.
 */
import type autocannon from "autocannon";

export const SEGMENT_PER_REQUEST = 100;

export function segmentComparison(url: string, key: string, items: readonly string[], visitors: readonly string[], rand: () => number): { events: autocannon.Options; segment: autocannon.Options } {
  let n = 0;
  let m = 0;
  const anonymousIds = visitors.map((_, i) => `bench-anon-${i}-${Math.floor(rand() * 1e9)}`);
  const pick = () => items[Math.floor(rand() * items.length)]!;
  const events: autocannon.Options = {
    url: `${url}/v1/events`,
    requests: [{
      method: "POST",
      setupRequest: (req) => {
        const batch = n++;
        const now = Date.now();
        const body = { events: Array.from({ length: SEGMENT_PER_REQUEST }, (_, i) => ({ id: `e100-${batch}-${i}`, type: "product_view", timestamp: now - i, properties: { item_id: pick() } })) };
        return { ...req, headers: { "content-type": "application/json", "x-edgewise-key": key, "x-edgewise-visitor": visitors[batch % visitors.length]! }, body: JSON.stringify(body) };
      },
    }],
  };
  const auth = `Basic ${Buffer.from(`${key}:`).toString("base64")}`;
  const segment: autocannon.Options = {
    url: `${url}/v1/batch`,
    requests: [{
      method: "POST",
      setupRequest: (req) => {
        const batch = m++;
        const now = new Date().toISOString();
        const anonymousId = anonymousIds[batch % anonymousIds.length]!;
        const body = { sentAt: now, batch: Array.from({ length: SEGMENT_PER_REQUEST }, (_, i) => ({ type: "track", event: "Product Viewed", messageId: `s100-${batch}-${i}`, anonymousId, timestamp: now, properties: { product_id: pick() } })) };
        return { ...req, headers: { "content-type": "application/json", authorization: auth }, body: JSON.stringify(body) };
      },
    }],
  };
  return { events, segment };
}
