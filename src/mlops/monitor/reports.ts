import type { Manifest } from "../../models/manifest";
import { type VariantCounts, analyseExperiment } from "../experiments/analysis";
import { type Cell, catalogueDrift, featureDrift, predictionDrift } from "../drift/report";
import { INPUT_LABELS, MONITORED_INPUTS, SCORE_EDGES } from "../drift/inputs";
import { rankerBaselinesOf, rankerDriftName, rankerFeatureLabel } from "../drift/ranker";
import { type DriftSettings, worst } from "../drift/status";
import { type ArmStats, latencyQuantile } from "../rollout/guard-rails";
import type { ExperimentReport, IngestionReport, ModelDrift } from "./dashboard-data";
import { HOUR_MS, hourOf } from "./records";

/** The hours (epoch ms, oldest first) of a window of `hours` ending at `now`. */
export function windowHours(now: number, hours: number): number[] {
  const last = hourOf(now);
  return Array.from({ length: hours }, (_, i) => last - (hours - 1 - i) * HOUR_MS);
}

/** Drift per served model over `hours` ending at `now`. */
export function driftReport(sql: SqlStorage, manifests: ReadonlyMap<string, Manifest | null>, now: number, hours: number, s: DriftSettings): ModelDrift[] {
  const window = windowHours(now, hours);
  const from = window[0]!;
  const models = sql.exec<{ model: string; first_at: number; last_at: number }>("SELECT model, first_at, last_at FROM models_seen WHERE last_at >= ? ORDER BY last_at DESC", from).toArray();
  return models.map(({ model, first_at, last_at }) => {
    const cells = (feature: string) => sql.exec<Cell>("SELECT hour, bin, count FROM drift_bins WHERE model = ? AND feature = ? AND hour >= ?", model, feature, from).toArray();
    const manifest = manifests.get(model) ?? null;
    const inputs = manifest
      ? Object.entries(manifest.baselines)
          .filter(([name]) => name in MONITORED_INPUTS)
          .map(([name, hist]) => featureDrift(name, hist, cells(name), window, s, INPUT_LABELS[name]))
      : [];
    // Stage two: each feature the ranker reads, against its training histogram (same thresholds).
    const ranker = rankerBaselinesOf(manifest?.ranker);
    for (const name of ranker?.features ?? []) {
      const hist = ranker!.baselines[name];
      if (hist) inputs.push(featureDrift(rankerDriftName(name), hist, cells(rankerDriftName(name)), window, s, rankerFeatureLabel(name)));
    }
    const reference = new Array<number>(SCORE_EDGES.length - 1).fill(0);
    for (const r of sql.exec<{ bin: number; count: number }>("SELECT bin, count FROM pred_reference WHERE model = ?", model)) {
      if (r.bin >= 0 && r.bin < reference.length) reference[r.bin] = r.count;
    }
    const prediction = predictionDrift(reference, cells("prediction.top_score"), window, s);
    const catalogue = catalogueDrift(
      sql.exec<{ hour: number; shown: number; unknown: number }>("SELECT hour, shown, unknown FROM drift_catalog WHERE model = ? AND hour >= ?", model, from).toArray(),
      window,
      s,
    );
    const impressions = sql.exec<{ n: number | null }>("SELECT sum(impressions) AS n FROM serving WHERE model = ? AND hour >= ?", model, from).one().n ?? 0;
    return {
      model,
      status: worst([...inputs.map((f) => f.status), prediction.status, catalogue.status]),
      impressions,
      first_served: first_at,
      last_served: last_at,
      note: manifest ? null : "The model's manifest could not be read, so its inputs are not compared with training.",
      inputs,
      prediction,
      catalogue,
    };
  });
}

