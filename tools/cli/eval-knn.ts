/**
 * Evaluates the non-neural recommenders (POP, Item-KNN, V-SKNN) on a dataset
 * in the Diginetica format and prints one markdown table, also written to --out.
 *
 *   npx tsx tools/eval-knn.ts --data ../shared/datasets/diginetica --split validation \
 *       --m 500,1000 --k 100,200 --weighting div,quadratic --idf 0,1
 *   npx tsx tools/eval-knn.ts --split test --m 1000 --k 100 ...   (once, with the tuned values)
 *
 * Comma lists are crossed into a grid; every combination is a row. Tune on
 * `--split validation` (the first 90% of train.txt against its last 10%); never on test.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { buildCooccurrence, type CooccurrenceMode, createCooccurrenceRecommender } from "../../src/models/knn/cooccurrence";
import { buildIndex, deserializeIndex, serializeIndex } from "../../src/models/knn/index";
import { buildPopularity, createPopularityRecommender } from "../../src/models/knn/popularity";
import { createVsknn, type MatchDecay, POSITION_WEIGHTS, type PositionWeighting, type VsknnOptions } from "../../src/models/knn/vsknn";
import { type Dataset, readDataset, restrictToTrainingItems, validationSplit } from "../../src/offline/data/sessions-file";
import { type EvalResult, evaluateRecommender, evaluationPoints, type Recommender } from "../../src/offline/eval/metrics";
import { PUBLISHED_DIGINETICA } from "../lib/published";

const { values: args } = parseArgs({
  options: {
    data: { type: "string", default: "../../shared/datasets/diginetica" },
    split: { type: "string", default: "validation" },
    out: { type: "string" },
    m: { type: "string", default: "1000" },
    k: { type: "string", default: "100" },
    weighting: { type: "string", default: "div" },
    decay: { type: "string", default: "div" },
    idf: { type: "string", default: "0" },
    backfill: { type: "string", default: "false" },
    "cooc-mode": { type: "string", default: "session" },
    shrinkage: { type: "string", default: "0" },
    cap: { type: "string", default: "5000" },
  },
});

const list = (s: string): string[] =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");
const numbers = (s: string): number[] =>
  list(s).map((x) => {
    const v = Number(x);
    if (!Number.isFinite(v)) throw new RangeError(`not a number: ${x}`);
    return v;
  });
function oneOf<T extends string>(s: string, allowed: readonly T[], flag: string): T[] {
  return list(s).map((x) => {
    if (!(allowed as readonly string[]).includes(x)) throw new RangeError(`--${flag} must be one of ${allowed.join(", ")}, got ${x}`);
    return x as T;
  });
}
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const pct = (x: number): string => (100 * x).toFixed(2);
const ms = (x: number): string => x.toFixed(3);

function cross<T extends object>(base: T[], key: string, values: readonly unknown[]): T[] {
  return base.flatMap((b) => values.map((v) => ({ ...b, [key]: v })));
}

async function main(): Promise<void> {
  const split = oneOf(args.split!, ["validation", "test"] as const, "split")[0]!;
  const out = args.out ?? `results/knn-${split}.md`;
  const full = await readDataset(args.data!);
  // Validation is preprocessed like test.txt was (unseen items dropped, sessions < 2 dropped), so the two compare.
  let data: Dataset = full;
  if (split === "validation") {
    const v = validationSplit(full.train);
    data = { train: v.train, test: restrictToTrainingItems(v.test, v.train) };
  }
  const points = evaluationPoints(data.test);
  log(`${split}: ${data.train.length} training sessions, ${data.test.length} evaluation sessions, ${points} points`);

  let t = performance.now();
  const built = buildIndex(data.train, { maxSessionsPerItem: numbers(args.cap!)[0]! });
  const buildMs = performance.now() - t;
  const bytes = serializeIndex(built);
  t = performance.now();
  const index = deserializeIndex(bytes); // evaluate the path the worker would take: bytes in, index out
  const loadMs = performance.now() - t;
  log(`index: ${built.items.length} items, built in ${buildMs.toFixed(0)} ms, ${(bytes.byteLength / 1e6).toFixed(2)} MB, loaded in ${loadMs.toFixed(1)} ms`);
  const vocabulary = new Set(index.items);

  const recommenders: Recommender[] = [createPopularityRecommender(buildPopularity(data.train))];
  for (const mode of oneOf(args["cooc-mode"]!, ["session", "next"] as const, "cooc-mode") as CooccurrenceMode[]) {
    for (const shrinkage of numbers(args.shrinkage!)) {
      t = performance.now();
      const model = buildCooccurrence(data.train, { mode, shrinkage });
      log(`item-knn (${mode}, λ=${shrinkage}) built in ${(performance.now() - t).toFixed(0)} ms`);
      recommenders.push(createCooccurrenceRecommender(model, `Item-KNN(${mode},λ=${shrinkage})`));
    }
  }
  let grid: VsknnOptions[] = [{}];
  grid = cross(grid, "sampleSize", numbers(args.m!));
  grid = cross(grid, "neighbours", numbers(args.k!));
  grid = cross(grid, "weighting", oneOf(args.weighting!, Object.keys(POSITION_WEIGHTS) as PositionWeighting[], "weighting"));
  grid = cross(grid, "matchDecay", oneOf(args.decay!, ["same", "div"] as MatchDecay[], "decay"));
  grid = cross(grid, "idf", numbers(args.idf!));
  grid = cross(
    grid,
    "backfill",
    oneOf(args.backfill!, ["true", "false"] as const, "backfill").map((b) => b === "true"),
  );
  for (const opts of grid) recommenders.push(createVsknn(index, opts));

  const results: EvalResult[] = [];
  for (const rec of recommenders) {
    t = performance.now();
    const result = await evaluateRecommender(rec, data.test, {
      vocabulary,
      onProgress: (done, total) => process.stderr.write(`\r  ${rec.name}: ${done}/${total}`),
    });
    process.stderr.write("\n");
    log(`  HR@20 ${pct(result.all.hr[20]!)} MRR@20 ${pct(result.all.mrr[20]!)} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    results.push(result);
  }

  const first = results[0]!;
  const lines = [
    `## ${split === "test" ? "Test (test.txt)" : "Validation (last 10% of train.txt)"}: next-item, all items ranked`,
    "",
    `${data.train.length} training sessions, ${index.items.length} items; ${data.test.length} sessions, ${points} evaluation points ` +
      `(${first.repeat.cases} repeat targets, ${first.fresh.cases} new, ${first.unknownTargets} unknown = misses). ` +
      `V-SKNN index: built in ${buildMs.toFixed(0)} ms, ${bytes.byteLength} bytes, cap ${numbers(args.cap!)[0]} sessions/item, loaded in ${loadMs.toFixed(1)} ms. ` +
      `Metrics in %, latency in ms per call (Node ${process.version}).`,
    "",
    "| model | HR@10 | MRR@10 | HR@20 | MRR@20 | HR@20 repeat | MRR@20 repeat | HR@20 new | MRR@20 new | cov@20 | mean ms | p50 ms | p99 ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results
      .map((r) =>
        [
          r.name,
          pct(r.all.hr[10]!),
          pct(r.all.mrr[10]!),
          `**${pct(r.all.hr[20]!)}**`,
          `**${pct(r.all.mrr[20]!)}**`,
          pct(r.repeat.hr[20]!),
          pct(r.repeat.mrr[20]!),
          pct(r.fresh.hr[20]!),
          pct(r.fresh.mrr[20]!),
          pct(r.coverage),
          ms(r.latencyMs.mean),
          ms(r.latencyMs.p50),
          ms(r.latencyMs.p99),
        ].join(" | "),
      )
      .map((row) => `| ${row} |`),
    // Published numbers are on test.txt; next to a validation table they only give the scale.
    ...PUBLISHED_DIGINETICA.map(([name, hr, mrr]) => `| published, test.txt: ${name} | – | – | ${hr.toFixed(2)} | ${mrr.toFixed(2)} | – | – | – | – | – | – | – | – |`),
    "",
    `Command: \`npx tsx tools/eval-knn.ts ${process.argv.slice(2).join(" ")}\``,
    "",
  ];
  const table = lines.join("\n");
  process.stdout.write(table);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, table);
  log(`wrote ${out}`);
}

await main();
