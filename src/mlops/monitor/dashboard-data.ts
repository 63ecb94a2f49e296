import type { ExperimentConfig } from "../../experiments/config";
import type { CatalogueDrift, FeatureDrift } from "../drift/report";
import type { DriftSettings, Status } from "../drift/status";
import type { ExperimentResult } from "../experiments/analysis";
import type { Rollout } from "../rollout/plan";
import type { HistoryEntry } from "./types";

// The `/admin/api/dashboard` response. Platform-free types only: the MonitorDO builds
// it and the dashboard's browser code (src/mlops/dashboard/client/) reads it.

/** A model the tenant serves or has served, with what its manifest says. */
export interface ModelInfo {
  model: string;
  roles: string[];
  created_at: string | null;
  training_window: { from: string; to: string } | null;
  age_days: number | null;
  vocabulary_size: number | null;
  impressions: number;
  last_served: number | null;
}

/** Drift of one model over a window. */
export interface ModelDrift {
  model: string;
  status: Status;
  impressions: number;
  first_served: number;
  last_served: number;
  /** Why inputs are not compared, when they are not (e.g. the manifest is gone). */
  note: string | null;
  inputs: FeatureDrift[];
  prediction: FeatureDrift;
  catalogue: CatalogueDrift;
}

/** One experiment's analysis, with when it was first and last seen. */
export type ExperimentReport = ExperimentResult & { first_at: number; last_at: number };

/** Ingestion and serving per hour over the window. */
export interface IngestionReport {
  totals: { events: number; impressions: number; errors: number; p50_latency_ms: number | null; p95_latency_ms: number | null };
  by_type: Record<string, number>;
  series: Array<{ hour: number; events: number; impressions: number; errors: number; p50_latency_ms: number | null; p95_latency_ms: number | null }>;
}

/** A retrain request a model's drift made (one per model and UTC day), and what came of it. */
export interface RetrainRequestInfo {
  id: string;
  model: string;
  window_from: number;
  requested_at: number;
  /** pending / failed: not delivered yet (sent again at the next check); recorded: RETRAIN_NOTIFY is off. */
  status: "pending" | "sent" | "failed" | "recorded";
  channel: "queue" | "webhook" | "off";
  error: string | null;
  reasons: string[];
  /** The `npm run retrain` run that answered it (`--request <id>`), when there is one. */
  outcome: RetrainRunInfo | null;
}

/** One `npm run retrain` run, as its record in the models bucket says. */
export interface RetrainRunInfo {
  run: string;
  started_at: string;
  request: string | null;
  champion: string | null;
  challenger: string | null;
  verdict: "published" | "refused" | "dry_run";
  reasons: string[];
  rollout: string | null;
  rollout_error: string | null;
}

/** Everything the dashboard shows, over the last `hours`. */
export interface DashboardData {
  tenant: string;
  generated_at: number;
  hours: number;
  settings: DriftSettings;
  config: ExperimentConfig | null;
  config_problem: string | null;
  models: ModelInfo[];
  drift: ModelDrift[];
  experiments: ExperimentReport[];
  rollouts: Rollout[];
  history: HistoryEntry[];
  ingestion: IngestionReport;
  /** Retrain requests (newest first) and the latest retrain runs. */
  retrain: { requests: RetrainRequestInfo[]; runs: RetrainRunInfo[] };
}
