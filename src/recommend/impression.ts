import { EVENT_SCHEMA_VERSION, type ImpressionMessage } from "../events/types";
import type { Logger } from "../http/log";
import type { StoredImpression } from "../session/attribution";
import { sessionStub } from "../session/stub";

/**
 * Logs a served list: to the central queue (training and experiment analysis
 * read the exact feature vector the model saw) and to the visitor's SessionDO
 * (so later clicks, add-to-carts and purchases carry their attribution). Runs
 * after the response; a failure is logged, never thrown.
 */
export async function logImpression(env: Env, message: ImpressionMessage, hasSession: boolean, log: Logger, central = true): Promise<void> {
  const stored: StoredImpression = {
    impression_id: message.impression_id,
    served_at: message.served_at,
    experiment: message.experiment,
    variant: message.variant,
    model: message.model,
    items: message.items.map((i) => i.item_id),
  };
  const results = await Promise.allSettled([
    // Without analytics consent (or with Sec-GPC) the list is not logged centrally.
    central ? env.EVENTS.send(message, { contentType: "json" }) : Promise.resolve(),
    hasSession ? sessionStub(env, message.tenant, message.visitor_id).recordImpression(stored) : Promise.resolve(),
  ]);
  for (const r of results) {
    if (r.status === "rejected") {
      log.warn("impression_log_failed", { impression_id: message.impression_id, error: r.reason instanceof Error ? r.reason.message : String(r.reason) });
    }
  }
}

/** Builds the impression message of a served list. */
export function impressionMessage(fields: Omit<ImpressionMessage, "kind" | "schema_version">): ImpressionMessage {
  return { kind: "impression", schema_version: EVENT_SCHEMA_VERSION, ...fields };
}
