import type { MiddlewareHandler } from "hono";
import { loadConfig } from "../config";
import { routePath } from "hono/route";
import { createLogger } from "./log";
import type { AppEnv } from "./types";

/**
 * Loads configuration and a request-scoped logger, and writes one access-log
 * line per request: method, route pattern, status and duration; never bodies, IPs
 * or ids that identify a person. The pattern (`/v1/subjects/:subject`), not the
 * path: paths carry identifiers (erasure requests name the person to forget), and
 * scrubbing an attacker-sized path cost more CPU than the request.
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async function requestContext(c, next) {
    const start = performance.now();
    c.set("timings", []);
    const config = loadConfig(c.env);
    const log = createLogger(config.logLevel, { request_id: c.get("requestId") });
    c.set("config", config);
    c.set("log", log);
    await next();
    log.info("request", {
      method: c.req.method,
      // The route pattern, never the raw path (see above).
      path: c.res.status === 404 && !matched(c) ? "(no route)" : routePath(c, -1),
      status: c.res.status,
      duration_ms: Math.round((performance.now() - start) * 10) / 10,
    });
  };
}

/** Whether a handler (not only the catch-all middleware) matched the request. */
function matched(c: Parameters<MiddlewareHandler<AppEnv>>[0]): boolean {
  return !routePath(c, -1).endsWith("*");
}
