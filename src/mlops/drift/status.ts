/** Traffic-light status every monitored figure is reduced to on the dashboard. */
export type Status = "fine" | "watch" | "act" | "no_data";

/** Thresholds: a figure at or above `watch` is worth watching, at or above `act` needs action. */
export interface Threshold {
  watch: number;
  act: number;
}

/** Tenant-configurable drift thresholds (admin API `PUT /admin/api/settings`). */
export interface DriftSettings {
  /** Population stability index of an input or of the prediction against its reference. */
  psi: Threshold;
  /** Share of impressions whose model got no input. */
  missing: Threshold;
  /** Share of values outside the training histogram's range. */
  out_of_range: Threshold;
  /** Share of recommended items the model does not know (catalogue drift). */
  unknown_items: Threshold;
  /** Fewer observations than this in a window: no verdict ("no_data"). */
  min_count: number;
}

/** Defaults: the usual PSI rule of thumb (0.1 / 0.25), generous shares for missing inputs (cold starts are normal). */
export const DEFAULT_DRIFT_SETTINGS: DriftSettings = {
  psi: { watch: 0.1, act: 0.25 },
  missing: { watch: 0.5, act: 0.8 },
  out_of_range: { watch: 0.01, act: 0.05 },
  unknown_items: { watch: 0.1, act: 0.3 },
  min_count: 50,
};

/** The status of `value` under `t` (NaN or null: no data). */
export function classify(value: number | null, t: Threshold): Status {
  if (value === null || !Number.isFinite(value)) return "no_data";
  return value >= t.act ? "act" : value >= t.watch ? "watch" : "fine";
}

/** The worst of several statuses (no_data only when every one is no_data). */
export function worst(statuses: Status[]): Status {
  const order: Status[] = ["act", "watch", "fine"];
  for (const s of order) if (statuses.includes(s)) return s;
  return "no_data";
}
