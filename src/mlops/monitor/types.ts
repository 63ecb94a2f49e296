import type { TenantConfig } from "../../experiments/config";

/** An admin action's outcome: the value, or a client-facing problem (mapped to ApiError by the route). */
export type AdminResult<T> = { ok: true; value: T } | { ok: false; status: 400 | 404 | 409; code: "unknown_model" | "not_found" | "conflict" | "invalid_body"; message: string };

/** One line of the rollout and configuration history. */
export interface HistoryEntry {
  seq: number;
  at: number;
  kind: "rollout_started" | "rollout_promoted" | "rollout_completed" | "rollout_rolled_back" | "weights_changed";
  rollout: string | null;
  detail: HistoryDetail;
}

/** What a history line records; which fields are set depends on its kind. */
export interface HistoryDetail {
  by?: string;
  model?: string;
  baseline?: string | null;
  percent?: number;
  steps?: number[];
  reason?: string;
  experiment?: string;
  from?: Record<string, number> | null;
  to?: Record<string, number>;
  config?: TenantConfig;
}

/** A client-facing problem of an admin action. */
export function problem<T>(status: 400 | 404 | 409, code: "unknown_model" | "not_found" | "conflict" | "invalid_body", message: string): AdminResult<T> {
  return { ok: false, status, code, message };
}
