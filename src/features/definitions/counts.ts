import { EVENT_TYPES, type EventType } from "../../events/types";
import { type Duration, defineFeature, durationMs } from "../definition";

/** Counts by event type; only types that occurred appear. */
export type CountsByType = Partial<Record<EventType, number>>;

// A visitor past this many events per window is a bot; counts saturate rather than grow state.
const MAX_WINDOW_ENTRIES = 1000;

/** Event counts by type over a sliding window ending at `now` (exact up to the saturation cap). */
export function eventCountsOver(window: Duration) {
  const span = durationMs(window);
  return defineFeature({
    name: `event_counts_${window}`,
    version: 1,
    entity: "visitor",
    description: `Events by type in the last ${window}.`,
    sources: EVENT_TYPES,
    aggregation: "count",
    window,
    ttl: window,
    // [event time, event type] pairs inside the window of the newest event.
    init: (): Array<[number, EventType]> => [],
    reduce(state, event) {
      const entries = [...state, [event.timestamp, event.type] as [number, EventType]];
      const newest = entries.reduce((m, [t]) => Math.max(m, t), -Infinity);
      const kept = entries.filter(([t]) => t > newest - span);
      return kept.length > MAX_WINDOW_ENTRIES ? kept.slice(-MAX_WINDOW_ENTRIES) : kept;
    },
    value(state, now) {
      const counts: CountsByType = {};
      for (const [t, type] of state) if (t > now - span) counts[type] = (counts[type] ?? 0) + 1;
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
