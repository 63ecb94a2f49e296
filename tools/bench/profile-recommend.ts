/**
 * Where a recommendation's time goes, stage by stage, in Node (design 0027): the benchmark's
 * 43,000-item two-stage model (tools/bench/bench-model.ts), held-out synthetic visits of up to
 * 20 views folded by the worker's feature engine, then each stage of the worker's own code run
 * many times: V-SKNN, item-kNN, the visit's items, popularity, the neural ONNX top-k, the ranker
 * feature rows, the ONNX tree ensemble, and the whole `recommend` (rules and backfill included).
 * Prints mean process CPU µs (user + system: robust to a shared machine) per list per stage.
 * Node's JIT and GC, not workerd's: a guide to where the time is, not the bench's figure.
 *
 *   npx tsx tools/bench/profile-recommend.ts [--dir <model version folder>] [--rounds 20]
 */
import { parseArgs } from "node:util";
import { DEFAULT_VARIANT_PARAMS } from "../../src/experiments/config";
import { type FeatureVector, applyEvent, initialState, materialise } from "../../src/features/engine";
import { scoreCooccurrence } from "../../src/models/knn/cooccurrence";
import { sequenceInput } from "../../src/models/inputs";
import { runSessionTopK } from "../../src/models/ort-session";
import { rankerFeatures, sessionSequence } from "../../src/models/ranker/features";
import { runGenerators, sessionItems } from "../../src/models/ranker/generators";
import { type LoadedRanker, rankMatrix } from "../../src/models/ranker/ranker";
import { productView, viewTime } from "../../src/offline/eval/serving-path";
import { loadModelFolder } from "../../src/offline/serving/node-model";
import { generateCatalog } from "../../src/offline/synthetic/catalog";
import { generateSessions, viewSequences } from "../../src/offline/synthetic/sessions";
import { recommend } from "../../src/recommend/recommend";
import { BENCH_MODEL, benchModel } from "./bench-model";

const { values: args } = parseArgs({ options: { dir: { type: "string" }, rounds: { type: "string", default: "20" }, visits: { type: "string", default: "100" } } });
const ENGINE = { sessionGapMs: 1800 * 1000 };
const dir = args.dir ?? (await benchModel((l) => process.stderr.write(`${l}\n`))).dir;
const model = await loadModelFolder(dir);
const ranker = model.ranker as LoadedRanker;
const catalogData = generateCatalog(BENCH_MODEL.seed, { items: BENCH_MODEL.items, categories: BENCH_MODEL.categories });
const catalog = { byId: new Map(catalogData.items.map((i) => [i.item_id, { item_id: i.item_id, category: i.category, price: i.price }])) };
const sessions = viewSequences(generateSessions(catalogData, BENCH_MODEL.seed + 1, { sessions: Number(args.visits) })).filter((s) => s.length >= 2);
const visits: FeatureVector[] = sessions.map((s) => {
  const n = Math.min(s.length, 20);
  let state = initialState();
  for (let i = 0; i < n; i++) state = applyEvent(state, productView(s[i]!, i, catalog), ENGINE);
  return materialise(state, viewTime(n) + 1000, ENGINE);
});
const spec = ranker.spec.generators;
const stage1 = ranker.stage1;
const trending = null;

async function time(name: string, fn: (f: FeatureVector) => unknown): Promise<void> {
  for (const f of visits.slice(0, 10)) await fn(f); // warm-up
  const rounds = Number(args.rounds);
  const c0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) for (const f of visits) await fn(f);
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / (rounds * visits.length);
  process.stdout.write(`${name.padEnd(34)} ${us.toFixed(1).padStart(8)} µs per list\n`);
}

process.stdout.write(`${visits.length} visits, ${dir}\n`);
await time("vsknn", (f) => stage1.vsknn.score(sessionSequence(f), spec.vsknn.k));
await time("iknn", (f) => (stage1.iknn ? scoreCooccurrence(stage1.iknn, sessionSequence(f), spec.iknn.k, spec.iknn.depth, spec.iknn.decay) : null));
await time("session items", (f) => sessionItems(sessionSequence(f), stage1.clicks, spec.session.k));
await time("neural ONNX top-k", async (f) => {
  const input = sequenceInput(sessionSequence(f), stage1.neural!.vocab);
  return runSessionTopK(stage1.neural!.session, input.idx, input.w, spec.neural.k);
});
await time("all generators (runGenerators)", (f) => runGenerators(stage1, spec, sessionSequence(f)));
const outputs = await Promise.all(visits.map((f) => runGenerators(stage1, spec, sessionSequence(f))));
let i = 0;
await time("ranker feature rows", (f) => rankerFeatures({ features: f, generators: outputs[i++ % visits.length]!, items: { clicks: stage1.clicks, catalog, trending } }));
const matrices = visits.map((f, j) => rankerFeatures({ features: f, generators: outputs[j]!, items: { clicks: stage1.clicks, catalog, trending } }));
let j = 0;
await time("ORT tree ensemble + sort", () => rankMatrix(ranker, matrices[j++ % visits.length]!));
const request = { type: "personalized" as const, k: 10, exclude: new Set<string>() };
await time("whole recommend()", (f) =>
  recommend({ request, features: f, featuresFailed: false, model, modelProblem: null, params: DEFAULT_VARIANT_PARAMS, catalog, trending: [], time: (_n, fn) => fn() }),
);
process.stdout.write(`candidates per list: ${(matrices.reduce((s, m) => s + m.candidates.length, 0) / matrices.length).toFixed(0)}\n`);
