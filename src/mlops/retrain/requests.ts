import type { RetrainRequest } from "../../contracts/queue";
import type { ModelDrift, RetrainRequestInfo } from "../monitor/dashboard-data";

/** A model at "act" asks for a retrain at most once per window: the UTC day. */
export const RETRAIN_WINDOW_MS = 86_400_000;
/** Drift is judged for retrain requests at most this often (after an ingest with served lists), unless DRIFT_CHECK_SECONDS says otherwise. */
export const DRIFT_CHECK_MS = 10 * 60_000;

/**
 * The interval DRIFT_CHECK_SECONDS configures (0: after every ingest with served lists; a
 * missing or bad value: {@link DRIFT_CHECK_MS}). A check with too few lists to judge still
 * counts: the interval bounds the alarm's work, whatever the check found.
 */
export function driftCheckMs(env: Partial<Pick<Env, "DRIFT_CHECK_SECONDS">>): number {
  const s = env.DRIFT_CHECK_SECONDS === undefined || env.DRIFT_CHECK_SECONDS === "" ? Number.NaN : Number(env.DRIFT_CHECK_SECONDS);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : DRIFT_CHECK_MS;
}

/** Where requests go: the RETRAIN queue, a webhook, or nowhere (recorded for the dashboard only). */
export type RetrainChannel = "queue" | "webhook" | "off";

/** Delivers one request; throws when it could not (it is sent again at the next check of its window). */
export type Notify = (request: RetrainRequest) => Promise<void>;

/** The channel configured by RETRAIN_NOTIFY / RETRAIN_WEBHOOK_URL (an unknown value or a webhook without a URL: off). */
export function retrainChannel(env: Pick<Env, "RETRAIN_NOTIFY" | "RETRAIN_WEBHOOK_URL">): RetrainChannel {
  if (env.RETRAIN_NOTIFY === "webhook") return env.RETRAIN_WEBHOOK_URL ? "webhook" : "off";
  return env.RETRAIN_NOTIFY === "queue" ? "queue" : "off";
}

/** The delivery function of a channel (null for "off"). */
export function notifier(channel: RetrainChannel, env: Pick<Env, "RETRAIN" | "RETRAIN_WEBHOOK_URL">): Notify | null {
  if (channel === "queue") {
    return async (r) => {
      await env.RETRAIN.send(r, { contentType: "json" });
    };
  }
  if (channel === "webhook") {
    return async (r) => {
      const res = await fetch(env.RETRAIN_WEBHOOK_URL, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(r) });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`webhook answered ${res.status}`);
    };
  }
  return null;
}

/** The requests `drift` calls for at `now`: one per model whose drift is at "act", for the current window. */
export function requestsFor(tenant: string, drift: readonly ModelDrift[], now: number): RetrainRequest[] {
  const from = Math.floor(now / RETRAIN_WINDOW_MS) * RETRAIN_WINDOW_MS;
  return drift
    .filter((d) => d.status === "act")
    .map((d) => ({
      kind: "retrain_requested",
      schema_version: 1,
      id: `${tenant}:${d.model}:${from}`,
      tenant,
      model: d.model,
      window: { from, to: from + RETRAIN_WINDOW_MS },
      requested_at: now,
      reasons: reasonsOf(d),
    }));
}

function reasonsOf(d: ModelDrift): string[] {
  const f = (x: number | null, pct = false) => (x === null ? "–" : pct ? `${(100 * x).toFixed(1)} %` : x.toFixed(3));
  const out = [...d.inputs, d.prediction]
    .filter((i) => i.status === "act")
    .map((i) => `${i.label}: PSI ${f(i.psi)}, missing ${f(i.missing_share, true)}, out of range ${f(i.out_of_range_share, true)}`);
  if (d.catalogue.status === "act") out.push(`recommended items the model does not know: ${f(d.catalogue.unknown_share, true)}`);
  return out.slice(0, 50).map((r) => r.slice(0, 300));
}

/**
 * The MonitorDO's table of retrain requests: one row per model and window, inserted
 * before the request is sent (so a check that runs again never asks twice) and marked
 * sent or failed after; failed and unsent rows of the current window are sent again.
 */
export class RetrainRequests {
  constructor(private readonly sql: SqlStorage) {}

  /** Records new requests (a model already asked in this window is left as it is). */
  add(requests: readonly RetrainRequest[], channel: RetrainChannel): void {
    for (const r of requests) {
      this.sql.exec(
        "INSERT OR IGNORE INTO retrain_requests (id, model, window_from, requested_at, status, channel, error, doc) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
        r.id,
        r.model,
        r.window.from,
        r.requested_at,
        channel === "off" ? "recorded" : "pending",
        channel,
        JSON.stringify(r),
      );
    }
  }

  /** Requests of the window at `now` still to deliver. */
  unsent(now: number): RetrainRequest[] {
    const from = Math.floor(now / RETRAIN_WINDOW_MS) * RETRAIN_WINDOW_MS;
    return this.sql
      .exec<{ doc: string }>("SELECT doc FROM retrain_requests WHERE window_from = ? AND status IN ('pending', 'failed') ORDER BY requested_at", from)
      .toArray()
      .map((r) => JSON.parse(r.doc) as RetrainRequest);
  }

  mark(id: string, status: "sent" | "failed", error: string | null = null): void {
    this.sql.exec("UPDATE retrain_requests SET status = ?, error = ?, sent_at = ? WHERE id = ?", status, error, Date.now(), id);
  }

  /** The latest requests, newest first. */
  list(limit = 50): RetrainRequestInfo[] {
    return this.sql
      .exec<{ id: string; model: string; window_from: number; requested_at: number; status: RetrainRequestInfo["status"]; channel: RetrainChannel; error: string | null; doc: string }>(
        "SELECT id, model, window_from, requested_at, status, channel, error, doc FROM retrain_requests ORDER BY requested_at DESC LIMIT ?",
        limit,
      )
      .toArray()
      .map((r) => ({
        id: r.id,
        model: r.model,
        window_from: r.window_from,
        requested_at: r.requested_at,
        status: r.status,
        channel: r.channel,
        error: r.error,
        reasons: (JSON.parse(r.doc) as RetrainRequest).reasons,
        outcome: null,
      }));
  }

  /** Drops requests older than `before`. */
  prune(before: number): void {
    this.sql.exec("DELETE FROM retrain_requests WHERE requested_at < ?", before);
  }
}
