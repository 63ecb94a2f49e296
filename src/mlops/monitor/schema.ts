/**
 * MonitorDO tables. Hourly aggregates keep `RETENTION_HOURS`; dedup keys and
 * per-impression outcome flags keep `DEDUP_TTL_MS` (far beyond the queue's
 * redelivery and the 24 h attribution window); experiments idle for
 * `EXPERIMENT_TTL_MS` are dropped with their visitors. Everything else is a
 * handful of rows per model, rollout or setting.
 */
export const RETENTION_HOURS = 14 * 24;
export const DEDUP_TTL_MS = 3 * 86_400_000;
export const EXPERIMENT_TTL_MS = 90 * 86_400_000;
export const HISTORY_ROWS = 1000;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS seen_at ON seen (at);
CREATE TABLE IF NOT EXISTS imp_flags (impression_id TEXT PRIMARY KEY, at INTEGER NOT NULL,
  clicked INTEGER NOT NULL DEFAULT 0, carted INTEGER NOT NULL DEFAULT 0, purchased INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS imp_flags_at ON imp_flags (at);
CREATE TABLE IF NOT EXISTS exp_counts (experiment TEXT NOT NULL, variant TEXT NOT NULL,
  visitors INTEGER NOT NULL DEFAULT 0, impressions INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
  clicks INTEGER NOT NULL DEFAULT 0, add_to_carts INTEGER NOT NULL DEFAULT 0, purchases INTEGER NOT NULL DEFAULT 0,
  clicked_impressions INTEGER NOT NULL DEFAULT 0, carted_impressions INTEGER NOT NULL DEFAULT 0, purchased_impressions INTEGER NOT NULL DEFAULT 0,
  first_at INTEGER NOT NULL, last_at INTEGER NOT NULL, PRIMARY KEY (experiment, variant));
CREATE TABLE IF NOT EXISTS exp_units (experiment TEXT NOT NULL, visitor TEXT NOT NULL, variant TEXT NOT NULL, PRIMARY KEY (experiment, visitor));
CREATE TABLE IF NOT EXISTS exp_latency (experiment TEXT NOT NULL, variant TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (experiment, variant, bucket));
CREATE TABLE IF NOT EXISTS exp_weights (experiment TEXT PRIMARY KEY, weights TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS drift_bins (model TEXT NOT NULL, feature TEXT NOT NULL, hour INTEGER NOT NULL, bin INTEGER NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (model, feature, hour, bin));
CREATE INDEX IF NOT EXISTS drift_bins_hour ON drift_bins (hour);
CREATE TABLE IF NOT EXISTS drift_catalog (model TEXT NOT NULL, hour INTEGER NOT NULL, shown INTEGER NOT NULL, unknown INTEGER NOT NULL,
  PRIMARY KEY (model, hour));
CREATE TABLE IF NOT EXISTS pred_reference (model TEXT NOT NULL, bin INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (model, bin));
CREATE TABLE IF NOT EXISTS models_seen (model TEXT PRIMARY KEY, first_at INTEGER NOT NULL, last_at INTEGER NOT NULL, impressions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS serving (hour INTEGER NOT NULL, model TEXT NOT NULL, impressions INTEGER NOT NULL, errors INTEGER NOT NULL,
  PRIMARY KEY (hour, model));
CREATE TABLE IF NOT EXISTS serving_latency (hour INTEGER NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (hour, bucket));
CREATE TABLE IF NOT EXISTS received (hour INTEGER NOT NULL, type TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (hour, type));
CREATE TABLE IF NOT EXISTS rollouts (id TEXT PRIMARY KEY, doc TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS history (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, rollout TEXT, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS retrain_requests (id TEXT PRIMARY KEY, model TEXT NOT NULL, window_from INTEGER NOT NULL, requested_at INTEGER NOT NULL,
  status TEXT NOT NULL, channel TEXT NOT NULL, error TEXT, sent_at INTEGER, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;
