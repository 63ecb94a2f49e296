/**
 * `npm run eval`: next-item quality of every model side by side, on a dataset in
 * the Diginetica format, with the standard protocol (every prefix of every
 * evaluation session; rank the next item among all items). The neural and
 * hybrid rows go through the worker's own `recommend` function with the model
 * version folder's artifacts (ONNX through onnxruntime) — the exact serving path.
 *
 *   npm run eval -- --model /tmp/edgewise-model/1 --data ../shared/datasets/diginetica \
 *     [--split validation|test] [--blend 0.1,0.3] [--only pop,iknn,vsknn,neural,hybrid,gens,union,ranker]
 *     [--name <dataset>, default: the data folder's name] [--out <file>, default: $TMPDIR/edgewise-eval/<name>-<split>.md]
 *     [--record]   (writes the last row's numbers — the version as shipped — into its manifest)
 *     [--no-fresh] (the fresh generator absent, as when the FreshDO is unavailable; by default its state
 *                   streams over the training sessions, then the evaluated ones, as a running FreshDO's would)
 *
 * Tune on --split validation (a model trained with `npm run train -- --split validation`); never on test.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildCooccurrence, createCooccurrenceRecommender } from "../../src/models/knn/cooccurrence";
import { buildPopularity, createPopularityRecommender } from "../../src/models/knn/popularity";
import type { LoadedModel } from "../../src/models/loaded-model";
import { parseManifest } from "../../src/models/manifest";
import { type EvalResult, type Recommender, evaluateRecommender, evaluationPoints } from "../../src/offline/eval/metrics";
import { prefixFeatures, servingPathRecommender } from "../../src/offline/eval/serving-path";
import type { GeneratorName } from "../../src/models/ranker/features";
import { candidateMatrix } from "../../src/models/ranker/ranker";
import { loadModelFolder } from "../../src/offline/serving/node-model";
import { FreshStream } from "../../src/offline/train/fresh-replay";
import { familyFreshState } from "../../src/models/families/index";
import { loadSplit } from "../lib/dataset-split";
import { progressBar } from "../lib/progress";
import { PUBLISHED_DIGINETICA } from "../lib/published";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      data: { type: "string", default: "../../shared/datasets/diginetica" },
      split: { type: "string", default: "test" },
      blend: { type: "string" },
      only: { type: "string", default: "pop,iknn,vsknn,neural,hybrid,gens,union,ranker" },
      out: { type: "string" },
      record: { type: "boolean", default: false },
      name: { type: "string" },
      // Evaluates as if the FreshDO were unavailable (the fresh generator absent): what a failing binding costs.
      "no-fresh": { type: "boolean", default: false },
    },
  });
  const only = new Set(values.only.split(","));
  const { train, test } = await loadSplit(values.data, values.split);
  const vocabulary = new Set(train.flat());
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  log(`${values.split}: ${train.length} training sessions, ${test.length} evaluation sessions, ${evaluationPoints(test)} points`);

  const recommenders: Array<() => Promise<Recommender>> = [];
  if (only.has("pop")) recommenders.push(async () => createPopularityRecommender(buildPopularity(train)));
  if (only.has("iknn")) recommenders.push(async () => createCooccurrenceRecommender(buildCooccurrence(train, { mode: "session", shrinkage: 20 }), "Item-KNN (co-occurrence, λ=20)"));
  let model: LoadedModel | null = null;
  const loaded = async () => (model ??= await loadModelFolder(values.model ?? failNoModel()));
  const variant = (name: string, candidates: LoadedModel["candidates"]) => async () => {
    const m = await loaded();
    return { ...servingPathRecommender({ ...m, candidates, ranker: null }), name };
  };
  if (only.has("vsknn")) {
    recommenders.push(async () => {
      const m = await loaded();
      if (!m.candidates) throw new Error("the model version ships no V-SKNN index");
      return variant("V-SKNN (serving path)", { ...m.candidates, modelWeight: 0 })();
    });
  }
  if (only.has("neural")) recommenders.push(async () => variant(`neural ONNX (serving path, dim ${(await loaded()).manifest.params.dim})`, null)());
  if (only.has("hybrid")) {
    const weights = values.blend ? values.blend.split(",").map(Number) : [null];
    for (const w of weights) {
      recommenders.push(async () => {
        const m = await loaded();
        if (!m.candidates) throw new Error("the model version ships no V-SKNN index");
        const weight = w ?? m.candidates.modelWeight;
        return variant(`V-SKNN + neural blend, model weight ${weight} (serving path)`, { ...m.candidates, modelWeight: weight })();
      });
    }
  }

  // A version with the fresh generator reads the co-visitation a running FreshDO would hold: the
  // training sessions, then the evaluated ones as they go (design 0028). Without it the generator is absent.
  const freshFor = (m: LoadedModel): FreshStream | null => {
    const options = familyFreshState(m);
    return options ? new FreshStream(train, options) : null;
  };
  const ranked = async (label: string, orderBy?: GeneratorName) => {
    const m = await loaded();
    if (!m.ranker) throw new Error("the model version has no ranker (train a two-stage version with npm run train)");
    return { ...servingPathRecommender({ ...m, ranker: { ...m.ranker, orderBy } }, undefined, null, values["no-fresh"] ? null : freshFor(m)), name: label };
  };
  if (only.has("gens")) {
    recommenders.push(() => ranked("generator: item-kNN alone (serving path)", "iknn"));
    recommenders.push(() => ranked("generator: session items alone = S-POP (serving path)", "session"));
  }
  if (only.has("ranker")) recommenders.push(async () => ranked(`two-stage: generators → LambdaMART ranker (serving path)${(await loaded()).ranker ? " (ships)" : ""}`));

  const results: EvalResult[] = [];
  for (const make of recommenders) {
    const rec = await make();
    const started = performance.now();
    results.push(await evaluateRecommender(rec, test, { vocabulary, onProgress: (done, total) => progressBar(rec.name, done, total, started) }));
  }
  let union: { recall: number; repeat: number; fresh: number; meanCandidates: number } | null = null;
  if (only.has("union")) {
    const m = await loaded();
    if (m.ranker) union = await unionRecall(m, test, vocabulary, values["no-fresh"] ? null : freshFor(m));
  }
  const dataset = values.name ?? basename(resolve(values.data));
  const table = markdown(results, values.split, evaluationPoints(test), values.model, union, dataset);
  process.stdout.write(`${table}\n`);
  if (values.record && values.model) recordMetrics(values.model, values.split, results.at(-1)!);
  // Results stay outside the repository unless --out names a path.
  const out = values.out ?? join(tmpdir(), "edgewise-eval", `${dataset}-${values.split}.md`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${table}\n`);
  log(`written to ${out}`);
}

/** Share of evaluation points whose next item is among the generators' union (the ranker's ceiling), repeat and new apart. */
async function unionRecall(model: LoadedModel, test: readonly (readonly string[])[], vocabulary: ReadonlySet<string>, fresh: FreshStream | null) {
  const ranker = model.ranker!;
  const featuresOf = prefixFeatures();
  const hits = { all: 0, repeat: 0, fresh: 0, nAll: 0, nRepeat: 0, nFresh: 0, candidates: 0 };
  const started = performance.now();
  const total = evaluationPoints(test);
  for (const s of test) {
    fresh?.startSession(s);
    for (let i = 1; i < s.length; i++) {
      const prefix = s.slice(0, i);
      const target = s[i]!;
      const m = await candidateMatrix(ranker, featuresOf(prefix), { catalog: null, trending: null }, fresh?.after(i) ?? null);
      const hit = vocabulary.has(target) && m.candidates.includes(target);
      const repeat = prefix.includes(target);
      hits.nAll++, (hits.all += +hit), (hits.candidates += m.candidates.length);
      if (repeat) hits.nRepeat++, (hits.repeat += +hit);
      else hits.nFresh++, (hits.fresh += +hit);
      if (hits.nAll % 2000 === 0) progressBar("candidate union recall", hits.nAll, total, started);
    }
  }
  return { recall: hits.all / hits.nAll, repeat: hits.repeat / Math.max(1, hits.nRepeat), fresh: hits.fresh / Math.max(1, hits.nFresh), meanCandidates: hits.candidates / hits.nAll };
}

