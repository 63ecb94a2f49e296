import * as v from "valibot";

const ModelId = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,62}\/[A-Za-z0-9._-]{1,32}$/, "model ids look like name/version"));
const VariantName = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,32}$/));

/** Serving parameters a variant may set. */
export const VariantParamsSchema = v.object({
  /** At most this many items per category in one list (0 = no limit). */
  max_per_category: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 0),
  /** Leave out items the visitor already bought. */
  exclude_purchased: v.optional(v.boolean(), true),
  /** How strongly a signed-in customer's long-term category affinity re-ranks the list (0 = not at all). */
  profile_affinity_weight: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(10)), 0.5),
});

const VariantSchema = v.object({
  name: VariantName,
  weight: v.pipe(v.number(), v.minValue(0)),
  model: v.nullable(ModelId),
  params: v.optional(VariantParamsSchema, {}),
});

/**
 * `tenants/<tenant>/experiments.json` in the MODELS bucket: the model serving
 * by default, and optionally one experiment whose variants split traffic.
 */
export const ExperimentConfigSchema = v.object({
  default_model: v.nullable(ModelId),
  experiment: v.optional(
    v.pipe(
      v.object({ name: VariantName, salt: v.pipe(v.string(), v.minLength(1)), variants: v.pipe(v.array(VariantSchema), v.minLength(1)) }),
      v.check((e) => e.variants.some((x) => x.weight > 0), "at least one variant needs a positive weight"),
      v.check((e) => new Set(e.variants.map((x) => x.name)).size === e.variants.length, "variant names must be unique"),
    ),
  ),
});

export type ExperimentConfig = v.InferOutput<typeof ExperimentConfigSchema>;
export type Variant = v.InferOutput<typeof VariantSchema>;
export type VariantParams = v.InferOutput<typeof VariantParamsSchema>;
/** The parameters of a variant that sets none. */
export const DEFAULT_VARIANT_PARAMS: VariantParams = v.parse(VariantParamsSchema, {});

/** Parses a tenant config; throws a readable error on a malformed one. */
export function parseTenantConfig(raw: unknown): ExperimentConfig {
  const parsed = v.safeParse(ExperimentConfigSchema, raw);
  if (!parsed.success) throw new Error(`experiments.json: ${v.summarize(parsed.issues).split("\n")[0]}`);
  return parsed.output;
}

/** R2 key of a tenant's experiment config. */
export function tenantConfigKey(tenant: string): string {
  return `tenants/${tenant}/experiments.json`;
}
