import { exports } from "cloudflare:workers";
import { backendToken } from "./tokens";

/** Publishable keys and origins of the two test tenants (vitest.config.ts). */
export const SHOP_A = { key: "pk_test_shop_a_0001", id: "shop-a", origin: "https://shop-a.example" };
export const SHOP_B = { key: "pk_test_shop_b_0001", id: "shop-b", origin: "https://shop-b.example" };
/** Shop C keeps the default opt-in consent mode. */
export const SHOP_C = { key: "pk_test_shop_c_0001", id: "shop-c", origin: "https://shop-c.example" };

const BASE = "https://edge.test";
let counter = 0;

/** A unique event id per call. */
export function eventId(prefix = "e"): string {
  return `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
}

/** Sends a request to the worker under test (its real fetch handler, in workerd). */
export function call(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

/**
 * POSTs a batch of events as JSON. A batch holding `identify` or `purchase` events
 * is sent the way a shop's backend sends them — with a backend token of the
 * tenant — unless the caller sets its own `authorization` or `token: false`.
 */
export async function postEvents(
  events: unknown[],
  opts: { key?: string; visitor?: string; headers?: Record<string, string>; extra?: Record<string, unknown>; token?: false } = {},
): Promise<Response> {
  const key = opts.key ?? SHOP_A.key;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-edgewise-key": key,
    ...opts.headers,
  };
  if (opts.visitor) headers["x-edgewise-visitor"] = opts.visitor;
  const privileged = events.some((e) => typeof e === "object" && e !== null && ["identify", "purchase"].includes(String((e as { type?: unknown }).type)));
  if (privileged && opts.token !== false && headers.authorization === undefined) {
    headers.authorization = `Bearer ${await backendToken("events:write identify", key === SHOP_B.key ? "shop-b" : key === SHOP_C.key ? "shop-c" : "shop-a")}`;
  }
  return call("/v1/events", { method: "POST", headers, body: JSON.stringify({ events, ...opts.extra }) });
}

/** Reads a visitor's session. */
export async function getSession(visitor: string, key = SHOP_A.key): Promise<SessionBody> {
  const res = await call("/v1/session", { headers: { "x-edgewise-key": key, "x-edgewise-visitor": visitor } });
  if (res.status !== 200) throw new Error(`GET /v1/session → ${res.status} ${await res.text()}`);
  return (await res.json()) as SessionBody;
}

/** Gets a fresh, signed visitor token from the worker. */
export async function newVisitor(key = SHOP_A.key): Promise<string> {
  const res = await call("/v1/session", { headers: { "x-edgewise-key": key } });
  const token = res.headers.get("x-edgewise-visitor");
  if (!token) throw new Error("no visitor token issued");
  await res.body?.cancel();
  return token;
}

/** Visitor id inside a token `v1.<id>.<sig>`. */
export function visitorIdOf(token: string): string {
  return token.split(".")[1]!;
}

export interface SessionBody {
  visitor_id: string;
  computed_at: number;
  events_applied: number;
  pending_forward: number;
  features: Record<string, unknown>;
  recent_events: Array<{ id: string; type: string; timestamp: number; properties: Record<string, unknown> }>;
}

export interface BatchBody {
  accepted: number;
  duplicate: number;
  rejected: number;
  results: Array<{ index: number; id: string | null; status: string; code?: string; message?: string }>;
}

/** Builders for one valid event of each type, at `ts` (default now). */
export const make = {
  pageView: (ts = Date.now()) => ({ id: eventId("pv"), type: "page_view", timestamp: ts, properties: { path: "/" } }),
  productView: (item: string, category = "shoes", price = 50, ts = Date.now()) => ({
    id: eventId("v"),
    type: "product_view",
    timestamp: ts,
    properties: { item_id: item, category, price, currency: "EUR" },
  }),
  search: (query = "red shoes", ts = Date.now()) => ({ id: eventId("s"), type: "search", timestamp: ts, properties: { query } }),
  addToCart: (item: string, quantity = 1, price = 50, ts = Date.now()) => ({
    id: eventId("a"),
    type: "add_to_cart",
    timestamp: ts,
    properties: { item_id: item, quantity, price, currency: "EUR", category: "shoes" },
  }),
  removeFromCart: (item: string, quantity?: number, ts = Date.now()) => ({
    id: eventId("r"),
    type: "remove_from_cart",
    timestamp: ts,
    properties: quantity === undefined ? { item_id: item } : { item_id: item, quantity },
  }),
  purchase: (items: string[], ts = Date.now()) => ({
    id: eventId("p"),
    type: "purchase",
    timestamp: ts,
    properties: { order_id: eventId("o"), items: items.map((item_id) => ({ item_id, quantity: 1, price: 50, category: "shoes" })), currency: "EUR" },
  }),
  recClick: (item: string, ts = Date.now()) => ({
    id: eventId("c"),
    type: "recommendation_click",
    timestamp: ts,
    properties: { impression_id: "imp-1", item_id: item, position: 2 },
  }),
  identify: (customer = "cust-42", email = "Ada.Lovelace@Example.com", ts = Date.now()) => ({
    id: eventId("i"),
    type: "identify",
    timestamp: ts,
    properties: { customer_id: customer, email },
  }),
  consent: (analytics = true, personalization = true, ts = Date.now()) => ({
    id: eventId("k"),
    type: "consent",
    timestamp: ts,
    properties: { analytics, personalization },
  }),
};