function markdown(results: EvalResult[], split: string, points: number, model: string | undefined, union: Awaited<ReturnType<typeof unionRecall>> | null, dataset: string): string {
  // Published figures belong to the dataset and split they were published for, never to another.
  const published = dataset === "diginetica" && split === "test" ? PUBLISHED_DIGINETICA : [];
  const pct = (x: number | undefined) => ((x ?? 0) * 100).toFixed(2);
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${pct(r.all.hr[10])} | ${pct(r.all.mrr[10])} | **${pct(r.all.hr[20])}** | **${pct(r.all.mrr[20])}** | ${pct(r.repeat.hr[20])} / ${pct(r.repeat.mrr[20])} | ${pct(r.fresh.hr[20])} / ${pct(r.fresh.mrr[20])} | ${pct(r.coverage)} | ${r.latencyMs.p50.toFixed(3)} / ${r.latencyMs.p99.toFixed(3)} |`,
  );
  return [
    `Next-item prediction on ${dataset}, ${split} split, ${points} evaluation points${model ? `, model version ${model}` : ""} (%):`,
    "",
    "| model | HR@10 | MRR@10 | HR@20 | MRR@20 | repeat HR@20 / MRR@20 | new HR@20 / MRR@20 | coverage@20 | ms p50 / p99 |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    ...(union
      ? [`| candidate union recall (ceiling, ${union.meanCandidates.toFixed(0)} candidates per list on average) | | | ${pct(union.recall)} | | ${pct(union.repeat)} / | ${pct(union.fresh)} / | | |`]
      : []),
    ...published.map(([name, hr, mrr]) => `| published ${name} (Diginetica test.txt) | | | ${hr.toFixed(2)} | ${mrr.toFixed(2)} | | | | |`),
  ].join("\n");
}

/** Writes the last row's numbers (the version as shipped) into the version's manifest.json. */
function recordMetrics(dir: string, split: string, r: EvalResult): void {
  const file = join(dir, "manifest.json");
  const manifest = parseManifest(JSON.parse(readFileSync(file, "utf8")));
  const round = (x: number | undefined) => Math.round((x ?? 0) * 1e4) / 1e4;
  Object.assign(manifest.metrics, {
    [`${split}.hr@10`]: round(r.all.hr[10]),
    [`${split}.mrr@10`]: round(r.all.mrr[10]),
    [`${split}.hr@20`]: round(r.all.hr[20]),
    [`${split}.mrr@20`]: round(r.all.mrr[20]),
    [`${split}.coverage@20`]: round(r.coverage),
    [`${split}.points`]: r.all.cases,
  });
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(`recorded ${split} metrics of "${r.name}" in ${file}\n`);
}

function failNoModel(): never {
  throw new Error("--model <version folder> is needed for the V-SKNN, neural and hybrid rows (npm run train writes one)");
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
