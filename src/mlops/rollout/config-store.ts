import { type ExperimentConfig, parseTenantConfig, tenantConfigKey } from "../../experiments/config";

/** A tenant's experiment config as read from R2, with its etag for a conditional write. */
export interface StoredConfig {
  config: ExperimentConfig | null;
  etag: string | null;
  /** Set when the stored document does not parse (serving falls back; admins must fix it). */
  invalid: string | null;
}

/** Reads `tenants/<tenant>/experiments.json` uncached (admin and rollout decisions need the latest). */
export async function readTenantConfig(bucket: R2Bucket, tenant: string): Promise<StoredConfig> {
  const obj = await bucket.get(tenantConfigKey(tenant));
  if (!obj) return { config: null, etag: null, invalid: null };
  try {
    return { config: parseTenantConfig(await obj.json()), etag: obj.etag, invalid: null };
  } catch (err) {
    return { config: null, etag: obj.etag, invalid: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Writes a tenant's config, validated by the worker's own parser. With `etag`,
 * only if the object is unchanged since it was read: `false` means someone else
 * wrote it in between (the caller reports a conflict instead of clobbering it).
 */
export async function writeTenantConfig(bucket: R2Bucket, tenant: string, config: ExperimentConfig, etag: string | null): Promise<boolean> {
  const body = JSON.stringify(parseTenantConfig(config), null, 2);
  const written = await bucket.put(tenantConfigKey(tenant), body, {
    httpMetadata: { contentType: "application/json" },
    ...(etag ? { onlyIf: { etagMatches: etag } } : {}),
  });
  return written !== null;
}

/** Variant → weight of the config's experiment, or null. */
export function weightsOf(config: ExperimentConfig | null): Record<string, number> | null {
  const exp = config?.experiment;
  return exp ? Object.fromEntries(exp.variants.map((x) => [x.name, x.weight])) : null;
}
