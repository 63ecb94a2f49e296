/**
 * Trains a model version from a dataset in the Diginetica format: the neural
 * session model (item embeddings, recency-weighted session encoder, sampled
 * softmax) exported to ONNX, plus a V-SKNN index over the same training sessions
 * that the worker blends with the model's scores. Writes a version folder that
 * `npm run models:publish` uploads and `npm run eval` measures.
 *
 *   npm run train -- --data ../shared/datasets/diginetica [--split validation|test]
 *   npm run train -- --log local [--tenant demo]      (the local R2 event log of npm run dev)
 *   npm run train -- --log ./export/events             (an exported event log, NDJSON)
 *     [--dim 64] [--epochs 6 (dot) | 5 (core)] [--negatives 32] [--lr 0.2] [--mode dot|core] [--tau 0.07] [--dropout 0.2]
 *     [--model-weight 0.1] [--out /tmp/edgewise-model]
 *     [--name diginetica --version 1]
 *
 * --split validation trains on the first 90% of train.txt only (for tuning).
 * Benchmark data must not ship: keep --out outside the repository.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type SequenceInput, sequenceInput } from "../../src/models/inputs";
import { evaluationPoints } from "../../src/offline/eval/metrics";
import { buildModelVersion } from "../../src/offline/export/model-version";
import { modelVocab } from "../../src/offline/train/session-model";
import type { FastSessionModel } from "../../src/offline/train/session-model-fast";
import { trainNeuralInWorker } from "../lib/train-neural";
import { type ValidationRow, trainTwoStage } from "../../src/offline/train/two-stage";
import { createNodeSession } from "../../src/offline/serving/node-model";
import { MODEL_BLEND_WEIGHT } from "../../src/offline/train/vsknn-options";
import { viewSessionsFromLog } from "../../src/offline/replay/replay-log";
import { loadSplit } from "../lib/dataset-split";
import { fromLocalLog, fromNdjson } from "../lib/log-source";
import { progressBar } from "../lib/progress";

const BASELINE_SAMPLE = 50_000; // prefixes whose inputs feed the manifest's drift histograms
const SESSION_GAP_MS = 1800 * 1000; // SESSION_GAP_SECONDS in wrangler.toml: training sessions are serving's visits

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "../../shared/datasets/diginetica" },
      log: { type: "string" },
      tenant: { type: "string" },
      split: { type: "string", default: "test" },
      dim: { type: "string", default: "64" },
      epochs: { type: "string" }, // 5 in the core mode, 6 in the dot mode
      negatives: { type: "string", default: "32" },
      lr: { type: "string", default: "0.2" },
      // dot by default: on Diginetica's validation lists the two-stage row is the same with either (50.50 / 19.18 vs 50.48 / 19.17).
      mode: { type: "string", default: "dot" },
      tau: { type: "string", default: "0.07" },
      dropout: { type: "string", default: "0.2" },
      "model-weight": { type: "string", default: String(MODEL_BLEND_WEIGHT) },
      seed: { type: "string", default: "1" },
      out: { type: "string", default: "/tmp/edgewise-model" },
      name: { type: "string" },
      version: { type: "string", default: "1" },
    },
  });
  // The version's name defaults to the data's (folder or log) name, made a valid model name.
  const modelName = values.name ?? defaultModelName(values.log ?? values.data);
  const num = (name: string, v: string): number => {
    const x = Number(v);
    if (!Number.isFinite(x)) throw new Error(`--${name} must be a number, got ${v}`);
    return x;
  };
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  // From the service's own event log (`--log local` or NDJSON), or from a dataset.
  const train = values.log
    ? viewSessionsFromLog(values.log === "local" ? await fromLocalLog(values.tenant) : await fromNdjson([values.log]), { sessionGapMs: SESSION_GAP_MS }).filter((s) => s.length >= 2)
    : (await loadSplit(values.data, values.split)).train;
  const examples = evaluationPoints(train);
  log(`${values.split}: training on ${train.length} sessions (${examples} prefixes)`);

  const settings = {
    dim: num("dim", values.dim),
    epochs: num("epochs", values.epochs ?? (values.mode === "core" ? "5" : "6")),
    negatives: num("negatives", values.negatives),
    learningRate: num("lr", values.lr),
    schedule: "linear",
    optimizer: "rowwise",
    seed: num("seed", values.seed),
    // CORE-style (one table, cosine / τ, dropout): docs/offline.md "The neural generator".
    mode: neuralMode(values.mode),
    ...(values.mode === "core" ? { temperature: num("tau", values.tau), dropout: num("dropout", values.dropout) } : {}),
  } as const;
  const started = performance.now();
  let neuralSeconds = 0;
  // Both neural fits run at once, one worker thread each (two cores); the bar follows the one awaited first.
  let neuralWaiting = true;
  // Two stages: generators fitted on the first 90% of the sessions, the ranker on lists replayed from the rest.
  const twoStage = await trainTwoStage(train, {
    // Called twice: on the generators' 90% (the ranker's lists), then on every session (shipped).
    trainNeural: async (sessions) => {
      const points = evaluationPoints(sessions);
      const which = sessions.length < train.length ? "for the ranker's lists" : "shipped, all sessions";
      const { model: m, seconds } = await trainNeuralInWorker(sessions, { ...settings, progressEvery: 20_000 }, (p) => {
        // The bar runs while the trainer waits for the ranker's copy; the shipped one finishes in the background.
        if (neuralWaiting && which === "for the ranker's lists")
          progressBar(`neural generator (${which}) epoch ${p.epoch}/${p.epochs}`, (p.epoch - 1) * p.total + p.done, p.epochs * p.total, started, `loss ${p.loss.toFixed(4)}`);
      });
      if (which === "for the ranker's lists") neuralWaiting = false;
      neuralSeconds = Math.max(neuralSeconds, seconds);
      log(`neural generator (${which}): ${points} prefixes in ${seconds.toFixed(0)} s on its own thread; epoch losses ${m.epochLosses.map((l) => l.toFixed(4)).join(" ")}`);
      return m;
    },
    createSession: createNodeSession,
    log,
  });
  const model = twoStage.neural as FastSessionModel;
  const trainSeconds = (performance.now() - started) / 1000;
  log(`trained in ${trainSeconds.toFixed(0)} s`);
  log(validationTable(twoStage.validation));
  const index = twoStage.knnIndex;

  const vocab = modelVocab(model);
  const stride = Math.max(1, Math.floor(examples / BASELINE_SAMPLE));
  const inputs: SequenceInput[] = [];
  let n = 0;
  for (const s of train) for (let i = 1; i < s.length; i++) if (n++ % stride === 0) inputs.push(sequenceInput(s.slice(0, i), vocab));

  const { files, manifest } = await buildModelVersion(model, {
    name: modelName,
    version: values.version,
    createdAt: new Date().toISOString(),
    training: {
      data: `${values.log ? `event log ${values.log}${values.tenant ? ` (tenant ${values.tenant})` : ""}` : `${values.data} (${values.split === "test" ? "all of train.txt" : "first 90% of train.txt"})`}; tools/train.ts ${JSON.stringify(settings)}`,
      window: null,
      sessions: train.length,
      examples,
    },
    metrics: {
      train_seconds: Math.round(trainSeconds),
      neural_seconds: Math.round(neuralSeconds),
      ranker_seconds: Math.round(twoStage.rankerSeconds),
      final_loss: Math.round(model.finalLoss * 1e4) / 1e4,
    },
    trainingInputs: inputs,
    popular: model.popularity.map((p) => p.item_id),
    candidates: { index, options: twoStage.vsknnOptions, modelWeight: num("model-weight", values["model-weight"]) },
    ranker: { onnx: twoStage.ranker.onnx, iknn: twoStage.iknnIndex, spec: twoStage.ranker.spec },
  });
  const dir = join(values.out, values.version);
  mkdirSync(dir, { recursive: true });
  for (const [file, bytes] of Object.entries(files)) writeFileSync(join(dir, file), bytes);
  const sizes = Object.entries(manifest.files)
    .map(([f, { bytes }]) => `${f} ${(bytes / 1e6).toFixed(1)} MB`)
    .join(", ");
  const next = ["npm", "run", "eval", "--", "--model", dir, ...(values.log ? [] : ["--data", values.data, "--split", values.split])].map(shellQuote).join(" ");
  process.stdout.write(`wrote ${dir}: ${sizes}\nnext: ${next}\n`);
}

function neuralMode(v: string): "core" | "dot" {
  if (v !== "core" && v !== "dot") throw new Error(`--mode must be core or dot, got ${v}`);
  return v;
}

/** Quotes a shell word when it needs it, so the printed command is safe to copy. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The ranker's validation lists: each generator alone, the union's recall (the ceiling), the ranker; repeat and new targets apart. */
function validationTable(rows: readonly ValidationRow[]): string {
  const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(2) : "–");
  return [
    "| on the ranker's validation lists | HR@20 | MRR@20 | HR@20 repeat targets | HR@20 new targets |",
    "|---|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${r.name} | ${pct(r.hr20)} | ${pct(r.mrr20)} | ${pct(r.repeatHr20)} | ${pct(r.newHr20)} |`),
  ].join("\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

/** `../shared/datasets/Yoo Choose-100k` → `yoo-choose-100k`: the manifest's name pattern, never empty. */
function defaultModelName(path: string): string {
  const base = basename(resolve(path))
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+/, "")
    .slice(0, 63);
  return base || "model";
}
