import * as v from "valibot";
import { DEFAULT_DRIFT_SETTINGS, type DriftSettings } from "../drift/status";

const Share = v.pipe(v.number(), v.minValue(0), v.maxValue(1));
const ThresholdSchema = (max: v.GenericSchema<number>) =>
  v.pipe(
    v.strictObject({ watch: max, act: max }),
    v.check((t) => t.watch <= t.act, "watch must not exceed act"),
  );

/** `PUT /admin/api/settings`: any subset of the drift thresholds. */
export const DriftSettingsPatchSchema = v.strictObject({
  psi: v.optional(ThresholdSchema(v.pipe(v.number(), v.minValue(0), v.maxValue(100)))),
  missing: v.optional(ThresholdSchema(Share)),
  out_of_range: v.optional(ThresholdSchema(Share)),
  unknown_items: v.optional(ThresholdSchema(Share)),
  min_count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000))),
});
export type DriftSettingsPatch = v.InferOutput<typeof DriftSettingsPatchSchema>;

/** Stored settings merged over the defaults (a stored document from an older version keeps working). */
export function mergeSettings(stored: unknown, patch: DriftSettingsPatch = {}): DriftSettings {
  const base = v.safeParse(DriftSettingsPatchSchema, stored);
  return { ...DEFAULT_DRIFT_SETTINGS, ...(base.success ? base.output : {}), ...patch } as DriftSettings;
}
