/**
 * What Cloudflare bills, counted per events request and per recommendation:
 * Worker invocations, Durable Object requests (RPC calls and alarms), SQLite rows
 * read / written (the SQL cursors' `rowsRead` / `rowsWritten`), queue messages and
 * their 64 KB units, R2 class A / B operations and bytes put. The request runs
 * through the worker's real fetch handler in this isolate; its queue messages are
 * captured and then drained through the real consumer (`worker.queue`), once with
 * one request's messages and once with five requests' in one batch, so the
 * consumer's per-batch and per-message costs can be told apart. The counts are
 * pinned: a change that adds a write fails here. `npm run bench` prices the
 * `OPERATIONS` line this test prints (tools/bench/cost.ts).
 *
 * Counters are test-only (spies on the bindings and the SQL cursor): nothing on the
 * hot path. Caches are warm (a first round is not counted) and the registry refresh
 * is production's 30 s, so per-isolate caches behave as deployed.
 */
import { createExecutionContext, createMessageBatch, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { SEEN_MERGE_AT } from "../src/session/schema";
import { sessionStub } from "../src/session/stub";
import { SHOP_A, make, visitorIdOf } from "./helpers";
import { chainWeights, publishTestModel, setTenantConfig } from "./models";
// The same counters the cost model prices (a type only: nothing of Node reaches workerd).
import type { Counts } from "../tools/bench/cost";

const QUEUE_UNIT = 64 * 1024;

const zero = (): Counts => ({
  worker_invocations: 0,
  do_requests: 0,
  do_alarms: 0,
  do_by_class: {},
  sql_rows_read: 0,
  sql_rows_written: 0,
  queue_messages: 0,
  queue_operations: 0,
  r2_class_a: 0,
  r2_class_b: 0,
  r2_bytes_put: 0,
});

let counts = zero();
let restoreExec: () => void = () => {};
let cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
let captured: unknown[] = [];

function snapshot(): Counts {
  const c = { ...counts, do_by_class: { ...counts.do_by_class } };
  for (const cur of cursors) {
    c.sql_rows_read += cur.rowsRead;
    c.sql_rows_written += cur.rowsWritten;
  }
  return c;
}
function reset(): void {
  counts = zero();
  cursors = [];
}

function byteSize(body: unknown): number {
  if (typeof body === "string") return new TextEncoder().encode(body).byteLength;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength;
  return 0;
}

/** A Durable Object namespace whose stubs count every RPC call as one billed request. */
function meteredNamespace<T extends object>(ns: T, name: string): T {
  const count = () => {
    counts.do_requests++;
    counts.do_by_class[name] = (counts.do_by_class[name] ?? 0) + 1;
  };
  const stub = (s: DurableObjectStub) =>
    new Proxy(s, {
      get(target, prop) {
        const v = (target as unknown as Record<string | symbol, unknown>)[prop];
        if (typeof v !== "function" || typeof prop !== "string" || prop === "then") return v;
        return (...args: unknown[]) => (count(), (target as unknown as Record<string, (...a: unknown[]) => unknown>)[prop]!(...args));
      },
    });
  return new Proxy(ns, {
    get(target, prop) {
      const v = (target as unknown as Record<string | symbol, unknown>)[prop];
      if (prop === "getByName" || prop === "get") return (...args: unknown[]) => stub((v as (...a: unknown[]) => DurableObjectStub).apply(target, args));
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function meterBucket(bucket: R2Bucket): void {
  const a = (m: "put" | "delete" | "list" | "createMultipartUpload") => {
    const orig = bucket[m].bind(bucket) as (...args: unknown[]) => unknown;
    vi.spyOn(bucket, m).mockImplementation(((...args: unknown[]) => {
      counts.r2_class_a++;
      if (m === "put") counts.r2_bytes_put += byteSize(args[1]);
      return orig(...args);
    }) as never);
  };
  const b = (m: "get" | "head") => {
    const orig = bucket[m].bind(bucket) as (...args: unknown[]) => unknown;
    vi.spyOn(bucket, m).mockImplementation(((...args: unknown[]) => (counts.r2_class_b++, orig(...args))) as never);
  };
  a("put");
  a("delete");
  a("list");
  a("createMultipartUpload");
  b("get");
  b("head");
}

/** Captures what the worker and the SessionDO send to the event queue (not forwarded: this test drains it). */
function captureQueue(queue: Queue): void {
  const take = (body: unknown) => {
    const json = JSON.stringify(body);
    counts.queue_messages++;
    counts.queue_operations += 3 * Math.max(1, Math.ceil(new TextEncoder().encode(json).byteLength / QUEUE_UNIT));
    captured.push(JSON.parse(json));
  };
  vi.spyOn(queue, "sendBatch").mockImplementation(async (messages: Iterable<MessageSendRequest>) => {
    for (const m of messages) take(m.body);
    return undefined as never;
  });
  vi.spyOn(queue, "send").mockImplementation(async (body: unknown) => {
    take(body);
    return undefined as never;
  });
}

const meteredEnv = (): Env => ({
  ...env,
  REGISTRY_REFRESH_SECONDS: "30",
  SESSIONS: meteredNamespace(env.SESSIONS, "SessionDO"),
  TRENDING: meteredNamespace(env.TRENDING, "TrendingDO"),
  FRESH: meteredNamespace(env.FRESH, "FreshDO"),
  PROFILES: meteredNamespace(env.PROFILES, "ProfileDO"),
  MONITOR: meteredNamespace(env.MONITOR, "MonitorDO"),
});

async function request(path: string, init: RequestInit, testEnv: Env): Promise<Response> {
  counts.worker_invocations++;
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://edge.test${path}`, init), testEnv, ctx);
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, { status: res.status, headers: res.headers });
}

/**
 * Fires the visitor's SessionDO alarm when it is due within two seconds (served-list
 * write, outbox retry), as production would; the 30-day expiry alarm is left alone.
 */
async function fireAlarm(visitor: string): Promise<void> {
  const stub = sessionStub(env, SHOP_A.id, visitorIdOf(visitor));
  const at = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
  if (at === null || at > Date.now() + 2000) return;
  if (await runDurableObjectAlarm(stub)) {
    counts.do_alarms++;
    counts.do_requests++;
    counts.do_by_class.SessionDO = (counts.do_by_class.SessionDO ?? 0) + 1;
  }
}

/** Drains the captured messages through the real consumer in one batch. */
async function consume(testEnv: Env): Promise<void> {
  const bodies = captured;
  captured = [];
  if (bodies.length === 0) return;
  counts.worker_invocations++;
  const batch = createMessageBatch(
    "edgewise-events",
    bodies.map((body, i) => ({ id: `op-${Date.now()}-${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, testEnv, ctx);
  await waitOnExecutionContext(ctx);
}

let views = 0;
const viewEvents = (n: number) => Array.from({ length: n }, (_, i) => ({ ...make.productView(`sku-${String(((views + i) % 40) + 1).padStart(2, "0")}`), id: `op-view-${views + i}` }));

async function postViews(visitor: string, n: number, testEnv: Env): Promise<void> {
  const events = viewEvents(n);
  views += n;
  const res = await request(
    "/v1/events",
    { method: "POST", headers: { "content-type": "application/json", "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": visitor }, body: JSON.stringify({ events }) },
    testEnv,
  );
  expect(res.status).toBe(202);
}

async function recommend(visitor: string, testEnv: Env): Promise<void> {
  const res = await request("/v1/recommendations?k=10", { headers: { "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": visitor } }, testEnv);
  expect(res.status).toBe(200);
  expect(((await res.json()) as { model: string | null }).model).toBe(modelId);
}

let modelId = "";
let visitor = "";
const results: Record<string, Counts> = {};

describe("operations billed per events request and per recommendation", () => {
  beforeAll(async () => {
    modelId = await publishTestModel("ops", "1", chainWeights(40));
    await setTenantConfig(SHOP_A.id, { default_model: modelId });
    meterBucket(env.EVENT_LOG);
    meterBucket(env.MODELS);
    captureQueue(env.EVENTS);
    const res = await request("/v1/session", { headers: { "x-edgewise-key": SHOP_A.key } }, meteredEnv());
    visitor = res.headers.get("x-edgewise-visitor")!;
    // Every SQL statement of every Durable Object in this isolate: the cursor carries the billed rows.
    await runInDurableObject(sessionStub(env, SHOP_A.id, visitorIdOf(visitor)), (_instance, state) => {
      const proto = Object.getPrototypeOf(state.storage.sql) as { exec: (...args: unknown[]) => SqlStorageCursor<Record<string, SqlStorageValue>> };
      const exec = proto.exec;
      restoreExec = () => void (proto.exec = exec);
      proto.exec = function (this: unknown, ...args: unknown[]) {
        const cursor = exec.apply(this, args);
        cursors.push(cursor);
        return cursor;
      };
    });
    // Warm every cache (model, tenant config, catalog, trending, consumer's markers) with one uncounted round.
    const e = meteredEnv();
    await postViews(visitor, 20, e);
    await recommend(visitor, e);
    await fireAlarm(visitor);
    await consume(e);
    await recommend(visitor, e);
    await fireAlarm(visitor);
    await consume(e);
  }, 60_000);

  afterAll(() => {
    // Leave the isolate as found, should another test file share it.
    restoreExec();
    vi.restoreAllMocks();
    console.log(`OPERATIONS ${JSON.stringify(results)}`);
  });

  it("one events request of 20 product views: request path (with any alarm it sets), then the consumer", async () => {
    const e = meteredEnv();
    reset();
    await postViews(visitor, 20, e);
    await fireAlarm(visitor);
    results.events20_request = snapshot();
    await consume(e);
    results.events20_total = snapshot();
    expect(results.events20_request.queue_messages).toBe(1);
  });

  it("one events request of 1 product view", async () => {
    const e = meteredEnv();
    reset();
    await postViews(visitor, 1, e);
    await fireAlarm(visitor);
    results.events1_request = snapshot();
    await consume(e);
    results.events1_total = snapshot();
  });

  it("one recommendation: request path (its served-list flush included), then the consumer", async () => {
    const e = meteredEnv();
    reset();
    await recommend(visitor, e);
    await fireAlarm(visitor);
    results.recommendation_request = snapshot();
    await consume(e);
    results.recommendation_total = snapshot();
  });

  it("the consumer alone: one batch carrying five events requests' messages", async () => {
    const e = meteredEnv();
    for (let i = 0; i < 5; i++) await postViews(visitor, 20, e);
    await fireAlarm(visitor);
    reset();
    await consume(e);
    results.consumer_5x20 = snapshot();
  });

  it("the consumer alone: one batch carrying five recommendations' served lists", async () => {
    const e = meteredEnv();
    for (let i = 0; i < 5; i++) {
      await recommend(visitor, e);
      await fireAlarm(visitor);
    }
    reset();
    await consume(e);
    results.consumer_5_lists = snapshot();
  });

  it("a steady visitor: SEEN_MERGE_AT events requests of 20 views in a row (one bulk merge of the dedup index, the history at its limit)", async () => {
    const e = meteredEnv();
    reset();
    for (let i = 0; i < SEEN_MERGE_AT; i++) await postViews(visitor, 20, e);
    await fireAlarm(visitor);
    results.events20_cycle = snapshot();
    captured = []; // the request path only: these messages are not drained
  }, 60_000);

  it("pins the counts", () => {
    // Pinned from a run; a change that adds an operation must update these on purpose. The consumer's
    // SQLite rows vary by a row or two with the clock (MonitorDO's hourly aggregates): bounded, not exact.
    const ops = (c: Counts) => ({ ...c, sql_rows_read: undefined, sql_rows_written: undefined });
    const request = { worker_invocations: 1, do_alarms: 0, queue_messages: 1, queue_operations: 3, r2_class_a: 0, r2_class_b: 0, r2_bytes_put: 0 };
    expect(ops(results.events20_request!)).toEqual({ ...request, do_requests: 1, do_by_class: { SessionDO: 1 }, sql_rows_read: undefined, sql_rows_written: undefined });
    expect(ops(results.events1_request!)).toEqual({ ...request, do_requests: 1, do_by_class: { SessionDO: 1 }, sql_rows_read: undefined, sql_rows_written: undefined });
    // features() and, 200 ms later, recordImpressions() (the isolate's flush window), plus the list's queue message.
    expect(ops(results.recommendation_request!)).toEqual({ ...request, do_requests: 2, do_by_class: { SessionDO: 2 }, sql_rows_read: undefined, sql_rows_written: undefined });
    // Rows written exactly; rows read (a thousandth of a write's price) within a bound: the hourly prune reads a few more.
    const rows = (c: Counts, read: number) => (expect(c.sql_rows_read).toBeLessThanOrEqual(read), c.sql_rows_written);
    // Design 0026: one row each for the request's packed ids, its history batch and the session row.
    expect(rows(results.events20_request!, 30)).toBe(3);
    expect(rows(results.events1_request!, 10)).toBe(3);
    // In steady state each request also drops the history batch that left the newest 100 events, and
    // once per cycle the recent ids are merged in bulk (one row in, SEEN_MERGE_AT out).
    expect(results.events20_cycle!.worker_invocations).toBe(SEEN_MERGE_AT);
    expect(rows(results.events20_cycle!, 40 * SEEN_MERGE_AT)).toBe(3 * SEEN_MERGE_AT + SEEN_MERGE_AT + (1 + SEEN_MERGE_AT));
    // The served list: one row (the visitor's served_lists row, rewritten; design 0027), was 2 (a row per list plus its key index).
    expect(rows(results.recommendation_request!, 25)).toBe(1);
    // The consumer per batch: one R2 object per partition, the erasure-marker read, MonitorDO and (for events) TrendingDO and FreshDO.
    const consumer = (total: Counts, req: Counts) => ({
      worker_invocations: total.worker_invocations - req.worker_invocations,
      do_by_class: Object.fromEntries(
        Object.entries(total.do_by_class)
          .map(([k, v]) => [k, v - (req.do_by_class[k] ?? 0)])
          .filter(([, v]) => v !== 0),
      ),
      r2_class_a: total.r2_class_a,
      r2_class_b: total.r2_class_b,
      rows_written: total.sql_rows_written - req.sql_rows_written,
    });
    const bounded = (x: ReturnType<typeof consumer>, rows: number) => {
      expect(x.rows_written).toBeGreaterThanOrEqual(rows - 2);
      expect(x.rows_written).toBeLessThanOrEqual(rows + 2);
      return { ...x, rows_written: rows };
    };
    // FreshDO (design 0028): one request per batch and tenant, about a row per product view (its items, the visit, the clock).
    expect(bounded(consumer(results.events20_total!, results.events20_request!), 89)).toEqual({
      worker_invocations: 1,
      do_by_class: { MonitorDO: 1, TrendingDO: 1, FreshDO: 1 },
      r2_class_a: 1,
      r2_class_b: 1,
      rows_written: 89,
    });
    expect(bounded(consumer(results.recommendation_total!, results.recommendation_request!), 12)).toEqual({
      worker_invocations: 1,
      do_by_class: { MonitorDO: 1 },
      r2_class_a: 1,
      r2_class_b: 1,
      rows_written: 12,
    });
    expect(bounded(consumer(results.consumer_5x20!, zero()), 94)).toEqual({
      worker_invocations: 1,
      do_by_class: { MonitorDO: 1, TrendingDO: 1, FreshDO: 1 },
      r2_class_a: 1,
      r2_class_b: 1,
      rows_written: 94,
    });
    const lists = consumer(results.consumer_5_lists!, zero());
    expect({ ...lists, rows_written: undefined }).toEqual({ worker_invocations: 1, do_by_class: { MonitorDO: 1 }, r2_class_a: 1, r2_class_b: 1, rows_written: undefined });
  });
});
