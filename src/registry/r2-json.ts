/**
 * Per-isolate cache of JSON documents kept in R2 (tenant configs, catalogs).
 * An entry is revalidated after `ttlMs` with a conditional GET on its etag, so a
 * published change takes effect without a redeploy while an unchanged catalog
 * is neither downloaded nor parsed again. Concurrent readers share one fetch.
 */
interface Entry<T> {
  at: number;
  etag: string | null;
  value: Promise<T | null>;
}

const cache = new Map<string, Entry<unknown>>();

/** Reads `key` from `bucket`, parsed by `parse`, revalidated every `ttlMs`; `null` when the object does not exist. */
export function cachedJson<T>(bucket: R2Bucket, key: string, ttlMs: number, parse: (raw: unknown) => T): Promise<T | null> {
  const now = Date.now();
  const hit = cache.get(key) as Entry<T> | undefined;
  if (hit && now - hit.at < ttlMs) return hit.value;
  const entry: Entry<T> = { at: now, etag: null, value: Promise.resolve(null) };
  entry.value = (async () => {
    const known = hit ? await hit.value.catch(() => null) : null;
    const obj = await bucket.get(key, hit?.etag && known !== null ? { onlyIf: { etagDoesNotMatch: hit.etag } } : undefined);
    if (!obj) return null;
    entry.etag = obj.etag;
    // A failed precondition returns the object's metadata without a body: unchanged.
    if (!("body" in obj)) return known;
    return parse(await obj.json());
  })();
  cache.set(key, entry as Entry<unknown>);
  // A failed read is not cached: the next request tries again.
  entry.value.catch(() => cache.get(key) === entry && cache.delete(key));
  return entry.value;
}
