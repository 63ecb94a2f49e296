import { EVENT_SCHEMA_VERSION } from "../../contracts/events";
import type { EventMessage } from "../../contracts/queue";

/** Minutes between clicks and days between sessions when a dataset has no timestamps. */
const CLICK_GAP_MS = 60_000;
const SESSION_GAP_MS = 86_400_000;

/**
 * Turns item-id sessions (a dataset without timestamps, e.g. Diginetica) into
 * event-log lines — one visitor per session, one product view per click — so
 * datasets and the service's own log go through the same replay.
 */
export function sessionsToMessages(sessions: readonly (readonly string[])[], tenant = "dataset", start = Date.UTC(2020, 0, 1)): EventMessage[] {
  const out: EventMessage[] = [];
  sessions.forEach((items, s) => {
    const t0 = start + s * SESSION_GAP_MS;
    items.forEach((item, i) => {
      const at = t0 + i * CLICK_GAP_MS;
      out.push({
        kind: "event",
        schema_version: EVENT_SCHEMA_VERSION,
        tenant,
        visitor_id: `s${s}`,
        seq: i + 1,
        received_at: at,
        event: { id: `s${s}-${i}`, type: "product_view", timestamp: at, properties: { item_id: item } },
      });
    });
  });
  return out;
}
