/**
 * Per-isolate cache of JSON documents kept in R2 (tenant configs, catalogs).
 * An entry is revalidated after `ttlMs` with a conditional GET on its etag, so a
 * published change takes effect without a redeploy while an unchanged catalog
 * is neither downloaded nor parsed again. Concurrent readers share one fetch,
 * joined through `awaitShared` (design 0030).
 */
import { type SharedLoad, awaitShared, isAbandoned, shareLoad } from "./shared-load";

/** How long a request waits for a read another request started (one R2 GET and a parse). */
const READ_MAX_MS = 10_000;

interface Entry<T> {
  at: number;
  /** The etag of the object read, once the read has it. */
  object: { etag: string | null };
  value: SharedLoad<T | null>;
}

const cache = new Map<string, Entry<unknown>>();

/** Reads `key` from `bucket`, parsed by `parse`, revalidated every `ttlMs`; `null` when the object does not exist. */
export function cachedJson<T>(bucket: R2Bucket, key: string, ttlMs: number, parse: (raw: unknown) => T): Promise<T | null> {
  const now = Date.now();
  const hit = cache.get(key) as Entry<T> | undefined;
  const live = hit && !isAbandoned(hit.value) ? hit : undefined;
  if (live && now - live.at < ttlMs) return awaitShared(live.value);
  const object: Entry<T>["object"] = { etag: null };
  const value = (async () => {
    // The previous read, perhaps another request's and still in flight, gives the etag to revalidate.
    const known = live ? await awaitShared(live.value).catch(() => null) : null;
    const obj = await bucket.get(key, live?.object.etag && known !== null ? { onlyIf: { etagDoesNotMatch: live.object.etag } } : undefined);
    if (!obj) return null;
    object.etag = obj.etag;
    // A failed precondition returns the object's metadata without a body: unchanged.
    if (!("body" in obj)) return known;
    return parse(await obj.json());
  })();
  const entry: Entry<T> = { at: now, object, value: shareLoad(value, READ_MAX_MS) };
  cache.set(key, entry as Entry<unknown>);
  // A failed read is not cached: the next request tries again.
  value.catch(() => cache.get(key) === entry && cache.delete(key));
  return value;
}
