import { base64UrlEncode, hmacBase64Url, hmacKey } from "../auth/crypto";

/**
 * Segment keys people by `anonymousId` (or `userId`); we key sessions by a visitor id.
 * The visitor id of a Segment message is an HMAC of tenant and anonymous id under the
 * visitor secret: the same id for analytics.js in the browser and analytics-node on the
 * server, worthless at another tenant, and not reversible to the anonymous id.
 */
export async function segmentVisitorId(secret: string, tenantId: string, who: { anonymousId?: string; userId?: string }): Promise<string> {
  const subject = who.anonymousId !== undefined ? `a:${who.anonymousId}` : `u:${who.userId}`;
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(`segment.${tenantId}.${subject}`));
  // 16 bytes of the MAC, in the visitor-id format (22 base64url characters).
  return base64UrlEncode(new Uint8Array(mac).slice(0, 16));
}

/** The visitor token (`v1.<id>.<sig>`, as `src/auth/visitor.ts` issues) for a derived visitor id. */
export async function segmentVisitorToken(secret: string, tenantId: string, visitorId: string): Promise<string> {
  return `v1.${visitorId}.${await hmacBase64Url(secret, `${tenantId}.${visitorId}`)}`;
}