/** Every experiment seen, most recent first, analysed with the weights known for it. */
export function experimentReport(sql: SqlStorage, weightsFor: (experiment: string) => Record<string, number> | null): ExperimentReport[] {
  const rows = sql.exec<VariantCounts & { experiment: string; first_at: number; last_at: number }>("SELECT * FROM exp_counts ORDER BY experiment, variant").toArray();
  const byExp = new Map<string, typeof rows>();
  for (const r of rows) byExp.set(r.experiment, [...(byExp.get(r.experiment) ?? []), r]);
  return [...byExp.entries()]
    .map(([experiment, vs]) => ({
      ...analyseExperiment(
        experiment,
        vs.map(({ experiment: _e, first_at: _f, last_at: _l, ...counts }) => pickCounts(counts)),
        weightsFor(experiment),
      ),
      first_at: Math.min(...vs.map((v) => v.first_at)),
      last_at: Math.max(...vs.map((v) => v.last_at)),
    }))
    .sort((a, b) => b.last_at - a.last_at);
}

function pickCounts(r: VariantCounts): VariantCounts {
  return {
    variant: r.variant,
    visitors: r.visitors,
    impressions: r.impressions,
    clicks: r.clicks,
    add_to_carts: r.add_to_carts,
    purchases: r.purchases,
    clicked_impressions: r.clicked_impressions,
    carted_impressions: r.carted_impressions,
    purchased_impressions: r.purchased_impressions,
  };
}

/** What guard rails read of one variant of an experiment. */
export function armStats(sql: SqlStorage, experiment: string, variant: string): ArmStats {
  const row = sql
    .exec<{ impressions: number; errors: number; clicked_impressions: number }>(
      "SELECT impressions, errors, clicked_impressions FROM exp_counts WHERE experiment = ? AND variant = ?",
      experiment,
      variant,
    )
    .toArray()[0];
  const buckets = new Map(
    sql
      .exec<{ bucket: number; count: number }>("SELECT bucket, count FROM exp_latency WHERE experiment = ? AND variant = ?", experiment, variant)
      .toArray()
      .map((r) => [r.bucket, r.count]),
  );
  return { impressions: row?.impressions ?? 0, errors: row?.errors ?? 0, clicked_impressions: row?.clicked_impressions ?? 0, p95_latency_ms: latencyQuantile(buckets, 0.95) };
}

export function ingestionReport(sql: SqlStorage, now: number, hours: number): IngestionReport {
  const window = windowHours(now, hours);
  const from = window[0]!;
  const events = new Map<number, number>();
  const byType: Record<string, number> = {};
  for (const r of sql.exec<{ hour: number; type: string; count: number }>("SELECT hour, type, count FROM received WHERE hour >= ?", from)) {
    events.set(r.hour, (events.get(r.hour) ?? 0) + r.count);
    byType[r.type] = (byType[r.type] ?? 0) + r.count;
  }
  const serving = new Map<number, { impressions: number; errors: number }>();
  for (const r of sql.exec<{ hour: number; impressions: number; errors: number }>(
    "SELECT hour, sum(impressions) AS impressions, sum(errors) AS errors FROM serving WHERE hour >= ? GROUP BY hour",
    from,
  )) {
    serving.set(r.hour, { impressions: r.impressions, errors: r.errors });
  }
  const latency = new Map<number, Map<number, number>>();
  const all = new Map<number, number>();
  for (const r of sql.exec<{ hour: number; bucket: number; count: number }>("SELECT hour, bucket, count FROM serving_latency WHERE hour >= ?", from)) {
    const m = latency.get(r.hour) ?? new Map<number, number>();
    m.set(r.bucket, r.count);
    latency.set(r.hour, m);
    all.set(r.bucket, (all.get(r.bucket) ?? 0) + r.count);
  }
  const series = window.map((hour) => {
    const lat = latency.get(hour) ?? new Map<number, number>();
    return {
      hour,
      events: events.get(hour) ?? 0,
      impressions: serving.get(hour)?.impressions ?? 0,
      errors: serving.get(hour)?.errors ?? 0,
      p50_latency_ms: latencyQuantile(lat, 0.5),
      p95_latency_ms: latencyQuantile(lat, 0.95),
    };
  });
  return {
    totals: {
      events: series.reduce((a, s) => a + s.events, 0),
      impressions: series.reduce((a, s) => a + s.impressions, 0),
      errors: series.reduce((a, s) => a + s.errors, 0),
      p50_latency_ms: latencyQuantile(all, 0.5),
      p95_latency_ms: latencyQuantile(all, 0.95),
    },
    by_type: byType,
    series,
  };
}
