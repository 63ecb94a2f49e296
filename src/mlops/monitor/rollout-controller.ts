import type { ExperimentConfig } from "../../experiments/config";
import type { Manifest } from "../../models/manifest";
import { type GuardRailVerdict, checkGuardRails } from "../rollout/guard-rails";
import { readTenantConfig, weightsOf, writeTenantConfig } from "../rollout/config-store";
import { type Rollout, type StartRollout, rolledBackConfig, stepConfig, stepExperiment, withWeights } from "../rollout/plan";
import { type AdminResult, type HistoryDetail, type HistoryEntry, problem } from "./types";
import { armStats } from "./reports";
import { HISTORY_ROWS } from "./schema";

/** What the controller needs of its Durable Object. */
export interface ControllerDeps {
  manifest(id: string, ttl?: number): Promise<Manifest | null>;
  kv(key: string): string | null;
  setKv(key: string, value: string): void;
}

/**
 * The rollout controller of one tenant: starts, promotes and rolls back canary
 * rollouts, changes experiment weights, and judges a running rollout's guard rails.
 * Every decision writes the tenant's experiments.json in R2 (serving isolates re-read
 * it every REGISTRY_REFRESH_SECONDS) and a history line. It lives in the MonitorDO
 * (its counts are the guard rails' input) but never runs inside a consumer's
 * delivery: guard rails are judged from the object's alarm (design 0017).
 */
export class RolloutController {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly models: R2Bucket,
    private readonly deps: ControllerDeps,
  ) {}

  /** Starts rolling `req.model` out to the first step's share of traffic. */
  async startRollout(tenant: string, req: StartRollout, by: string): Promise<AdminResult<Rollout>> {
    return this.exclusive(async () => {
      if (!(await this.deps.manifest(req.model, 0))) return problem(400, "unknown_model", `Model ${req.model} is not published (no readable manifest)`);
      const running = this.running();
      if (running) return problem(409, "conflict", `Rollout ${running.id} of ${running.model} is still running; promote or roll it back first`);
      const stored = await readTenantConfig(this.models, tenant);
      if (stored.invalid) return problem(409, "conflict", `The tenant's experiments.json is invalid (${stored.invalid}); fix it first`);
      if (stored.config?.experiment) return problem(409, "conflict", `Experiment ${stored.config.experiment.name} is running; end it before a rollout`);
      if (stored.config?.default_model === req.model) return problem(409, "conflict", `${req.model} already serves all traffic`);
      const now = Date.now();
      const n = Number(this.deps.kv("rollout_seq") ?? "0") + 1;
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
      if (!(await writeTenantConfig(this.models, tenant, config, stored.etag))) return problem(409, "conflict", "experiments.json changed meanwhile; try again");
      this.storage.transactionSync(() => {
        this.deps.setKv("rollout_seq", String(n));
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
  async setWeights(tenant: string, weights: Record<string, number>, by: string): Promise<AdminResult<ExperimentConfig>> {
    return this.exclusive(async () => {
      const stored = await readTenantConfig(this.models, tenant);
      if (stored.invalid) return problem(409, "conflict", `The tenant's experiments.json is invalid (${stored.invalid}); fix it first`);
      const running = this.running();
      if (running && stored.config?.experiment?.name === stepExperiment(running)) {
        return problem(409, "conflict", `Traffic of rollout ${running.id} moves by promote or rollback, not by weights`);
      }
      const next = withWeights(stored.config, weights);
      if (!next.ok) return problem(stored.config?.experiment ? 400 : 409, stored.config?.experiment ? "invalid_body" : "conflict", next.message);
      if (!(await writeTenantConfig(this.models, tenant, next.config, stored.etag))) return problem(409, "conflict", "experiments.json changed meanwhile; try again");
      this.storage.transactionSync(() => {
        this.rememberWeights(next.config);
        this.record("weights_changed", null, { by, experiment: next.config.experiment!.name, from: weightsOf(stored.config), to: weights });
      });
      return { ok: true, value: next.config };
    });
  }

  async checkRollout(tenant: string, id: string): Promise<GuardRailVerdict | null> {
    return this.exclusive(async () => {
      const r = this.rollout(id);
      if (r?.status !== "running") return null;
      const exp = stepExperiment(r);
      const sql = this.storage.sql;
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
    const stored = await readTenantConfig(this.models, tenant);
    const next: Rollout = { ...r, step: r.step + 1, updated_at: Date.now() };
    const done = next.steps[next.step]! >= 100;
    if (done) next.status = "promoted";
    const config = stepConfig(next);
    if (!(await writeTenantConfig(this.models, tenant, config, stored.etag))) return problem(409, "conflict", "experiments.json changed meanwhile; try again");
    this.storage.transactionSync(() => {
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
    await writeTenantConfig(this.models, tenant, config, null);
    const next: Rollout = { ...r, status: "rolled_back", reason, updated_at: Date.now() };
    this.storage.transactionSync(() => {
      this.saveRollout(next);
      this.record("rollout_rolled_back", id, { by, reason, percent: r.steps[r.step], config });
    });
    return { ok: true, value: next };
  }

  running(): Rollout | null {
    const row = this.storage.sql.exec<{ doc: string }>("SELECT doc FROM rollouts WHERE status = 'running' ORDER BY created_at DESC LIMIT 1").toArray()[0];
    return row ? (JSON.parse(row.doc) as Rollout) : null;
  }

  private rollout(id: string): Rollout | null {
    const row = this.storage.sql.exec<{ doc: string }>("SELECT doc FROM rollouts WHERE id = ?", id).toArray()[0];
    return row ? (JSON.parse(row.doc) as Rollout) : null;
  }

  rollouts(): Rollout[] {
    return this.storage.sql
      .exec<{ doc: string }>("SELECT doc FROM rollouts ORDER BY created_at DESC LIMIT 50")
      .toArray()
      .map((r) => JSON.parse(r.doc) as Rollout);
  }

  private saveRollout(r: Rollout): void {
    this.storage.sql.exec("INSERT OR REPLACE INTO rollouts (id, doc, status, created_at) VALUES (?, ?, ?, ?)", r.id, JSON.stringify(r), r.status, r.created_at);
  }

  private record(kind: HistoryEntry["kind"], rollout: string | null, detail: HistoryDetail): void {
    const sql = this.storage.sql;
    sql.exec("INSERT INTO history (at, kind, rollout, detail) VALUES (?, ?, ?, ?)", Date.now(), kind, rollout, JSON.stringify(detail));
    sql.exec("DELETE FROM history WHERE seq <= (SELECT max(seq) FROM history) - ?", HISTORY_ROWS);
  }

  history(): HistoryEntry[] {
    return this.storage.sql
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

  weightsFor(experiment: string, current: ExperimentConfig | null): Record<string, number> | null {
    if (current?.experiment?.name === experiment) return weightsOf(current);
    const m = /^(ro\d+)-s(\d+)$/.exec(experiment);
    const r = m ? this.rollout(m[1]!) : null;
    if (r) {
      const p = r.steps[Number(m![2]) - 1];
      if (p !== undefined) return { stable: 100 - p, canary: p };
    }
    const row = this.storage.sql.exec<{ weights: string }>("SELECT weights FROM exp_weights WHERE experiment = ?", experiment).toArray()[0];
    return row ? (JSON.parse(row.weights) as Record<string, number>) : null;
  }

  rememberWeights(config: ExperimentConfig | null): void {
    const w = weightsOf(config);
    if (w) this.storage.sql.exec("INSERT OR REPLACE INTO exp_weights (experiment, weights) VALUES (?, ?)", config!.experiment!.name, JSON.stringify(w));
  }
}
