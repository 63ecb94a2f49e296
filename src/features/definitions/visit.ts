import { EVENT_TYPES } from "../../contracts/events";
import { defineFeature } from "../definition";

/** The current visit: number, start, length in seconds and events. */
export interface VisitValue {
  index: number;
  started_at: number | null;
  length_s: number;
  events: number;
  active: boolean;
}

/** Session length and event count of the current visit, from the engine's visit tracking. */
export const sessionLength = defineFeature({
  name: "session",
  version: 1,
  entity: "visitor",
  description: "The current visit: index, start (epoch ms), length in seconds (first to latest event), events.",
  sources: EVENT_TYPES,
  aggregation: "state",
  window: "session",
  ttl: "30d",
  init: () => null,
  reduce: () => null,
  value(_state, _now, session): VisitValue {
    if (!session) return { index: 0, started_at: null, length_s: 0, events: 0, active: false };
    if (!session.active) return { index: session.index, started_at: null, length_s: 0, events: 0, active: false };
    return {
      index: session.index,
      started_at: session.start,
      length_s: (session.last - session.start) / 1000,
      events: session.events,
      active: true,
    };
  },
});
