import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sessionStub } from "../../src/session/stub";
import { SHOP_A, visitorIdOf } from "../helpers";
import { readEventLog, waitForVisitorLines } from "../r2";
import { mintToken } from "../tokens";
import { ERROR_CODES, callWorker, countingQueue, summary } from "./harness";

/**
 * Malformed input across every endpoint, through the worker's real fetch
 * handler: the answer is always a 4xx in the error envelope with a stable code
 * (or a read-only 2xx, or a 202 that accepted nothing), never a 5xx, and
 * nothing changes: no queue send, no new event-log line, the session untouched.
 */

const BASE = "https://edge.test";
const RUNS = 20_000;
const SEED = 20261125;
const now = Date.now();

// ── generators (bounded: explicit lengths and depths, so cost does not grow with the run count) ──

const surrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const anyChar = fc.oneof(fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), surrogate, fc.constantFrom("\u0000", "\n", '"', "\\", "%", "&", "=", ","));
const text = fc.string({ unit: anyChar, maxLength: 24 });
/** Header-safe text (visible ASCII): Request rejects other bytes before the worker sees them. */
const headerText = fc.string({ unit: "binary-ascii", maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, ""));
const jsonish = fc.jsonValue({ maxDepth: 3 });
const weird = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(text, fc.integer(), { maxKeys: 3 }));
const junkKey = fc.oneof(text, fc.constantFrom("__proto__", "constructor", "prototype", "tenant", "visitor_id", "received_at", "seq"));

const EVENT_TYPES = ["page_view", "product_view", "search", "add_to_cart", "remove_from_cart", "purchase", "recommendation_click", "identify", "consent"] as const;

/** A valid event of a type, to be broken by exactly one mutation that makes it invalid. */
function validEvent(type: (typeof EVENT_TYPES)[number], id: string): Record<string, unknown> {
  const properties: Record<(typeof EVENT_TYPES)[number], Record<string, unknown>> = {
    page_view: { path: "/" },
    product_view: { item_id: "sku-1", category: "shoes", price: 10, currency: "EUR" },
    search: { query: "boots" },
    add_to_cart: { item_id: "sku-1", quantity: 1, price: 10, currency: "EUR" },
    remove_from_cart: { item_id: "sku-1" },
    purchase: { order_id: "o-1", items: [{ item_id: "sku-1", quantity: 1 }] },
    recommendation_click: { impression_id: "imp-1", item_id: "sku-1", position: 1 },
    identify: { customer_id: "c-1" },
    consent: { analytics: true, personalization: true },
  };
  return { id, type, timestamp: now, properties: properties[type] };
}

/**
 * Characters that made the old email pattern backtrack (local-part runs, "%40" chains,
 * full-width "＠"), in strings longer than the field allows: each is rejected by its
 * length before any pattern runs, whatever it holds.
 */
const adversarialUnit = fc.constantFrom("a", ".", "%40", "-", "+", "@", "＠", "1", " ", "é");
const TEXT_LIMITS: Record<string, Array<[field: string, max: number]>> = {
  page_view: [
    ["path", 1024],
    ["referrer", 2048],
    ["page_type", 32],
  ],
  product_view: [
    ["item_id", 128],
    ["category", 128],
  ],
  search: [["query", 256]],
  add_to_cart: [
    ["item_id", 128],
    ["category", 128],
  ],
  remove_from_cart: [["item_id", 128]],
  purchase: [["order_id", 128]],
  recommendation_click: [
    ["impression_id", 128],
    ["item_id", 128],
  ],
  identify: [
    ["customer_id", 256],
    ["device_id", 128],
  ],
  consent: [["tcf", 4096]],
};
const longAdversarial = fc.tuple(fc.nat(), fc.array(adversarialUnit, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 3000 })).map(([pick, units, extra]) => (e: Record<string, unknown>) => {
  const fields = TEXT_LIMITS[String(e.type)] ?? [["path", 1024]];
  const [field, max] = fields[pick % fields.length]!;
  let value = "";
  while (value.length <= max + extra) value += units.join("");
  e.properties = { ...(e.properties as Record<string, unknown>), [field]: value };
});

