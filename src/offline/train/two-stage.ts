/**
 * Trains a two-stage model version from training sessions (oldest first):
 *
 * 1. the run's own sessions are split by time: generators are fitted on the
 *    first 90% (V-SKNN index, item-kNN, popularity, the neural model);
 * 2. the last 10% are replayed as product views through the feature engine
 *    (the SessionDO's code, point in time: each list sees only the events
 *    before it) and every prefix becomes a list: the generators' union with the
 *    ranker features (the worker's own function), label 1 on the next item;
 * 3. LambdaMART is trained on the first 80% of those lists and early-stopped on
 *    the last 20%, where every generator alone and the union's recall are
 *    measured too (the manifest's `selection`), repeat and new targets apart; the
 *    visit guard is turned on when the ranker ranks repeats below S-POP there (0029).
 *    The fresh generator (streaming co-visitation, design 0028) sees, at each list,
 *    the state the FreshDO would hold then (./fresh-replay.ts);
 * 4. every generator is refitted on all sessions for shipping, the neural one
 *    included: the last tenth is the most recent behaviour, and on Diginetica's
 *    test week the refit is worth +0.8 HR@20 (design 0029).
 *
 * Offline code (Node).
 */
import type { Catalog } from "../../catalog/catalog";
import { type EngineOptions, applyEvent, initialState, materialise } from "../../features/engine";
import { buildCooccurrence, serializeCooccurrence } from "../../models/knn/cooccurrence";
import { buildIndex, serializeIndex } from "../../models/knn/index";
import { createVsknn } from "../../models/knn/vsknn";
import type { RankerSpec } from "../../models/manifest";
import { buildSessionTopKModel } from "../../models/onnx/session-topk";
import { SEQ_LEN } from "../../models/inputs";
import { GENERATORS, type GeneratorName, RANKER_FEATURES, rankerColumn, rankerRow, selectColumns } from "../../models/ranker/features";
import { guardVisit } from "../../models/ranker/visit-guard";
import { type Stage1, popularityOf } from "../../models/ranker/generators";
import { candidateMatrix } from "../../models/ranker/ranker";
import { type TreeEnsemble, buildTreeEnsembleModel, scoreEnsemble } from "../../models/ranker/trees";
import { rankerBaselines } from "../export/ranker-baselines";
import type { SessionTopKWeights } from "../export/model-version";
import { productView, viewTime } from "../eval/serving-path";
import type { OrtSession } from "../../models/ort-session";
import { CUT_TOLERANCE, type ReplayedList, chooseCandidateCounts, cutList } from "./candidate-counts";
import { FreshReplay } from "./fresh-replay";
import { FRESH_STATE_DEFAULTS } from "../../models/ranker/fresh";
import { VSKNN_GRID, type VsknnManifestOptions, chooseVsknnOptions } from "./vsknn-options";
import { DEFAULT_LAMBDAMART, type LambdaMartOptions, type RankingData, listMetrics, trainLambdaMart } from "./lambdamart";

/** Generators' list lengths and item-kNN options (what the manifest records). */
export const DEFAULT_GENERATORS: Omit<RankerSpec["generators"], "iknn"> & { iknn: Omit<RankerSpec["generators"]["iknn"], "file"> } = {
  vsknn: { k: 100 },
  iknn: { k: 50, depth: 3, decay: 0.5, shrinkage: 20, neighbours: 30 },
  session: { k: 20 },
  neural: { k: 100 },
  popular: { k: 20 },
  fresh: { k: 50, depth: 3, decay: 0.5, state: FRESH_STATE_DEFAULTS, exclude_viewed: true },
};

