import type { OutcomeType } from "../../contracts/events";
/**
 * What the queue consumer hands the tenant's MonitorDO per batch: compact
 * records (not whole messages) with exactly what the aggregates need.
 */

/** One served list. `id` is the impression id (the dedup key). */
export interface ImpressionRecord {
  id: string;
  visitor: string;
  at: number;
  /** Request type: personalized, similar, cart, trending. */
  type: string;
  experiment: string | null;
  variant: string;
  model: string | null;
  degraded: string | null;
  /** Serving time of the list in ms, when the impression carries it. */
  latency_ms: number | null;
  /** Monitored model inputs by baseline name (null: the model got no input). */
  values: Record<string, number | null>;
  /** The ranker's input row of the candidate it ranked first (manifest order), or null when no ranker ran. */
  ranker?: Array<number | null> | null;
  /** Score of the first item when the model ranked the list, else null. */
  top_score: number | null;
  items: string[];
}

/** One click, add-to-cart or purchase attributed to impressions. `id` is `<visitor>:<event id>`. */
export interface OutcomeRecord {
  id: string;
  type: OutcomeType;
  at: number;
  /** Distinct impressions the event is attributed to, with their experiment and variant. */
  impressions: Array<{ impression_id: string; experiment: string | null; variant: string }>;
}

/** A consumer batch for one tenant. */
export interface MonitorBatch {
  impressions: ImpressionRecord[];
  outcomes: OutcomeRecord[];
  /** Events received per type and hour (epoch ms of the hour) — every event, attributed or not. */
  received: Array<{ hour: number; type: string; count: number }>;
}

/** Degraded reasons that count as serving errors for guard rails and the dashboard. */
export const ERROR_REASONS: ReadonlySet<string> = new Set(["model_error", "model_unavailable", "features_unavailable"]);

export const HOUR_MS = 3_600_000;

/** Start of the UTC hour of `t`. */
export function hourOf(t: number): number {
  return Math.floor(t / HOUR_MS) * HOUR_MS;
}
