/**
 * The string whose keyed hash (HMAC-SHA256 hex under PII_SECRET) names a
 * visitor's erasure marker. Shared by the worker, which writes markers, and the
 * offline replay, which honours them; platform-free.
 */
export function markerSubject(tenant: string, visitorId: string): string {
  return `erased-visitor:${tenant}:${visitorId}`;
}
