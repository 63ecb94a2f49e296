import { DurableObject } from "cloudflare:workers";
import type { ExperimentConfig } from "../../experiments/config";
import { type Manifest, parseManifest } from "../../models/manifest";
import { cachedJson } from "../../registry/r2-json";
import { rankerBaselinesOf } from "../drift/ranker";
import type { DriftSettings } from "../drift/status";
import { readTenantConfig } from "../rollout/config-store";
import { type Rollout, type StartRollout, stepExperiment } from "../rollout/plan";
import type { DashboardData, ModelInfo, RetrainRequestInfo } from "./dashboard-data";
import { type IngestReport, type ModelRef, applyBatch } from "./ingest";
import type { MonitorBatch } from "./records";
import { driftReport, experimentReport, ingestionReport } from "./reports";
import { RolloutController } from "./rollout-controller";
import { RetrainRequests, driftCheckMs, notifier, requestsFor, retrainChannel } from "../retrain/requests";
import { latestRuns } from "../retrain/runs";
import { DEDUP_TTL_MS, EXPERIMENT_TTL_MS, RETENTION_HOURS, SCHEMA } from "./schema";
import { type DriftSettingsPatch, mergeSettings } from "./settings";
import type { AdminResult, HistoryEntry } from "./types";
export type { AdminResult, HistoryDetail, HistoryEntry } from "./types";

const MANIFEST_TTL_MS = 5 * 60_000;
/** kv: the tenant whose running rollout the alarm must judge. */
const GUARD_DUE = "guard_due";
/** kv: when the next retention pass is due. */
const PRUNE_AT = "prune_at";
/** kv: the tenant whose drift the alarm must judge for retrain requests, and when the next judgement may run. */
const DRIFT_DUE = "drift_due";
const DRIFT_CHECK_AT = "drift_check_at";
/** The drift window judged for retrain requests (the dashboard's default). */
const DRIFT_HOURS = 24;
const RETENTION_PASS_MS = 86_400_000;

/**
 * Per-tenant MLOps state (SQLite): drift histograms, exact experiment counts,
 * serving figures, rollouts and their history. Fed by the queue consumer;
 * read and steered by the admin API. Rollout decisions write the tenant's
 * experiments.json in R2, which serving isolates re-read every
 * REGISTRY_REFRESH_SECONDS.
 */
