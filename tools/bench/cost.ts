/**
 * Operations and cost per million: prices the operation counts that
 * test/operations.integration.test.ts pins (its `OPERATIONS` line) and the CPU the
 * benchmark measured, with the dated list prices in bench/prices.json.
 *
 * Model (docs/design/0024): a shop sends N events a month in requests of 20 (the SDK
 * batches) and is served N recommendations (one per product view). Each line item's
 * monthly usage is summed over both, the plan's included usage subtracted, and the
 * bill split between events and recommendations by their share of that item. The
 * consumer's per-batch costs (R2 object, MonitorDO / TrendingDO calls, the Worker
 * invocation) are divided by the batch size the volume fills within the queue's 5 s
 * batch timeout (at most 100 messages); a served list is one queue message and one
 * recordImpressions call (the pinned worst case: one list per isolate flush window).
 */
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

export interface Counts {
  worker_invocations: number;
  do_requests: number;
  do_alarms: number;
  do_by_class: Record<string, number>;
  sql_rows_read: number;
  sql_rows_written: number;
  queue_messages: number;
  /** Billed queue operations: each message's 64 KB units, written + read + deleted. */
  queue_operations: number;
  r2_class_a: number;
  r2_class_b: number;
  r2_bytes_put: number;
}

export type Operations = Record<
  "events20_request" | "events20_total" | "events20_cycle" | "events1_request" | "events1_total" | "recommendation_request" | "recommendation_total" | "consumer_5x20" | "consumer_5_lists",
  Counts
>;

interface Price {
  included: number;
  price?: number;
  per_million?: number;
  per_gb_month?: number | null;
  source: string;
  note?: string;
}
export interface Prices {
  read_on: string;
  cloudflare: Record<string, Price>;
  upstash: Record<string, Price>;
  peers: Record<string, { included_per_month?: number; per_thousand_requests: number | null; source: string; read_via?: string; note: string }>;
}

