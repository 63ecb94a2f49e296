import type { Principal } from "../auth/scopes";
import type { Config, TenantConfig } from "../config";
import type { Logger } from "../http/log";
import type { ProfileStore } from "../profile/store";
import { takePendingImpressions } from "../recommend/impression";
import { sessionStub } from "../session/stub";
import type { IngestResult } from "../session/types";
import { EffectUnavailableError, applyEffects, planEffects } from "./effects";
import { type EventResult, prepareBatch } from "./prepare";

/** Who sends the batch and where it lands: built by the route from verified request state. */
export interface IngestContext {
  env: Env;
  config: Config;
  tenant: TenantConfig;
  /** From a verified visitor token (or derived by a verified source): names the SessionDO. */
  visitorId: string;
  principal: Principal | null;
  /** `Sec-GPC: 1` on the request. */
  gpc: boolean;
  store: ProfileStore;
  log: Logger;
  timed<T>(name: string, fn: () => Promise<T>): Promise<T>;
  waitUntil(p: Promise<unknown>): void;
}

/** The outcome of one batch: per-event results, or a store that could not take it (retry the same batch). */
export type IngestBatchOutcome = { ok: true; results: EventResult[] } | { ok: false; code: "session_unavailable" | "enqueue_failed" | "identity_unavailable"; message: string; retryAfterS: number };

/**
 * The one ingest path (`POST /v1/events` and the Segment API): prepare (validate,
 * authorize, pseudonymise), apply to the visitor's SessionDO (dedup, consent,
 * features, outbox), then the batch's effects on identity and profile. Idempotent:
 * a failed batch is retried whole and what was applied comes back `duplicate`.
 */
export async function ingestBatch(ctx: IngestContext, events: readonly unknown[], receivedAt: number, skewMs: number): Promise<IngestBatchOutcome> {
  const { tenant, visitorId, config } = ctx;
  const prepared = await ctx.timed("validate", () =>
    prepareBatch(events, { principal: ctx.principal, receivedAt, skewMs, tenantId: tenant.id, piiSecret: config.piiSecret, piiKeyId: config.piiKeyId }),
  );
  const results: EventResult[] = new Array(events.length);
  for (const r of prepared.rejected) results[r.index] = r;
  const { valid } = prepared;
  if (valid.length === 0) return { ok: true, results };

  const stub = sessionStub(ctx.env, tenant.id, visitorId);
  let session: IngestResult;
  try {
    session = await ctx.timed(
      "session",
      async (): Promise<IngestResult> =>
        stub.ingest(
          { tenant: tenant.id, visitorId },
          valid.map((x) => x.event),
          receivedAt,
          { mode: tenant.consent, gpc: ctx.gpc },
          takePendingImpressions(tenant.id, visitorId),
        ),
    );
  } catch (err) {
    ctx.log.warn("session_unavailable", { error: err instanceof Error ? err.message : String(err) });
    return { ok: false, code: "session_unavailable", message: "The session store is unavailable; retry the same batch", retryAfterS: 2 };
  }
  if (!session.ok) return { ok: false, code: "enqueue_failed", message: "Events could not be forwarded yet; retry the same batch (it is idempotent)", retryAfterS: 5 };
  session.outcomes.forEach((status, i) => {
    const { index, event } = valid[i]!;
    results[index] =
      status === "no_consent"
        ? { index, id: event.id, status: "rejected", code: "consent_required", message: "No consent for analytics or personalization: the event was not stored" }
        : status === "erased"
          ? { index, id: event.id, status: "rejected", code: "subject_erased", message: "This visitor was erased while the request was in flight: the event was dropped" }
          : { index, id: event.id, status };
  });

  const effects = planEffects(
    valid.map((x) => x.event),
    session.identified,
    session.withdrawn,
  );
  try {
    await applyEffects(effects, { store: ctx.store, tenant: tenant.id, visitorId, log: ctx.log, timed: ctx.timed, waitUntil: ctx.waitUntil });
  } catch (err) {
    if (err instanceof EffectUnavailableError) return { ok: false, code: err.code, message: err.message, retryAfterS: 2 };
    throw err;
  }
  return { ok: true, results };
}
