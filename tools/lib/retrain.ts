/**
 * One retrain run (`npm run retrain`): read the tenant's event log for the window as a
 * stream, train every stage of the shipped family on the visits before the held-out
 * period (two-stage.ts: the generators, the ranker, its settings chosen on validation
 * lists), score the challenger and the tenant's current default on the held-out visits
 * through the serving path, judge them (src/offline/retrain/gate.ts), and only then
 * publish the version and start a canary rollout through the admin API. Every run
 * writes `retrain/<tenant>/runs/<run>.json` to the models bucket; a refusal changes
 * nothing else. The I/O is passed in: tests and the CLI give the local bucket, the CLI
 * with --remote gives wrangler and an exported log.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Catalog, catalogKey, parseCatalog } from "../../src/catalog/catalog";
import { type ExperimentConfig, parseTenantConfig, tenantConfigKey } from "../../src/experiments/config";
import type { LoadedModel } from "../../src/models/loaded-model";
import { type ModelCard, parseManifest } from "../../src/models/manifest";
import { type SequenceInput, sequenceInput } from "../../src/models/inputs";
import { buildPopularity, createPopularityRecommender } from "../../src/models/knn/popularity";
import { servingPathRecommender } from "../../src/offline/eval/serving-path";
import { buildModelVersion } from "../../src/offline/export/model-version";
import { type Comparison, type Metric, type ModelScores, pairedBootstrap, scoreVisits } from "../../src/offline/retrain/compare";
import { DEFAULT_GATE, type GateSettings, type GateVerdict, judge } from "../../src/offline/retrain/gate";
import { type LogObjects, type WindowData, readLogWindow } from "../../src/offline/retrain/log-window";
import { loadModelFiles, createNodeSession } from "../../src/offline/serving/node-model";
import { modelVocab } from "../../src/offline/train/session-model";
import { trainSessionModelFast } from "../../src/offline/train/session-model-fast";
import { trainTwoStage } from "../../src/offline/train/two-stage";
import { MODEL_BLEND_WEIGHT, VSKNN_OPTIONS } from "../../src/offline/train/vsknn-options";

const DAY_MS = 86_400_000;
const SESSION_GAP_MS = 1800 * 1000; // SESSION_GAP_SECONDS in wrangler.toml

/** The models bucket as a run uses it. */
export interface Registry {
  /** An object's bytes, or null. */
  get(key: string): Promise<Uint8Array | null>;
  putJson(key: string, value: unknown): Promise<void>;
  /** Verifies and uploads a version folder (registry.ts `publishModel`); returns `name/version`. */
  publish(dir: string): Promise<string>;
}

/** Starts a canary rollout (the admin API's `POST /admin/api/rollouts`): its id, or a problem. */
export type StartRollout = (model: string) => Promise<{ ok: true; id: string } | { ok: false; status: number; message: string }>;

/** Settings of one run (the CLI's flags). */
export interface RetrainOptions {
  tenant: string;
  /** End of the window (epoch ms, default now); the window is `days` long, its last `holdoutDays` held out. */
  to?: number;
  days: number;
  holdoutDays: number;
  gate: GateSettings;
  /** Bootstrap resamples of the held-out visits. */
  bootstrap: number;
  /** Version name (default: the champion's name, else the tenant id) and version (default r<yyyyMMddHHmmss>). */
  name?: string;
  version?: string;
  /** Where the version folder is written before it is published. */
  out: string;
  /** Neural generator and ranker sizes (small values for quick runs and tests). */
  dim: number;
  epochs: number;
  maxLists: number;
  seed: number;
  /** The `retrain_requested` message this run answers, if any. */
  request: string | null;
  /** Judge only: never publish or roll out (the run record is still written). */
  dryRun: boolean;
  log: (line: string) => void;
}

/** What a run decided and did: also the run record written to R2. */
export interface RunRecord {
  run: string;
  tenant: string;
  request: string | null;
  started_at: string;
  data_window: { from: string; to: string };
  holdout_window: { from: string; to: string };
  log: Omit<WindowData, "train" | "holdout">;
  sessions: { train: number; holdout: number };
  champion: string | null;
  challenger: string | null;
  verdict: "published" | "refused" | "dry_run";
  reasons: string[];
  checks: GateVerdict["checks"];
  comparison: Comparison | null;
  rollout: { id: string } | { error: string } | null;
  seconds: { read: number; train: number; evaluate: number; total: number };
}

/** The key of a run's record in the models bucket. */
export const runKey = (tenant: string, run: string) => `retrain/${tenant}/runs/${run}.json`;

