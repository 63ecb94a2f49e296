/**
 * The whole loop on real clicks, measured (YooChoose sample, session-rec format:
 * `SessionId<TAB>ItemId<TAB>Time`):
 *
 *  1. start the service (`wrangler dev`, its own local state under --state);
 *  2. replay the training days as product views through `POST /v1/events`
 *     (real HTTP, one visitor per session, timestamps shifted to the last days);
 *  3. wait until the queue consumer has written every event to the R2 log;
 *  4. train from that log (point-in-time replay → sessions → neural model +
 *     V-SKNN index), export and publish the version, activate it;
 *  5. evaluate on the test day through the worker's own endpoint: post each click,
 *     then `GET /v1/recommendations?k=20` and rank the next click — and, for
 *     comparison, offline through the same recommend function in Node.
 *
 *   npm run e2e:yoochoose [-- --data ../shared/datasets/yoochoose-clicks-100k --out results/yoochoose-e2e.md]
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { buildIndex, serializeIndex } from "../../src/models/knn/index";
import { buildPopularity, createPopularityRecommender } from "../../src/models/knn/popularity";
import { type EvalResult, type Recommender, evaluateRecommender, evaluationPoints } from "../../src/offline/eval/metrics";
import { servingPathRecommender } from "../../src/offline/eval/serving-path";
import { buildModelVersion } from "../../src/offline/export/model-version";
import { orderedStreams, viewSessionsFromLog } from "../../src/offline/replay/replay-log";
import { loadModelFolder } from "../../src/offline/serving/node-model";
import { trainSessionModelFast } from "../../src/offline/train/session-model-fast";
import { withLocalBucket } from "../local/local-r2";
import { fromLocalLog } from "../lib/log-source";
import { progressBar } from "../lib/progress";
import { type Click, DEMO_KEY, Service, pool, postEvents, readClicks } from "../lib/click-replay";
import { activate, publishModel } from "./registry";
import { MODEL_BLEND_WEIGHT, VSKNN_OPTIONS } from "../../src/offline/train/vsknn-options";

const TENANT = "demo";
const CONCURRENCY = 8;

const view = (c: Click, shift: number, i: number) => ({
  id: `yc-${c.session}-${i}`,
  type: "product_view",
  timestamp: c.time + shift,
  properties: { item_id: c.item },
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "../../shared/datasets/yoochoose-clicks-100k" },
      state: { type: "string", default: "/tmp/edgewise-e2e" },
      port: { type: "string", default: "8791" },
      out: { type: "string", default: "results/yoochoose-e2e.md" },
    },
  });
  const log = (line: string) => void process.stderr.write(`${line}\n`);
  const train = readClicks(join(values.data, "train.tsv"));
  const test = readClicks(join(values.data, "test.tsv"));
  // Shift every timestamp so the test day ends an hour ago: within the API's 30-day window.
  const maxTime = Math.max(...[...test.values()].flat().map((c) => c.time));
  const shift = Date.now() - 3_600_000 - maxTime;
  const trainEvents = [...train.values()].reduce((n, s) => n + s.length, 0);
  log(`train: ${train.size} sessions, ${trainEvents} clicks; test: ${test.size} sessions`);

  rmSync(values.state, { recursive: true, force: true });
  const r2 = join(values.state, "v3", "r2");
  const svc = new Service(Number(values.port), values.state);
  const timings: Record<string, number> = {};
  const t = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const s = performance.now();
    try {
      return await fn();
    } finally {
      timings[name] = (performance.now() - s) / 1000;
    }
  };

  await svc.start();
  try {
    // 2. Replay the training days through the API, one visitor per session (≤ 500 events per request).
    await t("ingest", () =>
      pool(
        [...train.values()],
        CONCURRENCY,
        async (clicks) => {
          let visitor: string | null = null;
          for (let i = 0; i < clicks.length; i += 500)
            visitor = await postEvents(
              svc.base,
              visitor,
              clicks.slice(i, i + 500).map((c, j) => view(c, shift, i + j)),
            );
        },
        "POST /v1/events",
      ),
    );
    // 3. Wait for the consumer to land every event in the R2 log.
    await t("log", async () => {
      for (let i = 0; ; i++) {
        const n = orderedStreams(await fromLocalLog(TENANT, r2));
        const events = [...n.values()].reduce((s, x) => s + x.length, 0);
        progressBar("event log", events, trainEvents, performance.now());
        if (events >= trainEvents) return;
        if (i > 120) throw new Error(`only ${events} of ${trainEvents} events reached the log`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    });
  } finally {
    await svc.stop();
  }

  // 4. Train from the log, export, publish, activate.
  const lines = await fromLocalLog(TENANT, r2);
  // Training sessions are serving's visits, cut by the feature engine's own rule.
  const sessions = viewSessionsFromLog(lines, { sessionGapMs: 1800 * 1000 }).filter((s) => s.length >= 2);
  log(`log: ${lines.length} lines, ${orderedStreams(lines).size} visitors, ${sessions.length} training visits (≥ 2 views)`);
  const model = await t("train", async () => trainSessionModelFast(sessions, { dim: 64, epochs: 6, seed: 1, schedule: "linear", optimizer: "rowwise" }));
  const version = `e2e-${new Date().toISOString().slice(0, 10)}`;
  const { files } = await buildModelVersion(model, {
    name: "yoochoose",
    version,
    createdAt: new Date().toISOString(),
    training: {
      data: "YooChoose sample: training days replayed through POST /v1/events, read back from the R2 event log",
      window: null,
      sessions: sessions.length,
      examples: evaluationPoints(sessions),
    },
    metrics: { final_loss: Math.round(model.finalLoss * 1e4) / 1e4 },
    trainingInputs: [],
    popular: model.popularity.map((p) => p.item_id),
    candidates: { index: serializeIndex(buildIndex(sessions)), options: VSKNN_OPTIONS, modelWeight: MODEL_BLEND_WEIGHT },
  });
  const dir = join(values.state, "model", version);
  mkdirSync(dir, { recursive: true });
  for (const [f, bytes] of Object.entries(files)) writeFileSync(join(dir, f), bytes);
  const id = await withLocalBucket(
    "edgewise-models",
    async (bucket) => {
      const target = { kind: "local" as const, bucket };
      const published = await publishModel(target, dir);
      await activate(target, { tenant: TENANT, model: published, variants: [] });
      return published;
    },
    r2,
  );

  // 5. Evaluate on the test day through the worker's endpoint.
  const testSessions = [...test.values()].filter((s) => s.length >= 2);
  const vocabulary = new Set(sessions.flat());
  let hits20 = 0,
    rr20 = 0,
    hits10 = 0,
    rr10 = 0,
    points = 0;
  const latencies: number[] = [];
  await svc.start();
  try {
    await t("online eval", () =>
      pool(
        testSessions,
        CONCURRENCY,
        async (clicks) => {
          let visitor: string | null = null;
          for (let i = 0; i < clicks.length - 1; i++) {
            visitor = await postEvents(svc.base, visitor, [view(clicks[i]!, shift, i)]);
            const s = performance.now();
            const res = await fetch(`${svc.base}/v1/recommendations?k=20`, { headers: { "x-edgewise-key": DEMO_KEY, "x-edgewise-visitor": visitor } });
            latencies.push(performance.now() - s);
            const body = (await res.json()) as { model: string | null; items: Array<{ item_id: string }> };
            if (res.status !== 200 || body.model !== id) throw new Error(`GET /v1/recommendations → ${res.status} model ${body.model}`);
            const rank = body.items.findIndex((x) => x.item_id === clicks[i + 1]!.item) + 1;
            points++;
            if (rank > 0 && rank <= 20) hits20++, (rr20 += 1 / rank);
            if (rank > 0 && rank <= 10) hits10++, (rr10 += 1 / rank);
          }
        },
        "online evaluation",
      ),
    );
  } finally {
    await svc.stop();
  }

  // The same test sessions offline, through the same recommend function and artifacts.
  const offlineTest = testSessions.map((s) => s.map((c) => c.item));
  const loaded = await loadModelFolder(dir);
  const offline: Array<[Recommender, EvalResult]> = [];
  for (const rec of [servingPathRecommender(loaded), createPopularityRecommender(buildPopularity(sessions))]) {
    offline.push([rec, await evaluateRecommender(rec, offlineTest, { vocabulary })]);
  }

  latencies.sort((a, b) => a - b);
  const pct = (x: number) => (100 * x).toFixed(2);
  const table = [
    `YooChoose sample, end to end (${new Date().toISOString().slice(0, 10)}): ${trainEvents} training clicks replayed through POST /v1/events, trained from the R2 log, model ${id}; test day ${testSessions.length} sessions, ${points} points (targets unseen in training count as misses).`,
    "",
    "| path | HR@10 | MRR@10 | HR@20 | MRR@20 |",
    "|---|---:|---:|---:|---:|",
    `| online: GET /v1/recommendations (wrangler dev, real HTTP) | ${pct(hits10 / points)} | ${pct(rr10 / points)} | **${pct(hits20 / points)}** | **${pct(rr20 / points)}** |`,
    ...offline.map(([rec, r]) => `| offline: ${rec.name} | ${pct(r.all.hr[10]!)} | ${pct(r.all.mrr[10]!)} | ${pct(r.all.hr[20]!)} | ${pct(r.all.mrr[20]!)} |`),
    "",
    `Timings: ingest ${timings.ingest!.toFixed(0)} s (${(trainEvents / timings.ingest!).toFixed(0)} events/s over ${CONCURRENCY} connections), log complete after ${timings.log!.toFixed(0)} s more, training ${timings.train!.toFixed(0)} s, online evaluation ${timings["online eval"]!.toFixed(0)} s; GET /v1/recommendations through the wrangler dev proxy p50 ${latencies[Math.floor(latencies.length / 2)]!.toFixed(1)} ms, p99 ${latencies[Math.floor(latencies.length * 0.99)]!.toFixed(1)} ms.`,
  ].join("\n");
  process.stdout.write(`${table}\n`);
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${table}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