/** Mutations that each make an event invalid on their own. */
const brokenEvent = fc
  .record({
    type: fc.constantFrom(...EVENT_TYPES),
    id: fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 12 }).map((s) => `fz-${s.replace(/[^\x21-\x7e]/g, "x")}`),
    mutation: fc.oneof(
      fc.constantFrom("id", "type", "timestamp").map((field) => (e: Record<string, unknown>) => void delete e[field]),
      fc.constantFrom("", "has space", "x".repeat(65), "ctl\u0001", "ünï").map((id) => (e: Record<string, unknown>) => void (e.id = id)),
      fc.oneof(text, fc.constant(null)).map((t) => (e: Record<string, unknown>) => void (e.type = `x_${String(t)}`)),
      fc.constantFrom<unknown>("yesterday", -1, now + 3 * 86_400_000, now - 40 * 86_400_000, 1e20, true, [now], NaN.toString()).map((ts) => (e: Record<string, unknown>) => void (e.timestamp = ts)),
      fc.tuple(junkKey, weird).map(
        ([k, val]) =>
          (e: Record<string, unknown>) =>
            void Object.defineProperty(e, `${k}`.length > 0 && !(k in e) ? k : `x_${k}`, { value: val, enumerable: true }),
      ),
      fc.constantFrom<unknown>("props", 42, [1, 2], true).map((p) => (e: Record<string, unknown>) => void (e.properties = p)),
      fc.tuple(junkKey, weird).map(([k, val]) => (e: Record<string, unknown>) => {
        const props = (e.properties ?? {}) as Record<string, unknown>;
        Object.defineProperty(props, `zz_${k}`, { value: val, enumerable: true });
        e.properties = props;
      }),
      longAdversarial,
      surrogate.map((s) => (e: Record<string, unknown>) => {
        // A lone surrogate in a text field: not well-formed Unicode.
        if (e.type === "page_view") e.properties = { path: `/a${s}` };
        else if (e.type === "search") e.properties = { query: `q${s}` };
        else e.type = `x${s}`;
      }),
    ),
  })
  .map(({ type, id, mutation }) => {
    const e = validEvent(type, id);
    mutation(e);
    return e;
  });

const eventsBody = fc.oneof(
  fc.array(brokenEvent, { minLength: 1, maxLength: 5 }).map((events) => JSON.stringify({ events })),
  fc.array(fc.oneof(weird, brokenEvent), { minLength: 1, maxLength: 4 }).map((events) => JSON.stringify({ events })),
  fc.tuple(fc.array(brokenEvent, { maxLength: 2 }), junkKey, weird).map(([events, k, val]) => `{"events":${JSON.stringify(events)},${JSON.stringify(`${k}_x`)}:${JSON.stringify(val)}}`),
  fc.constantFrom("", " ", "{", "[]", "null", '{"events":[]}', '{"events":{}}', '{"events":"x"}', '{"sent_at":"x","events":[]}', "\u00ff\u00fe"),
  jsonish.map((j) => JSON.stringify(j) ?? "null"),
  fc.tuple(fc.array(brokenEvent, { minLength: 1, maxLength: 3 }), fc.nat()).map(([events, cut]) => {
    const s = JSON.stringify({ events });
    return s.slice(0, Math.max(0, (cut % s.length) - 1)); // truncated
  }),
  text,
);

/** Recommendation queries, each invalid for exactly one reason. */
const badRecoQuery = fc.oneof(
  fc
    .oneof(
      text.filter((t) => !/^\d+$/.test(t) || Number(t) < 1 || Number(t) > 100),
      fc.constantFrom("0", "101", "-1", "1.5", "1e2", "", " 3", "0x10"),
    )
    .map((k) => ({ k })),
  text.filter((t) => !["personalized", "similar", "cart", "trending"].includes(t)).map((type) => ({ type })),
  fc.tuple(junkKey, text).map(([k, val]) => ({ [`${k}_u`]: val })),
  fc.constant({ type: "similar" }),
  fc.constant({ exclude: Array.from({ length: 101 }, (_, i) => `i${i}`).join(",") }),
  fc.constant({ item: "x".repeat(129), type: "similar" }),
);
const badRecoBody = fc.oneof(
  badRecoQuery.map((q) => JSON.stringify({ ...q, k: "k" in q ? (/^\d+$/.test(String(q.k)) ? Number(q.k) : q.k) : undefined })),
  fc.oneof(weird, jsonish).map((j) => JSON.stringify(Array.isArray(j) || typeof j !== "object" || j === null ? j : { ...j, zz_extra: 1 })),
  fc.constantFrom("", "{", '{"k":', '{"exclude":"a"}', '{"type":"similar","item":""}', '{"k":0}', '{"__proto__":{"k":5}}', '{"constructor":1}'),
);