/** Runs one retrain (see the module comment). `exitCode` 0: published (or a dry run's pass); 1: refused or failed. */
export async function retrain(
  o: RetrainOptions,
  io: { log: LogObjects; registry: Registry; startRollout: StartRollout; erasedAt?: (tenant: string, visitor: string) => Promise<number | undefined> },
): Promise<{ exitCode: number; record: RunRecord }> {
  const t0 = performance.now();
  const to = o.to ?? Date.now();
  const window = { from: to - o.days * DAY_MS, holdoutFrom: to - o.holdoutDays * DAY_MS, to };
  const iso = (t: number) => new Date(t).toISOString();
  const version = o.version ?? `r${iso(Date.now()).replace(/[-:T]/g, "").slice(0, 14)}`;
  const record: RunRecord = {
    run: `${iso(Date.now()).replace(/[-:.]/g, "")}-${version}`,
    tenant: o.tenant,
    request: o.request,
    started_at: iso(Date.now()),
    data_window: { from: iso(window.from), to: iso(window.holdoutFrom) },
    holdout_window: { from: iso(window.holdoutFrom), to: iso(window.to) },
    log: { events: 0, views: 0, lines: 0, duplicates: 0, erased: 0, objects: 0, visitors: 0, peakBuffered: 0 },
    sessions: { train: 0, holdout: 0 },
    champion: null,
    challenger: null,
    verdict: "refused",
    reasons: [],
    checks: [],
    comparison: null,
    rollout: null,
    seconds: { read: 0, train: 0, evaluate: 0, total: 0 },
  };
  const finish = async (exitCode: number) => {
    record.seconds.total = secs(t0);
    await io.registry.putJson(runKey(o.tenant, record.run), record);
    return { exitCode, record };
  };
  const refuse = (reason: string) => {
    record.reasons.push(reason);
    o.log(`refused: ${reason}`);
    return finish(1);
  };

  // Nothing may run beside a retrain's rollout: an experiment (a rollout step is one) would make it fail after publishing.
  const config = await readConfig(io.registry, o.tenant);
  if (config?.experiment) return refuse(`experiment ${config.experiment.name} is running (a rollout or an A/B test): end it first`);
  record.champion = config?.default_model ?? null;
  const catalogBytes = await io.registry.get(catalogKey(o.tenant));
  const catalog: Catalog | null = catalogBytes ? parseCatalog(JSON.parse(text(catalogBytes))) : null;

  const data = await readLogWindow(io.log, o.tenant, window, { engine: { sessionGapMs: SESSION_GAP_MS }, erasedAt: io.erasedAt });
  const { train, holdout, ...counts } = data;
  record.log = counts;
  record.sessions = { train: train.length, holdout: holdout.length };
  record.seconds.read = secs(t0);
  o.log(
    `log ${record.data_window.from} → ${record.holdout_window.to}: ${counts.events} events (${counts.lines} lines, ${counts.duplicates} duplicates, ${counts.objects} objects), ${train.length} training visits, ${holdout.length} held out`,
  );
  if (train.length < 50) return refuse(`only ${train.length} training visits with two or more views in the window (at least 50)`);
  if (holdout.length === 0) return refuse("no held-out visits in the most recent period");

  // Train the challenger on the visits before the held-out period: what is measured is what ships.
  const t1 = performance.now();
  const from = window.from;
  const twoStage = await trainTwoStage(train, {
    trainNeural: (s) => trainSessionModelFast(s, { seed: o.seed, dim: o.dim, epochs: o.epochs, trainingWindow: { from, to: window.holdoutFrom } }),
    createSession: createNodeSession,
    catalog,
    maxFitLists: o.maxLists,
    maxValidationLists: Math.max(100, Math.floor(o.maxLists / 2)),
    log: o.log,
  });
  const neural = twoStage.neural as ReturnType<typeof trainSessionModelFast>;
  const vocab = modelVocab(neural);
  const inputs: SequenceInput[] = [];
  for (const s of train) for (let i = 1; i < s.length && inputs.length < 50_000; i++) inputs.push(sequenceInput(s.slice(0, i), vocab));
  const name = o.name ?? record.champion?.split("/")[0] ?? o.tenant;
  const info = {
    name,
    version,
    createdAt: iso(Date.now()),
    training: {
      data: `event log of tenant ${o.tenant}, ${record.data_window.from} → ${record.data_window.to}; npm run retrain`,
      window: record.data_window,
      sessions: train.length,
      examples: inputs.length,
    },
    metrics: { train_seconds: Math.round(secs(t1)), ranker_seconds: Math.round(twoStage.rankerSeconds), final_loss: Math.round(neural.finalLoss * 1e4) / 1e4 },
    trainingInputs: inputs,
    popular: neural.popularity.map((p) => p.item_id),
    candidates: { index: twoStage.knnIndex, options: VSKNN_OPTIONS, modelWeight: MODEL_BLEND_WEIGHT },
    ranker: { onnx: twoStage.ranker.onnx, iknn: twoStage.iknnIndex, spec: twoStage.ranker.spec },
  };
  const draft = await buildModelVersion(neural, info);
  record.seconds.train = secs(t1);

  // Champion and challenger on the same held-out visits, through the serving path.
  const t2 = performance.now();
  const challengerModel = await loadModelFiles((f) => draft.files[f]!);
  const engine = { sessionGapMs: SESSION_GAP_MS };
  const championModel = record.champion ? await loadChampion(io.registry, record.champion) : null;
  const championRec = championModel ? servingPathRecommender(championModel, engine, catalog) : createPopularityRecommender(buildPopularity(train), "popularity (no champion)");
  const [challenger, champion] = (await scoreVisits([servingPathRecommender(challengerModel, engine, catalog), championRec], holdout)) as [ModelScores, ModelScores];
  const comparison = pairedBootstrap(challenger, champion, o.bootstrap, o.seed);
  const items = catalog ? catalog.byId.size : new Set([...neural.items, ...(championModel ? championModel.manifest.popular : [])]).size;
  const verdict = judge(comparison, challenger, champion, items, o.gate);
  record.seconds.evaluate = secs(t2);
  record.comparison = comparison;
  record.checks = verdict.checks;
  for (const c of verdict.checks) o.log(`  ${c.passed ? "pass" : "FAIL"}  ${c.rule}: ${c.detail}`);
  if (!verdict.publish) {
    record.reasons = verdict.reasons;
    o.log(`refused: ${verdict.reasons.join("; ")}`);
    return finish(1);
  }
  if (o.dryRun) {
    record.verdict = "dry_run";
    o.log("the challenger passes the gate; --dry-run: nothing published");
    return finish(0);
  }

  // Publish with the model card, then start the canary.
  const card: ModelCard = {
    kind: "retrain",
    run: record.run,
    tenant: o.tenant,
    request: o.request,
    data_window: record.data_window,
    holdout_window: record.holdout_window,
    events_used: counts.events,
    sessions: record.sessions,
    champion: record.champion,
    metrics: cardMetrics(comparison, challenger, champion, items),
    gate: {
      metric: o.gate.metric,
      margin: o.gate.margin,
      max_coverage_drop: o.gate.maxCoverageDrop,
      max_latency_ratio: o.gate.maxLatencyRatio,
      max_segment_drop: o.gate.maxSegmentDrop,
      bootstrap: o.bootstrap,
    },
    verdict: "published",
    reasons: verdict.checks.map((c) => `${c.rule}: ${c.detail}`),
  };
  const { files } = await buildModelVersion(neural, { ...info, card });
  const dir = join(o.out, name, version);
  mkdirSync(dir, { recursive: true });
  for (const [f, bytes] of Object.entries(files)) writeFileSync(join(dir, f), bytes);
  const id = await io.registry.publish(dir);
  record.challenger = id;
  record.verdict = "published";
  record.reasons = card.reasons;
  const rollout = await io.startRollout(id);
  record.rollout = rollout.ok ? { id: rollout.id } : { error: `${rollout.status}: ${rollout.message}` };
  o.log(rollout.ok ? `published ${id}; canary rollout ${rollout.id} started` : `published ${id}, but the rollout did not start: ${rollout.status} ${rollout.message}`);
  return finish(rollout.ok ? 0 : 1);
}

