import type { TrackedEvent } from "../contracts/events";
import { type FeatureDefinition, type SessionContext, durationMs } from "./definition";
import { FEATURES, type FeatureValues } from "./registry";

/** Engine settings shared by the SessionDO and offline replay. */
export interface EngineOptions {
  /** Inactivity gap that starts a new visit. */
  sessionGapMs: number;
}

/** Stored state of one feature: definition version, latest source event time, visit index, reducer state. */
export interface Slot {
  v: number;
  t: number;
  /** Visit the state belongs to: `window: "session"` features restart when it changes. */
  vi: number;
  s: unknown;
}

/** The visit being tracked (event times). */
export interface Visit {
  index: number;
  start: number;
  last: number;
  events: number;
}

/** Everything the engine keeps for one visitor: JSON-serialisable. */
export interface FeatureState {
  visit: Visit | null;
  slots: Record<string, Slot>;
}

/**
 * Materialised feature values by feature name, typed from the definitions (`FeatureValues`):
 * `features.cart.items` needs no cast. Partial because a vector may come from elsewhere than
 * `materialise` (a profile view fills in some fields, an older object may lack a new feature).
 */
export type FeatureVector = Partial<FeatureValues>;

/** The state of a visitor with no events. */
export function initialState(): FeatureState {
  return { visit: null, slots: {} };
}

/**
 * Applies one event to every feature fed by its type and returns the new state.
 * Deterministic: the result depends only on the state and the event, never on a
 * clock, so replaying the same stream in the same order reproduces it exactly.
 */
export function applyEvent(state: FeatureState, event: TrackedEvent, opts: EngineOptions, defs: readonly FeatureDefinition[] = FEATURES): FeatureState {
  const visit = nextVisit(state.visit, event.timestamp, opts.sessionGapMs);
  const ctx: SessionContext = { ...visit, active: true };
  const slots = { ...state.slots };
  for (const def of defs) {
    if (!def.sources.includes(event.type)) continue;
    const prev = slots[def.name];
    const fresh = !prev || prev.v !== def.version || event.timestamp - prev.t > durationMs(def.ttl) || (def.window === "session" && prev.vi !== visit.index);
    const s = def.reduce(fresh ? def.init() : prev.s, event, ctx);
    slots[def.name] = { v: def.version, t: fresh ? event.timestamp : Math.max(prev.t, event.timestamp), vi: visit.index, s };
  }
  return { visit, slots };
}

/** Feature values at `now` (epoch ms); expired or outdated states read as their initial value. */
export function materialise(state: FeatureState, now: number, opts: EngineOptions, defs: readonly FeatureDefinition[] = FEATURES): FeatureVector {
  const v = state.visit;
  const ctx: SessionContext | null = v ? { ...v, active: now - v.last <= opts.sessionGapMs } : null;
  const out: Record<string, unknown> = {};
  for (const def of defs) {
    const slot = state.slots[def.name];
    const live = slot && slot.v === def.version && now - slot.t <= durationMs(def.ttl) && (def.window !== "session" || (ctx?.active && slot.vi === ctx.index));
    out[def.name] = def.value(live ? slot.s : def.init(), now, ctx);
  }
  // The one cast: each entry was produced by the definition of the same name.
  return out as FeatureVector;
}

/** Replays a stream, in order, from the initial state: the offline twin of the SessionDO. */
export function replay(events: Iterable<TrackedEvent>, opts: EngineOptions, defs: readonly FeatureDefinition[] = FEATURES): FeatureState {
  let state = initialState();
  for (const e of events) state = applyEvent(state, e, opts, defs);
  return state;
}

function nextVisit(visit: Visit | null, t: number, gapMs: number): Visit {
  if (!visit) return { index: 1, start: t, last: t, events: 1 };
  if (t > visit.last + gapMs) return { index: visit.index + 1, start: t, last: t, events: 1 };
  // A late event belongs to the open visit and may move its start back.
  return { index: visit.index, start: Math.min(visit.start, t), last: Math.max(visit.last, t), events: visit.events + 1 };
}