/**
 * Tokens the tenant really signed, each with one claim of the wrong type or size: the
 * kind of a token is explicit, so every one of them is a 401 — never a backend token
 * by default (issue 15, finding 3).
 */
const MALFORMED_CLAIMS: Array<Record<string, unknown>> = [
  ...[4242, "", ["x"], null, true, { id: "x" }, "c".repeat(257)].map((customer_id) => ({ scope: "admin privacy:erase recommendations:read identify events:write", customer_id })),
  ...[42, ["admin"], null, { admin: true }].map((scope) => ({ scope })),
  ...["admin", [1, "admin"], [null], { 0: "admin" }].map((scp) => ({ scp })),
  ...[7, "", ["x"], null].map((sub) => ({ scope: "admin", sub })),
  ...[7, ["a@b.co"], null, ""].map((email) => ({ scope: "identify", customer_id: "c-1", email })),
  ...[7, ["d"], null, ""].map((device_id) => ({ scope: "identify", customer_id: "c-1", device_id })),
];
const malformedTokens = await Promise.all(MALFORMED_CLAIMS.map((claims) => ("sub" in claims ? mintToken("shop-a", claims, { subject: null }) : mintToken("shop-a", claims))));

type Credentials = "valid" | "missing" | "unknown" | "other-tenant";
interface Input {
  method: string;
  path: string;
  query: Record<string, string>;
  key: Credentials;
  visitor: "session" | "none" | "forged" | "junk";
  contentType: string | null;
  origin: string | null;
  /** An Authorization header: none, or one no tenant signed. */
  auth: string | null;
  body: string | null;
}

const PATHS = [
  "/v1/events",
  "/v1/recommendations",
  "/v1/session",
  "/v1/features",
  "/healthz",
  "/v1/profile",
  "/v1/subjects/customer:cust-1",
  "/v1/subjects/retention",
  "/admin/api/dashboard",
] as const;
const input: fc.Arbitrary<Input> = fc
  .record({
    // Weighted towards requests that pass the front door, so most inputs reach body and parameter validation.
    method: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("GET", "POST") }, fc.constantFrom("PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")),
    path: fc.oneof(
      { weight: 16, arbitrary: fc.constantFrom(...PATHS, "/v1/events", "/v1/events", "/v1/recommendations", "/v1/recommendations") },
      fc.tuple(text, fc.constantFrom("", "%", "%ED%A0%80", "%00", "/..")).map(([t, tail]) => `/${encodeURIComponent(t.toWellFormed())}${tail}`),
      fc.constantFrom("/v1", "/v1/", "/v1/events/x", "/healthz/..", "//v1/events", "/V1/EVENTS"),
    ),
    junkQuery: fc.dictionary(junkKey, text, { maxKeys: 2 }),
    key: fc.oneof({ weight: 6, arbitrary: fc.constant<Credentials>("valid") }, fc.constantFrom<Credentials>("missing", "unknown", "other-tenant")),
    visitor: fc.oneof({ weight: 6, arbitrary: fc.constantFrom<Input["visitor"]>("session", "none") }, fc.constantFrom<Input["visitor"]>("forged", "junk")),
    contentType: fc.oneof(
      { weight: 8, arbitrary: fc.constant("application/json") },
      fc.constant(null),
      fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/jsonx", "application/json; charset=utf-16"),
      headerText,
    ),
    origin: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, fc.constantFrom("https://evil.example", "null", SHOP_A.origin)),
    auth: fc.oneof(
      { weight: 4, arbitrary: fc.constant(null) },
      fc.constantFrom("Bearer x.y.z", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "Basic YTpi", "Bearer"),
      headerText.map((t) => `Bearer ${t}`),
      fc.constantFrom(...malformedTokens).map((t) => `Bearer ${t}`),
    ),
    eventsBody,
    badRecoQuery,
    badRecoBody,
    bodyKind: fc.oneof({ weight: 8, arbitrary: fc.constant("own") }, fc.constantFrom("none", "other")),
    otherBody: fc.oneof(
      text,
      jsonish.map((j) => JSON.stringify(j) ?? ""),
    ),
  })
  .map((r) => {
    const { method, path } = r;
    let query: Record<string, string> = r.junkQuery;
    let body: string | null = null;
    if (path === "/v1/recommendations") {
      // A valid recommendation would log an impression (a state change): every request here is invalid.
      if (method === "GET" || method === "HEAD") query = { ...r.badRecoQuery } as Record<string, string>;
      else if (method === "POST") body = r.badRecoBody;
    }
    if (path === "/v1/events" && method === "POST") body = r.eventsBody;
    if (method !== "GET" && method !== "HEAD") {
      if (r.bodyKind === "none") body = null;
      // (A recommendation POST keeps its invalid body: an arbitrary JSON object such as {} is a valid request.)
      else if ((r.bodyKind === "other" && !(path === "/v1/recommendations" && method === "POST")) || body === null) body = r.otherBody;
    }
    return { method, path, query, key: r.key, visitor: r.visitor, contentType: r.contentType, origin: r.origin, auth: r.auth, body };
  });

