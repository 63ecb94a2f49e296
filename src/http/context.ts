import type { MiddlewareHandler } from "hono";
import { loadConfig } from "../config";
import { scrubFreeText } from "../privacy/scrub";
import { createLogger } from "./log";
import type { AppEnv } from "./types";

/**
 * Loads configuration and a request-scoped logger, and writes one access-log
 * line per request: method, route, status and duration; never bodies, IPs or ids
 * that identify a person.
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
      // A path may carry an identifier someone pasted into a URL: logged scrubbed.
      path: scrubFreeText(safeDecode(new URL(c.req.url).pathname)),
      status: c.res.status,
      duration_ms: Math.round((performance.now() - start) * 10) / 10,
    });
  };
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
