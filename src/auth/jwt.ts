import { type JWTPayload, type JWTVerifyGetKey, createLocalJWKSet, createRemoteJWKSet, jwtVerify } from "jose";
import type { TenantConfig } from "../config";
import { ApiError } from "../http/errors";
import { CUSTOMER_SCOPES, MAX_CUSTOMER_ID_LENGTH, type Principal, type Scope, parseScopes } from "./scopes";

/** Longer tokens are refused before parsing: a JWT carrying scopes and a subject is far below this. */
export const MAX_TOKEN_LENGTH = 8192;
/** Clock tolerance for `exp`/`nbf`/`iat`, in seconds (the issue's ceiling). */
const CLOCK_TOLERANCE_S = 60;

type KeySource = Uint8Array | JWTVerifyGetKey;
const keyCache = new WeakMap<TenantConfig, KeySource>();

/**
 * Verifies a tenant-signed JWT: algorithms pinned to the tenant's list, `exp`,
 * `aud` and `iss` required, ≤ 60 s clock tolerance. Any failure — jose's own
 * errors and the plain `TypeError`s it throws for key/algorithm mismatches — is a
 * 401 `invalid_token`, never a 500.
 */
export async function verifyTenantToken(token: string, tenant: TenantConfig, hsSecret: string | undefined): Promise<Principal> {
  const auth = tenant.auth;
  if (!auth) throw new ApiError(401, "invalid_token", "This tenant has no token issuer configured");
  if (token.length > MAX_TOKEN_LENGTH) throw new ApiError(401, "invalid_token", `Token longer than ${MAX_TOKEN_LENGTH} characters`);
  let payload: JWTPayload;
  try {
    const key = keySource(tenant, hsSecret);
    const options = {
      algorithms: auth.algorithms,
      issuer: auth.issuer,
      audience: auth.audience,
      requiredClaims: ["exp", "sub"],
      clockTolerance: CLOCK_TOLERANCE_S,
    };
    // Two call shapes only so TypeScript picks the right overload.
    payload = (key instanceof Uint8Array ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options)).payload;
  } catch (err) {
    throw new ApiError(401, "invalid_token", `Token rejected: ${reason(err)}`);
  }
  return principalOf(payload);
}

/**
 * Reads the claims we act on, each type-checked: `sub` a string; `scope` a string or
 * `scp` an array of strings; `customer_id`, when present, a non-empty string of at most
 * 256 characters (its presence makes a customer token); `email` and `device_id`, when
 * present, strings. Anything else is a 401 `invalid_token`: a malformed claim never
 * falls back to a more powerful kind of token.
 */
export function principalOf(payload: JWTPayload): Principal {
  const bad = (claim: string, why: string): never => {
    throw new ApiError(401, "invalid_token", `Token rejected: claim ${claim} ${why}`);
  };
  if (typeof payload.sub !== "string" || payload.sub.length === 0 || payload.sub.length > 1024) bad("sub", "must be a non-empty string");
  if (payload.scope !== undefined && typeof payload.scope !== "string") bad("scope", "must be a space-separated string");
  if (payload.scp !== undefined && (!Array.isArray(payload.scp) || !payload.scp.every((s) => typeof s === "string"))) bad("scp", "must be an array of strings");
  const scopes = parseScopes(payload.scope, payload.scp);
  if (!("customer_id" in payload)) return { kind: "backend", subject: payload.sub as string, scopes, customerId: null };
  const customerId = payload.customer_id;
  if (typeof customerId !== "string" || customerId.length === 0) bad("customer_id", "must be a non-empty string");
  if ((customerId as string).length > MAX_CUSTOMER_ID_LENGTH) bad("customer_id", `is longer than ${MAX_CUSTOMER_ID_LENGTH} characters`);
  const optionalText = (claim: "email" | "device_id", max: number): string | null => {
    const value = payload[claim];
    if (value === undefined) return null;
    if (typeof value !== "string" || value.length === 0 || value.length > max) bad(claim, `must be a string of 1-${max} characters`);
    return value as string;
  };
  // A token a storefront holds can never carry backend powers, whatever its issuer put in it.
  const customerScopes = new Set<Scope>([...scopes].filter((s) => CUSTOMER_SCOPES.has(s)));
  return {
    kind: "customer",
    subject: payload.sub as string,
    scopes: customerScopes,
    customerId: customerId as string,
    proven: { email: optionalText("email", 320), deviceId: optionalText("device_id", 128) },
  };
}

function keySource(tenant: TenantConfig, hsSecret: string | undefined): KeySource {
  const hit = keyCache.get(tenant);
  if (hit) return hit;
  const auth = tenant.auth!;
  let key: KeySource;
  if (auth.algorithms.every((a) => a.startsWith("HS"))) {
    if (!hsSecret) throw new TypeError("no HMAC secret configured for this tenant");
    key = new TextEncoder().encode(hsSecret);
  } else if (auth.jwks) {
    key = createLocalJWKSet(auth.jwks as Parameters<typeof createLocalJWKSet>[0]);
  } else {
    key = createRemoteJWKSet(new URL(auth.jwks_url!), { timeoutDuration: 2000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  }
  keyCache.set(tenant, key);
  return key;
}

function reason(err: unknown): string {
  // jose's codes are stable (ERR_JWT_EXPIRED, ERR_JWS_SIGNATURE_VERIFICATION_FAILED, …); anything else is malformed input.
  if (err && typeof err === "object" && "code" in err && typeof err.code === "string") {
    const message = err instanceof Error ? err.message : "";
    return `${err.code}${message ? ` (${message.slice(0, 120)})` : ""}`;
  }
  return "malformed token";
}
