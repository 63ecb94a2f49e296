import type { Config } from "../config";
import { profileStore } from "../profile/select";

const DAY = 86_400_000;

/** R2 event-log classes and how long each lives (the sweep deletes older objects; an audit lists any that escaped). */
export const LOG_RETENTION = [
  { prefix: "events/", days: 400, what: "event log (training, replay)" },
  { prefix: "impressions/", days: 400, what: "impression log (experiments, drift)" },
  { prefix: "dead-letter/", days: 30, what: "dead letters (operator inspection)" },
  // Markers must outlive every queue message they drop (retention ≤ 14 days, plus retries)
  // and every copy of the log they filter offline: a log line lives 400 days, so does its marker.
  { prefix: "erasures/", subprefix: "/visitors/", days: 400, what: "erasure markers (drop late messages; training skips the subject)" },
  { prefix: "erasures/", subprefix: "/receipts/", days: 400, what: "erasure receipts (no identifiers; proof of erasure)" },
] as const;

type Rule = (typeof LOG_RETENTION)[number];

/** The rule an event-log key falls under, or `null` when none does (the audit reports it). */
export function ruleFor(key: string): Rule | null {
  return LOG_RETENTION.find((r) => key.startsWith(r.prefix) && (!("subprefix" in r) || key.includes(r.subprefix))) ?? null;
}

/** One store's retention check. */
export interface StoreAudit {
  store: string;
  mechanism: string;
  items: number;
  /** Things with no expiry at all: must be empty. */
  without_expiry: string[];
  /** Things past their expiry that the sweep has not removed yet (a day of grace). */
  overdue: string[];
}

/** Lists, for one tenant, everything stored without an expiry or past it. */
export async function auditRetention(
  env: Env,
  config: Config,
  tenant: string,
  now = Date.now(),
): Promise<{ tenant: string; checked_at: number; stores: StoreAudit[]; without_expiry: number; overdue: number }> {
  const stores: StoreAudit[] = [];

  const log: StoreAudit = { store: "r2:EVENT_LOG", mechanism: "daily sweep (scheduled handler) by object age and class", items: 0, without_expiry: [], overdue: [] };
  for (const prefix of [`events/tenant=${tenant}/`, `impressions/tenant=${tenant}/`, `erasures/tenant=${tenant}/`, "dead-letter/"]) {
    await eachObject(env.EVENT_LOG, prefix, (o) => {
      log.items++;
      const rule = ruleFor(o.key);
      if (!rule) log.without_expiry.push(o.key);
      else if (o.uploaded.getTime() + (rule.days + 1) * DAY < now) log.overdue.push(o.key);
    });
  }
  stores.push(log);

  const profiles = profileStore(env, config);
  const keys = await profiles.audit(tenant);
  stores.push({
    store: `profile:${profiles.backend}`,
    mechanism: profiles.backend === "upstash" ? "Redis TTL on every key" : "expires_at on every row + purge alarm",
    items: keys.keys,
    without_expiry: keys.without_expiry,
    overdue: [],
  });
  if (profiles.backend === "durable-object") {
    const s = await env.PROFILES.getByName(`tenant:${tenant}`).retentionStatus();
    stores.push(alarmAudit("do:ProfileDO", "purge alarm at the next expiry", s.empty ? 0 : 1, s.empty, s.alarm));
  }
  const trending = await env.TRENDING.getByName(tenant).retentionStatus();
  stores.push(alarmAudit("do:TrendingDO", "deletes itself a week after the last event", trending.empty ? 0 : 1, trending.empty, trending.alarm));
  const fresh = await env.FRESH.getByName(tenant).retentionStatus();
  stores.push(alarmAudit("do:FreshDO", "deletes itself a week after the last view; a visitor's items are forgotten a visit gap after their last view", fresh.empty ? 0 : 1, fresh.empty, fresh.alarm));
  const monitor = await env.MONITOR.getByName(tenant).retentionStatus();
  stores.push(alarmAudit("do:MonitorDO", "hourly tables 14 d, dedup keys 3 d, idle experiments 90 d; daily prune alarm", 1, false, monitor.alarm, true));
  stores.push({
    store: "do:SessionDO",
    mechanism: "expiry alarm set in every ingest transaction (SESSION_TTL_SECONDS after the last event); not enumerable, tested by construction",
    items: 0,
    without_expiry: [],
    overdue: [],
  });
  return {
    tenant,
    checked_at: now,
    stores,
    without_expiry: stores.reduce((n, s) => n + s.without_expiry.length, 0),
    overdue: stores.reduce((n, s) => n + s.overdue.length, 0),
  };
}

function alarmAudit(store: string, mechanism: string, items: number, empty: boolean, alarm: number | null, idleOk = false): StoreAudit {
  // An object with data needs an alarm; an empty one needs none. The monitor prunes on ingest too,
  // so before its first batch (no alarm yet) it holds nothing to expire.
  const missing = !empty && alarm === null && !idleOk;
  return { store, mechanism, items, without_expiry: missing ? [`${store}: no alarm`] : [], overdue: [] };
}

/** Deletes event-log objects past their class's retention (the scheduled handler runs it daily). */
export async function sweepEventLog(bucket: R2Bucket, now = Date.now()): Promise<{ scanned: number; deleted: number }> {
  let scanned = 0;
  const doomed: string[] = [];
  for (const prefix of ["events/", "impressions/", "dead-letter/", "erasures/"]) {
    await eachObject(bucket, prefix, (o) => {
      scanned++;
      const rule = ruleFor(o.key);
      if (rule && o.uploaded.getTime() + rule.days * DAY < now) doomed.push(o.key);
    });
  }
  for (let i = 0; i < doomed.length; i += 1000) await bucket.delete(doomed.slice(i, i + 1000));
  return { scanned, deleted: doomed.length };
}

async function eachObject(bucket: R2Bucket, prefix: string, fn: (o: R2Object) => void): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor });
    for (const o of page.objects) fn(o);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
}
