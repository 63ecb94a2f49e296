import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { ApiError } from "../http/errors";
import { limitByAddress, limitByVisitor } from "../http/rate-limit";
import type { AppEnv } from "../http/types";
import { base64UrlEncode, hmacBase64Url, hmacVerify } from "./crypto";

/** Cookie and header that carry the signed visitor token. */
export const VISITOR_COOKIE = "ew_vid";
export const VISITOR_HEADER = "x-edgewise-visitor";
const COOKIE_MAX_AGE_S = 400 * 24 * 3600; // browsers cap cookie lifetime at 400 days
const TOKEN = /^v1\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/**
 * Issues a visitor token `v1.<id>.<sig>`: a random 128-bit id and an HMAC over
 * tenant and id, so a token from one tenant is worthless at another.
 */
export async function issueVisitorToken(secret: string, tenantId: string): Promise<{ id: string; token: string }> {
  const id = base64UrlEncode(crypto.getRandomValues(new Uint8Array(16)));
  return { id, token: `v1.${id}.${await sign(secret, tenantId, id)}` };
}

/** Verifies a visitor token; returns the visitor id or `null` when forged, tampered or malformed. */
export async function verifyVisitorToken(secret: string, tenantId: string, token: string): Promise<string | null> {
  const m = TOKEN.exec(token);
  if (!m) return null;
  const [, id, sig] = m as unknown as [string, string, string];
  return (await hmacVerify(secret, `${tenantId}.${id}`, sig)) ? id : null;
}

function sign(secret: string, tenantId: string, id: string): Promise<string> {
  return hmacBase64Url(secret, `${tenantId}.${id}`);
}

/**
 * Resolves the visitor from the header or cookie, within the rate limits (per
 * client address first, then per visitor: src/http/rate-limit.ts). A missing token gets a new one
 * (returned as cookie and header); a bad token is refused with 401 and the cookie
 * cleared, so a browser holding a stale token recovers on its next call.
 */
export function visitorIdentity(): MiddlewareHandler<AppEnv> {
  return async function visitorIdentity(c, next) {
    await limitByAddress(c);
    await resolveVisitor(c);
    await next();
  };
}

/**
 * Sets the request's visitor from its signed token (header, else cookie), or issues a
 * new one; a bad token is a 401 with the cookie cleared. Counts the request against
 * the per-visitor limit. For callers that are not plain middleware chains (the Segment
 * API's browser sources).
 */
export async function resolveVisitor(c: Context<AppEnv>): Promise<string> {
  const { visitorSecret } = c.get("config");
  const tenant = c.get("tenant");
  const presented = c.req.header(VISITOR_HEADER) ?? getCookie(c, VISITOR_COOKIE);
  if (presented) {
    const id = await verifyVisitorToken(visitorSecret, tenant.id, presented);
    if (!id) {
      setCookie(c, VISITOR_COOKIE, "", { ...cookieOptions(c), maxAge: 0 });
      throw new ApiError(401, "invalid_visitor", "The visitor token is invalid; drop it and call again to get a new one");
    }
    await limitByVisitor(c, id);
    c.set("visitorId", id);
    c.set("visitorIssued", false);
    c.header(VISITOR_HEADER, presented);
    return id;
  }
  const issued = await issueVisitorToken(visitorSecret, tenant.id);
  c.set("visitorId", issued.id);
  c.set("visitorIssued", true);
  c.header(VISITOR_HEADER, issued.token);
  setCookie(c, VISITOR_COOKIE, issued.token, { ...cookieOptions(c), maxAge: COOKIE_MAX_AGE_S });
  return issued.id;
}

function cookieOptions(c: Context<AppEnv>) {
  // Secure cookies are dropped by browsers on plain http://localhost during development.
  const secure = new URL(c.req.url).protocol === "https:";
  return { path: "/", httpOnly: true, secure, sameSite: "Lax" as const };
}
