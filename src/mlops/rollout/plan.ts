import * as v from "valibot";
import { DEFAULT_VARIANT_PARAMS, type ExperimentConfig } from "../../experiments/config";
import { type GuardRails, GuardRailsSchema } from "./guard-rails";

const ModelId = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,62}\/[A-Za-z0-9._-]{1,32}$/, "model ids look like name/version"));

/** `POST /admin/api/rollouts`: the model to roll out, its traffic steps (percent) and guard rails. */
export const StartRolloutSchema = v.strictObject({
  model: ModelId,
  steps: v.optional(
    v.pipe(
      v.array(v.pipe(v.number(), v.minValue(0.01), v.maxValue(100))),
      v.minLength(1),
      v.maxLength(10),
      v.check((s) => s.every((x, i) => i === 0 || x > s[i - 1]!), "steps must increase"),
      v.check((s) => s.at(-1) === 100, "the last step must be 100"),
    ),
    [5, 25, 50, 100],
  ),
  guard_rails: v.optional(GuardRailsSchema, {}),
  /** Promote to the next step automatically after this many canary impressions within the guard rails (null: by hand). */
  auto_promote_after: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1))), null),
});
export type StartRollout = v.InferOutput<typeof StartRolloutSchema>;

/** A rollout as stored. */
export interface Rollout {
  id: string;
  model: string;
  /** The model serving before the rollout (what a rollback returns to). */
  baseline: string | null;
  steps: number[];
  /** Index into `steps` of the current step. */
  step: number;
  status: "running" | "promoted" | "rolled_back";
  guard_rails: GuardRails;
  auto_promote_after: number | null;
  created_at: number;
  updated_at: number;
  reason: string | null;
}

/** The experiment name of a rollout step: counts (and the SRM check) restart at every step. */
export function stepExperiment(r: Pick<Rollout, "id" | "step">): string {
  return `${r.id}-s${r.step + 1}`;
}

/** The tenant config serving a rollout's current step: stable and canary split by the step's percentage. */
export function stepConfig(r: Rollout): ExperimentConfig {
  const p = r.steps[r.step]!;
  if (p >= 100) return { default_model: r.model };
  const params = DEFAULT_VARIANT_PARAMS;
  return {
    default_model: r.baseline,
    experiment: {
      name: stepExperiment(r),
      // One salt for the whole rollout: a visitor in the canary stays there as its share grows.
      salt: r.id,
      variants: [
        { name: "stable", weight: 100 - p, model: r.baseline, params },
        { name: "canary", weight: p, model: r.model, params },
      ],
    },
  };
}

/** The config after a rollback: the baseline model serves everyone. */
export function rolledBackConfig(r: Rollout): ExperimentConfig {
  return { default_model: r.baseline };
}

/**
 * The current experiment with new weights. Returns a problem (as data) for an
 * unknown or missing variant, or no positive weight.
 */
export function withWeights(config: ExperimentConfig | null, weights: Record<string, number>): { ok: true; config: ExperimentConfig } | { ok: false; message: string } {
  const exp = config?.experiment;
  if (!config || !exp) return { ok: false, message: "No experiment is running; there are no weights to change" };
  const names = exp.variants.map((x) => x.name);
  const unknown = Object.keys(weights).filter((n) => !names.includes(n));
  if (unknown.length > 0) return { ok: false, message: `Unknown variant ${unknown[0]}; variants: ${names.join(", ")}` };
  const missing = names.filter((n) => !(n in weights));
  if (missing.length > 0) return { ok: false, message: `Give a weight for every variant; missing: ${missing.join(", ")}` };
  if (!Object.values(weights).some((w) => w > 0)) return { ok: false, message: "At least one variant needs a positive weight" };
  return { ok: true, config: { ...config, experiment: { ...exp, variants: exp.variants.map((x) => ({ ...x, weight: weights[x.name]! })) } } };
}