/** Runs the operation-count test (workerd) and returns what it counted. */
export function measureOperations(): Operations {
  const out = execFileSync("node_modules/.bin/vitest", ["run", "test/operations.integration.test.ts"], {
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = /OPERATIONS (\{.*\})/.exec(out)?.[1];
  if (!line) throw new Error(`the operation-count test printed no OPERATIONS line:\n${out.slice(-2000)}`);
  return JSON.parse(line) as Operations;
}

export function loadPrices(): Prices {
  return JSON.parse(readFileSync("bench/prices.json", "utf8")) as Prices;
}

const ITEMS = ["worker_requests", "worker_cpu_ms", "do_requests", "sqlite_rows_read", "sqlite_rows_written", "queue_operations", "r2_class_a", "r2_class_b", "r2_storage_gb_month"] as const;
type Item = (typeof ITEMS)[number];
type Usage = Record<Item, number>;

const LOG_MONTHS = 400 / 30.44; // a log line lives 400 days (src/privacy/retention.ts)
const BATCH_TIMEOUT_S = 5;
const MAX_BATCH = 100;
const MONTH_S = 30.44 * 86_400;

const minus = (a: Counts, b: Counts): Counts => ({
  worker_invocations: a.worker_invocations - b.worker_invocations,
  do_requests: a.do_requests - b.do_requests,
  do_alarms: a.do_alarms - b.do_alarms,
  do_by_class: {},
  sql_rows_read: a.sql_rows_read - b.sql_rows_read,
  sql_rows_written: a.sql_rows_written - b.sql_rows_written,
  queue_messages: a.queue_messages - b.queue_messages,
  queue_operations: a.queue_operations - b.queue_operations,
  r2_class_a: a.r2_class_a - b.r2_class_a,
  r2_class_b: a.r2_class_b - b.r2_class_b,
  r2_bytes_put: a.r2_bytes_put - b.r2_bytes_put,
});

/** CPU (ms) the benchmark measured: request path per request, consumer per 1,000 lines. */
export interface MeasuredCpu {
  events20_ms: number;
  recommendation_ms: number;
  consumer_ms_per_1000_lines: number;
}

function usageOf(req: Counts, consumerFixed: Counts, consumerPerMessage: Counts, batch: number, lines: number, cpuRequest: number, cpuConsumerPerLine: number, bytesPerLine: number): Usage {
  const c = (k: keyof Omit<Counts, "do_by_class">) => req[k] + consumerFixed[k] / batch + consumerPerMessage[k];
  return {
    worker_requests: c("worker_invocations"),
    worker_cpu_ms: cpuRequest + cpuConsumerPerLine * lines,
    do_requests: c("do_requests"),
    sqlite_rows_read: c("sql_rows_read"),
    sqlite_rows_written: c("sql_rows_written"),
    queue_operations: req.queue_operations,
    r2_class_a: c("r2_class_a"),
    r2_class_b: c("r2_class_b"),
    r2_storage_gb_month: (bytesPerLine * lines * LOG_MONTHS) / 1e9,
  };
}

export interface CostRow {
  item: Item;
  per_event: number;
  per_recommendation: number;
  usd_per_million_events: number;
  usd_per_million_recommendations: number;
}
export interface ShopCost {
  shop: string;
  events_per_month: number;
  recommendations_per_month: number;
  consumer_batch_messages: number;
  rows: CostRow[];
  usd_per_million_events: number;
  usd_per_million_recommendations: number;
  plan_usd_per_month: number;
}

/** Cost per million events and recommendations beyond included usage, by line item, for one shop's volume. */
export function shopCost(shop: string, eventsPerMonth: number, ops: Operations, cpu: MeasuredCpu, prices: Prices): ShopCost {
  const perRequest = 20;
  const recs = eventsPerMonth;
  // The consumer, per batch and per message, from one message vs five in a batch (the test's two runs).
  const one = minus(ops.events20_total, ops.events20_request);
  const five = ops.consumer_5x20;
  const perMessage = Object.fromEntries(
    Object.entries(one).map(([k, v]) => [k, typeof v === "number" ? Math.max(0, ((five as unknown as Record<string, number>)[k]! - v) / 4) : {}]),
  ) as unknown as Counts;
  const fixed = Object.fromEntries(Object.entries(one).map(([k, v]) => [k, typeof v === "number" ? Math.max(0, v - (perMessage as unknown as Record<string, number>)[k]!) : {}])) as unknown as Counts;
  const messagesPerSecond = (eventsPerMonth / perRequest + recs) / MONTH_S;
  const batch = Math.max(1, Math.min(MAX_BATCH, messagesPerSecond * BATCH_TIMEOUT_S));
  const eventBytes = one.r2_bytes_put / perRequest;
  const recConsumer = minus(ops.recommendation_total, ops.recommendation_request);
  const recBytes = recConsumer.r2_bytes_put;
  const cpuLine = cpu.consumer_ms_per_1000_lines / 1000;

  // SQLite rows of a steady visitor's request: averaged over a cycle of the dedup index's bulk merge
  // (design 0026), with the history at its limit — more than the pinned single request.
  const cycle = ops.events20_cycle;
  const steady: Counts = { ...ops.events20_request, sql_rows_read: cycle.sql_rows_read / cycle.worker_invocations, sql_rows_written: cycle.sql_rows_written / cycle.worker_invocations };
  const perEventsRequest = usageOf(steady, fixed, perMessage, batch, perRequest, cpu.events20_ms, cpuLine, eventBytes);
  const perEvent = Object.fromEntries(ITEMS.map((k) => [k, perEventsRequest[k] / perRequest])) as Usage;
  // A served list's consumer work: one list vs five in a batch; fixed per-batch costs shared as for events.
  const recMarginal = (k: "sql_rows_read" | "sql_rows_written") => Math.max(0, (ops.consumer_5_lists[k] - recConsumer[k]) / 4);
  const recPerMessage = {
    ...recConsumer,
    worker_invocations: 0,
    do_requests: 0,
    r2_class_a: 0,
    r2_class_b: 0,
    sql_rows_read: recMarginal("sql_rows_read"),
    sql_rows_written: recMarginal("sql_rows_written"),
  };
  const perRec = usageOf(ops.recommendation_request, fixed, recPerMessage, batch, 1, cpu.recommendation_ms, cpuLine, recBytes);

  const price: Record<Item, { included: number; unit: number }> = {
    worker_requests: unit(prices.cloudflare.worker_requests!),
    worker_cpu_ms: unit(prices.cloudflare.worker_cpu_ms!),
    do_requests: unit(prices.cloudflare.do_requests!),
    sqlite_rows_read: unit(prices.cloudflare.sqlite_rows_read!),
    sqlite_rows_written: unit(prices.cloudflare.sqlite_rows_written!),
    queue_operations: unit(prices.cloudflare.queue_operations!),
    r2_class_a: unit(prices.cloudflare.r2_class_a!),
    r2_class_b: unit(prices.cloudflare.r2_class_b!),
    r2_storage_gb_month: { included: prices.cloudflare.r2_storage_gb_month!.included, unit: prices.cloudflare.r2_storage_gb_month!.per_gb_month ?? 0 },
  };
  const rows = ITEMS.map((item): CostRow => {
    const ue = perEvent[item] * eventsPerMonth;
    const ur = perRec[item] * recs;
    // R2 storage: a month's lines stay 400 days, so steady state holds LOG_MONTHS months of them.
    const total = ue + ur;
    const bill = Math.max(0, total - price[item].included) * price[item].unit;
    const share = total > 0 ? bill / total : 0;
    return {
      item,
      per_event: perEvent[item],
      per_recommendation: perRec[item],
      usd_per_million_events: (share * ue) / (eventsPerMonth / 1e6),
      usd_per_million_recommendations: (share * ur) / (recs / 1e6),
    };
  });
  return {
    shop,
    events_per_month: eventsPerMonth,
    recommendations_per_month: recs,
    consumer_batch_messages: Math.round(batch * 10) / 10,
    rows,
    usd_per_million_events: rows.reduce((s, r) => s + r.usd_per_million_events, 0),
    usd_per_million_recommendations: rows.reduce((s, r) => s + r.usd_per_million_recommendations, 0),
    plan_usd_per_month: prices.cloudflare.plan_per_month?.price ?? Number.NaN,
  };
}

function unit(p: Price): { included: number; unit: number } {
  return { included: p.included, unit: (p.per_million ?? 0) / 1e6 };
}

/** The peers' published prices for the same number of recommendations (null when no price was found). */
export function peerCost(prices: Prices, recommendationsPerMonth: number): Array<{ peer: string; usd_per_million: number | null; source: string; note: string }> {
  return Object.entries(prices.peers).map(([peer, p]) => {
    if (p.per_thousand_requests === null) return { peer, usd_per_million: null, source: p.source, note: p.note };
    const billable = Math.max(0, recommendationsPerMonth - (p.included_per_month ?? 0));
    return {
      peer,
      usd_per_million: (billable * p.per_thousand_requests) / 1000 / (recommendationsPerMonth / 1e6),
      source: p.read_via ? `${p.source} (read via ${p.read_via})` : p.source,
      note: p.note,
    };
  });
}
