import { eventLogSink } from "./event-log";
import { freshSink } from "./fresh";
import { monitorSink } from "./monitor";
import type { Sink } from "./sink";
import { trendingSink } from "./trending";

export type { LogLine, Sink } from "./sink";

/**
 * Where the consumer delivers, in order. A new destination is one file beside these
 * and one line here: the consumer itself does not change.
 */
export const SINKS: readonly Sink[] = [eventLogSink, monitorSink, trendingSink, freshSink];
