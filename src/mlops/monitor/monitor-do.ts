import { DurableObject } from "cloudflare:workers";
import type { TenantConfig } from "../../experiments/config";
import { type Manifest, parseManifest } from "../../models/manifest";
import { cachedJson } from "../../registry/r2-json";
import type { DriftSettings } from "../drift/status";
import { type GuardRailVerdict, checkGuardRails } from "../rollout/guard-rails";
import { readTenantConfig, weightsOf, writeTenantConfig } from "../rollout/config-store";
import { type Rollout, type StartRollout, rolledBackConfig, stepConfig, stepExperiment, withWeights } from "../rollout/plan";
import { type IngestReport, type ModelRef, applyBatch } from "./ingest";
import type { MonitorBatch } from "./records";
import { type IngestionReport, type ModelDrift, armStats, driftReport, experimentReport, ingestionReport } from "./reports";
import { DEDUP_TTL_MS, EXPERIMENT_TTL_MS, HISTORY_ROWS, RETENTION_HOURS, SCHEMA } from "./schema";
import { type DriftSettingsPatch, mergeSettings } from "./settings";

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

export interface DashboardData {
  tenant: string;
  generated_at: number;
  hours: number;
  settings: DriftSettings;
  config: TenantConfig | null;
  config_problem: string | null;
  models: ModelInfo[];
  drift: ModelDrift[];
  experiments: ReturnType<typeof experimentReport>;
  rollouts: Rollout[];
  history: HistoryEntry[];
  ingestion: IngestionReport;
}

const MANIFEST_TTL_MS = 5 * 60_000;

/**
 * Per-tenant MLOps state (SQLite): drift histograms, exact experiment counts,
 * serving figures, rollouts and their history. Fed by the queue consumer;
 * read and steered by the admin API. Rollout decisions write the tenant's
 * experiments.json in R2, which serving isolates re-read every
 * REGISTRY_REFRESH_SECONDS.
 */
