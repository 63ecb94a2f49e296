/**
 * SQLite schema of a SessionDO. One row in `session` holds the identity, the
 * SQLite schema of a SessionDO. One row in `session` holds the identity, the
 * sequence counter and the feature state. The idempotency index has two levels,
 * one packed row of ids per request (`seen_recent`) merged in bulk into
 * `seen_merged`; `history_batches` keeps the recent events, one row per request
 * (design 0026). `outbox_messages` holds packed queue messages (one per request,
 * design 0014) only when the queue refused them, until it takes them. Older
 * objects may still hold an `outbox` table of one event per row (drained first,
 * then dropped) and `seen` / `history` tables of one row per event (moved into
 * the packed tables once, LEGACY_SQL). The served lists are one row
 * (`served_lists`, design 0027); `impressions` (one row per list) is what objects
 * created before hold, read and emptied by their next write.
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
CREATE TABLE IF NOT EXISTS seen_recent (
  seq INTEGER PRIMARY KEY,
  received_at INTEGER NOT NULL,
  ids TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seen_merged (
  seq INTEGER PRIMARY KEY,
  newest INTEGER NOT NULL,
  ids TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history_batches (
  seq INTEGER PRIMARY KEY,
  last INTEGER NOT NULL,
  events TEXT NOT NULL
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

/**
 * Moves the per-event `seen` and `history` tables of objects created before design 0026
 * into the packed tables (ids in chunks well under the 2 MB row limit), then drops them.
 */
export const LEGACY_SQL = `
INSERT INTO seen_merged (seq, newest, ids) SELECT min(seq), max(received_at), json_group_array(event_id) FROM seen GROUP BY seq / 10000;
DROP TABLE seen;
INSERT INTO history_batches (seq, last, events) SELECT min(seq), max(seq), json_group_array(json_array(seq, json(event))) FROM (SELECT seq, event FROM history ORDER BY seq) GROUP BY seq >= 0;
DROP TABLE history;
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
/** How often an object prunes ids older than DEDUP_HORIZON_MS (not on every request). */
export const SEEN_PRUNE_EVERY_MS = 3600 * 1000;
/** Packed rows of `seen_recent` merged into one `seen_merged` row at a time. */
export const SEEN_MERGE_AT = 64;
/** Merged ids held in memory at most; past it the merged level is searched in SQLite. */
export const DEDUP_MEMORY_IDS = 200_000;
/** Delay before the alarm retries forwarding events the queue refused. */
export const OUTBOX_RETRY_MS = 15_000;
