import type { Manifest } from "../../models/manifest";
import { MISSING_BIN, OUT_OF_RANGE_BIN } from "../drift/report";
import { MODEL_INPUT_TYPES, MONITORED_INPUTS, scoreBin } from "../drift/inputs";
import { type RankerBaselines, rankerBins } from "../drift/ranker";
import { latencyBucket } from "../rollout/guard-rails";
import { binOf } from "../stats/psi";
import { ERROR_REASONS, HOUR_MS, type ImpressionRecord, type MonitorBatch, type OutcomeRecord, hourOf } from "./records";

/** What a model contributes to drift monitoring: its training histograms and its vocabulary (either may be unavailable). */
export interface ModelRef {
  baselines: Manifest["baselines"] | null;
  /** The ranker's features and training histograms (two-stage versions exported with them). */
  ranker: RankerBaselines | null;
  vocab: ReadonlySet<string> | null;
}

/** Counts of one ingest, for logs and tests. */
export interface IngestReport {
  impressions: number;
  outcomes: number;
  duplicates: number;
}

/** The prediction histogram of a model's first day of serving is its reference. */
export const PREDICTION_REFERENCE_MS = 24 * HOUR_MS;

/**
 * Applies one batch to the aggregates. Run inside a storage transaction: every
 * record is first claimed in `seen`, so a redelivered record changes nothing.
 * Impressions only add to counters, so their increments are summed per row in
 * memory and each aggregate row is written once per batch (a batch of 100 lists
 * of one model and hour writes a few dozen rows, not ~1,000; a two-stage model's
 * ranker features add at most one row per feature and bin, ~250 for 25 features).
 */
export function applyBatch(sql: SqlStorage, batch: MonitorBatch, models: ReadonlyMap<string, ModelRef>): IngestReport {
  const report: IngestReport = { impressions: 0, outcomes: 0, duplicates: 0 };
  for (const r of batch.received) {
    sql.exec("INSERT INTO received (hour, type, count) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count", r.hour, r.type, r.count);
  }
  const claimed = claimAll(sql, [...batch.impressions.map((i) => ({ id: `i:${i.id}`, at: i.at })), ...batch.outcomes.map((o) => ({ id: `o:${o.id}`, at: o.at }))]);
  const fresh: ImpressionRecord[] = [];
  for (const imp of batch.impressions) {
    if (claimed.delete(`i:${imp.id}`)) fresh.push(imp);
    else report.duplicates++;
  }
  report.impressions = fresh.length;
  const tally = new Tally();
  const firstSeen = firstServed(sql, fresh);
  const newUnits = claimUnits(sql, fresh);
  const units = new Set<string>();
  for (const imp of fresh) applyImpression(tally, imp, imp.model ? models.get(imp.model) : undefined, firstSeen, newUnits, units);
  tally.write(sql);
  for (const out of batch.outcomes) {
    if (!claimed.delete(`o:${out.id}`)) {
      report.duplicates++;
      continue;
    }
    report.outcomes++;
    applyOutcome(sql, out);
  }
  return report;
}

/**
 * Claims record ids in `seen` with one statement for the whole batch; returns
 * the ids claimed now. The caller deletes each id as it uses it, so a record
 * repeated within the batch counts once.
 */
function claimAll(sql: SqlStorage, records: Array<{ id: string; at: number }>): Set<string> {
  if (records.length === 0) return new Set();
  const rows = sql
    .exec<{ id: string }>(
      "INSERT OR IGNORE INTO seen (id, at) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?) RETURNING id",
      JSON.stringify(records.map((r) => [r.id, r.at])),
    )
    .toArray();
  return new Set(rows.map((r) => r.id));
}

/** Experiment units (experiment, visitor) of the batch seen for the first time ever, in one statement. */
function claimUnits(sql: SqlStorage, impressions: ImpressionRecord[]): Set<string> {
  const first = new Map<string, [string, string, string]>();
  for (const imp of impressions) {
    const unit = `${imp.experiment}\u0000${imp.visitor}`;
    if (imp.experiment !== null && !first.has(unit)) first.set(unit, [imp.experiment, imp.visitor, imp.variant]);
  }
  if (first.size === 0) return new Set();
  const rows = sql
    .exec<{ experiment: string; visitor: string }>(
      "INSERT OR IGNORE INTO exp_units (experiment, visitor, variant) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?) RETURNING experiment, visitor",
      JSON.stringify([...first.values()]),
    )
    .toArray();
  return new Set(rows.map((r) => `${r.experiment}\u0000${r.visitor}`));
}

type Op = "sum" | "min" | "max";
const SQL_OP: Record<Op, (c: string) => string> = {
  sum: (c) => `${c} = ${c} + excluded.${c}`,
  min: (c) => `${c} = min(${c}, excluded.${c})`,
  max: (c) => `${c} = max(${c}, excluded.${c})`,
};
const COMBINE: Record<Op, (a: number, b: number) => number> = { sum: (a, b) => a + b, min: Math.min, max: Math.max };

/** Counter upserts of one batch, combined per row before they are written. */
class Tally {
  private readonly rows = new Map<string, { table: string; keys: Record<string, SqlStorageValue>; values: Record<string, [Op, number]> }>();

  add(table: string, keys: Record<string, SqlStorageValue>, values: Record<string, [Op, number]>): void {
    const id = `${table}\u0000${Object.values(keys).join("\u0000")}`;
    const row = this.rows.get(id);
    if (!row) {
      this.rows.set(id, { table, keys, values: structuredClone(values) });
      return;
    }
    for (const [col, [op, v]] of Object.entries(values)) row.values[col] = [op, COMBINE[op](row.values[col]![1], v)];
  }

