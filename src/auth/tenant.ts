import type { MiddlewareHandler } from "hono";
import type { TenantConfig } from "../config";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/types";

/** The tenant a request acts for, resolved from its publishable key. */
export type Tenant = TenantConfig;

/** Header carrying the publishable key; `?key=` works too for beacons that cannot set headers. */
export const KEY_HEADER = "x-edgewise-key";

/**
 * Resolves the tenant from its publishable key, and refuses browser calls from an
 * origin that is not one of the tenant's storefronts. Publishable keys are public
 * identifiers (they ship in storefront JavaScript), so a map lookup is fine here;
 * the secrets that prove identity are the signed visitor id and, later, JWTs.
 */
export function tenantAuth(): MiddlewareHandler<AppEnv> {
  return async function tenantAuth(c, next) {
    const key = c.req.header(KEY_HEADER) ?? c.req.query("key");
    if (!key) throw new ApiError(401, "missing_key", `Send the publishable key in the ${KEY_HEADER} header`);
    const tenant = c.get("config").tenantsByKey.get(key);
    if (!tenant) throw new ApiError(401, "unknown_key", "Unknown publishable key");
    const origin = c.req.header("origin");
    // Pages this worker serves itself (the demo shop at `/`) are same-origin, not a storefront to configure.
    if (origin && !tenant.origins.includes(origin) && origin !== new URL(c.req.url).origin) {
      throw new ApiError(403, "forbidden_origin", "This origin is not a configured storefront of the tenant");
    }
    c.set("tenant", tenant);
    await next();
  };
}
