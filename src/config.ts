import * as v from "valibot";
import { ApiError } from "./http/errors";
import { type LogLevel, parseLogLevel } from "./http/log";

const SYMMETRIC = ["HS256", "HS384", "HS512"] as const;
const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"] as const;

/**
 * How a tenant signs its JWTs. Algorithms are pinned and never mix HMAC with
 * public-key ones, which rules out HS/RS confusion by construction. HMAC secrets
 * come from the `JWT_SECRETS` secret, public keys from an inline JWKS or a JWKS URL.
 */
const TenantAuthSchema = v.pipe(
  v.strictObject({
    issuer: v.pipe(v.string(), v.minLength(1)),
    audience: v.pipe(v.string(), v.minLength(1)),
    algorithms: v.pipe(v.array(v.picklist([...SYMMETRIC, ...ASYMMETRIC])), v.minLength(1)),
    jwks: v.optional(v.object({ keys: v.pipe(v.array(v.record(v.string(), v.unknown())), v.minLength(1)) })),
    jwks_url: v.optional(v.pipe(v.string(), v.url(), v.startsWith("https://"))),
  }),
  v.check((a) => a.algorithms.every((x) => x.startsWith("HS")) || a.algorithms.every((x) => !x.startsWith("HS")), "auth.algorithms must be all HMAC (HS*) or all public-key, never mixed"),
  v.check((a) => a.algorithms[0]!.startsWith("HS") || a.jwks !== undefined || a.jwks_url !== undefined, "public-key algorithms need auth.jwks or auth.jwks_url"),
);

const TenantSchema = v.strictObject({
  // Tenant ids end up in Durable Object names and R2 keys: keep them path-safe.
  id: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "tenant id must match [a-z0-9][a-z0-9_-]{0,62}")),
  origins: v.optional(v.array(v.pipe(v.string(), v.url())), []),
  auth: v.optional(TenantAuthSchema),
  /**
   * Before a visitor declares consent: `opt-in` (the default) stores and uses nothing;
   * `opt-out` treats both purposes as granted until withdrawn — only where that is lawful.
   */
  consent: v.optional(v.picklist(["opt-in", "opt-out"]), "opt-in"),
});
const TenantsSchema = v.record(v.pipe(v.string(), v.minLength(8)), TenantSchema);

/** A tenant as configured: its id, the storefront origins CORS allows, and how its JWTs are verified. */
export type TenantConfig = v.InferOutput<typeof TenantSchema>;

/** The worker's parsed configuration. */
export interface Config {
  tenantsByKey: Map<string, TenantConfig>;
  /** Union of every tenant's origins: preflight requests carry no key. */
  allOrigins: Set<string>;
  sessionTtlMs: number;
  sessionGapMs: number;
  /** How long an isolate caches tenant configs, catalogs and trending lists. */
  registryRefreshMs: number;
  logLevel: LogLevel;
  visitorSecret: string;
  piiSecret: string;
  /** Names the PII_SECRET generation; recorded with every pseudonym so a key rotation knows what to re-hash. */
  piiKeyId: string;
  /** Per-tenant HMAC secrets for HS* tokens (`JWT_SECRETS`). */
  jwtSecrets: Map<string, string>;
  /** Identity and profile keys expire this long after their last write. */
  profileTtlMs: number;
  /** Budget for one profile-store call on the request path. */
  profileTimeoutMs: number;
  /** How long after an erasure the event-log purge runs (in-flight batches finish first). */
  erasurePurgeDelayS: number;
  /** Upstash REST endpoint and token; `null` selects the embedded Durable Object store. */
  upstash: { url: string; token: string } | null;
}

const cache = new WeakMap<object, Config>();

/** Parses and caches the configuration of an `Env`; a bad configuration is a 500 `misconfigured`. */
export function loadConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const config = parse(env);
  cache.set(env, config);
  return config;
}