  write(sql: SqlStorage): void {
    for (const { table, keys, values } of this.rows.values()) {
      const cols = [...Object.keys(keys), ...Object.keys(values)];
      const update = Object.entries(values).map(([c, [op]]) => SQL_OP[op](c));
      sql.exec(
        `INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")}) ON CONFLICT DO UPDATE SET ${update.join(", ")}`,
        ...Object.values(keys),
        ...Object.values(values).map(([, v]) => v),
      );
    }
  }
}

/** When each model of the batch was first served: the stored time, or this batch's earliest list. */
function firstServed(sql: SqlStorage, impressions: ImpressionRecord[]): Map<string, number> {
  const first = new Map<string, number>();
  for (const imp of impressions) if (imp.model) first.set(imp.model, Math.min(first.get(imp.model) ?? Infinity, imp.at));
  for (const [model, at] of first) {
    const stored = sql.exec<{ first_at: number }>("SELECT first_at FROM models_seen WHERE model = ?", model).toArray()[0]?.first_at;
    if (stored !== undefined && stored < at) first.set(model, stored);
  }
  return first;
}

function applyImpression(tally: Tally, imp: ImpressionRecord, ref: ModelRef | undefined, firstSeen: ReadonlyMap<string, number>, newUnits: ReadonlySet<string>, units: Set<string>): void {
  const hour = hourOf(imp.at);
  const error = imp.degraded !== null && ERROR_REASONS.has(imp.degraded) ? 1 : 0;
  tally.add("serving", { hour, model: imp.model ?? "" }, { impressions: ["sum", 1], errors: ["sum", error] });
  if (imp.latency_ms !== null) tally.add("serving_latency", { hour, bucket: latencyBucket(imp.latency_ms) }, { count: ["sum", 1] });

  if (imp.experiment !== null) {
    // A visitor counts once per experiment: the first list ever served to them (units dedups within the batch).
    const unit = `${imp.experiment}\u0000${imp.visitor}`;
    const newVisitor = !units.has(unit) && newUnits.has(unit);
    units.add(unit);
    tally.add(
      "exp_counts",
      { experiment: imp.experiment, variant: imp.variant },
      { visitors: ["sum", newVisitor ? 1 : 0], impressions: ["sum", 1], errors: ["sum", error], first_at: ["min", imp.at], last_at: ["max", imp.at] },
    );
    if (imp.latency_ms !== null) tally.add("exp_latency", { experiment: imp.experiment, variant: imp.variant, bucket: latencyBucket(imp.latency_ms) }, { count: ["sum", 1] });
  }

  if (!imp.model) return;
  const model = imp.model;
  tally.add("models_seen", { model }, { first_at: ["min", imp.at], last_at: ["max", imp.at], impressions: ["sum", 1] });
  const addBin = (feature: string, bin: number) => tally.add("drift_bins", { model, feature, hour, bin }, { count: ["sum", 1] });
  if (ref?.baselines && MODEL_INPUT_TYPES.has(imp.type)) {
    for (const [feature, hist] of Object.entries(ref.baselines)) {
      if (!(feature in MONITORED_INPUTS)) continue;
      const value = imp.values[feature] ?? null;
      addBin(feature, value === null ? MISSING_BIN : (binOf(value, hist.edges) ?? OUT_OF_RANGE_BIN));
    }
  }
  if (ref?.ranker && imp.ranker) {
    for (const [feature, bin] of rankerBins(ref.ranker, imp.ranker)) addBin(feature, bin);
  }
  if (imp.top_score !== null) {
    const bin = scoreBin(imp.top_score);
    addBin("prediction.top_score", bin);
    if (imp.at < firstSeen.get(model)! + PREDICTION_REFERENCE_MS) tally.add("pred_reference", { model, bin }, { count: ["sum", 1] });
  }
  if (ref?.vocab && imp.items.length > 0) {
    const unknown = imp.items.filter((i) => !ref.vocab!.has(i)).length;
    tally.add("drift_catalog", { model, hour }, { shown: ["sum", imp.items.length], unknown: ["sum", unknown] });
  }
}

const OUTCOME_COLUMNS = {
  recommendation_click: { count: "clicks", flag: "clicked", flagged: "clicked_impressions" },
  add_to_cart: { count: "add_to_carts", flag: "carted", flagged: "carted_impressions" },
  purchase: { count: "purchases", flag: "purchased", flagged: "purchased_impressions" },
} as const;

function applyOutcome(sql: SqlStorage, out: OutcomeRecord): void {
  const cols = OUTCOME_COLUMNS[out.type];
  const counted = new Set<string>();
  for (const imp of out.impressions) {
    // The first outcome of its kind for an impression flags it (CTR and conversion are shares of impressions).
    sql.exec(`INSERT OR IGNORE INTO imp_flags (impression_id, at) VALUES (?, ?)`, imp.impression_id, out.at);
    const newlyFlagged = sql.exec(`UPDATE imp_flags SET ${cols.flag} = 1 WHERE impression_id = ? AND ${cols.flag} = 0`, imp.impression_id).rowsWritten > 0;
    if (imp.experiment === null) continue;
    const key = `${imp.experiment}\n${imp.variant}`;
    const events = counted.has(key) ? 0 : 1; // one purchase attributed to two lists of a variant is one purchase
    counted.add(key);
    sql.exec(
      `INSERT INTO exp_counts (experiment, variant, ${cols.count}, ${cols.flagged}, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET ${cols.count} = ${cols.count} + excluded.${cols.count}, ${cols.flagged} = ${cols.flagged} + excluded.${cols.flagged},
         last_at = max(last_at, excluded.last_at)`,
      imp.experiment,
      imp.variant,
      events,
      newlyFlagged ? 1 : 0,
      out.at,
      out.at,
    );
  }
}
