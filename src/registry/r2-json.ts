/**
 * Per-isolate cache of small JSON documents kept in R2 (tenant configs,
 * catalogs). Each entry is re-read after `ttlMs`, so changes published to R2
 * take effect without a redeploy; concurrent readers share one fetch.
 */
interface Entry<T> {
  at: number;
  value: Promise<T | null>;
}

const cache = new Map<string, Entry<unknown>>();

/** Reads `key` from `bucket`, parsed by `parse`, cached for `ttlMs`; `null` when the object does not exist. */
export function cachedJson<T>(bucket: R2Bucket, key: string, ttlMs: number, parse: (raw: unknown) => T): Promise<T | null> {
  const now = Date.now();
  const hit = cache.get(key) as Entry<T> | undefined;
  if (hit && now - hit.at < ttlMs) return hit.value;
  const value = (async () => {
    const obj = await bucket.get(key);
    return obj ? parse(await obj.json()) : null;
  })();
  cache.set(key, { at: now, value });
  // A failed read is not cached: the next request tries again.
  value.catch(() => cache.delete(key));
  return value;
}
