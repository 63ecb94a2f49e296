import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../http/errors";
import type { AppEnv } from "../../http/types";

/**
 * The admin API answers backends (no Origin) and the worker's own dashboard
 * (same origin). Browsers send Origin on the dashboard's POSTs; it is dropped
 * here so that `tenantAuth`'s storefront-origin check does not refuse the
 * worker's own page. Any other origin — a storefront included — is refused.
 */
export function adminOrigin(): MiddlewareHandler<AppEnv> {
  return async function adminOrigin(c, next) {
    const origin = c.req.header("origin");
    if (origin !== undefined) {
      if (origin !== new URL(c.req.url).origin) throw new ApiError(403, "forbidden_origin", "The admin API takes calls from backends and its own dashboard only");
      const headers = new Headers(c.req.raw.headers);
      headers.delete("origin");
      c.req.raw = new Request(c.req.raw, { headers });
    }
    await next();
  };
}