export class MonitorDO extends DurableObject<Env> {
  private readonly rollouts: RolloutController;
  private readonly retrainRequests: RetrainRequests;
  private driftQueue: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.rollouts = new RolloutController(ctx.storage, env.MODELS, {
      manifest: (id, ttl) => this.manifest(id, ttl),
      kv: (key) => this.kv(key),
      setKv: (key, value) => this.setKv(key, value),
    });
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(SCHEMA);
    });
    this.retrainRequests = new RetrainRequests(ctx.storage.sql);
  }

  /**
   * Adds one consumer batch (deduplicated). A running rollout whose experiment the
   * batch touched is judged from the alarm, right after — never inside the delivery:
   * a queue batch must not wait on (or fail with) a rollback's R2 writes.
   */
  async ingest(tenant: string, batch: MonitorBatch): Promise<IngestReport> {
    const modelIds = new Set(batch.impressions.flatMap((i) => (i.model ? [i.model] : [])));
    const refs = new Map<string, ModelRef>();
    for (const id of modelIds) refs.set(id, await this.modelRef(id));
    const sql = this.ctx.storage.sql;
    const touched = new Set([...batch.impressions.map((i) => i.experiment), ...batch.outcomes.flatMap((o) => o.impressions.map((i) => i.experiment))]);
    const running = this.rollouts.running();
    const judge = running !== null && touched.has(stepExperiment(running));
    // Served lists move drift: judge it for retrain requests from the alarm, at most every DRIFT_CHECK_SECONDS.
    const driftDue = batch.impressions.length > 0 && Date.now() >= Number(this.kv(DRIFT_CHECK_AT) ?? "0");
    const report = this.ctx.storage.transactionSync(() => {
      const r = applyBatch(sql, batch, refs);
      this.prune(Date.now());
      if (judge) this.setKv(GUARD_DUE, tenant);
      if (driftDue) this.setKv(DRIFT_DUE, tenant);
      return r;
    });
    await this.planAlarm(judge || driftDue);
    return report;
  }

  /** Everything the dashboard shows, over the last `hours`. */
  async dashboard(tenant: string, hours: number, now = Date.now()): Promise<DashboardData> {
    const stored = await readTenantConfig(this.env.MODELS, tenant);
    this.rollouts.rememberWeights(stored.config);
    const settings = this.settings();
    const models = await this.models(stored.config, now);
    const manifests = new Map<string, Manifest | null>();
    for (const m of this.servedModels(now - hours * 3_600_000)) manifests.set(m, await this.manifest(m));
    return {
      tenant,
      generated_at: now,
      hours,
      settings,
      config: stored.config,
      config_problem: stored.invalid,
      models,
      drift: driftReport(this.ctx.storage.sql, manifests, now, hours, settings),
      experiments: experimentReport(this.ctx.storage.sql, (e) => this.rollouts.weightsFor(e, stored.config)),
      rollouts: this.rollouts.rollouts(),
      history: this.rollouts.history(),
      ingestion: ingestionReport(this.ctx.storage.sql, now, hours),
      retrain: await this.retrainReport(tenant),
    };
  }

  /**
   * Judges the drift of the models served in the last day and asks for a retrain of
   * each one at "act" — once per model and UTC day (RETRAIN_NOTIFY: the RETRAIN queue, a
   * webhook, or recorded only). Called from the alarm after ingests; idempotent, and
   * serialised so two checks never send the same request twice.
   */
  async checkDrift(tenant: string, now = Date.now()): Promise<RetrainRequestInfo[]> {
    const run = this.driftQueue.then(async () => {
      const manifests = new Map<string, Manifest | null>();
      for (const m of this.servedModels(now - DRIFT_HOURS * 3_600_000)) manifests.set(m, await this.manifest(m));
      const drift = driftReport(this.ctx.storage.sql, manifests, now, DRIFT_HOURS, this.settings());
      const channel = retrainChannel(this.env);
      this.retrainRequests.add(requestsFor(tenant, drift, now), channel);
      const send = notifier(channel, this.env);
      if (send) {
        for (const r of this.retrainRequests.unsent(now)) {
          try {
            await send(r);
            this.retrainRequests.mark(r.id, "sent");
          } catch (err) {
            this.retrainRequests.mark(r.id, "failed", err instanceof Error ? err.message : String(err));
          }
        }
      }
      this.setKv(DRIFT_CHECK_AT, String(now + driftCheckMs(this.env)));
      return this.retrainRequests.list();
    });
    this.driftQueue = run.catch(() => undefined);
    return run;
  }

  /** Retrain requests with the runs that answered them (`npm run retrain -- --request <id>`), and the latest runs. */
  private async retrainReport(tenant: string): Promise<DashboardData["retrain"]> {
    const runs = await latestRuns(this.env.MODELS, tenant).catch(() => []);
    const requests = this.retrainRequests.list().map((r) => ({ ...r, outcome: runs.find((x) => x.request === r.id) ?? null }));
    return { requests, runs };
  }

  /** Current drift thresholds. */
  /**
   * Erasure: forgets the visitors' experiment assignments and dedup keys. The
   * aggregate counts they contributed to stay (they identify no one).
   */
  async eraseVisitors(visitors: string[]): Promise<{ rows_deleted: number }> {
    const sql = this.ctx.storage.sql;
    let rows = 0;
    this.ctx.storage.transactionSync(() => {
      for (const v of visitors) {
        rows += sql.exec("DELETE FROM exp_units WHERE visitor = ?", v).rowsWritten;
        // Outcome dedup keys are `o:<visitor>:<event id>` (feed.ts).
        rows += sql.exec("DELETE FROM seen WHERE substr(id, 1, ?) = ?", v.length + 3, `o:${v}:`).rowsWritten;
      }
    });
    return { rows_deleted: rows };
  }

  async getSettings(): Promise<DriftSettings> {
    return this.settings();
  }

  /** Changes drift thresholds (validated by the route). */
  async updateSettings(patch: DriftSettingsPatch): Promise<DriftSettings> {
    const next = mergeSettings(this.settings(), patch);
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO kv (key, value) VALUES ('drift_settings', ?)", JSON.stringify(next));
    return next;
  }

  /** Rollouts, newest first. */
  async listRollouts(): Promise<{ rollouts: Rollout[]; history: HistoryEntry[] }> {
    return { rollouts: this.rollouts.rollouts(), history: this.rollouts.history() };
  }

  /** Starts rolling `req.model` out to the first step's share of traffic. */
  async startRollout(tenant: string, req: StartRollout, by: string): Promise<AdminResult<Rollout>> {
    return this.rollouts.startRollout(tenant, req, by);
  }

  /** Moves a running rollout to its next step (the last step makes the model the default). */
  async promote(tenant: string, id: string, by: string): Promise<AdminResult<Rollout>> {
    return this.rollouts.promote(tenant, id, by);
  }

  /** Rolls a running rollout back to its baseline model, recording why. */
  async rollback(tenant: string, id: string, reason: string, by: string): Promise<AdminResult<Rollout>> {
    return this.rollouts.rollback(tenant, id, reason, by);
  }

  /** Changes the weights of the running experiment (not of a rollout: promote or roll back those). */
  async setWeights(tenant: string, weights: Record<string, number>, by: string): Promise<AdminResult<ExperimentConfig>> {
    return this.rollouts.setWeights(tenant, weights, by);
  }

  private async models(config: ExperimentConfig | null, now: number): Promise<ModelInfo[]> {
    const roles = new Map<string, Set<string>>();
    const add = (model: string | null | undefined, role: string) => {
      if (!model) return;
      roles.set(model, (roles.get(model) ?? new Set()).add(role));
    };
    add(config?.default_model, "default");
    for (const v of config?.experiment?.variants ?? []) add(v.model, `${config!.experiment!.name}: ${v.name} (${v.weight})`);
    const running = this.rollouts.running();
    if (running) add(running.model, `canary of ${running.id}`);
    const seen = new Map(
      this.ctx.storage.sql
        .exec<{ model: string; last_at: number; impressions: number }>("SELECT model, last_at, impressions FROM models_seen")
        .toArray()
        .map((r) => [r.model, r]),
    );
    for (const m of seen.keys()) if (!roles.has(m)) roles.set(m, new Set(["served before"]));
    const out: ModelInfo[] = [];
    for (const [model, rs] of roles) {
      const manifest = await this.manifest(model);
      const created = manifest ? Date.parse(manifest.created_at) : Number.NaN;
      out.push({
        model,
        roles: [...rs],
        created_at: manifest?.created_at ?? null,
        training_window: manifest?.training.window ?? null,
        age_days: Number.isFinite(created) ? Math.floor((now - created) / 86_400_000) : null,
        vocabulary_size: manifest?.vocabulary.size ?? null,
        impressions: seen.get(model)?.impressions ?? 0,
        last_served: seen.get(model)?.last_at ?? null,
      });
    }
    return out;
  }

  private servedModels(since: number): string[] {
    return this.ctx.storage.sql
      .exec<{ model: string }>("SELECT model FROM models_seen WHERE last_at >= ?", since)
      .toArray()
      .map((r) => r.model);
  }

  private async manifest(id: string, ttl = MANIFEST_TTL_MS): Promise<Manifest | null> {
    return cachedJson(this.env.MODELS, `models/${id}/manifest.json`, ttl, parseManifest).catch(() => null);
  }

  private async modelRef(id: string): Promise<ModelRef> {
    const manifest = await this.manifest(id);
    if (!manifest) return { baselines: null, ranker: null, vocab: null };
    const vocab = await cachedJson(this.env.MODELS, `models/${id}/${manifest.vocabulary.file}`, MANIFEST_TTL_MS, (raw) => {
      if (!Array.isArray(raw)) throw new Error("vocabulary is not an array");
      return new Set(raw.filter((x): x is string => typeof x === "string"));
    }).catch(() => null);
    return { baselines: manifest.baselines, ranker: rankerBaselinesOf(manifest.ranker), vocab };
  }

  private settings(): DriftSettings {
    const raw = this.kv("drift_settings");
    return mergeSettings(raw ? (JSON.parse(raw) as unknown) : {});
  }

  private kv(key: string): string | null {
    return this.ctx.storage.sql.exec<{ value: string }>("SELECT value FROM kv WHERE key = ?", key).toArray()[0]?.value ?? null;
  }

  private setKv(key: string, value: string): void {
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", key, value);
  }

  /**
   * One alarm for two reasons: judging a running rollout's guard rails right after a
   * batch touched it, and the daily retention pass. Both are idempotent (alarms are
   * at-least-once): a rollout is rolled back or promoted only while it runs.
   */
  override async alarm(): Promise<void> {
    const tenant = this.kv(GUARD_DUE);
    if (tenant !== null) {
      this.ctx.storage.sql.exec("DELETE FROM kv WHERE key = ?", GUARD_DUE);
      const running = this.rollouts.running();
      if (running) await this.rollouts.checkRollout(tenant, running.id);
    }
    const driftTenant = this.kv(DRIFT_DUE);
    if (driftTenant !== null) {
      this.ctx.storage.sql.exec("DELETE FROM kv WHERE key = ?", DRIFT_DUE);
      await this.checkDrift(driftTenant);
    }
    const now = Date.now();
    if (now >= Number(this.kv(PRUNE_AT) ?? "0")) {
      this.setKv("pruned_at", "0");
      this.ctx.storage.transactionSync(() => this.prune(now));
      this.setKv(PRUNE_AT, String(now + RETENTION_PASS_MS));
    }
    await this.ctx.storage.setAlarm(Number(this.kv(PRUNE_AT)));
  }

  /** Retention runs even when traffic stops (a pass at least daily); guard rails are judged at once. */
  private async planAlarm(judgeNow: boolean): Promise<void> {
    const scheduled = await this.ctx.storage.getAlarm();
    if (this.kv(PRUNE_AT) === null) this.setKv(PRUNE_AT, String(scheduled ?? Date.now() + RETENTION_PASS_MS));
    const at = judgeNow ? Date.now() : Number(this.kv(PRUNE_AT));
    if (scheduled === null || scheduled > at) await this.ctx.storage.setAlarm(at);
  }

  /** For the retention audit: when this object's next retention pass runs. */
  async retentionStatus(): Promise<{ alarm: number | null }> {
    return { alarm: await this.ctx.storage.getAlarm() };
  }

  /** Drops what is past retention; runs at most once an hour. */
  private prune(now: number): void {
    const last = Number(this.kv("pruned_at") ?? "0");
    if (now - last < 3_600_000) return;
    const sql = this.ctx.storage.sql;
    const oldestHour = now - RETENTION_HOURS * 3_600_000;
    for (const table of ["drift_bins", "drift_catalog", "serving", "serving_latency", "received"]) sql.exec(`DELETE FROM ${table} WHERE hour < ?`, oldestHour);
    sql.exec("DELETE FROM seen WHERE at < ?", now - DEDUP_TTL_MS);
    sql.exec("DELETE FROM imp_flags WHERE at < ?", now - DEDUP_TTL_MS);
    this.retrainRequests.prune(oldestHour);
    const stale = sql.exec<{ experiment: string }>("SELECT experiment FROM exp_counts GROUP BY experiment HAVING max(last_at) < ?", now - EXPERIMENT_TTL_MS).toArray();
    for (const { experiment } of stale) {
      for (const table of ["exp_counts", "exp_units", "exp_latency", "exp_weights"]) sql.exec(`DELETE FROM ${table} WHERE experiment = ?`, experiment);
    }
    const gone = sql.exec<{ model: string }>("SELECT model FROM models_seen WHERE last_at < ?", oldestHour).toArray();
    for (const { model } of gone) {
      sql.exec("DELETE FROM models_seen WHERE model = ?", model);
      sql.exec("DELETE FROM pred_reference WHERE model = ?", model);
    }
    this.setKv("pruned_at", String(now));
  }
}
