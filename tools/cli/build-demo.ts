/**
 * Builds the demo shop and its model version with the project's own code:
 * a seeded synthetic shop (catalog + 30 days of sessions), a two-stage model
 * (generators + LambdaMART ranker, src/offline/train/two-stage.ts) trained on
 * the first 90% of sessions by time, evaluated on the rest through the serving
 * path against popularity, exported as a model version folder.
 *
 *   npm run demo:build [-- --seed 42 --out models/demo]
 *
 * Writes <out>/catalog.json and <out>/<version>/{model.onnx,items.json,knn.bin,iknn.bin,ranker.onnx,manifest.json}.
 * Deterministic: the same seed gives byte-identical files (CI checks this).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sequenceInput, type SequenceInput } from "../../src/models/inputs";
import { buildModelVersion } from "../../src/offline/export/model-version";
import { generateCatalog } from "../../src/offline/synthetic/catalog";
import { generateSessions, viewSequences } from "../../src/offline/synthetic/sessions";
import { buildPopularity, createPopularityRecommender } from "../../src/models/knn/popularity";
import { type EvalResult, evaluateRecommender } from "../../src/offline/eval/metrics";
import { servingPathRecommender } from "../../src/offline/eval/serving-path";
import { createNodeSession, loadModelFiles } from "../../src/offline/serving/node-model";
import { trainTwoStage } from "../../src/offline/train/two-stage";
import { MODEL_BLEND_WEIGHT } from "../../src/offline/train/vsknn-options";
import { modelVocab } from "../../src/offline/train/session-model";
import { trainSessionModelFast } from "../../src/offline/train/session-model-fast";

const TEST_SHARE = 0.1;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seed: { type: "string", default: "42" }, out: { type: "string", default: "models/demo" }, version: { type: "string", default: "1" } },
  });
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  const catalog = generateCatalog(seed);
  const sessions = generateSessions(catalog, seed); // in start-time order
  const split = Math.floor(sessions.length * (1 - TEST_SHARE));
  const train = viewSequences(sessions.slice(0, split));
  const test = viewSequences(sessions.slice(split)).filter((s) => s.length >= 2);
  const from = sessions[0]!.events[0]!.timestamp;
  const to = Math.max(...sessions.slice(0, split).map((s) => s.events.at(-1)!.timestamp));
  log(`synthetic shop (seed ${seed}): ${catalog.items.length} items, ${sessions.length} sessions, ${train.length} for training`);
  const shop = { byId: new Map(catalog.items.map((i) => [i.item_id, { item_id: i.item_id, category: i.category, price: i.price }])) };

  const started = performance.now();
  // Two stages, as npm run train builds them: generators on the first 90% of the training sessions, the ranker on the rest.
  const twoStage = await trainTwoStage(train, {
    trainNeural: (s) => trainSessionModelFast(s, { seed, trainingWindow: { from, to }, log }),
    createSession: createNodeSession,
    catalog: shop,
    maxFitLists: 6000,
    maxValidationLists: 3000,
    // The fresh generator's point-in-time state runs on the sessions' own clock (design 0028).
    viewTimes: sessions.slice(0, split).map((s) => s.events.flatMap((e) => (e.type === "product_view" ? [e.timestamp] : []))),
    log,
  });
  const model = twoStage.neural as ReturnType<typeof trainSessionModelFast>;
  log(`trained in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  // Every training prefix's input, for the manifest's baseline histograms.
  const vocab = modelVocab(model);
  const inputs: SequenceInput[] = train.flatMap((s) => s.slice(1).map((_, i) => sequenceInput(s.slice(0, i + 1), vocab)));
  const info = {
    name: "demo",
    version: values.version,
    createdAt: new Date(to).toISOString(), // derived from the data, so rebuilds are byte-identical
    training: {
      data: `synthetic shop, seed ${seed} (src/offline/synthetic); two stages by src/offline/train/two-stage.ts`,
      window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
      sessions: train.length,
      examples: inputs.length,
    },
    trainingInputs: inputs,
    popular: model.popularity.map((p) => p.item_id),
    candidates: { index: twoStage.knnIndex, options: twoStage.vsknnOptions, modelWeight: MODEL_BLEND_WEIGHT },
    ranker: { onnx: twoStage.ranker.onnx, iknn: twoStage.iknnIndex, spec: twoStage.ranker.spec },
  };
  // Held-out last 10% of sessions, through the serving path with the shop's catalog: the shipped two stages and popularity.
  const draft = await buildModelVersion(model, { ...info, metrics: {} });
  const loaded = await loadModelFiles((f) => draft.files[f]!);
  const vocabulary = new Set(train.flat());
  const shipped = await evaluateRecommender({ ...servingPathRecommender(loaded, undefined, shop), name: "two-stage (ships)" }, test, { vocabulary });
  const popular = await evaluateRecommender(createPopularityRecommender(buildPopularity(train)), test, { vocabulary });
  process.stdout.write(`${metricsTable([shipped, popular])}\n`);

  const { files, manifest } = await buildModelVersion(model, { ...info, metrics: flatMetrics(shipped, popular) });
  const dir = join(values.out, values.version);
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  // The latent style is a generator internal, not shop data.
  const items = catalog.items.map(({ style: _style, popularity: _popularity, ...item }) => item);
  writeFileSync(join(values.out, "catalog.json"), `${JSON.stringify({ items }, null, 1)}\n`);
  const sizes = Object.entries(manifest.files)
    .map(([f, { bytes }]) => `${f} ${(bytes / 1024).toFixed(0)} KB`)
    .join(", ");
  log(`wrote ${dir}: ${sizes}`);
}

function flatMetrics(shipped: EvalResult, popular: EvalResult): Record<string, number> {
  const out: Record<string, number> = { test_cases: shipped.all.cases };
  for (const k of [10, 20]) {
    Object.assign(out, { [`hr@${k}`]: round(shipped.all.hr[k]), [`mrr@${k}`]: round(shipped.all.mrr[k]) });
    Object.assign(out, { [`popularity.hr@${k}`]: round(popular.all.hr[k]), [`popularity.mrr@${k}`]: round(popular.all.mrr[k]) });
  }
  return out;
}

function round(x: number | undefined): number {
  return Math.round((x ?? 0) * 1e4) / 1e4;
}

function metricsTable(rows: EvalResult[]): string {
  const f = (x: number | undefined) => (x ?? 0).toFixed(4);
  return [
    `Next-item prediction on the held-out 10% of synthetic sessions, ${rows[0]!.all.cases} prefixes:`,
    "",
    "| ranker | HR@10 | MRR@10 | HR@20 | MRR@20 |",
    "|---|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${r.name} | ${f(r.all.hr[10])} | ${f(r.all.mrr[10])} | ${f(r.all.hr[20])} | ${f(r.all.mrr[20])} |`),
  ].join("\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
