/**
 * Writes synthetic-shop sessions as the queue consumer writes the event log: one
 * NDJSON object per hour partition (`events/tenant=…/dt=…/hour=…/`), lines as
 * `EventMessage`s with per-visitor `seq`. For tests and timing runs of `npm run retrain`;
 * `mapItem` rewrites item ids (a shifted intent, a broken tracker).
 */
import { EVENT_SCHEMA_VERSION, type TrackedEvent } from "../../src/contracts/events";
import type { EventMessage } from "../../src/contracts/queue";
import { eventLogKey } from "../../src/pipeline/event-log";
import type { SyntheticSession } from "../../src/offline/synthetic/sessions";

/** Log objects (key → NDJSON) of `sessions` for `tenant`; `mapItem(item, session index)` may rewrite product ids. */
export function syntheticLog(sessions: readonly SyntheticSession[], tenant: string, mapItem: (item: string, session: number) => string = (x) => x): Map<string, string> {
  const seq = new Map<string, number>();
  const objects = new Map<string, string[]>();
  sessions.forEach((s, i) => {
    for (const e of s.events) {
      const n = (seq.get(s.visitor) ?? 0) + 1;
      seq.set(s.visitor, n);
      const event = rewriteItems(e, (item) => mapItem(item, i));
      const received = e.timestamp + 150;
      const line: EventMessage = { kind: "event", schema_version: EVENT_SCHEMA_VERSION, tenant, visitor_id: s.visitor, seq: n, received_at: received, event };
      const key = eventLogKey(tenant, received, `${Math.floor(received / 3_600_000) * 3_600_000}-synthetic`);
      const lines = objects.get(key) ?? [];
      lines.push(JSON.stringify(line));
      objects.set(key, lines);
    }
  });
  return new Map([...objects].map(([k, lines]) => [k, `${lines.join("\n")}\n`]));
}

/** `e` with every product id it names rewritten by `map`. */
export function rewriteItems(e: TrackedEvent, map: (item: string) => string): TrackedEvent {
  const p = e.properties as Record<string, unknown>;
  if (typeof p.item_id === "string") return { ...e, properties: { ...p, item_id: map(p.item_id) } } as TrackedEvent;
  if (Array.isArray(p.items)) return { ...e, properties: { ...p, items: p.items.map((x: { item_id: string }) => ({ ...x, item_id: map(x.item_id) })) } } as TrackedEvent;
  return e;
}
