import type { EventType } from "../../contracts/events";
import type { EventMessage } from "../../contracts/queue";
import { LOG_REPLAY_CONTEXT, applyWithConsent } from "../../features/consent-gate";
import { type EngineOptions, type FeatureState, type FeatureVector, applyEvent, initialState, materialise } from "../../features/engine";

/** Key of one visitor's stream: tenant and visitor id. */
export type StreamKey = `${string}:${string}`;

/**
 * Groups event-log lines into visitor streams as the SessionDO saw them:
 * at-least-once duplicates dropped by event id, events in the order the
 * SessionDO applied them (`seq`), whatever order the log files hold them in.
 */
export function orderedStreams(lines: Iterable<{ kind: string } & Partial<EventMessage>>): Map<StreamKey, EventMessage[]> {
  const streams = new Map<StreamKey, Map<string, EventMessage>>();
  for (const line of lines) {
    if (line.kind !== "event") continue;
    const m = line as EventMessage;
    const key: StreamKey = `${m.tenant}:${m.visitor_id}`;
    const byId = streams.get(key) ?? new Map<string, EventMessage>();
    if (!byId.has(m.event.id)) byId.set(m.event.id, m);
    streams.set(key, byId);
  }
  return new Map([...streams].map(([key, byId]) => [key, [...byId.values()].sort((a, b) => a.seq - b.seq)]));
}

/** Rebuilds every visitor's feature state from event-log lines. Runs in Node or a worker: no platform APIs. */
export function replayEventLog(lines: Iterable<EventMessage>, opts: EngineOptions): Map<StreamKey, FeatureState> {
  return new Map(
    [...orderedStreams(lines)].map(([key, stream]) => {
      let state = initialState();
      for (const m of stream) state = applyWithConsent(state, m.event, opts, LOG_REPLAY_CONTEXT).state;
      return [key, state];
    }),
  );
}

/** Feature values of one visitor at `now`, from event-log lines. */
export function featuresFromLog(lines: Iterable<EventMessage>, key: StreamKey, now: number, opts: EngineOptions): FeatureVector | null {
  const state = replayEventLog(lines, opts).get(key);
  return state ? materialise(state, now, opts) : null;
}

/** One point-in-time training example: the features just before an event, and that event's item. */
export interface TrainingExample {
  tenant: string;
  visitor_id: string;
  seq: number;
  /** Event time of the target event: the features are materialised at this instant. */
  at: number;
  type: EventType;
  target: string;
  features: FeatureVector;
}

/**
 * Point-in-time training examples: for every target event (a product view by
 * default), the visitor's features computed from the events applied before it
 * — never from it or anything later — materialised at its event time, exactly
 * what the SessionDO would have answered a recommendation request then.
 */
export function* trainingExamples(lines: Iterable<EventMessage>, opts: EngineOptions, targets: readonly EventType[] = ["product_view"]): Generator<TrainingExample> {
  for (const stream of orderedStreams(lines).values()) {
    let state = initialState();
    for (const m of stream) {
      const e = m.event;
      if (targets.includes(e.type) && state.visit !== null) {
        const target = e.type === "product_view" || e.type === "add_to_cart" ? e.properties.item_id : null;
        if (target !== null) {
          yield { tenant: m.tenant, visitor_id: m.visitor_id, seq: m.seq, at: e.timestamp, type: e.type, target, features: materialise(state, e.timestamp, opts) };
        }
      }
      state = applyWithConsent(state, e, opts, LOG_REPLAY_CONTEXT).state;
    }
  }
}

/**
 * Item-view sequences per visit, for session models: each visitor stream (as
 * the SessionDO applied it) is cut into visits by the feature engine's own visit
 * rule, so a training session is what `visit_viewed_items` holds at serving time.
 */
export function viewSessionsFromLog(lines: Iterable<EventMessage>, opts: EngineOptions): string[][] {
  const sessions: string[][] = [];
  for (const stream of orderedStreams(lines).values()) {
    let state = initialState();
    let current: string[] = [];
    for (const m of stream) {
      // Visits by the engine's own rule over every logged view: the log holds them because the
      // visitor granted analytics, which is the purpose training serves.
      state = applyEvent(state, m.event, opts);
      if (state.visit && state.visit.events === 1 && current.length > 0) {
        sessions.push(current);
        current = [];
      }
      if (m.event.type === "product_view") current.push(m.event.properties.item_id);
    }
    if (current.length > 0) sessions.push(current);
  }
  return sessions;
}
