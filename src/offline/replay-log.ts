import type { EventMessage } from "../events/types";
import { type EngineOptions, type FeatureState, type FeatureVector, materialise, replay } from "../features/engine";

/** Key of one visitor's stream: tenant and visitor id. */
export type StreamKey = `${string}:${string}`;

/**
 * Rebuilds every visitor's feature state from event-log lines, as the SessionDO
 * built it online: at-least-once duplicates dropped by event id, then events
 * applied in the order the SessionDO applied them (`seq`), whatever order the
 * log files hold them in. Runs in Node or a worker: no platform APIs.
 */
export function replayEventLog(lines: Iterable<EventMessage>, opts: EngineOptions): Map<StreamKey, FeatureState> {
  const streams = new Map<StreamKey, Map<string, EventMessage>>();
  for (const line of lines) {
    if (line.kind !== "event") continue;
    const key: StreamKey = `${line.tenant}:${line.visitor_id}`;
    const byId = streams.get(key) ?? new Map<string, EventMessage>();
    if (!byId.has(line.event.id)) byId.set(line.event.id, line);
    streams.set(key, byId);
  }
  const states = new Map<StreamKey, FeatureState>();
  for (const [key, byId] of streams) {
    const ordered = [...byId.values()].sort((a, b) => a.seq - b.seq).map((m) => m.event);
    states.set(key, replay(ordered, opts));
  }
  return states;
}

/** Feature values of one visitor at `now`, from event-log lines. */
export function featuresFromLog(lines: Iterable<EventMessage>, key: StreamKey, now: number, opts: EngineOptions): FeatureVector | null {
  const state = replayEventLog(lines, opts).get(key);
  return state ? materialise(state, now, opts) : null;
}
