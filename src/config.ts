import * as v from "valibot";
import { ApiError } from "./http/errors";
import { type LogLevel, parseLogLevel } from "./http/log";

const TenantSchema = v.strictObject({
  // Tenant ids end up in Durable Object names and R2 keys: keep them path-safe.
  id: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "tenant id must match [a-z0-9][a-z0-9_-]{0,62}")),
  origins: v.optional(v.array(v.pipe(v.string(), v.url())), []),
});
const TenantsSchema = v.record(v.pipe(v.string(), v.minLength(8)), TenantSchema);

/** A tenant as configured: its id and the storefront origins CORS allows. */
export interface TenantConfig {
  id: string;
  origins: string[];
}

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
  return {
    tenantsByKey,
    allOrigins,
    sessionTtlMs: seconds(env.SESSION_TTL_SECONDS, "SESSION_TTL_SECONDS", 2_592_000) * 1000,
    sessionGapMs: seconds(env.SESSION_GAP_SECONDS, "SESSION_GAP_SECONDS", 1800) * 1000,
    registryRefreshMs: seconds(env.REGISTRY_REFRESH_SECONDS, "REGISTRY_REFRESH_SECONDS", 30, true) * 1000,
    logLevel: parseLogLevel(env.LOG_LEVEL),
    visitorSecret: secret(env.VISITOR_SECRET, "VISITOR_SECRET"),
    piiSecret: secret(env.PII_SECRET, "PII_SECRET"),
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

function misconfigured(message: string): ApiError {
  return new ApiError(500, "misconfigured", `Server misconfigured: ${message}`);
}
