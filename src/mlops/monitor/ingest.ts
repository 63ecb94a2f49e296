import type { Manifest } from "../../models/manifest";
import { MISSING_BIN, OUT_OF_RANGE_BIN } from "../drift/report";
import { MODEL_INPUT_TYPES, MONITORED_INPUTS, scoreBin } from "../drift/inputs";
import { latencyBucket } from "../rollout/guard-rails";
import { binOf } from "../stats/psi";
import { ERROR_REASONS, HOUR_MS, type ImpressionRecord, type MonitorBatch, type OutcomeRecord, hourOf } from "./records";

/** What a model contributes to drift monitoring: its training histograms and its vocabulary (either may be unavailable). */
export interface ModelRef {
  baselines: Manifest["baselines"] | null;
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
 */
export function applyBatch(sql: SqlStorage, batch: MonitorBatch, models: ReadonlyMap<string, ModelRef>): IngestReport {
  const report: IngestReport = { impressions: 0, outcomes: 0, duplicates: 0 };
  const claim = (id: string, at: number) => sql.exec("INSERT OR IGNORE INTO seen (id, at) VALUES (?, ?)", id, at).rowsWritten > 0;
  for (const r of batch.received) {
    sql.exec("INSERT INTO received (hour, type, count) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count", r.hour, r.type, r.count);
  }
  for (const imp of batch.impressions) {
    if (!claim(`i:${imp.id}`, imp.at)) {
      report.duplicates++;
      continue;
    }
    report.impressions++;
    applyImpression(sql, imp, imp.model ? models.get(imp.model) : undefined);
  }
  for (const out of batch.outcomes) {
    if (!claim(`o:${out.id}`, out.at)) {
      report.duplicates++;
      continue;
    }
    report.outcomes++;
    applyOutcome(sql, out);
  }
  return report;
}

function applyImpression(sql: SqlStorage, imp: ImpressionRecord, ref: ModelRef | undefined): void {
  const hour = hourOf(imp.at);
  const error = imp.degraded !== null && ERROR_REASONS.has(imp.degraded) ? 1 : 0;
  sql.exec(
    "INSERT INTO serving (hour, model, impressions, errors) VALUES (?, ?, 1, ?) ON CONFLICT DO UPDATE SET impressions = impressions + 1, errors = errors + excluded.errors",
    hour,
    imp.model ?? "",
    error,
  );
  if (imp.latency_ms !== null) {
    sql.exec("INSERT INTO serving_latency (hour, bucket, count) VALUES (?, ?, 1) ON CONFLICT DO UPDATE SET count = count + 1", hour, latencyBucket(imp.latency_ms));
  }

  if (imp.experiment !== null) {
    const newVisitor = sql.exec("INSERT OR IGNORE INTO exp_units (experiment, visitor, variant) VALUES (?, ?, ?)", imp.experiment, imp.visitor, imp.variant).rowsWritten > 0;
    sql.exec(
      `INSERT INTO exp_counts (experiment, variant, visitors, impressions, errors, first_at, last_at) VALUES (?, ?, ?, 1, ?, ?, ?)
       ON CONFLICT DO UPDATE SET visitors = visitors + excluded.visitors, impressions = impressions + 1, errors = errors + excluded.errors,
         first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)`,
      imp.experiment,
      imp.variant,
      newVisitor ? 1 : 0,
      error,
      imp.at,
      imp.at,
    );
    if (imp.latency_ms !== null) {
      sql.exec(
        "INSERT INTO exp_latency (experiment, variant, bucket, count) VALUES (?, ?, ?, 1) ON CONFLICT DO UPDATE SET count = count + 1",
        imp.experiment,
        imp.variant,
        latencyBucket(imp.latency_ms),
      );
    }
  }

  if (!imp.model) return;
  const seen = sql.exec<{ first_at: number }>(
    `INSERT INTO models_seen (model, first_at, last_at, impressions) VALUES (?, ?, ?, 1)
     ON CONFLICT DO UPDATE SET first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at), impressions = impressions + 1
     RETURNING first_at`,
    imp.model,
    imp.at,
    imp.at,
  ).one();
  const addBin = (feature: string, bin: number) =>
    sql.exec(
      "INSERT INTO drift_bins (model, feature, hour, bin, count) VALUES (?, ?, ?, ?, 1) ON CONFLICT DO UPDATE SET count = count + 1",
      imp.model,
      feature,
      hour,
      bin,
    );
  if (ref?.baselines && MODEL_INPUT_TYPES.has(imp.type)) {
    for (const [feature, hist] of Object.entries(ref.baselines)) {
      if (!(feature in MONITORED_INPUTS)) continue;
      const value = imp.values[feature] ?? null;
      addBin(feature, value === null ? MISSING_BIN : (binOf(value, hist.edges) ?? OUT_OF_RANGE_BIN));
    }
  }
  if (imp.top_score !== null) {
    const bin = scoreBin(imp.top_score);
    addBin("prediction.top_score", bin);
    if (imp.at < seen.first_at + PREDICTION_REFERENCE_MS) {
      sql.exec("INSERT INTO pred_reference (model, bin, count) VALUES (?, ?, 1) ON CONFLICT DO UPDATE SET count = count + 1", imp.model, bin);
    }
  }
  if (ref?.vocab && imp.items.length > 0) {
    const unknown = imp.items.filter((i) => !ref.vocab!.has(i)).length;
    sql.exec(
      "INSERT INTO drift_catalog (model, hour, shown, unknown) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET shown = shown + excluded.shown, unknown = unknown + excluded.unknown",
      imp.model,
      hour,
      imp.items.length,
      unknown,
    );
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