// ── the oracle ──

const READ_ONLY = new Set(["/healthz", "/v1/features", "/v1/session", "/v1/profile"]);

interface Tally {
  inputs: number;
  status: Map<number, number>;
  codes: Map<string, number>;
  fiveXx: number;
}

function request(i: Input, token: string): Request {
  const url = new URL(i.path, BASE);
  for (const [k, val] of Object.entries(i.query)) url.searchParams.set(k, val);
  const headers = new Headers();
  if (i.key === "valid") headers.set("x-edgewise-key", SHOP_A.key);
  if (i.key === "unknown") headers.set("x-edgewise-key", "pk_not_a_tenant_key");
  if (i.key === "other-tenant") headers.set("x-edgewise-key", "pk_test_shop_b_0001");
  if (i.visitor === "session") headers.set("x-edgewise-visitor", token);
  if (i.visitor === "forged") headers.set("x-edgewise-visitor", `v1.${visitorIdOf(token)}.${"A".repeat(43)}`);
  if (i.visitor === "junk") headers.set("cookie", "ew_vid=v1.junk; other=1");
  if (i.contentType !== null) headers.set("content-type", i.contentType);
  if (i.origin !== null) headers.set("origin", i.origin);
  if (i.auth !== null) headers.set("authorization", i.auth);
  const canHaveBody = i.method !== "GET" && i.method !== "HEAD";
  return new Request(url, { method: i.method, headers, body: canHaveBody ? i.body : null });
}

async function check(req: Request, tally: Tally): Promise<string | null> {
  const sentBody = req.method === "POST" ? (await req.clone().text()).slice(0, 120) : "";
  const res = await callWorker(req, fuzzEnv);
  tally.inputs++;
  tally.status.set(res.status, (tally.status.get(res.status) ?? 0) + 1);
  if (res.status >= 500) tally.fiveXx++;
  const path = new URL(req.url).pathname;
  const what = `${req.method} ${req.url.slice(0, 120)} ${JSON.stringify(sentBody)} → ${res.status}`;
  if (res.status >= 500) return `${what}: ${(await res.text()).slice(0, 300)}`;
  if (req.method === "HEAD" || req.method === "OPTIONS") return null; // no body to check; status < 500 is the contract
  if (res.status >= 200 && res.status < 300) {
    if (READ_ONLY.has(path) && req.method === "GET") return null;
    if (path === "/v1/events" && req.method === "POST" && res.status === 202) {
      const body = (await res.json()) as { accepted: number; duplicate: number; rejected: number };
      return body.accepted === 0 && body.duplicate === 0 && body.rejected > 0 ? null : `${what}: malformed events were not all rejected: ${JSON.stringify(body).slice(0, 300)}`;
    }
    return `${what}: a malformed request succeeded`;
  }
  if (res.status < 400) return `${what}: unexpected status`;
  if (!(res.headers.get("content-type") ?? "").startsWith("application/json")) return `${what}: error without a JSON content type`;
  const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
  const keys = Object.keys(body).join(",");
  const errKeys = body.error ? Object.keys(body.error).sort().join(",") : "";
  if (keys !== "error" || errKeys !== "code,message" || typeof body.error!.message !== "string" || !ERROR_CODES.has(String(body.error!.code))) {
    return `${what}: not the error envelope: ${JSON.stringify(body).slice(0, 300)}`;
  }
  tally.codes.set(String(body.error!.code), (tally.codes.get(String(body.error!.code)) ?? 0) + 1);
  return null;
}

