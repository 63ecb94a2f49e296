/**
 * SQLite schema of a SessionDO. One row in `session` holds the identity, the
 * sequence counter and the feature state; `seen` is the idempotency index;
 * `outbox_messages` holds applied events, packed as queue messages (one per
 * request, design 0014), until the queue has accepted them. Objects created
 * before packing may still have an `outbox` table of one event per row: it is
 * drained first and dropped. The served lists are one row (`served_lists`, design
 * 0027); `impressions` (one row per list) is what objects created before hold, read
 * and emptied by their next write.
 */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS session (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  tenant TEXT NOT NULL,
  visitor_id TEXT NOT NULL,
  next_seq INTEGER NOT NULL,
  last_received_at INTEGER NOT NULL,
  state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seen (
  event_id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_received_at ON seen (received_at);
CREATE TABLE IF NOT EXISTS history (
  seq INTEGER PRIMARY KEY,
  event TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_messages (
  seq INTEGER PRIMARY KEY,
  events INTEGER NOT NULL,
  message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS served_lists (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS impressions (
  impression_id TEXT PRIMARY KEY,
  served_at INTEGER NOT NULL,
  data TEXT NOT NULL
);
`;

/** Impressions kept per visitor for attribution, and for how long. */
export const IMPRESSIONS_LIMIT = 50;
export const ATTRIBUTION_WINDOW_MS = 24 * 3600 * 1000;

/** Recent events kept per visitor for `GET /v1/session` and debugging. */
export const HISTORY_LIMIT = 100;
/** Recent events returned by `GET /v1/session`. */
export const SNAPSHOT_RECENT = 20;
/**
 * Event ids are remembered this long after receipt. An event may be at most
 * 30 days old when accepted and at most 24 h ahead of the server, so a replay
 * arriving after this horizon is already rejected as too old: no duplicate can
 * slip through once its id is forgotten.
 */
export const DEDUP_HORIZON_MS = 31 * 24 * 3600 * 1000;
/** The older per-event outbox table (see SCHEMA_SQL). */
export const LEGACY_OUTBOX = "outbox";
/** How often an object prunes ids older than DEDUP_HORIZON_MS from `seen` (not on every request). */
export const SEEN_PRUNE_EVERY_MS = 3600 * 1000;
/** Delay before the alarm retries forwarding events the queue refused. */
export const OUTBOX_RETRY_MS = 15_000;
