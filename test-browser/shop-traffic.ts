// Synthetic-shop traffic sent through the public API of a running worker, as a shop's pages
// and its backend send it: visits of events (POST /v1/events) and the lists shown during a
// visit (GET /v1/recommendations). For the end-to-end loop test (retrain.e2e.test.ts).
import type { TrackedEvent } from "../src/contracts/events";
import { KEY } from "./dev-worker";

/** One visit's events for one synthetic visitor. */
export interface Visit {
  visitor: string;
  events: TrackedEvent[];
}

/** A served list, as the API answered it. */
export interface Served {
  model: string | null;
  variant: string;
  experiment: string | null;
  degraded: string | null;
}

/** Runs `fn` over `items`, at most `concurrency` at a time. */
async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** POST /v1/events for one visit; returns the visitor token (issued on the first call) and the accepted count. */
async function postVisit(base: string, events: readonly TrackedEvent[], token: string | undefined, auth?: string): Promise<{ token: string; accepted: number }> {
  const headers: Record<string, string> = { "x-edgewise-key": KEY, "content-type": "application/json" };
  if (token) headers["x-edgewise-visitor"] = token;
  if (auth) headers.authorization = `Bearer ${auth}`;
  const res = await fetch(`${base}/v1/events`, { method: "POST", headers, body: JSON.stringify({ events }) });
  const body = (await res.json()) as { accepted?: number; rejected?: number; results?: unknown[] };
  if (res.status !== 202 || body.rejected !== 0) throw new Error(`POST /v1/events → ${res.status} ${JSON.stringify(body).slice(0, 400)}`);
  return { token: res.headers.get("x-edgewise-visitor")!, accepted: body.accepted! };
}

/**
 * The shop's backend replays past visits with their own timestamps (the API takes events up
 * to 30 days old): a synthetic visitor's visits in order, as one API visitor; visitors in
 * parallel. Returns the events accepted and each synthetic visitor's API visitor token.
 */
export async function replayVisits(base: string, visits: readonly Visit[], backendToken: string, concurrency = 6): Promise<{ accepted: number; tokens: Map<string, string> }> {
  const byVisitor = new Map<string, TrackedEvent[][]>();
  for (const v of visits) byVisitor.set(v.visitor, [...(byVisitor.get(v.visitor) ?? []), v.events]);
  let accepted = 0;
  const tokens = new Map<string, string>();
  await pool([...byVisitor.entries()], concurrency, async ([visitor, own]) => {
    for (const events of own) {
      const r = await postVisit(base, events, tokens.get(visitor), backendToken);
      tokens.set(visitor, r.token);
      accepted += r.accepted;
    }
  });
  return { accepted, tokens };
}

/**
 * Shoppers browsing now, from their browsers, events stamped with the current time: a
 * returning shopper (a visitor in `tokens`) as the visitor the API knows, a new one as a new
 * visitor. Every product page shows the shopper's personalised list, as a shop's pages do:
 * the events up to each view, then the list (what MonitorDO sees as served lists — one per
 * prefix of the visit, as the model's training examples are). Returns the lists served.
 *
 * One shopper at a time by default: two requests that load the same model version at once in
 * one isolate can fail (seen here: the second answered 500, workerd cancelled it as hung while
 * it awaited the first request's in-flight load — a cross-request promise in the model cache).
 */
export async function browseNow(base: string, visits: readonly Visit[], tokens: ReadonlyMap<string, string> = new Map(), concurrency = 1): Promise<{ served: Served[]; accepted: number }> {
  const served: Served[] = [];
  let accepted = 0;
  await pool(visits, concurrency, async (v) => {
    let token = tokens.get(v.visitor);
    let pending: TrackedEvent[] = [];
    const send = async () => {
      const now = Date.now();
      const r = await postVisit(
        base,
        pending.map((e) => ({ ...e, timestamp: now })),
        token,
      );
      token = r.token;
      accepted += r.accepted;
      pending = [];
    };
    for (const e of v.events) {
      pending.push(e);
      if (e.type !== "product_view") continue;
      await send();
      const res = await fetch(`${base}/v1/recommendations?k=20`, { headers: { "x-edgewise-key": KEY, "x-edgewise-visitor": token! } });
      if (res.status !== 200) throw new Error(`GET /v1/recommendations → ${res.status} ${await res.text()}`);
      served.push((await res.json()) as Served);
    }
    if (pending.length > 0) await send();
  });
  return { served, accepted };
}
