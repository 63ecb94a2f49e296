import type { QueueMessage } from "../../contracts/queue";
import type { Logger } from "../../http/log";

/** One log line: its stable id (`<queue message id>:<index in it>`) and what it says. */
export interface LogLine {
  key: string;
  body: QueueMessage;
}

/**
 * A destination of the consumer's log lines. `exact` sinks must take every line:
 * a line one of them failed retries its whole queue message (they deduplicate, so a
 * redelivery counts once); they run in order, each on the lines every earlier one
 * took. `best_effort` sinks see the lines of the messages that were acked, after the
 * acks; their failures are logged, never retried (their readers tolerate it).
 */
export interface Sink {
  readonly name: string;
  readonly delivery: "exact" | "best_effort";
  /** Takes the lines; returns those it could not take (an exact sink's are retried). */
  accept(lines: readonly LogLine[], env: Env, log: Logger): Promise<ReadonlySet<LogLine>>;
}

export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
