/**
 * The same event log read by DuckDB (`@duckdb/node-api`), the engine for when one Node
 * process's replay is too slow (docs/mlops.md, "Scale path"): hive partitions become
 * columns (`dt`, `hour`) and prune the scan, duplicates are dropped by event id, visits
 * are cut by the feature engine's rule (a new visit when an event, in `seq` order, comes
 * more than the gap after the latest one before it). It computes what the streamed read
 * (`readLogWindow`) computes for the model card — events in the window, training and
 * held-out visits with two or more views — so the two can be checked against each other.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import type { LogWindow } from "../../src/offline/retrain/log-window";

/** Counts of one window, by DuckDB. */
export interface DuckDbWindow {
  events: number;
  views: number;
  train: number;
  holdout: number;
  seconds: number;
}

/** Reads `<root>/events/tenant=<tenant>/dt=*\/hour=*\/*.ndjson` (an exported copy of the bucket). */
export async function duckdbWindow(root: string, tenant: string, w: LogWindow, gapMs: number): Promise<DuckDbWindow> {
  const t0 = performance.now();
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  const glob = `${root.replaceAll("'", "''")}/events/tenant=${tenant}/*/*/*.ndjson`;
  const sql = `
    WITH lines AS (
      SELECT visitor_id, seq, received_at,
             json_extract_string(event, '$.id') AS id,
             json_extract_string(event, '$.type') AS type,
             CAST(json_extract(event, '$.timestamp') AS BIGINT) AS ts
      FROM read_json('${glob}', format = 'newline_delimited', hive_partitioning = true,
             columns = {kind: 'VARCHAR', tenant: 'VARCHAR', visitor_id: 'VARCHAR', seq: 'BIGINT', received_at: 'BIGINT', event: 'JSON'})
      WHERE kind = 'event' AND CAST(dt AS VARCHAR) BETWEEN '${day(w.from - 86_400_000)}' AND '${day(w.to + 86_400_000)}'
    ),
    events AS (SELECT * FROM lines QUALIFY row_number() OVER (PARTITION BY visitor_id, id ORDER BY received_at) = 1),
    marked AS (
      SELECT *, coalesce(ts > max(ts) OVER (PARTITION BY visitor_id ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + ${gapMs}, true) AS new_visit
      FROM events
    ),
    numbered AS (SELECT *, sum(CAST(new_visit AS INTEGER)) OVER (PARTITION BY visitor_id ORDER BY seq) AS visit FROM marked),
    visits AS (
      SELECT visitor_id, visit, arg_min(ts, seq) AS start,
             count(*) FILTER (WHERE type = 'product_view' AND ts >= ${w.from} AND ts < ${w.to}) AS views
      FROM numbered GROUP BY visitor_id, visit
    )
    SELECT
      (SELECT count(*) FROM events WHERE ts >= ${w.from} AND ts < ${w.to}) AS events,
      (SELECT count(*) FROM events WHERE type = 'product_view' AND ts >= ${w.from} AND ts < ${w.to}) AS views,
      count(*) FILTER (WHERE views >= 2 AND start >= ${w.from} AND start < ${w.holdoutFrom}) AS train,
      count(*) FILTER (WHERE views >= 2 AND start >= ${w.holdoutFrom} AND start < ${w.to}) AS holdout
    FROM visits`;
  const row = (await c.runAndReadAll(sql)).getRowObjects()[0]!;
  c.closeSync();
  const n = (x: unknown) => Number(x);
  return { events: n(row.events), views: n(row.views), train: n(row.train), holdout: n(row.holdout), seconds: (performance.now() - t0) / 1000 };
}
