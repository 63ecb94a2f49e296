import type { Context } from "hono";
import { ApiError } from "./errors";
import type { AppEnv } from "./types";

/** The window both limiters count over (wrangler.toml `period`), sent as Retry-After. */
export const RATE_LIMIT_PERIOD_S = 10;

/**
 * Counts one request against a Rate Limiting binding and throws 429 `rate_limited`
 * with Retry-After past the limit. A deployment without the binding is not limited
 * (the bench harness serves the bundle without it), and a failing limiter fails
 * open: limits bound abuse, they must never take the API down.
 */
async function limit(c: Context<AppEnv>, limiter: RateLimit | undefined, key: string, what: string): Promise<void> {
  if (!limiter) return;
  const outcome = await limiter.limit({ key }).catch((err: unknown) => {
    c.get("log").warn("rate_limiter_unavailable", { error: err instanceof Error ? err.message : String(err) });
    return { success: true };
  });
  if (outcome.success) return;
  c.get("log").info("rate_limited", { tenant: c.get("tenant").id, by: what });
  throw new ApiError(429, "rate_limited", `Too many requests from this ${what}; retry after ${RATE_LIMIT_PERIOD_S} s`, { "retry-after": String(RATE_LIMIT_PERIOD_S) });
}

/**
 * Per tenant + client IP (`CF-Connecting-IP`, which Cloudflare sets), for browser
 * calls. Calls carrying a token are the shop's backend — many visitors behind one
 * address — and prove themselves by the token instead (verified right after).
 */
export function limitByAddress(c: Context<AppEnv>, opts: { credentialed?: boolean } = {}): Promise<void> {
  const ip = c.req.header("cf-connecting-ip");
  // A Segment browser source's Basic auth carries only the publishable key: its caller says `credentialed: false`.
  if (!ip || (opts.credentialed ?? c.req.header("authorization") !== undefined)) return Promise.resolve();
  return limit(c, (c.env as Partial<Env>).IP_RATE_LIMIT, `${c.get("tenant").id}:ip:${ip}`, "client address");
}

/** Per tenant + verified visitor id. */
export function limitByVisitor(c: Context<AppEnv>, visitorId: string): Promise<void> {
  return limit(c, (c.env as Partial<Env>).VISITOR_RATE_LIMIT, `${c.get("tenant").id}:v:${visitorId}`, "visitor");
}