/** Options of {@link trainTwoStage}. */
export interface TwoStageOptions {
  /**
   * Trains the neural generator on the sessions it is given; called twice (the generators' 90 %,
   * then every session for shipping) before either is awaited, so an off-thread trainer
   * (`npm run train`'s worker threads) fits both at once.
   */
  trainNeural: (sessions: readonly (readonly string[])[]) => SessionTopKWeights | Promise<SessionTopKWeights>;
  /** Creates ONNX sessions: onnxruntime's Node build offline (`createNodeSession`), the worker's in tests. */
  createSession: (bytes: Uint8Array) => Promise<OrtSession>;
  /** Item data for the replayed events and the ranker features (category, price), when the shop has a catalog. */
  catalog?: Catalog | null;
  /** Lists used to fit / validate the ranker, at most (sampled evenly over the replayed prefixes). */
  maxFitLists?: number;
  maxValidationLists?: number;
  lambdamart?: Partial<LambdaMartOptions>;
  /** V-SKNN settings tried (default VSKNN_GRID), on at most `maxVsknnPoints` held-out prefixes (default 5,000). */
  vsknnGrid?: readonly VsknnManifestOptions[];
  maxVsknnPoints?: number;
  engine?: EngineOptions;
  /** When each view of each session happened (epoch ms), for the fresh generator's point-in-time state; else synthetic times. */
  viewTimes?: ReadonlyArray<readonly number[]>;
  /** Ships the neural generator fitted on the first 90% instead of refitting it on every session (tests: half the time). */
  keepNeuralFit?: boolean;
  /** Leaves the fresh generator out (versions as before it, and the with/without comparison). */
  withoutFresh?: boolean;
  log?: (line: string) => void;
}

/** What a two-stage model version is made of. */
export interface TwoStageArtifacts {
  /** Wall time of the ranker's training (not in the manifest: rebuilds must be byte-identical). */
  rankerSeconds: number;
  neural: SessionTopKWeights;
  knnIndex: Uint8Array;
  /** The V-SKNN options chosen on the run's held-out sessions (the manifest's `candidates.options`). */
  vsknnOptions: VsknnManifestOptions;
  iknnIndex: Uint8Array;
  ranker: { onnx: Uint8Array; spec: Omit<RankerSpec, "kind" | "file"> };
  /** The validation table: name → HR@20 / MRR@20 on the ranker's validation lists, and HR@20 on repeat and new targets apart. */
  validation: ValidationRow[];
}

/** One row of the validation table (fractions). */
export interface ValidationRow {
  name: string;
  hr20: number;
  mrr20: number;
  /** HR@20 on the lists whose next item was already viewed in the visit (repeat targets), and on the others (new). */
  repeatHr20: number;
  newHr20: number;
}

/** Trainer settings tried per run; the best on the validation lists ships. */
export const RANKER_GRID: ReadonlyArray<Partial<LambdaMartOptions>> = [
  { maxDepth: 6, learningRate: 0.15 },
  { maxDepth: 6, learningRate: 0.05, maxTrees: 300, patience: 30 },
  { maxDepth: 4, learningRate: 0.1, maxTrees: 300, patience: 30 },
];

const GENERATOR_SHARE = 0.9; // of the sessions: fit the generators; the rest: the ranker's lists
const FIT_SHARE = 0.8; // of the ranker's lists (by time): fit; the rest: validation and early stopping

