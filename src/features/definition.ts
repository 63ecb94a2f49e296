import type { EventType, TrackedEvent } from "../contracts/events";

/** A duration such as `"5m"`, `"1h"`, `"30d"`. */
export type Duration = `${number}${"s" | "m" | "h" | "d"}`;

/** How a feature aggregates its source events (documentation and manifests; the reducer does the work). */
export type Aggregation = "count" | "last" | "last_n" | "max_time" | "stats" | "decayed_sum" | "state";

/** The visit the engine is in when it applies an event or materialises values. */
export interface SessionContext {
  /** 1-based visit number; a gap longer than the session gap starts the next one. */
  index: number;
  /** Event time of the visit's first and latest events (epoch ms). */
  start: number;
  last: number;
  events: number;
  /** True while applying an event, and at read time while the visit has not lapsed. */
  active: boolean;
}

/**
 * A declarative feature definition, Feast-style: what it is keyed by, which
 * events feed it, how it aggregates, over which window, how long it lives, and
 * a version to bump when its meaning changes. `reduce` and `value` are pure:
 * the SessionDO and the offline replay run this very code.
 */
export interface FeatureDefinition<S = unknown, V = unknown, N extends string = string> {
  name: N;
  version: number;
  entity: "visitor";
  description: string;
  sources: readonly EventType[];
  aggregation: Aggregation;
  /**
   * `session`: the current visit — the engine restarts the state when a new visit
   * begins and reads it as `init()` once the visit lapsed; `lifetime`: since the
   * visitor's first event (bounded by `ttl`).
   */
  window: Duration | "session" | "lifetime";
  /** The value falls back to `init()` when no source event arrived for this long. */
  ttl: Duration;
  init(): S;
  /** Folds one event (of a source type) into the state. Must not read clocks or mutate `state`. */
  reduce(state: S, event: TrackedEvent, session: SessionContext): S;
  /** The feature value at `now` (epoch ms). */
  value(state: S, now: number, session: SessionContext | null): V;
}

/** Helps TypeScript infer `S`, `V` and the literal name `N` of one definition. */
export function defineFeature<const N extends string, S, V>(def: FeatureDefinition<S, V, N>): FeatureDefinition<S, V, N> {
  return def;
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds in a duration. */
export function durationMs(d: Duration): number {
  const unit = d.slice(-1) as keyof typeof UNIT_MS;
  return Number(d.slice(0, -1)) * UNIT_MS[unit];
}
