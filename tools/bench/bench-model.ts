/**
 * The benchmark's large model: a two-stage version (generators + LambdaMART ranker) at
 * 43,000 items, built with the project's own code from the seeded synthetic shop
 * (src/offline/synthetic) and the real trainer (src/offline/train/two-stage.ts), so
 * `npm run bench` needs no dataset. Sized like the Diginetica version that ships
 * (docs/offline.md): 43,000 items, dim 64, a depth-6 ranker of ≤ 70 trees over the
 * features that vary, ~160 candidates per list. Quality is not the point (one epoch,
 * a fixed tree setting): the serving cost is.
 *
 * Cached under node_modules/.cache/edgewise-bench/<key>, where the key hashes the
 * settings and the source of everything that shapes the artifacts: repeat runs load it.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildModelVersion } from "../../src/offline/export/model-version";
import { generateCatalog } from "../../src/offline/synthetic/catalog";
import { generateSessions, viewSequences } from "../../src/offline/synthetic/sessions";
import { createNodeSession } from "../../src/offline/serving/node-model";
import { trainTwoStage } from "../../src/offline/train/two-stage";
import { MODEL_BLEND_WEIGHT, VSKNN_OPTIONS } from "../../src/offline/train/vsknn-options";
import { trainSessionModelFast } from "../../src/offline/train/session-model-fast";

/** What the benchmark model is built from; part of the cache key. */
export const BENCH_MODEL = {
  name: "shop43k",
  version: "1",
  seed: 7,
  items: 44_500,
  categories: 320,
  sessions: 150_000,
  dim: 64,
  epochs: 1,
  ranker: { maxDepth: 6, learningRate: 0.02, maxTrees: 70, patience: 70 },
  maxFitLists: 4000,
  maxValidationLists: 1000,
} as const;

export interface BenchModel {
  /** `<name>/<version>` as the registry names it. */
  id: string;
  /** The version folder (manifest.json and every file it lists). */
  dir: string;
  /** The shop's catalog.json (`{ items }`), for the tenant and for the benchmark's events. */
  catalogFile: string;
  /** Whether this run built it (false: loaded from the cache). */
  built: boolean;
  buildSeconds: number;
}

function sourceHash(): string {
  const h = createHash("sha256").update(JSON.stringify(BENCH_MODEL));
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir).sort()) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".ts")) h.update(p).update(readFileSync(p));
    }
  };
  for (const d of ["src/offline", "src/models", "src/features"]) walk(d);
  h.update(readFileSync("tools/bench/bench-model.ts"));
  return h.digest("hex").slice(0, 16);
}

/** Loads the cached model or builds it (a few minutes on 2 cores, once). */
export async function benchModel(log: (line: string) => void): Promise<BenchModel> {
  const root = join("node_modules", ".cache", "edgewise-bench");
  const key = sourceHash();
  const out = join(root, key);
  const id = `${BENCH_MODEL.name}/${BENCH_MODEL.version}`;
  const result = (built: boolean, buildSeconds: number): BenchModel => ({ id, dir: join(out, BENCH_MODEL.version), catalogFile: join(out, "catalog.json"), built, buildSeconds });
  if (existsSync(join(out, BENCH_MODEL.version, "manifest.json"))) return result(false, 0);

  const started = performance.now();
  const m = BENCH_MODEL;
  const catalog = generateCatalog(m.seed, { items: m.items, categories: m.categories });
  const sessions = generateSessions(catalog, m.seed, { sessions: m.sessions });
  const train = viewSequences(sessions);
  const from = sessions[0]!.events[0]!.timestamp;
  const to = sessions.reduce((t, s) => Math.max(t, s.events.at(-1)!.timestamp), from);
  log(`bench model: synthetic shop (seed ${m.seed}) ${catalog.items.length} items, ${train.length} sessions`);
  const shop = { byId: new Map(catalog.items.map((i) => [i.item_id, { item_id: i.item_id, category: i.category, price: i.price }])) };
  const twoStage = await trainTwoStage(train, {
    trainNeural: (s) => trainSessionModelFast(s, { seed: m.seed, dim: m.dim, epochs: m.epochs, optimizer: "rowwise", schedule: "linear", trainingWindow: { from, to } }),
    createSession: createNodeSession,
    catalog: shop,
    maxFitLists: m.maxFitLists,
    maxValidationLists: m.maxValidationLists,
    lambdamart: m.ranker,
    log,
  });
  const model = twoStage.neural as ReturnType<typeof trainSessionModelFast>;
  const { files } = await buildModelVersion(model, {
    name: m.name,
    version: m.version,
    createdAt: new Date(to).toISOString(),
    training: {
      data: `synthetic shop for the benchmark (tools/bench/bench-model.ts ${JSON.stringify(m)})`,
      window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
      sessions: train.length,
      examples: 0,
    },
    metrics: {},
    trainingInputs: [],
    popular: model.popularity.map((p) => p.item_id),
    candidates: { index: twoStage.knnIndex, options: VSKNN_OPTIONS, modelWeight: MODEL_BLEND_WEIGHT },
    ranker: { onnx: twoStage.ranker.onnx, iknn: twoStage.iknnIndex, spec: twoStage.ranker.spec },
  });
  // Written to a scratch folder and renamed, so an interrupted build never looks cached.
  const scratch = `${out}.partial-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(join(scratch, m.version), { recursive: true });
  for (const [file, bytes] of Object.entries(files)) writeFileSync(join(scratch, m.version, file), bytes);
  const items = catalog.items.map(({ style: _style, popularity: _popularity, ...item }) => item);
  writeFileSync(join(scratch, "catalog.json"), JSON.stringify({ items }));
  rmSync(out, { recursive: true, force: true });
  renameSync(scratch, out);
  const seconds = (performance.now() - started) / 1000;
  log(`bench model: built ${id} in ${seconds.toFixed(0)} s (${out})`);
  return result(true, seconds);
}

if (process.argv[1]?.endsWith("bench-model.ts")) {
  const m = await benchModel((line) => void process.stderr.write(`${line}\n`));
  const manifest = JSON.parse(readFileSync(join(m.dir, "manifest.json"), "utf8")) as { ranker?: { params?: unknown; features?: unknown[] }; params?: unknown };
  process.stdout.write(`${JSON.stringify({ ...m, params: manifest.params, ranker: manifest.ranker?.params, features: manifest.ranker?.features?.length })}\n`);
}
