import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { KEY_HEADER } from "../auth/tenant";
import { VISITOR_HEADER } from "../auth/visitor";
import type { AppEnv } from "./types";

/**
 * CORS for configured storefront origins only. A preflight carries no key, so it
 * is allowed for any tenant's origin; `tenantAuth` then checks the actual
 * request's origin against its own tenant.
 */
export function storefrontCors(): MiddlewareHandler<AppEnv> {
  return cors({
    origin: (origin, c) => ((c.get("config")?.allOrigins.has(origin) ?? false) ? origin : null),
    allowMethods: ["GET", "POST", "OPTIONS"],
    allowHeaders: ["content-type", "authorization", KEY_HEADER, VISITOR_HEADER, "x-edgewise-variant"],
    exposeHeaders: [VISITOR_HEADER, "x-edgewise-variant", "x-request-id", "server-timing", "retry-after"],
    credentials: true,
    maxAge: 600,
  });
}