export class MonitorDO extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(SCHEMA);
    });
  }

  /** Adds one consumer batch (deduplicated), then checks a running rollout's guard rails. */
  async ingest(tenant: string, batch: MonitorBatch): Promise<IngestReport & { guard_rails: GuardRailVerdict | null }> {
    const modelIds = new Set(batch.impressions.flatMap((i) => (i.model ? [i.model] : [])));
    const refs = new Map<string, ModelRef>();
    for (const id of modelIds) refs.set(id, await this.modelRef(id));
    const sql = this.ctx.storage.sql;
    const report = this.ctx.storage.transactionSync(() => {
      const r = applyBatch(sql, batch, refs);
      this.prune(Date.now());
      return r;
    });
    // Retention runs even when traffic stops: an alarm prunes at least daily.
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + 86_400_000);
    const touched = new Set([...batch.impressions.map((i) => i.experiment), ...batch.outcomes.flatMap((o) => o.impressions.map((i) => i.experiment))]);
    const running = this.running();
    const guard = running && touched.has(stepExperiment(running)) ? await this.checkRollout(tenant, running.id) : null;
    return { ...report, guard_rails: guard };
  }

  /** Everything the dashboard shows, over the last `hours`. */
  async dashboard(tenant: string, hours: number, now = Date.now()): Promise<DashboardData> {
    const stored = await readTenantConfig(this.env.MODELS, tenant);
    this.rememberWeights(stored.config);
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
      experiments: experimentReport(this.ctx.storage.sql, (e) => this.weightsFor(e, stored.config)),
      rollouts: this.rollouts(),
      history: this.history(),
      ingestion: ingestionReport(this.ctx.storage.sql, now, hours),
    };
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
    return { rollouts: this.rollouts(), history: this.history() };
  }

  /** Starts rolling `req.model` out to the first step's share of traffic. */
  async startRollout(tenant: string, req: StartRollout, by: string): Promise<AdminResult<Rollout>> {
    return this.exclusive(async () => {
      if (!(await this.manifest(req.model, 0))) return problem(400, "unknown_model", `Model ${req.model} is not published (no readable manifest)`);
      const running = this.running();
      if (running) return problem(409, "conflict", `Rollout ${running.id} of ${running.model} is still running; promote or roll it back first`);
      const stored = await readTenantConfig(this.env.MODELS, tenant);
      if (stored.invalid) return problem(409, "conflict", `The tenant's experiments.json is invalid (${stored.invalid}); fix it first`);
      if (stored.config?.experiment) return problem(409, "conflict", `Experiment ${stored.config.experiment.name} is running; end it before a rollout`);
      if (stored.config?.default_model === req.model) return problem(409, "conflict", `${req.model} already serves all traffic`);
      const now = Date.now();
      const n = Number(this.kv("rollout_seq") ?? "0") + 1;
      const rollout: Rollout = {
        id: `ro${n}`,
        model: req.model,
        baseline: stored.config?.default_model ?? null,
        steps: req.steps,
        step: 0,
        status: "running",
        guard_rails: req.guard_rails,
        auto_promote_after: req.auto_promote_after,
        created_at: now,
        updated_at: now,
        reason: null,
      };
      const config = stepConfig(rollout);
      if (!(await writeTenantConfig(this.env.MODELS, tenant, config, stored.etag))) return problem(409, "conflict", "experiments.json changed meanwhile; try again");
      this.ctx.storage.transactionSync(() => {
        this.setKv("rollout_seq", String(n));
        this.saveRollout(rollout);
        this.record("rollout_started", rollout.id, { by, model: rollout.model, baseline: rollout.baseline, percent: rollout.steps[0], steps: rollout.steps, config });
      });
      return { ok: true, value: rollout };
    });
  }

  /** Moves a running rollout to its next step (the last step makes the model the default). */
  async promote(tenant: string, id: string, by: string): Promise<AdminResult<Rollout>> {
    return this.exclusive(() => this.promoteNow(tenant, id, by, null));
  }

  /** Rolls a running rollout back to its baseline model, recording why. */
  async rollback(tenant: string, id: string, reason: string, by: string): Promise<AdminResult<Rollout>> {
    return this.exclusive(() => this.rollbackNow(tenant, id, reason, by));
  }

  /** Changes the weights of the running experiment (not of a rollout: promote or roll back those). */
  async setWeights(tenant: string, weights: Record<string, number>, by: string): Promise<AdminResult<TenantConfig>> {
    return this.exclusive(async () => {
      const stored = await readTenantConfig(this.env.MODELS, tenant);
      if (stored.invalid) return problem(409, "conflict", `The tenant's experiments.json is invalid (${stored.invalid}); fix it first`);
      const running = this.running();
      if (running && stored.config?.experiment?.name === stepExperiment(running)) {
        return problem(409, "conflict", `Traffic of rollout ${running.id} moves by promote or rollback, not by weights`);
      }
      const next = withWeights(stored.config, weights);
      if (!next.ok) return problem(stored.config?.experiment ? 400 : 409, stored.config?.experiment ? "invalid_body" : "conflict", next.message);
      if (!(await writeTenantConfig(this.env.MODELS, tenant, next.config, stored.etag))) return problem(409, "conflict", "experiments.json changed meanwhile; try again");
      this.ctx.storage.transactionSync(() => {
        this.rememberWeights(next.config);
        this.record("weights_changed", null, { by, experiment: next.config.experiment!.name, from: weightsOf(stored.config), to: weights });
      });
      return { ok: true, value: next.config };
    });
  }

  // ── rollouts ──────────────────────────────────────────────────────────────

  private async checkRollout(tenant: string, id: string): Promise<GuardRailVerdict | null> {
    return this.exclusive(async () => {
      const r = this.rollout(id);
      if (!r || r.status !== "running") return null;
      const exp = stepExperiment(r);
      const sql = this.ctx.storage.sql;
      const verdict = checkGuardRails(armStats(sql, exp, "canary"), armStats(sql, exp, "stable"), r.guard_rails);
      if (verdict.verdict === "breach") {
        await this.rollbackNow(tenant, id, `Guard rail: ${verdict.reasons.join("; ")}`, "guard rails");
      } else if (verdict.verdict === "ok" && r.auto_promote_after !== null && armStats(sql, exp, "canary").impressions >= r.auto_promote_after) {
        await this.promoteNow(tenant, id, "auto-promotion", `${r.auto_promote_after} canary impressions within the guard rails`);
      }
      return verdict;
    });
  }

  private async promoteNow(tenant: string, id: string, by: string, why: string | null): Promise<AdminResult<Rollout>> {
    const r = this.rollout(id);
    if (!r) return problem(404, "not_found", `No rollout ${id}`);
    if (r.status !== "running") return problem(409, "conflict", `Rollout ${id} is ${r.status.replace("_", " ")}`);
    const stored = await readTenantConfig(this.env.MODELS, tenant);
    const next: Rollout = { ...r, step: r.step + 1, updated_at: Date.now() };
    const done = next.steps[next.step]! >= 100;
    if (done) next.status = "promoted";
    const config = stepConfig(next);
    if (!(await writeTenantConfig(this.env.MODELS, tenant, config, stored.etag))) return problem(409, "conflict", "experiments.json changed meanwhile; try again");
    this.ctx.storage.transactionSync(() => {
      this.saveRollout(next);
      this.record(done ? "rollout_completed" : "rollout_promoted", id, { by, percent: next.steps[next.step], ...(why ? { reason: why } : {}), config });
    });
    return { ok: true, value: next };
  }

  private async rollbackNow(tenant: string, id: string, reason: string, by: string): Promise<AdminResult<Rollout>> {
    const r = this.rollout(id);
    if (!r) return problem(404, "not_found", `No rollout ${id}`);
    if (r.status !== "running") return problem(409, "conflict", `Rollout ${id} is ${r.status.replace("_", " ")}`);
    const config = rolledBackConfig(r);
    // Unconditional: getting the canary out of traffic wins over a concurrent edit.
    await writeTenantConfig(this.env.MODELS, tenant, config, null);
    const next: Rollout = { ...r, status: "rolled_back", reason, updated_at: Date.now() };
    this.ctx.storage.transactionSync(() => {
      this.saveRollout(next);
      this.record("rollout_rolled_back", id, { by, reason, percent: r.steps[r.step], config });
    });
    return { ok: true, value: next };
  }

  private running(): Rollout | null {
    const row = this.ctx.storage.sql.exec<{ doc: string }>("SELECT doc FROM rollouts WHERE status = 'running' ORDER BY created_at DESC LIMIT 1").toArray()[0];
    return row ? (JSON.parse(row.doc) as Rollout) : null;
  }

  private rollout(id: string): Rollout | null {
    const row = this.ctx.storage.sql.exec<{ doc: string }>("SELECT doc FROM rollouts WHERE id = ?", id).toArray()[0];
    return row ? (JSON.parse(row.doc) as Rollout) : null;
  }

  private rollouts(): Rollout[] {
    return this.ctx.storage.sql.exec<{ doc: string }>("SELECT doc FROM rollouts ORDER BY created_at DESC LIMIT 50").toArray().map((r) => JSON.parse(r.doc) as Rollout);
  }

  private saveRollout(r: Rollout): void {
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO rollouts (id, doc, status, created_at) VALUES (?, ?, ?, ?)", r.id, JSON.stringify(r), r.status, r.created_at);
  }

  private record(kind: HistoryEntry["kind"], rollout: string | null, detail: HistoryDetail): void {
    const sql = this.ctx.storage.sql;
    sql.exec("INSERT INTO history (at, kind, rollout, detail) VALUES (?, ?, ?, ?)", Date.now(), kind, rollout, JSON.stringify(detail));
    sql.exec("DELETE FROM history WHERE seq <= (SELECT max(seq) FROM history) - ?", HISTORY_ROWS);
  }

  private history(): HistoryEntry[] {
    return this.ctx.storage.sql
      .exec<{ seq: number; at: number; kind: HistoryEntry["kind"]; rollout: string | null; detail: string }>("SELECT * FROM history ORDER BY seq DESC LIMIT 200")
      .toArray()
      .map((r) => ({ ...r, detail: JSON.parse(r.detail) as HistoryDetail }));
  }

  /** Serialises read-modify-write of experiments.json and rollout state across concurrent calls. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
  private queue: Promise<unknown> = Promise.resolve();

  // ── experiments, models, settings ─────────────────────────────────────────

  private weightsFor(experiment: string, current: TenantConfig | null): Record<string, number> | null {
    if (current?.experiment?.name === experiment) return weightsOf(current);
    const m = /^(ro\d+)-s(\d+)$/.exec(experiment);
    const r = m ? this.rollout(m[1]!) : null;
    if (r) {
      const p = r.steps[Number(m![2]) - 1];
      if (p !== undefined) return { stable: 100 - p, canary: p };
    }
    const row = this.ctx.storage.sql.exec<{ weights: string }>("SELECT weights FROM exp_weights WHERE experiment = ?", experiment).toArray()[0];
    return row ? (JSON.parse(row.weights) as Record<string, number>) : null;
  }

  private rememberWeights(config: TenantConfig | null): void {
    const w = weightsOf(config);
    if (w) this.ctx.storage.sql.exec("INSERT OR REPLACE INTO exp_weights (experiment, weights) VALUES (?, ?)", config!.experiment!.name, JSON.stringify(w));
  }

  private async models(config: TenantConfig | null, now: number): Promise<ModelInfo[]> {
    const roles = new Map<string, Set<string>>();
    const add = (model: string | null | undefined, role: string) => {
      if (!model) return;
      roles.set(model, (roles.get(model) ?? new Set()).add(role));
    };
    add(config?.default_model, "default");
    for (const v of config?.experiment?.variants ?? []) add(v.model, `${config!.experiment!.name}: ${v.name} (${v.weight})`);
    const running = this.running();
    if (running) add(running.model, `canary of ${running.id}`);
    const seen = new Map(
      this.ctx.storage.sql.exec<{ model: string; last_at: number; impressions: number }>("SELECT model, last_at, impressions FROM models_seen").toArray().map((r) => [r.model, r]),
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
    return this.ctx.storage.sql.exec<{ model: string }>("SELECT model FROM models_seen WHERE last_at >= ?", since).toArray().map((r) => r.model);
  }

  private async manifest(id: string, ttl = MANIFEST_TTL_MS): Promise<Manifest | null> {
    return cachedJson(this.env.MODELS, `models/${id}/manifest.json`, ttl, parseManifest).catch(() => null);
  }

  private async modelRef(id: string): Promise<ModelRef> {
    const manifest = await this.manifest(id);
    if (!manifest) return { baselines: null, vocab: null };
    const vocab = await cachedJson(this.env.MODELS, `models/${id}/${manifest.vocabulary.file}`, MANIFEST_TTL_MS, (raw) => {
      if (!Array.isArray(raw)) throw new Error("vocabulary is not an array");
      return new Set(raw.filter((x): x is string => typeof x === "string"));
    }).catch(() => null);
    return { baselines: manifest.baselines, vocab };
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

  /** Daily retention pass (alarms are at-least-once; pruning is idempotent). */
  override async alarm(): Promise<void> {
    this.setKv("pruned_at", "0");
    this.ctx.storage.transactionSync(() => this.prune(Date.now()));
    await this.ctx.storage.setAlarm(Date.now() + 86_400_000);
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

function problem<T>(status: 400 | 404 | 409, code: "unknown_model" | "not_found" | "conflict" | "invalid_body", message: string): AdminResult<T> {
  return { ok: false, status, code, message };
}