/** Trains every part of a two-stage model version (see the module comment). */
export async function trainTwoStage(sessions: readonly (readonly string[])[], opts: TwoStageOptions): Promise<TwoStageArtifacts> {
  const log = opts.log ?? (() => undefined);
  const cut = Math.floor(sessions.length * GENERATOR_SHARE);
  const early = sessions.slice(0, cut);
  const late = sessions.slice(cut).filter((s) => s.length >= 2);
  const fitCut = Math.floor(late.length * FIT_SHARE);
  log(`two-stage: generators on ${early.length} sessions, ranker lists from ${late.length} later sessions (${fitCut} fit, ${late.length - fitCut} validation)`);

  // V-SKNN's neighbourhood is chosen on the ranker's fit sessions (held out from the index); the
  // ranker's validation lists stay untouched for its own choices.
  const earlyIndex = buildIndex(early);
  const vsknn = chooseVsknnOptions(earlyIndex, late.slice(0, fitCut), opts.maxVsknnPoints ?? 5_000, opts.vsknnGrid ?? VSKNN_GRID, log);
  log(`V-SKNN: chose ${vsknn.selection["vsknn.chosen"]}`);
  const neuralFit = opts.trainNeural(early);
  // The shipped copy (every session) is independent of everything below: started now.
  const shippedFit = opts.keepNeuralFit ? null : opts.trainNeural(sessions);
  const neural = await neuralFit;
  const { fresh: freshGen, ...others } = DEFAULT_GENERATORS;
  const gens: RankerSpec["generators"] = { ...others, iknn: { ...DEFAULT_GENERATORS.iknn, file: "iknn.bin" }, ...(opts.withoutFresh ? {} : { fresh: freshGen }) };
  // The fresh generator's state streams over every session in time order (design 0028).
  const fresh = gens.fresh ? new FreshReplay(sessions, gens.fresh.state, opts.viewTimes) : null;
  const stage1 = await stage1For(early, neural, gens, opts.createSession, vsknn.options, earlyIndex);
  const catalog = opts.catalog ?? null;
  const engine = opts.engine ?? { sessionGapMs: 1800 * 1000 };
  const fit = await replayLists(stage1, gens, late.slice(0, fitCut), opts.maxFitLists ?? 24_000, catalog, engine, log, fresh);
  const valid = await replayLists(stage1, gens, late.slice(fitCut), opts.maxValidationLists ?? 6_000, catalog, engine, log, fresh);

  // Features that never vary in the fit lists (no categories or prices in the data, no cart) are left out.
  const columns = RANKER_FEATURES.map((_, c) => c).filter((c) => varies(fit, c));
  const fitData = toRankingData(fit, columns);
  const validData = toRankingData(valid, columns);
  // Trainer settings are chosen on the validation lists: a small grid unless the caller fixes them.
  const grid: LambdaMartOptions[] = opts.lambdamart ? [{ ...DEFAULT_LAMBDAMART, ...opts.lambdamart }] : RANKER_GRID.map((g) => ({ ...DEFAULT_LAMBDAMART, ...g }));
  const started = performance.now();
  const tried = grid.map((lm) => {
    const tag = `depth ${lm.maxDepth}, lr ${lm.learningRate}`;
    const r = trainLambdaMart(fitData, validData, {
      ...lm,
      onTree: (t, m) => t % 10 === 0 && log(`  ${tag}, tree ${t}: validation HR@20 ${(100 * m.hr20).toFixed(2)} MRR@20 ${(100 * m.mrr20).toFixed(2)}`),
    });
    log(`ranker (${tag}): ${r.bestTrees} trees (of ${r.curve.length} tried); validation HR@20 ${(100 * r.best.hr20).toFixed(2)} MRR@20 ${(100 * r.best.mrr20).toFixed(2)}`);
    return { lm, tag, result: r };
  });
  const chosen = tried.reduce((a, b) => (b.result.best.hr20 + b.result.best.mrr20 > a.result.best.hr20 + a.result.best.mrr20 ? b : a));
  const { lm, result } = chosen;
  const seconds = (performance.now() - started) / 1000;
  log(`ranker: chose ${chosen.tag}, ${result.bestTrees} trees, in ${seconds.toFixed(0)} s for ${grid.length} setting(s)`);

  // Candidate counts: each generator's smallest list that costs the trained ranker (almost) nothing
  // on the validation lists; serving runs the generators with these counts.
  const declared = Object.fromEntries(GENERATORS.map((g) => [g, gens[g]?.k ?? 0])) as Record<GeneratorName, number>;
  const counts = chooseCandidateCounts(valid, result.ensemble, columns, declared);
  for (const g of GENERATORS) if (gens[g]) gens[g] = { ...gens[g], k: counts.counts[g] } as never;
  log(`candidates: ${GENERATORS.map((g) => `${g} ${declared[g]} → ${counts.counts[g]}`).join(", ")}; median per list ${counts.candidates.declared} → ${counts.candidates.chosen}`);
  const served = valid.map((l) => cutList(l, counts.counts));
  const round = (x: number) => Math.round(x * 1e4) / 1e4;
  // Repeat and new targets apart: the ranker should rank repeats as well as S-POP (the session generator)
  // does and new items as well as the kNN generators do; the table shows whether it does, per run.
  const segments = { repeat: served.filter((l) => l.repeat === true), new: served.filter((l) => l.repeat === false) };
  const rankerHr = (lists: readonly ReplayedList[]) => listMetrics(toRankingData(lists, columns), scoreAll(lists, result.ensemble, columns));
  const validation: ValidationRow[] = [
    ...GENERATORS.map((g) => ({
      name: g,
      ...generatorMetrics(served, g),
      repeatHr20: generatorMetrics(segments.repeat, g).hr20,
      newHr20: generatorMetrics(segments.new, g).hr20,
    })),
    { name: "union recall", hr20: unionRecall(served), mrr20: NaN, repeatHr20: unionRecall(segments.repeat), newHr20: unionRecall(segments.new) },
    { name: "ranker", ...rankerHr(served), repeatHr20: rankerHr(segments.repeat).hr20, newHr20: rankerHr(segments.new).hr20 },
  ];
  // The visit guard (design 0029) is on when the ranker ranks repeat targets below S-POP (the session
  // generator) does: then the visit's own items keep places in the page, whatever it costs elsewhere.
  const guardedHr = (lists: readonly ReplayedList[]) => guardedMetrics(lists, result.ensemble, columns);
  const sessionRow = validation.find((r) => r.name === "session")!;
  const rankerRow0 = validation.find((r) => r.name === "ranker")!;
  const visitGuard = rankerRow0.repeatHr20 < sessionRow.repeatHr20;
  validation.push({ name: "ranker + visit guard", ...guardedHr(served), repeatHr20: guardedHr(segments.repeat).hr20, newHr20: guardedHr(segments.new).hr20 });
  log(`visit guard: ${visitGuard ? "on" : "off"} (ranker's repeat HR@20 ${(100 * rankerRow0.repeatHr20).toFixed(2)} vs S-POP's ${(100 * sessionRow.repeatHr20).toFixed(2)})`);
  const selection: Record<string, number | string> = {
    split: `generators: first ${GENERATOR_SHARE * 100}% of the training sessions; ranker lists: the rest, by time (${FIT_SHARE * 100}% fit, the rest validation)`,
    fit_lists: fitData.queryOffsets.length - 1 + (fitData.missedQueries ?? 0),
    validation_lists: validData.queryOffsets.length - 1 + (validData.missedQueries ?? 0),
    metric: "hr@20 + mrr@20 on the validation lists (early stopping, and the choice among the settings tried)",
    chosen: chosen.tag,
    ...vsknn.selection,
    "candidates.rule": `per generator, largest list first: the smallest of k, k/2, k/4, … (≥ 10), 0 (off) within ${CUT_TOLERANCE} of the declared counts' hr@20 + mrr@20`,
    "candidates.per_list.declared": counts.candidates.declared,
    "candidates.per_list.chosen": counts.candidates.chosen,
    "candidates.metric.declared": round(counts.metric.declared),
    "candidates.metric.chosen": round(counts.metric.chosen),
    "visit_guard.rule": "on when the ranker's repeat-target HR@20 on the validation lists is below the session generator's (S-POP's)",
  };
  for (const g of GENERATORS) selection[`candidates.${g}.declared`] = declared[g];
  for (const t of counts.tried) selection[`candidates.${t.generator}[${t.k}]`] = round(t.metric);
  for (const t of tried) {
    selection[`settings[${t.tag}].trees`] = t.result.bestTrees;
    selection[`settings[${t.tag}].hr@20`] = Math.round(t.result.best.hr20 * 1e4) / 1e4;
    selection[`settings[${t.tag}].mrr@20`] = Math.round(t.result.best.mrr20 * 1e4) / 1e4;
  }
  selection["validation_lists.repeat"] = segments.repeat.length;
  selection["validation_lists.new"] = segments.new.length;
  for (const row of validation) {
    selection[`${row.name}.hr@20`] = round(row.hr20);
    if (Number.isFinite(row.mrr20)) selection[`${row.name}.mrr@20`] = round(row.mrr20);
    selection[`${row.name}.repeat_hr@20`] = round(row.repeatHr20);
    selection[`${row.name}.new_hr@20`] = round(row.newHr20);
  }

  // Ship: every generator refitted on every session. The ranker learnt from the 90% fits' scores,
  // which are relative (to each list's best) and ranks, so a refit keeps their meaning.
  const shippedNeural = shippedFit ? await shippedFit : neural;
  const knnIndex = serializeIndex(buildIndex(sessions));
  const iknnIndex = serializeCooccurrence(buildCooccurrence(sessions, { mode: "session", shrinkage: gens.iknn.shrinkage, maxNeighbours: gens.iknn.neighbours }));
  const onnx = buildTreeEnsembleModel(result.ensemble);
  const params = { trees: result.bestTrees, max_depth: lm.maxDepth, learning_rate: lm.learningRate, min_leaf: lm.minLeaf, l2: lm.l2, bins: lm.bins, patience: lm.patience };
  const features = columns.map((c) => ({ name: RANKER_FEATURES[c]!.name, version: RANKER_FEATURES[c]!.version }));
  const baselines = rankerBaselines(
    features.map((f) => f.name),
    topRows(served, result.ensemble, columns),
  );
  return {
    rankerSeconds: seconds,
    neural: shippedNeural,
    knnIndex,
    vsknnOptions: vsknn.options,
    iknnIndex,
    ranker: { onnx, spec: { generators: gens, features, visit_guard: visitGuard, params, selection, baselines } },
    validation,
  };
}

