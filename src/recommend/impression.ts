import { EVENT_SCHEMA_VERSION } from "../contracts/events";
import type { ImpressionMessage } from "../contracts/queue";
import type { Logger } from "../http/log";
import type { StoredImpression } from "../session/attribution";
import { MAX_LINES_PER_MESSAGE, chunkForSendBatch, packLines, sendSerialised } from "../pipeline/pack";
import { IMPRESSIONS_LIMIT } from "../session/schema";
import { sessionStub } from "../session/stub";

/** How long a served list may wait in the isolate before it is sent (queue) and recorded (SessionDO). */
export const IMPRESSION_FLUSH_MS = 200;
/** Visitors with unrecorded lists an isolate holds before it flushes at once (bounds memory). */
const MAX_PENDING_VISITORS = 1000;

interface PendingSession {
  tenant: string;
  visitorId: string;
  impressions: StoredImpression[];
}

// Per isolate. Impressions may be lost (an evicted isolate drops at most one
// flush window); events never pass through here. Messages are kept serialised.
const pendingMessages: Array<{ tenant: string; json: string }> = [];
const pendingSessions = new Map<string, PendingSession>();
let flushScheduledAt = 0;

/**
 * Logs a served list: to the central queue (training and experiment analysis
 * read the exact feature vector the model saw) and to the visitor's SessionDO
 * (so later clicks, add-to-carts and purchases carry their attribution). Never
 * blocks the response and never throws.
 *
 * Both are batched per isolate (designs 0010, 0019): the lists of a flush window go out
 * packed into line-batch messages (design 0014), and a visitor's lists
 * ride along with their next `features()` or `ingest` call (see
 * `takePendingImpressions`); whatever is left is flushed after
 * `IMPRESSION_FLUSH_MS` in the `waitUntil` of the request that opened the window.
 */
export function logImpression(ctx: Pick<ExecutionContext, "waitUntil">, env: Env, message: ImpressionMessage, hasSession: boolean, log: Logger, central = true): void {
  // Without analytics consent (or with Sec-GPC) the list is not logged centrally.
  if (central) pendingMessages.push({ tenant: message.tenant, json: JSON.stringify(message) });
  if (hasSession) {
    const key = sessionKey(message.tenant, message.visitor_id);
    const pending = pendingSessions.get(key) ?? { tenant: message.tenant, visitorId: message.visitor_id, impressions: [] };
    pending.impressions.push(storedImpression(message));
    if (pending.impressions.length > IMPRESSIONS_LIMIT) pending.impressions.shift();
    pendingSessions.set(key, pending);
  }
  const now = Date.now();
  if (pendingMessages.length >= MAX_LINES_PER_MESSAGE || pendingSessions.size >= MAX_PENDING_VISITORS) {
    ctx.waitUntil(flushImpressions(env, log));
  } else if (now - flushScheduledAt > 10 * IMPRESSION_FLUSH_MS) {
    // Not "scheduled" as a boolean: a flush whose request context was cancelled must not stall the buffer.
    flushScheduledAt = now;
    ctx.waitUntil(scheduler.wait(IMPRESSION_FLUSH_MS).then(() => flushImpressions(env, log)));
  }
}

/**
 * Lists served to this visitor that their SessionDO has not recorded yet; the
 * caller hands them to `features()` or `ingest` (one round trip instead of two).
 */
export function takePendingImpressions(tenant: string, visitorId: string): StoredImpression[] {
  const key = sessionKey(tenant, visitorId);
  const pending = pendingSessions.get(key);
  if (!pending) return [];
  pendingSessions.delete(key);
  return pending.impressions;
}

/** Sends and records everything pending in this isolate; failures are logged (impressions may be lost). */
export async function flushImpressions(env: Env, log: Logger): Promise<void> {
  flushScheduledAt = 0;
  const messages = pendingMessages.splice(0);
  const sessions = [...pendingSessions.values()];
  pendingSessions.clear();
  const results = await Promise.allSettled([
    ...chunkForSendBatch(packByTenant(messages)).map((chunk) => sendSerialised(env.EVENTS, chunk)),
    ...sessions.map((p) => sessionStub(env, p.tenant, p.visitorId).recordImpressions(p.impressions)),
  ]);
  for (const r of results) {
    if (r.status === "rejected") log.warn("impression_log_failed", { error: r.reason instanceof Error ? r.reason.message : String(r.reason) });
  }
}

function storedImpression(message: ImpressionMessage): StoredImpression {
  return {
    impression_id: message.impression_id,
    served_at: message.served_at,
    experiment: message.experiment,
    variant: message.variant,
    model: message.model,
    items: message.items.map((i) => i.item_id),
  };
}

/** Packs serialised impression messages into line batches, one tenant per batch. */
function packByTenant(messages: Array<{ tenant: string; json: string }>): Array<{ json: string }> {
  const byTenant = new Map<string, string[]>();
  for (const m of messages) (byTenant.get(m.tenant) ?? byTenant.set(m.tenant, []).get(m.tenant)!).push(m.json);
  return [...byTenant].flatMap(([tenant, lines]) => packLines(tenant, lines));
}

function sessionKey(tenant: string, visitorId: string): string {
  return `${tenant}:${visitorId}`;
}

/** Builds the impression message of a served list. */
export function impressionMessage(fields: Omit<ImpressionMessage, "kind" | "schema_version">): ImpressionMessage {
  return { kind: "impression", schema_version: EVENT_SCHEMA_VERSION, ...fields };
}
