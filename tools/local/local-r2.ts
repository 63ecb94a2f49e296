/**
 * Node access to the local R2 buckets that `npm run dev` uses (Miniflare's
 * persistence under .wrangler/state/v3/r2): tools read the local event log and
 * publish to the local model registry without starting the worker, and without
 * paying wrangler's start-up per object.
 */
import { Miniflare } from "miniflare";

/** The folder wrangler dev persists R2 buckets in. */
export const LOCAL_R2_PERSIST = ".wrangler/state/v3/r2";

/** A bucket as the tools use it (the subset of R2Bucket they need). */
export interface LocalBucket {
  put(key: string, value: Uint8Array | string, options?: { httpMetadata?: { contentType?: string } }): Promise<unknown>;
  get(key: string): Promise<{ text(): Promise<string>; arrayBuffer(): Promise<ArrayBuffer> } | null>;
  list(options?: { prefix?: string; cursor?: string }): Promise<{ objects: Array<{ key: string; size: number }>; truncated: boolean; cursor?: string }>;
}

/** Runs `fn` with the named local bucket (persisted under `persist`), then shuts the simulator down. */
export async function withLocalBucket<T>(bucketName: string, fn: (bucket: LocalBucket) => Promise<T>, persist = LOCAL_R2_PERSIST): Promise<T> {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 404 }) } }",
    r2Buckets: { BUCKET: bucketName },
    r2Persist: persist,
  });
  try {
    const bucket = (await mf.getR2Bucket("BUCKET")) as unknown as LocalBucket;
    return await fn(bucket);
  } finally {
    await mf.dispose();
  }
}

/** Runs `fn` with several local buckets of one simulator (one Miniflare per persist folder at a time). */
export async function withLocalBuckets<T>(names: readonly string[], fn: (buckets: LocalBucket[]) => Promise<T>, persist = LOCAL_R2_PERSIST): Promise<T> {
  const bindings = Object.fromEntries(names.map((n, i) => [`B${i}`, n]));
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 404 }) } }",
    r2Buckets: bindings,
    r2Persist: persist,
  });
  try {
    const buckets = await Promise.all(names.map(async (_, i) => (await mf.getR2Bucket(`B${i}`)) as unknown as LocalBucket));
    return await fn(buckets);
  } finally {
    await mf.dispose();
  }
}

/** Every key under `prefix`, following list cursors. */
export async function listAll(bucket: LocalBucket, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys;
}