/** The generators fitted on `sessions`, loaded as the worker loads them (the neural one through onnxruntime). */
export async function stage1For(
  sessions: readonly (readonly string[])[],
  neural: SessionTopKWeights,
  gens: RankerSpec["generators"],
  createSession: (bytes: Uint8Array) => Promise<OrtSession>,
  o: VsknnManifestOptions,
  index = buildIndex(sessions),
): Promise<Stage1> {
  const vsknn = createVsknn(index, { sampleSize: o.sample_size, neighbours: o.neighbours, weighting: o.weighting, matchDecay: o.match_decay, idf: o.idf, backfill: o.backfill });
  const iknn = buildCooccurrence(sessions, { mode: "session", shrinkage: gens.iknn.shrinkage, maxNeighbours: gens.iknn.neighbours });
  const n = neural.items.length;
  const session = await createSession(buildSessionTopKModel({ numItems: n, dim: neural.dim, seqLen: SEQ_LEN, embIn: neural.embIn, embOut: neural.embOut, bias: neural.bias }));
  return {
    vsknn,
    iknn,
    neural: { session, items: neural.items, vocab: new Map(neural.items.map((item, i) => [item, i + 1])) },
    ...popularityOf(index),
  };
}

/**
 * Replays sessions as product views through the feature engine and, at every
 * sampled prefix, computes the list the worker would rank (same generators,
 * same feature function) with the next item as its label.
 */