// The worker under test gets counting queue bindings: any send is a state change.
const events = countingQueue(env.EVENTS);
const deadLetters = countingQueue(env.DEAD_LETTERS);
const fuzzEnv: Env = { ...env, EVENTS: events.queue, DEAD_LETTERS: deadLetters.queue };

/** The session's stored rows, compared before and after. */
async function sessionRows(token: string) {
  return runInDurableObject(sessionStub(env, SHOP_A.id, visitorIdOf(token)), (_instance, state) => {
    const sql = state.storage.sql;
    const count = (t: string) => sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${t}`).one().n;
    return {
      session: sql.exec("SELECT tenant, visitor_id, next_seq, last_received_at, state FROM session").toArray(),
      seen: count("seen_recent") + count("seen_merged"),
      history: count("history_batches"),
      outbox: count("outbox_messages"),
      impressions: count("impressions"),
      served_lists: sql
        .exec<{ data: string }>("SELECT data FROM served_lists")
        .toArray()
        .map((r) => r.data),
    };
  });
}

/** The fixed corpus: the inputs a generator rarely reaches. */
function corpus(token: string): Request[] {
  const json = { "content-type": "application/json", "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": token };
  const post = (path: string, body: BodyInit | null, headers: Record<string, string> = json) => new Request(`${BASE}${path}`, { method: "POST", headers, body });
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  const deepObj = (n: number) => '{"a":'.repeat(n) + "1" + "}".repeat(n);
  const big = "x".repeat(1_000_000);
  const ev = (props: Record<string, unknown>) => ({ id: "corpus-1", type: "page_view", timestamp: now, ...props });
  const out: Request[] = [];
  for (const path of ["/v1/events", "/v1/recommendations"]) {
    out.push(
      post(path, deep(1000)),
      post(path, deepObj(1000)),
      post(path, `{"events":[${deep(1000)}]}`),
      post(path, JSON.stringify({ events: [ev({ properties: { path: big } })] })), // 1 MB: over the body limit
      post(path, JSON.stringify({ events: [ev({ properties: { path: "y".repeat(40_000) } })] })), // one event over 32 KB
      post(path, `{"events":[{"id":"s1","type":"search","timestamp":${now},"properties":{"query":"\\ud800"}}]}`),
      post(path, `{"events":[{"id":"s2","type":"page_view","timestamp":${now},"properties":{"path":"\\udfff\\ud800"}}]}`),
      post(path, '{"__proto__":{"events":[1]},"events":[{"__proto__":{"type":"page_view"},"id":"p1","timestamp":1}]}'),
      post(path, `{"events":[{"constructor":{"prototype":{"x":1}},"id":"c1","type":"page_view","timestamp":${now}}]}`),
      post(path, `{"events":[${JSON.stringify(ev({}))}],"constructor":1}`),
      post(path, JSON.stringify({ events: Array.from({ length: 501 }, (_, i) => ({ id: `m${i}` })) })),
      post(path, ""),
      post(path, null),
      post(path, new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])), // invalid UTF-8
      post(path, JSON.stringify({ events: [ev({})] }).slice(0, 30)), // truncated
      post(path, JSON.stringify({ events: [ev({ properties: {} })] }), { ...json, "content-type": "text/plain" }),
      post(path, JSON.stringify({ events: [ev({ properties: {} })] }), { ...json, "content-type": "application/x-www-form-urlencoded" }),
      post(path, "events=1", { "x-edgewise-key": SHOP_A.key }),
      post(path, "{}", { ...json, "x-edgewise-key": "k".repeat(64_000) }),
      post(path, "{}", { ...json, "x-edgewise-visitor": `v1.${"a".repeat(30_000)}.${"b".repeat(30_000)}` }),
      post(path, "{}", { "content-type": "application/json", "x-edgewise-key": SHOP_A.key, cookie: `ew_vid=${"c".repeat(60_000)}` }),
      post(path, "{}", { ...json, "x-edgewise-variant": "v".repeat(60_000) }),
      post(path, "{}", { ...json, origin: "o".repeat(20_000) }),
    );
  }
  const get = (path: string, headers: Record<string, string> = json) => new Request(`${BASE}${path}`, { headers });
  out.push(
    get(`/v1/recommendations?k=${"9".repeat(400)}`),
    get("/v1/recommendations?type=similar&item="),
    get("/v1/recommendations?type=%ED%A0%80"), // a lone surrogate, percent-encoded
    get(`/v1/recommendations?exclude=${"a,".repeat(60_000)}`),
    get(`/v1/recommendations?__proto__=1`),
    get(`/v1/recommendations?constructor=1`),
    get("/v1/recommendations?k=5", { ...json, "x-edgewise-variant": "no-such-variant-\u00e9".replace(/[^\x20-\x7e]/g, "") }),
    get("/v1/session", { ...json, "x-edgewise-visitor": "v1.x.y" }),
    get("/v1/session", { "x-edgewise-key": "" }),
    get(`/${"p/".repeat(5000)}`),
    get(`/v1/features?${"q=1&".repeat(2000)}`),
    new Request(`${BASE}/v1/session`, { method: "POST", headers: json, body: "{}" }),
    new Request(`${BASE}/v1/events`, { method: "GET", headers: json }),
    new Request(`${BASE}/v1/events`, { method: "DELETE", headers: json }),
    new Request(`${BASE}/healthz`, { method: "POST", body: deep(1000) }),
    new Request(`${BASE}/v1/features`, { method: "PUT", body: "x" }),
  );
  return out;
}

describe("fuzz: malformed input on every endpoint", () => {
  it(`${RUNS.toLocaleString("en")} generated inputs plus a fixed corpus: 4xx in the envelope, zero 5xx, no state change`, { timeout: 240_000 }, async () => {
    // A visitor with a session and one logged event: what must stay unchanged.
    const setup = await callWorker(
      new Request(`${BASE}/v1/events`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-edgewise-key": SHOP_A.key },
        body: JSON.stringify({ events: [{ id: "fuzz-setup-1", type: "product_view", timestamp: now, properties: { item_id: "sku-1" } }] }),
      }),
    );
    expect(setup.status).toBe(202);
    const token = setup.headers.get("x-edgewise-visitor")!;
    await waitForVisitorLines(visitorIdOf(token), 1);
    const rowsBefore = await sessionRows(token);
    const logBefore = (await readEventLog("")).length;

    const tally: Tally = { inputs: 0, status: new Map(), codes: new Map(), fiveXx: 0 };
    const failures: string[] = [];
    for (const req of corpus(token)) {
      const problem = await check(req, tally);
      if (problem) failures.push(`corpus: ${problem}`);
    }
    const corpusCount = tally.inputs;
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(input, async (i) => {
        const problem = await check(request(i, token), tally);
        if (problem) failures.push(problem);
        return true; // collect every failure rather than shrink the first
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    const seconds = (performance.now() - started) / 1000;

    expect(failures.slice(0, 10)).toEqual([]);
    expect(tally.fiveXx).toBe(0);
    expect(tally.inputs).toBe(corpusCount + RUNS);
    // Nothing changed: no queue send, no event-log line, the session's rows identical.
    expect(events.sent()).toBe(0);
    expect(deadLetters.sent()).toBe(0);
    expect(await sessionRows(token)).toEqual(rowsBefore);
    expect((await readEventLog("")).length).toBe(logBefore);
    // The fuzzer reached deep into validation, not only the front door.
    for (const code of ["malformed_json", "invalid_body", "invalid_parameter", "invalid_visitor", "missing_key", "unsupported_media_type", "payload_too_large", "method_not_allowed", "not_found"]) {
      expect(tally.codes.get(code) ?? 0, code).toBeGreaterThan(0);
    }
    summary("fuzz", {
      http_inputs: tally.inputs,
      generated: RUNS,
      corpus: corpusCount,
      "5xx": tally.fiveXx,
      queue_sends: events.sent() + deadLetters.sent(),
      seconds: seconds.toFixed(1),
      statuses: [...tally.status]
        .sort((a, b) => a[0] - b[0])
        .map(([s, n]) => `${s}:${n}`)
        .join(","),
    });
  });
});
