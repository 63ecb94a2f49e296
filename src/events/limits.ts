/** Request and event limits; the README's limits table mirrors these numbers. */
export const LIMITS = {
  /** Bytes of one event, measured as its compact JSON in UTF-8. */
  maxEventBytes: 32 * 1024,
  /** Bytes of one request body. */
  maxRequestBytes: 500 * 1024,
  /** Events in one request. */
  maxEventsPerRequest: 500,
  /** How far in the future an event timestamp may be (clock skew). */
  maxFutureMs: 24 * 3600 * 1000,
  /** How old an event may be (offline buffering in the SDK). */
  maxAgeMs: 30 * 24 * 3600 * 1000,
} as const;