/** The tenant's experiment config in the registry (null: none yet). */
export async function readConfig(registry: Registry, tenant: string): Promise<ExperimentConfig | null> {
  const bytes = await registry.get(tenantConfigKey(tenant));
  return bytes ? parseTenantConfig(JSON.parse(text(bytes))) : null;
}

/** The champion's version folder from the registry, loaded and verified as the worker loads it. */
async function loadChampion(registry: Registry, id: string): Promise<LoadedModel> {
  const raw = await registry.get(`models/${id}/manifest.json`);
  if (!raw) throw new Error(`the tenant's default model ${id} has no manifest in the registry`);
  const manifest = parseManifest(JSON.parse(text(raw)));
  const files = new Map<string, Uint8Array>([["manifest.json", raw]]);
  for (const f of Object.keys(manifest.files)) {
    const bytes = await registry.get(`models/${id}/${f}`);
    if (!bytes) throw new Error(`models/${id}/${f} is missing from the registry`);
    files.set(f, bytes);
  }
  return loadModelFiles((f) => files.get(f)!);
}

/** The card's figures: value and interval per metric, coverage and latency; finite numbers only (JSON has no NaN). */
function cardMetrics(c: Comparison, challenger: ModelScores, champion: ModelScores, items: number): ModelCard["metrics"] {
  const out: ModelCard["metrics"] = { challenger: {}, champion: {}, difference: {} };
  const set = (r: Record<string, number>, k: string, x: number) => {
    if (Number.isFinite(x)) r[k] = Math.round(x * 1e4) / 1e4;
  };
  for (const [m, e] of Object.entries(c) as Array<[Metric, Comparison[Metric]]>) {
    for (const side of ["challenger", "champion", "difference"] as const) {
      set(out[side], m, e[side].value);
      set(out[side], `${m}.low`, e[side].low);
      set(out[side], `${m}.high`, e[side].high);
    }
  }
  for (const [side, s] of [
    ["challenger", challenger],
    ["champion", champion],
  ] as const) {
    set(out[side], "coverage@20", s.recommended / Math.max(1, items));
    set(out[side], "p50_ms", s.latency.p50);
    set(out[side], "p95_ms", s.latency.p95);
    set(
      out[side],
      "cases",
      s.visits.reduce((n, v) => n + v.cases, 0),
    );
  }
  return out;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const secs = (t: number) => Math.round((performance.now() - t) / 10) / 100;

export { DEFAULT_GATE };
