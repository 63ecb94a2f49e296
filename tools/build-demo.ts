/**
 * Builds the demo shop and its model version with the project's own code:
 * a seeded synthetic shop (catalog + 30 days of sessions), the session model
 * trained on the first 90% of sessions by time, evaluated on the rest against
 * popularity, exported as a model version folder.
 *
 *   npm run demo:build [-- --seed 42 --out models/demo]
 *
 * Writes <out>/catalog.json and <out>/<version>/{model.onnx,items.json,manifest.json}.
 * Deterministic: the same seed gives byte-identical files (CI checks this).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sequenceInput, type SequenceInput } from "../src/models/inputs";
import { buildModelVersion } from "../src/offline/export/model-version";
import { generateCatalog } from "../src/offline/synthetic/catalog";
import { generateSessions, viewSequences } from "../src/offline/synthetic/sessions";
import { evaluateNextItem, type MetricsAtK, type NextItemMetrics } from "../src/offline/train/evaluate";
import { modelVocab } from "../src/offline/train/session-model";
import { trainSessionModelFast } from "../src/offline/train/session-model-fast";

const TEST_SHARE = 0.1;

function main(): void {
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
  const test = viewSequences(sessions.slice(split));
  const from = sessions[0]!.events[0]!.timestamp;
  const to = Math.max(...sessions.slice(0, split).map((s) => s.events.at(-1)!.timestamp));
  log(`synthetic shop (seed ${seed}): ${catalog.items.length} items, ${sessions.length} sessions, ${train.length} for training`);

  const started = performance.now();
  const model = trainSessionModelFast(train, { seed, trainingWindow: { from, to }, log });
  log(`trained in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const metrics = evaluateNextItem(model, test, { k: [10, 20] });
  process.stdout.write(`${metricsTable(metrics)}\n`);

  // Every training prefix's input, for the manifest's baseline histograms.
  const vocab = modelVocab(model);
  const inputs: SequenceInput[] = train.flatMap((s) => s.slice(1).map((_, i) => sequenceInput(s.slice(0, i + 1), vocab)));

  void buildModelVersion(model, {
    name: "demo",
    version: values.version,
    createdAt: new Date(to).toISOString(), // derived from the data, so rebuilds are byte-identical
    training: {
      data: `synthetic shop, seed ${seed} (src/offline/synthetic); trained by src/offline/train/session-model.ts`,
      window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
      sessions: train.length,
      examples: inputs.length,
    },
    metrics: flatMetrics(metrics),
    trainingInputs: inputs,
    popular: model.popularity.map((p) => p.item_id),
  }).then(({ files, manifest }) => {
    const dir = join(values.out, values.version);
    mkdirSync(dir, { recursive: true });
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    // The latent style is a generator internal, not shop data.
    const items = catalog.items.map(({ style: _style, popularity: _popularity, ...item }) => item);
    writeFileSync(join(values.out, "catalog.json"), `${JSON.stringify({ items }, null, 1)}\n`);
    const sizes = Object.entries(manifest.files).map(([f, { bytes }]) => `${f} ${(bytes / 1024).toFixed(0)} KB`).join(", ");
    log(`wrote ${dir}: ${sizes}`);
  });
}

function flatMetrics(m: NextItemMetrics): Record<string, number> {
  const out: Record<string, number> = { test_cases: m.cases };
  for (const x of m.model) Object.assign(out, { [`hr@${x.k}`]: round(x.hr), [`mrr@${x.k}`]: round(x.mrr) });
  for (const x of m.popularity) Object.assign(out, { [`popularity.hr@${x.k}`]: round(x.hr), [`popularity.mrr@${x.k}`]: round(x.mrr) });
  return out;
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function metricsTable(m: NextItemMetrics): string {
  const cols = m.model.flatMap((x) => [`HR@${x.k}`, `MRR@${x.k}`]);
  const row = (name: string, xs: MetricsAtK[]): string => `| ${name} | ${xs.flatMap((x) => [x.hr.toFixed(4), x.mrr.toFixed(4)]).join(" | ")} |`;
  return [
    `Next-item prediction on the held-out 10% of synthetic sessions, ${m.cases} prefixes:`,
    "",
    `| ranker | ${cols.join(" | ")} |`,
    `|---|${cols.map(() => "---:").join("|")}|`,
    row("session model (demo)", m.model),
    row("popularity", m.popularity),
  ].join("\n");
}

main();
