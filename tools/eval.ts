/**
 * `npm run eval`: next-item quality of every model side by side, on a dataset in
 * the Diginetica format, with the standard protocol (every prefix of every
 * evaluation session; rank the next item among all items). The neural and
 * hybrid rows go through the worker's own `recommend` function with the model
 * version folder's artifacts (ONNX through onnxruntime) — the exact serving path.
 *
 *   npm run eval -- --model /tmp/edgewise-model/1 --data ../shared/datasets/diginetica \
 *     [--split validation|test] [--blend 0.1,0.3] [--only pop,iknn,vsknn,neural,hybrid] [--out results/eval-test.md]
 *     [--record]   (writes the last row's numbers — the version as shipped — into its manifest)
 *
 * Tune on --split validation (a model trained with `npm run train -- --split validation`); never on test.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { buildCooccurrence, createCooccurrenceRecommender } from "../src/models/knn/cooccurrence";
import { buildPopularity, createPopularityRecommender } from "../src/models/knn/popularity";
import type { LoadedModel } from "../src/models/loaded-model";
import { parseManifest } from "../src/models/manifest";
import { type EvalResult, type Recommender, evaluateRecommender, evaluationPoints } from "../src/offline/eval/metrics";
import { servingPathRecommender } from "../src/offline/eval/serving-path";
import { loadModelFolder } from "../src/offline/serving/node-model";
import { loadSplit } from "./dataset-split";
import { progressBar } from "./progress";
import { PUBLISHED_DIGINETICA } from "./published";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      data: { type: "string", default: "../shared/datasets/diginetica" },
      split: { type: "string", default: "test" },
      blend: { type: "string" },
      only: { type: "string", default: "pop,iknn,vsknn,neural,hybrid" },
      out: { type: "string" },
      record: { type: "boolean", default: false },
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
    return { ...servingPathRecommender({ ...m, candidates }), name };
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

  const results: EvalResult[] = [];
  for (const make of recommenders) {
    const rec = await make();
    const started = performance.now();
    results.push(await evaluateRecommender(rec, test, { vocabulary, onProgress: (done, total) => progressBar(rec.name, done, total, started) }));
  }
  const table = markdown(results, values.split, evaluationPoints(test), values.model);
  process.stdout.write(`${table}\n`);
  if (values.record && values.model) recordMetrics(values.model, values.split, results.at(-1)!);
  const out = values.out ?? `results/eval-${values.split}.md`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${table}\n`);
  log(`written to ${out}`);
}

function markdown(results: EvalResult[], split: string, points: number, model: string | undefined): string {
  const pct = (x: number | undefined) => ((x ?? 0) * 100).toFixed(2);
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${pct(r.all.hr[10])} | ${pct(r.all.mrr[10])} | **${pct(r.all.hr[20])}** | **${pct(r.all.mrr[20])}** | ${pct(r.repeat.hr[20])} / ${pct(r.repeat.mrr[20])} | ${pct(r.fresh.hr[20])} / ${pct(r.fresh.mrr[20])} | ${pct(r.coverage)} | ${r.latencyMs.p50.toFixed(3)} / ${r.latencyMs.p99.toFixed(3)} |`,
  );
  return [
    `Next-item prediction, ${split} split, ${points} evaluation points${model ? `, model version ${model}` : ""} (%):`,
    "",
    "| model | HR@10 | MRR@10 | HR@20 | MRR@20 | repeat HR@20 / MRR@20 | new HR@20 / MRR@20 | coverage@20 | ms p50 / p99 |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    ...PUBLISHED_DIGINETICA.map(([name, hr, mrr]) => `| published ${name} (test.txt) | | | ${hr.toFixed(2)} | ${mrr.toFixed(2)} | | | | |`),
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
