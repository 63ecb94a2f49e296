import type { MiddlewareHandler } from "hono";
import { scrubFreeText } from "../privacy/scrub";
import type { AppEnv } from "./types";

const CLIENT_REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A client's `X-Request-Id` goes into every log line of the request, so it is kept
 * only when it is a short token with nothing PII-shaped in it (a phone number is
 * `[\w-]` too); otherwise the request gets an id of ours. Runs after Hono's
 * `requestId()`, which already bounds the length and the alphabet.
 */
export function clientRequestIdCheck(): MiddlewareHandler<AppEnv> {
  return async function clientRequestIdCheck(c, next) {
    const id = c.get("requestId");
    if (!CLIENT_REQUEST_ID.test(id) || scrubFreeText(id) !== id) {
      const ours = crypto.randomUUID();
      c.set("requestId", ours);
      c.header("x-request-id", ours);
    }
    await next();
  };
}

/** Headers every API answer carries: JSON is never sniffed as HTML or script. */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async function securityHeaders(c, next) {
    await next();
    c.header("x-content-type-options", "nosniff");
  };
}
