import { EVENT_TYPES, type EventType } from "../../contracts/events";
import { type Duration, defineFeature, durationMs } from "../definition";

/** Counts by event type; only types that occurred appear. */
export type CountsByType = Partial<Record<EventType, number>>;

/**
 * A window is kept as this many time buckets (per event type), so the state stays
 * a few hundred bytes however busy the visitor: an event leaves the window when
 * its bucket does, i.e. exactly at 1/60 of the window's resolution.
 */
const BUCKETS = 60;

/** [bucket index, event type, events] — buckets are `window / BUCKETS` long, counted from the epoch. */
type Bucket = [number, EventType, number];

/** Event counts by type over a sliding window ending at `now` (bucketed at 1/60 of the window). */
export function eventCountsOver<const W extends Duration>(window: W) {
  const span = durationMs(window);
  const width = span / BUCKETS;
  return defineFeature({
    name: `event_counts_${window}` as const,
    version: 2,
    entity: "visitor",
    description: `Events by type in the last ${window} (at ${window}/60 resolution).`,
    sources: EVENT_TYPES,
    aggregation: "count",
    window,
    ttl: window,
    init: (): Bucket[] => [],
    reduce(state, event) {
      const b = Math.floor(event.timestamp / width);
      let newest = b;
      for (const [x] of state) if (x > newest) newest = x;
      const kept: Bucket[] = [];
      let found = false;
      for (const entry of state) {
        if (entry[0] <= newest - BUCKETS) continue;
        if (entry[0] === b && entry[1] === event.type) {
          kept.push([b, event.type, entry[2] + 1]);
          found = true;
        } else kept.push(entry);
      }
      if (!found && b > newest - BUCKETS) kept.push([b, event.type, 1]);
      return kept;
    },
    value(state, now) {
      const current = Math.floor(now / width);
      const counts: CountsByType = {};
      for (const [b, type, n] of state) if (b > current - BUCKETS) counts[type] = (counts[type] ?? 0) + n;
      return counts;
    },
  });
}

/** Event counts by type in the current visit. */
export const eventCountsSession = defineFeature({
  name: "event_counts_session",
  version: 1,
  entity: "visitor",
  description: "Events by type in the current visit (empty once the visit has lapsed).",
  sources: EVENT_TYPES,
  aggregation: "count",
  window: "session",
  ttl: "1d",
  init: (): CountsByType => ({}),
  // The engine restarts `window: "session"` state when a new visit begins and reads it as empty once the visit lapsed.
  reduce: (state, event) => ({ ...state, [event.type]: (state[event.type] ?? 0) + 1 }),
  value: (state) => state,
});

/** Searches since the visitor's first event. */
export const searchCount = defineFeature({
  name: "search_count",
  version: 1,
  entity: "visitor",
  description: "Number of searches over the visitor's lifetime.",
  sources: ["search"],
  aggregation: "count",
  window: "lifetime",
  ttl: "30d",
  init: () => 0,
  reduce: (state) => state + 1,
  value: (state) => state,
});
