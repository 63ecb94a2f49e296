import * as v from "valibot";
import type { Principal } from "../auth/scopes";
import type { Config, TenantConfig } from "../config";
import { ApiError } from "../http/errors";

/**
 * Who a Segment call speaks for. `browser`: the write key is the tenant's publishable
 * key (it ships in analytics.js), so it holds no scopes; `server`: the tenant's secret
 * Segment write key (`SEGMENT_WRITE_KEYS`), which may send identify and Order Completed.
 */
export type SegmentSource = { tenant: TenantConfig; kind: "browser"; principal: null } | { tenant: TenantConfig; kind: "server"; principal: Principal };

const WriteKeysSchema = v.record(v.pipe(v.string(), v.minLength(1)), v.pipe(v.string(), v.minLength(32)));
const cache = new WeakMap<object, Array<{ tenantId: string; digest: Promise<ArrayBuffer> }>>();

function writeKeys(env: Env): Array<{ tenantId: string; digest: Promise<ArrayBuffer> }> {
  const hit = cache.get(env);
  if (hit) return hit;
  let raw: unknown = {};
  try {
    raw = env.SEGMENT_WRITE_KEYS ? JSON.parse(env.SEGMENT_WRITE_KEYS) : {};
  } catch {
    throw new ApiError(500, "misconfigured", "Server misconfigured: SEGMENT_WRITE_KEYS is not valid JSON");
  }
  const parsed = v.safeParse(WriteKeysSchema, raw);
  if (!parsed.success) throw new ApiError(500, "misconfigured", "Server misconfigured: SEGMENT_WRITE_KEYS must map tenant ids to secrets of at least 32 characters");
  const keys = Object.entries(parsed.output).map(([tenantId, key]) => ({ tenantId, digest: sha256(key) }));
  cache.set(env, keys);
  return keys;
}

function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

/** The write key of a request: Basic auth user name (Segment's clients), else the body's `writeKey`. */
export function presentedWriteKey(authorization: string | undefined, bodyWriteKey: unknown): string | null {
  if (authorization !== undefined) {
    const m = /^Basic\s+([A-Za-z0-9+/=]{1,1024})$/i.exec(authorization);
    if (!m) throw new ApiError(401, "unknown_key", "Authorization must be 'Basic base64(<write key>:)'");
    let decoded: string;
    try {
      decoded = atob(m[1]!);
    } catch {
      throw new ApiError(401, "unknown_key", "Authorization is not valid base64");
    }
    const user = decoded.split(":")[0]!;
    if (user !== "") return user;
  }
  return typeof bodyWriteKey === "string" && bodyWriteKey !== "" ? bodyWriteKey : null;
}

/**
 * Resolves a write key: a publishable key is a browser source (public, a map lookup);
 * anything else is compared with every tenant's secret write key in constant time
 * (SHA-256 digests through `timingSafeEqual`, no early exit).
 */
export async function resolveWriteKey(env: Env, config: Config, key: string | null): Promise<SegmentSource> {
  if (key === null) throw new ApiError(401, "missing_key", "Send the write key as the Basic auth user name (Segment's clients do)");
  if (key.length > 256) throw new ApiError(401, "unknown_key", "Unknown write key");
  const browser = config.tenantsByKey.get(key);
  if (browser) return { tenant: browser, kind: "browser", principal: null };
  const presented = await sha256(key);
  let match: string | null = null;
  for (const entry of writeKeys(env)) {
    if (crypto.subtle.timingSafeEqual(presented, await entry.digest)) match = entry.tenantId;
  }
  const tenant = match === null ? undefined : [...config.tenantsByKey.values()].find((t) => t.id === match);
  if (!tenant) throw new ApiError(401, "unknown_key", "Unknown write key");
  return {
    tenant,
    kind: "server",
    principal: { kind: "backend", subject: "segment-write-key", scopes: new Set(["events:write", "identify"]), customerId: null },
  };
}
