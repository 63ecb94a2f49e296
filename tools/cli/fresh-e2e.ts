/**
 * Fresh items between retrains, measured on real clicks (YooChoose sample,
 * session-rec format `SessionId<TAB>ItemId<TAB>Time`; design 0028, docs/mlops.md
 * "Fresh items"):
 *
 *  1. train two two-stage versions on the training days, identical but for the
 *     fresh generator (same sessions, same neural generator, same ranker settings):
 *     `with` streams the co-visitation state over the sessions on their own clock;
 *     `without` is a version as before it;
 *  2. for each, start the service (`wrangler dev`, its own empty local state), publish
 *     and activate the version, and replay the test day through the running service,
 *     sessions in start order: post each click (`POST /v1/events` → queue → consumer →
 *     FreshDO), then `GET /v1/recommendations?k=20` and rank the next click;
 *  3. report HR@20 / MRR@20 on the targets the model never saw in training (and on all).
 *
 *   npx tsx tools/cli/fresh-e2e.ts [--data ../shared/datasets/yoochoose-clicks-100k] [--out results/fresh-e2e.md]
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { buildModelVersion } from "../../src/offline/export/model-version";
import { createNodeSession } from "../../src/offline/serving/node-model";
import { trainSessionModelFast } from "../../src/offline/train/session-model-fast";
import { trainTwoStage } from "../../src/offline/train/two-stage";
import { SEQ_LEN } from "../../src/models/inputs";
import { withLocalBucket } from "../local/local-r2";
import { DEMO_KEY, Service, byStart, pool, postEvents, readClicks, retryAfter } from "../lib/click-replay";
import { activate, publishModel } from "./registry";

const TENANT = "demo";
const CONCURRENCY = 8;

interface Tally {
  points: number;
  hits: number;
  rr: number;
}
const tally = (): Tally => ({ points: 0, hits: 0, rr: 0 });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "../../shared/datasets/yoochoose-clicks-100k" },
      state: { type: "string", default: "/tmp/edgewise-fresh-e2e" },
      port: { type: "string", default: "8793" },
      out: { type: "string", default: "results/fresh-e2e.md" },
    },
  });
  const log = (line: string) => void process.stderr.write(`${line}\n`);
  const train = byStart(readClicks(join(values.data, "train.tsv")));
  const test = byStart(readClicks(join(values.data, "test.tsv"))).filter((s) => s.length >= 2);
  const sessions = train.map((s) => s.map((c) => c.item));
  const viewTimes = train.map((s) => s.map((c) => c.time));
  const vocabulary = new Set(sessions.flat());
  log(`train: ${train.length} sessions, ${vocabulary.size} items; test day: ${test.length} sessions`);

  // 1. Two versions, identical but for the fresh generator: one neural fit, one ranker setting.
  let neural: ReturnType<typeof trainSessionModelFast> | null = null;
  const trainNeural = (s: readonly (readonly string[])[]) => (neural ??= trainSessionModelFast(s, { dim: 64, epochs: 6, seed: 1, schedule: "linear", optimizer: "rowwise" }));
  const dirs: Record<string, string> = {};
  const validation: Record<string, string> = {};
  for (const variant of ["with", "without"] as const) {
    const t0 = performance.now();
    const two = await trainTwoStage(sessions, {
      trainNeural,
      createSession: createNodeSession,
      viewTimes,
      withoutFresh: variant === "without",
      lambdamart: { maxDepth: 6, learningRate: 0.15 },
      log,
    });
    const v = Object.fromEntries(two.validation.map((r) => [r.name, r]));
    validation[variant] =
      `ranker ${(100 * v.ranker!.hr20).toFixed(2)} / ${(100 * v.ranker!.mrr20).toFixed(2)}${v.fresh && variant === "with" ? `, fresh alone ${(100 * v.fresh.hr20).toFixed(2)} / ${(100 * v.fresh.mrr20).toFixed(2)}` : ""}`;
    log(`${variant}: trained in ${((performance.now() - t0) / 1000).toFixed(0)} s; validation HR@20 / MRR@20: ${validation[variant]}`);
    const n = two.neural as ReturnType<typeof trainSessionModelFast>;
    const { files } = await buildModelVersion(n, {
      name: "yoochoose-fresh",
      version: variant,
      createdAt: new Date().toISOString(),
      training: { data: "YooChoose sample train.tsv (tools/cli/fresh-e2e.ts)", window: null, sessions: sessions.length, examples: 0 },
      metrics: {},
      trainingInputs: [{ idx: new Array(SEQ_LEN).fill(0), w: new Array(SEQ_LEN).fill(0) }],
      popular: n.popularity.map((p) => p.item_id),
      candidates: { index: two.knnIndex, options: two.vsknnOptions, modelWeight: 0.1 },
      ranker: { onnx: two.ranker.onnx, iknn: two.iknnIndex, spec: two.ranker.spec },
    });
    const dir = join(values.state, "models", variant);
    mkdirSync(dir, { recursive: true });
    for (const [f, bytes] of Object.entries(files)) writeFileSync(join(dir, f), bytes);
    dirs[variant] = dir;
  }

  // 2. Each version on its own fresh service: the test day replayed through the API.
  const maxTime = Math.max(...test.flat().map((c) => c.time));
  const shift = Date.now() - 3_600_000 - maxTime;
  const results: Record<string, { unseen: Tally; all: Tally; seconds: number }> = {};
  for (const variant of ["with", "without"] as const) {
    const state = join(values.state, `service-${variant}`);
    rmSync(state, { recursive: true, force: true });
    const r2 = join(state, "v3", "r2");
    const id = await withLocalBucket(
      "edgewise-models",
      async (bucket) => {
        const target = { kind: "local" as const, bucket };
        const published = await publishModel(target, dirs[variant]!);
        await activate(target, { tenant: TENANT, model: published, variants: [] });
        return published;
      },
      r2,
    );
    const svc = new Service(Number(values.port), state);
    const base = svc.base;
    const unseen = tally();
    const all = tally();
    const t0 = performance.now();
    try {
      await svc.start();
      await pool(
        test,
        CONCURRENCY,
        async (clicks) => {
          let visitor: string | null = null;
          for (let i = 0; i < clicks.length - 1; i++) {
            const c = clicks[i]!;
            visitor = await postEvents(base, visitor, [{ id: `yc-${c.session}-${i}`, type: "product_view", timestamp: c.time + shift, properties: { item_id: c.item } }]);
            let res = await fetch(`${base}/v1/recommendations?k=20`, { headers: { "x-edgewise-key": DEMO_KEY, "x-edgewise-visitor": visitor } });
            while (res.status === 429) {
              await retryAfter(res);
              res = await fetch(`${base}/v1/recommendations?k=20`, { headers: { "x-edgewise-key": DEMO_KEY, "x-edgewise-visitor": visitor } });
            }
            const body = (await res.json()) as { model: string | null; items: Array<{ item_id: string }> };
            if (res.status !== 200 || body.model !== id) throw new Error(`GET /v1/recommendations → ${res.status} model ${body.model}`);
            const target = clicks[i + 1]!.item;
            const rank = body.items.findIndex((x) => x.item_id === target) + 1;
            for (const t of vocabulary.has(target) ? [all] : [all, unseen]) {
              t.points++;
              if (rank > 0 && rank <= 20) t.hits++, (t.rr += 1 / rank);
            }
          }
        },
        `test day through the service (${variant} fresh)`,
      );
    } finally {
      await svc.stop();
    }
    results[variant] = { unseen, all, seconds: (performance.now() - t0) / 1000 };
  }

  // 3. The table.
  // No unseen targets at all is an answer too (a session-rec preparation drops test clicks on items not in train): "–", not NaN.
  const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(2) : "–");
  const row = (name: string, r: (typeof results)[string]) =>
    `| ${name} | ${pct(r.unseen.hits / r.unseen.points)} | ${pct(r.unseen.rr / r.unseen.points)} | ${pct(r.all.hits / r.all.points)} | ${pct(r.all.rr / r.all.points)} |`;
  const u = results.with!.unseen;
  const table = [
    `YooChoose sample, fresh items (${new Date().toISOString().slice(0, 10)}): two-stage versions trained on train.tsv (${train.length} sessions, ${vocabulary.size} items), identical but for the fresh generator; the test day (${test.length} sessions) replayed through wrangler dev (POST /v1/events, then GET /v1/recommendations?k=20 per click, sessions in start order, ${CONCURRENCY} at a time). ${u.points} of ${results.with!.all.points} points have a target the model never saw in training.`,
    "",
    "| version | HR@20 unseen targets | MRR@20 unseen | HR@20 all | MRR@20 all |",
    "|---|---:|---:|---:|---:|",
    row("with the fresh generator", results.with!),
    row("without (as before)", results.without!),
    "",
    `Ranker validation (HR@20 / MRR@20, the trainer's own lists): with ${validation.with}; without ${validation.without}. Replay: ${results.with!.seconds.toFixed(0)} s with, ${results.without!.seconds.toFixed(0)} s without.`,
  ].join("\n");
  process.stdout.write(`${table}\n`);
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${table}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
