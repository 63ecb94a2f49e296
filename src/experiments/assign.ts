import { DEFAULT_VARIANT_PARAMS, type ExperimentConfig, type Variant } from "./config";

/** Buckets per 100 %: weights are resolved to 1/10,000 of traffic. */
const BUCKETS = 10_000;

/** The variant serving a request and how it was chosen. */
export interface Assignment {
  experiment: string | null;
  variant: Variant;
  /** `header`: forced by X-Edgewise-Variant; `bucket`: hashed; `default`: no experiment. */
  via: "header" | "bucket" | "default";
}

/** Outcome of an assignment attempt: a forced name that does not exist is data, not an exception. */
export type AssignResult = { ok: true; assignment: Assignment } | { ok: false; unknownVariant: string; known: string[] };

/**
 * Chooses the variant: a forced name (the header) wins; otherwise a
 * deterministic hash of (experiment salt, unit id) picks a weighted bucket, so
 * a visitor keeps the same variant on every request and every edge location.
 */
export function assignVariant(config: ExperimentConfig | null, unitId: string, forced: string | undefined): AssignResult {
  const exp = config?.experiment;
  if (!exp) {
    const variant: Variant = { name: "default", weight: 1, model: config?.default_model ?? null, params: DEFAULT_VARIANT_PARAMS };
    if (forced !== undefined && forced !== "default") return { ok: false, unknownVariant: forced, known: ["default"] };
    return { ok: true, assignment: { experiment: null, variant, via: "default" } };
  }
  if (forced !== undefined) {
    const variant = exp.variants.find((x) => x.name === forced);
    if (!variant) return { ok: false, unknownVariant: forced, known: exp.variants.map((x) => x.name) };
    return { ok: true, assignment: { experiment: exp.name, variant, via: "header" } };
  }
  return { ok: true, assignment: { experiment: exp.name, variant: bucketVariant(exp.variants, exp.salt, unitId), via: "bucket" } };
}

/** The weighted bucket of `unitId` under `salt`. */
export function bucketVariant(variants: Variant[], salt: string, unitId: string): Variant {
  const total = variants.reduce((s, x) => s + x.weight, 0);
  const bucket = hash32(`${salt}:${unitId}`) % BUCKETS;
  let upper = 0;
  for (const variant of variants) {
    upper += (variant.weight / total) * BUCKETS;
    if (bucket < upper) return variant;
  }
  return variants.filter((x) => x.weight > 0).at(-1)!; // rounding at the top edge
}

/** FNV-1a over UTF-16 code units, finished with MurmurHash3's fmix32 for avalanche. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
