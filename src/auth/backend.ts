import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "../http/errors";
import { limitByAddress } from "../http/rate-limit";
import type { AppEnv } from "../http/types";
import { verifyTenantToken } from "./jwt";
import type { Principal, Scope } from "./scopes";

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * Requires a tenant-signed JWT (`Authorization: Bearer …`) holding every listed
 * scope: 401 `missing_token` / `invalid_token`, 403 `insufficient_scope`. Runs
 * after `tenantAuth()`, so the token is checked against that tenant's keys only:
 * shop A's token is worthless at shop B.
 */
export function backendAuth(...scopes: Scope[]): MiddlewareHandler<AppEnv> {
  return async function backendAuth(c, next) {
    const principal = await readPrincipal(c);
    if (!principal) throw new ApiError(401, "missing_token", "Send a token signed by the shop: Authorization: Bearer <JWT>");
    requireScopes(principal, scopes);
    c.set("principal", principal);
    await next();
  };
}

/** Verifies a bearer token when one is sent (browser calls need none); a bad one is still a 401. */
export function optionalToken(): MiddlewareHandler<AppEnv> {
  return async function optionalToken(c, next) {
    c.set("principal", await readPrincipal(c));
    await next();
  };
}

/** Throws 403 `insufficient_scope` unless the principal holds every scope. */
export function requireScopes(principal: Principal, scopes: Scope[]): void {
  const missing = scopes.filter((s) => !principal.scopes.has(s));
  if (missing.length > 0) throw new ApiError(403, "insufficient_scope", `The token lacks the scope ${missing.join(", ")}`);
}

async function readPrincipal(c: Context<AppEnv>): Promise<Principal | null> {
  const header = c.req.header("authorization");
  if (header === undefined) return null;
  const tenant = c.get("tenant");
  try {
    const m = BEARER.exec(header);
    if (!m) throw new ApiError(401, "invalid_token", "Authorization must be 'Bearer <JWT>'");
    return await verifyTenantToken(m[1]!, tenant, c.get("config").jwtSecrets.get(tenant.id));
  } catch (err) {
    // A call with a token skips the per-address limit (the shop's backend has many visitors behind
    // one address); a token that does not verify proves nothing, so the attempt counts after all.
    await limitByAddress(c, { credentialed: false });
    throw err;
  }
}