function parse(env: Env): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(env.TENANTS ?? "{}");
  } catch {
    throw misconfigured("TENANTS is not valid JSON");
  }
  const tenants = v.safeParse(TenantsSchema, raw);
  if (!tenants.success) throw misconfigured(`TENANTS: ${v.summarize(tenants.issues)}`);
  const tenantsByKey = new Map(Object.entries(tenants.output));
  const allOrigins = new Set([...tenantsByKey.values()].flatMap((t) => t.origins));
  const jwtSecrets = parseJwtSecrets(env.JWT_SECRETS);
  for (const t of tenantsByKey.values()) {
    if (t.auth?.algorithms[0]?.startsWith("HS") && !jwtSecrets.has(t.id)) throw misconfigured(`tenant ${t.id} signs with HMAC but JWT_SECRETS has no secret for it`);
  }
  return {
    tenantsByKey,
    allOrigins,
    sessionTtlMs: seconds(env.SESSION_TTL_SECONDS, "SESSION_TTL_SECONDS", 2_592_000) * 1000,
    sessionGapMs: seconds(env.SESSION_GAP_SECONDS, "SESSION_GAP_SECONDS", 1800) * 1000,
    registryRefreshMs: seconds(env.REGISTRY_REFRESH_SECONDS, "REGISTRY_REFRESH_SECONDS", 30, true) * 1000,
    logLevel: parseLogLevel(env.LOG_LEVEL),
    visitorSecret: secret(env.VISITOR_SECRET, "VISITOR_SECRET"),
    piiSecret: secret(env.PII_SECRET, "PII_SECRET"),
    piiKeyId: keyId(env.PII_KEY_ID),
    jwtSecrets,
    profileTtlMs: seconds(env.PROFILE_TTL_SECONDS, "PROFILE_TTL_SECONDS", 34_560_000) * 1000,
    profileTimeoutMs: seconds(env.PROFILE_TIMEOUT_MS, "PROFILE_TIMEOUT_MS", 150),
    upstash: upstash(env.UPSTASH_REDIS_REST_URL, env.UPSTASH_REDIS_REST_TOKEN),
    erasurePurgeDelayS: seconds(env.ERASURE_PURGE_DELAY_SECONDS, "ERASURE_PURGE_DELAY_SECONDS", 60, true),
  };
}

function seconds(value: string | undefined, name: string, fallback: number, zeroOk = false): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || (n === 0 && !zeroOk)) throw misconfigured(`${name} must be a positive integer number of seconds`);
  return n;
}

function secret(value: string | undefined, name: string): string {
  // Short secrets make HMACs guessable; refuse to run rather than sign with one.
  if (!value || value.length < 32) throw misconfigured(`${name} must be set and at least 32 characters long`);
  return value;
}

function keyId(value: string | undefined): string {
  if (value === undefined || value === "") return "1";
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(value)) throw misconfigured("PII_KEY_ID must be 1–16 characters [A-Za-z0-9_-]");
  return value;
}

function upstash(url: string | undefined, token: string | undefined): Config["upstash"] {
  if (!url) return null;
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw misconfigured("UPSTASH_REDIS_REST_URL must be an http(s) URL");
  if (!token) throw misconfigured("UPSTASH_REDIS_REST_URL is set but UPSTASH_REDIS_REST_TOKEN is not");
  return { url: url.replace(/\/+$/, ""), token };
}

function parseJwtSecrets(value: string | undefined): Map<string, string> {
  if (!value) return new Map();
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    throw misconfigured("JWT_SECRETS is not valid JSON");
  }
  const parsed = v.safeParse(v.record(v.string(), v.pipe(v.string(), v.minLength(32))), raw);
  if (!parsed.success) throw misconfigured("JWT_SECRETS must map tenant ids to secrets of at least 32 characters");
  return new Map(Object.entries(parsed.output));
}

function misconfigured(message: string): ApiError {
  return new ApiError(500, "misconfigured", `Server misconfigured: ${message}`);
}