export async function replayLists(
  stage1: Stage1,
  gens: RankerSpec["generators"],
  sessions: readonly (readonly string[])[],
  maxLists: number,
  catalog: Catalog | null,
  engine: EngineOptions,
  log: (line: string) => void,
  fresh: FreshReplay | null = null,
): Promise<ReplayedList[]> {
  const prefixes = sessions.reduce((n, s) => n + s.length - 1, 0);
  const stride = Math.max(1, prefixes / maxLists);
  const out: ReplayedList[] = [];
  let p = 0;
  let next = 0;
  const started = performance.now();
  for (const s of sessions) {
    let state = initialState();
    fresh?.startSession(s);
    for (let i = 0; i + 1 < s.length; i++, p++) {
      state = applyEvent(state, productView(s[i]!, i, catalog), engine);
      fresh?.view(s, i);
      if (p < next) continue;
      next += stride;
      const features = materialise(state, viewTime(i) + 1000, engine);
      const matrix = await candidateMatrix({ spec: { generators: gens } as RankerSpec, stage1 }, features, { catalog, trending: null }, fresh?.lookup() ?? null);
      out.push({ matrix, positive: matrix.candidates.indexOf(s[i + 1]!), repeat: s.slice(0, i + 1).includes(s[i + 1]!) });
    }
  }
  log(`  replayed ${out.length} lists from ${sessions.length} sessions in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return out;
}

/**
 * The row (over `columns`) of the candidate the ensemble ranks first on each list
 * with candidates — ties to the first-listed, as `rankMatrix` breaks them. Serving
 * logs the same row per list (`ServedFeatures.ranker`): the drift baselines are
 * histograms of these.
 */
function topRows(lists: readonly ReplayedList[], ensemble: TreeEnsemble, columns: readonly number[]): Float32Array {
  const out: number[] = [];
  for (const { matrix } of lists) {
    if (matrix.candidates.length === 0) continue;
    const scores = scoreEnsemble(ensemble, selectColumns(matrix, columns));
    let best = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
    for (const x of rankerRow(matrix, best, columns)) out.push(x ?? Number.NaN);
  }
  return Float32Array.from(out);
}

/** Ensemble scores of every row of the lists that have their next item, in `toRankingData` order. */
function scoreAll(lists: readonly ReplayedList[], ensemble: TreeEnsemble, columns: readonly number[]): Float32Array {
  const parts = lists.filter((l) => l.positive >= 0).map((l) => scoreEnsemble(ensemble, selectColumns(l.matrix, columns)));
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
}

function varies(lists: readonly ReplayedList[], column: number): boolean {
  let first: number | undefined;
  for (const { matrix: m } of lists) {
    for (let r = 0; r < m.candidates.length; r++) {
      const x = m.values[r * m.width + column]!;
      if (first === undefined) first = x;
      else if (x !== first) return true;
    }
  }
  return false;
}

/** The lists with a positive, as LambdaMART data over `columns`; the others are counted as misses. */
export function toRankingData(lists: readonly ReplayedList[], columns: readonly number[]): RankingData {
  const kept = lists.filter((l) => l.positive >= 0);
  const rows = kept.reduce((n, l) => n + l.matrix.candidates.length, 0);
  const values = new Float32Array(rows * columns.length);
  const labels = new Uint8Array(rows);
  const queryOffsets = new Int32Array(kept.length + 1);
  let at = 0;
  kept.forEach((l, q) => {
    values.set(selectColumns(l.matrix, columns), at * columns.length);
    labels[at + l.positive] = 1;
    at += l.matrix.candidates.length;
    queryOffsets[q + 1] = at;
  });
  return { numFeatures: columns.length, values, labels, queryOffsets, missedQueries: lists.length - kept.length };
}

/** HR@20 / MRR@20 of the ensemble's order with the visit guard at a page of 20 (as serving applies it). */
function guardedMetrics(lists: readonly ReplayedList[], ensemble: TreeEnsemble, columns: readonly number[]): { hr20: number; mrr20: number } {
  const count = rankerColumn("visit.count")!;
  const steps = rankerColumn("visit.steps_since_last")!;
  let hr = 0;
  let mrr = 0;
  for (const { matrix: m, positive } of lists) {
    if (positive < 0) continue;
    const scores = scoreEnsemble(ensemble, selectColumns(m, columns));
    const order = Array.from(m.candidates.keys()).sort((a, b) => scores[b]! - scores[a]! || a - b);
    // The visit's items in S-POP order (views, then recency), from the candidates' own features.
    const visit = Array.from(m.candidates.keys())
      .filter((r) => m.values[r * m.width + count]! > 0)
      .sort((a, b) => m.values[b * m.width + count]! - m.values[a * m.width + count]! || m.values[a * m.width + steps]! - m.values[b * m.width + steps]!)
      .map((r) => m.candidates[r]!);
    const ranked = guardVisit(
      order.map((r) => ({ item_id: m.candidates[r]! })),
      visit,
      20,
    );
    const rank = ranked.findIndex((s) => s.item_id === m.candidates[positive]) + 1;
    if (rank >= 1 && rank <= 20) (hr += 1), (mrr += 1 / rank);
  }
  return { hr20: hr / Math.max(1, lists.length), mrr20: mrr / Math.max(1, lists.length) };
}

/** HR@20 / MRR@20 of one generator's own order on the lists. */
function generatorMetrics(lists: readonly ReplayedList[], g: (typeof GENERATORS)[number]): { hr20: number; mrr20: number } {
  const col = 3 * GENERATORS.indexOf(g) + 1; // gen.<g>.rank
  const scores = lists.map((l) => (l.positive < 0 ? Infinity : l.matrix.values[l.positive * l.matrix.width + col]!));
  const hits = scores.filter((r) => r <= 20);
  return { hr20: hits.length / Math.max(1, lists.length), mrr20: hits.reduce((s, r) => s + 1 / r, 0) / Math.max(1, lists.length) };
}

function unionRecall(lists: readonly ReplayedList[]): number {
  return lists.filter((l) => l.positive >= 0).length / Math.max(1, lists.length);
}

export { listMetrics };
