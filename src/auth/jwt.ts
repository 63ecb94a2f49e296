import { type JWTPayload, type JWTVerifyGetKey, createLocalJWKSet, createRemoteJWKSet, jwtVerify } from "jose";
import type { TenantConfig } from "../config";
import { ApiError } from "../http/errors";
import { CUSTOMER_SCOPES, type Principal, parseScopes } from "./scopes";

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
  const customerId = typeof payload.customer_id === "string" && payload.customer_id.length > 0 ? payload.customer_id.slice(0, 256) : null;
  let scopes = parseScopes(payload.scope, payload.scp);
  // A token a storefront holds can never carry backend powers, whatever its issuer put in it.
  if (customerId !== null) scopes = new Set([...scopes].filter((s) => CUSTOMER_SCOPES.has(s)));
  return { kind: customerId === null ? "backend" : "customer", subject: String(payload.sub), scopes, customerId };
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
