import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ImpressionMessage } from "../src/contracts/queue";
import worker from "../src/index";
import type { ModelDrift } from "../src/mlops/monitor/dashboard-data";
import { sequenceInput } from "../src/models/inputs";
import { MISSING } from "../src/models/ranker/features";
import { buildTreeEnsembleModel } from "../src/models/ranker/trees";
import { buildModelVersion } from "../src/offline/export/model-version";
import { rankerBaselines } from "../src/offline/export/ranker-baselines";
import { DEFAULT_GENERATORS } from "../src/offline/train/two-stage";
import { chainWeights } from "./models";

const weights = chainWeights(40);
const vocab = new Map(weights.items.map((item, i) => [item, i + 1]));
/** Sessions of 1, 2 and 3 viewed items in the proportions 5 : 3 : 2 — the fixture's "training" population. */
const TRAINING_MIX = [
  { length: 1, share: 5 },
  { length: 2, share: 3 },
  { length: 3, share: 2 },
];

function viewed(length: number, offset: number): string[] {
  return Array.from({ length }, (_, i) => weights.items[(offset + i) % weights.items.length]!);
}

/** Publishes a model whose manifest baselines come from TRAINING_MIX (100 training inputs). */
async function publishFixtureModel(name: string): Promise<string> {
  const trainingInputs = TRAINING_MIX.flatMap(({ length, share }) => Array.from({ length: share * 10 }, (_, i) => sequenceInput(viewed(length, i), vocab)));
  const { files, manifest } = await buildModelVersion(weights, {
    name,
    version: "1",
    createdAt: new Date(Date.now() - 180 * 86_400_000).toISOString(),
    training: { data: "drift fixture", window: null, sessions: 100, examples: 100 },
    metrics: {},
    trainingInputs,
    popular: weights.items.slice(0, 10),
  });
  expect(manifest.baselines["item_idx.known_items"]!.counts.slice(0, 5)).toEqual([0, 50, 30, 20, 0]);
  for (const [file, bytes] of Object.entries(files)) await env.MODELS.put(`models/${name}/1/${file}`, bytes);
  return `${name}/1`;
}

let seq = 0;
function impression(tenant: string, model: string, items: string[], servedItems: string[], at: number): ImpressionMessage {
  const input = sequenceInput(items, vocab);
  return {
    kind: "impression",
    schema_version: 1,
    tenant,
    visitor_id: `v${seq % 37}`,
    impression_id: `imp-${tenant}-${seq++}`,
    served_at: at,
    type: "personalized",
    experiment: null,
    variant: "default",
    model,
    degraded: null,
    latency_ms: 12,
    features: { source: { visit_viewed_items: items }, item_idx: input.idx, item_w: input.w },
    items: servedItems.map((item_id, i) => ({ item_id, position: i + 1, score: 2.5 - i * 0.1 })),
  };
}

/** Sends messages through the real queue handler in batches of 100, like the platform. */
async function consume(messages: unknown[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 100) {
    const batch = createMessageBatch(
      "edgewise-events",
      messages.slice(i, i + 100).map((body, j) => ({ id: `m-${i + j}-${Math.random().toString(36).slice(2)}`, timestamp: new Date(), attempts: 1, body })),
    );
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages).toEqual([]);
  }
}

async function driftOf(tenant: string, model: string): Promise<ModelDrift> {
  const d = await env.MONITOR.getByName(tenant).dashboard(tenant, 24);
  const m = d.drift.find((x) => x.model === model);
  if (!m) throw new Error(`no drift report for ${model}`);
  return m;
}

const feature = (m: ModelDrift, name: string) => m.inputs.find((f) => f.feature === name)!;

describe("drift monitoring (queue consumer → MonitorDO)", () => {
  it("served inputs that look like training are fine; nothing is flagged", async () => {
    const model = await publishFixtureModel("steady");
    const now = Date.now();
    // 200 impressions in exactly the training proportions, items all known to the model.
    const messages = TRAINING_MIX.flatMap(({ length, share }) => Array.from({ length: share * 20 }, (_, i) => impression("drift-steady", model, viewed(length, i), viewed(4, i + 7), now - i * 1000)));
    await consume(messages);
    const m = await driftOf("drift-steady", model);
    expect(m.impressions).toBe(200);
    const known = feature(m, "item_idx.known_items");
    expect(known.observations).toBe(200);
    expect(known.psi).toBeCloseTo(0, 12);
    expect(known.missing_share).toBe(0);
    expect(known.out_of_range_share).toBe(0);
    expect(known.status).toBe("fine");
    expect(feature(m, "item_w.latest_weight").psi).toBeCloseTo(0, 12);
    expect(feature(m, "item_w.latest_weight").status).toBe("fine");
    expect(m.catalogue).toMatchObject({ shown: 800, unknown: 0, unknown_share: 0, status: "fine" });
    expect(m.status).toBe("fine");
  });

  it("shifted inputs, missing inputs and unknown items are flagged, with the PSI computed by hand", async () => {
    const model = await publishFixtureModel("shifted");
    const now = Date.now();
    // 100 impressions: 20 % one item, 80 % six items (never seen in training); 20 more with no model input.
    const messages = [
      ...Array.from({ length: 20 }, (_, i) => impression("drift-shift", model, viewed(1, i), ["new-a", "new-b", ...viewed(2, i)], now - i * 1000)),
      ...Array.from({ length: 80 }, (_, i) => impression("drift-shift", model, viewed(6, i), ["new-c", ...viewed(3, i)], now - i * 1000)),
      ...Array.from({ length: 20 }, (_, i) => {
        const cold = impression("drift-shift", model, [], viewed(4, i), now - i * 1000);
        return { ...cold, degraded: "cold_start", features: { source: { visit_viewed_items: [] }, item_idx: null, item_w: null } };
      }),
    ];
    await consume(messages);
    const m = await driftOf("drift-shift", model);
    const known = feature(m, "item_idx.known_items");
    expect(known.observations).toBe(120);
    expect(known.missing_share).toBeCloseTo(20 / 120, 12);
    // Training shares (bins 1, 2, 3 known items) 0.5 / 0.3 / 0.2; served 0.2 at 1 and 0.8 at 6, every other bin floored at 1e-4.
    const e = 1e-4;
    const term = (a: number, b: number) => (Math.max(a, e) - Math.max(b, e)) * Math.log(Math.max(a, e) / Math.max(b, e));
    const expected = term(0.2, 0.5) + term(e, 0.3) + term(e, 0.2) + term(0.8, 0);
    expect(known.psi).toBeCloseTo(expected, 10);
    expect(known.status).toBe("act");
    expect(m.catalogue.shown).toBe(20 * 4 + 80 * 4 + 20 * 4);
    expect(m.catalogue.unknown).toBe(20 * 2 + 80);
    expect(m.catalogue.status).toBe("watch"); // 120 / 480 = 25 %: past the 10 % watch line, short of the 30 % act line
    expect(m.status).toBe("act");
  });

  it("prediction drift: the top score is compared with the model's first day of serving", async () => {
    const HOUR = 3600_000;
    const now = Date.now();
    const withTop = (m: ImpressionMessage, top: number): ImpressionMessage => ({ ...m, items: m.items.map((x, i) => ({ ...x, score: top - i * 0.1 })) });
    // Day one (30 h ago, outside the 24 h window): top scores around 2.5 — the reference. Then the last hour.
    const served = (tenant: string, model: string, top: number) => [
      ...Array.from({ length: 100 }, (_, i) => withTop(impression(tenant, model, viewed(2, i), viewed(3, i), now - 30 * HOUR + i * 60_000), 2.5)),
      ...Array.from({ length: 100 }, (_, i) => withTop(impression(tenant, model, viewed(2, i), viewed(3, i), now - i * 1000), top)),
    ];
    const steadyModel = await publishFixtureModel("pred-steady");
    await consume(served("pred-steady", steadyModel, 2.5));
    const steady = (await driftOf("pred-steady", steadyModel)).prediction;
    expect(steady.observations).toBe(100); // the window's impressions only
    expect(steady.psi).toBeCloseTo(0, 12);
    expect(steady.status).toBe("fine");

    const shiftedModel = await publishFixtureModel("pred-shift");
    await consume(served("pred-shift", shiftedModel, -3)); // every top score moves from [2, 5) to [-5, -2)
    const shifted = await driftOf("pred-shift", shiftedModel);
    const e = 1e-4;
    expect(shifted.prediction.psi).toBeCloseTo(2 * (1 - e) * Math.log(1 / e), 8);
    expect(shifted.prediction.status).toBe("act");
    expect(shifted.status).toBe("act");
  });

  it("a redelivered batch changes no aggregate", async () => {
    const model = await publishFixtureModel("redelivered");
    const now = Date.now();
    const messages = Array.from({ length: 60 }, (_, i) => impression("drift-redo", model, viewed(2, i), viewed(3, i), now - i * 1000));
    await consume(messages);
    const before = await driftOf("drift-redo", model);
    await consume(messages); // at-least-once delivery: the same impressions again
    const after = await driftOf("drift-redo", model);
    expect(after.impressions).toBe(60);
    expect(feature(after, "item_idx.known_items")).toEqual(feature(before, "item_idx.known_items"));
    expect(after.catalogue).toEqual(before.catalogue);
  });
});

/** The ranker features of the fixture's ranker, in its input order (the order impressions log them). */
const RANKER_READS = ["gen.vsknn.score", "visit.length", "item.price_ratio"] as const;
type Row = [score: number, length: number, price: number];
/**
 * 200 training rows of the candidate the ranker put first: V-SKNN scores spread
 * over [0, 1], visit lengths 1–4 equally often, a price for 3 lists in 4.
 */
const TRAINING_ROWS: Row[] = Array.from({ length: 200 }, (_, i) => [i / 199, 1 + (i % 4), i % 4 === 0 ? MISSING : 0.5 + (i % 7) / 6].map(Math.fround) as Row); // float32, as the ranker's rows are

/** Publishes a two-stage version whose manifest carries ranker baselines histogrammed from TRAINING_ROWS (the export's own function). */
async function publishRankerModel(name: string): Promise<string> {
  const baselines = rankerBaselines(RANKER_READS, Float32Array.from(TRAINING_ROWS.flat()));
  const { files, manifest } = await buildModelVersion(weights, {
    name,
    version: "1",
    createdAt: new Date(Date.now() - 30 * 86_400_000).toISOString(),
    training: { data: "ranker drift fixture", window: null, sessions: 200, examples: 200 },
    metrics: {},
    trainingInputs: [sequenceInput(viewed(2, 0), vocab)],
    popular: weights.items.slice(0, 10),
    ranker: {
      onnx: buildTreeEnsembleModel({ numFeatures: RANKER_READS.length, base: 0, trees: [{ feature: [-1], threshold: [0], left: [-1], right: [-1], value: [0] }] }),
      iknn: null,
      spec: {
        generators: { ...DEFAULT_GENERATORS, iknn: { ...DEFAULT_GENERATORS.iknn, file: "iknn.bin" } },
        features: RANKER_READS.map((n) => ({ name: n, version: 1 })),
        params: {},
        selection: {},
        baselines,
      },
    },
  });
  expect(manifest.ranker!.baselines!["visit.length"]).toEqual({ edges: [1, 1.5, 2.5, 3.5, 4], counts: [50, 50, 50, 50], missing: 0, min: 1, max: 4 });
  expect(manifest.ranker!.baselines!["item.price_ratio"]!.missing).toBe(50);
  for (const [file, bytes] of Object.entries(files)) await env.MODELS.put(`models/${name}/1/${file}`, bytes);
  return `${name}/1`;
}

/** A personalised list ranked by the two-stage ranker: the impression logs its first candidate's row. */
function rankedImpression(tenant: string, model: string, row: ReadonlyArray<number | null> | undefined, at: number): ImpressionMessage {
  const m = impression(tenant, model, viewed(2, seq), viewed(4, seq + 3), at);
  return { ...m, features: { ...m.features, ...(row ? { ranker: [...row] } : {}) } };
}

describe("drift of the ranker's features (queue consumer → MonitorDO)", () => {
  it("the ranker's features served like training are fine, each compared with its own histogram", async () => {
    const model = await publishRankerModel("ranked-steady");
    const now = Date.now();
    await consume(TRAINING_ROWS.map((row, i) => rankedImpression("rdrift-steady", model, row, now - i * 1000)));
    const m = await driftOf("rdrift-steady", model);
    for (const name of RANKER_READS) {
      const f = feature(m, `ranker.${name}`);
      expect(f.observations).toBe(200);
      expect(f.psi).toBeCloseTo(0, 12);
      expect(f.out_of_range_share).toBe(0);
      expect(f.status).toBe("fine");
      expect(f.label).toContain(name);
    }
    // The training missing share (no price for 1 list in 4) is not drift.
    expect(feature(m, "ranker.item.price_ratio")).toMatchObject({ missing_share: 0.25, training_missing_share: 0.25 });
    expect(feature(m, "ranker.visit.length").bins).toEqual({ edges: [1, 1.5, 2.5, 3.5, 4], training: [0.25, 0.25, 0.25, 0.25], served: [0.25, 0.25, 0.25, 0.25] });
    expect(m.status).toBe("fine");
  });

  it("a shifted feature is act while an unshifted one stays fine; missing and out-of-range values are counted", async () => {
    const model = await publishRankerModel("ranked-shift");
    const now = Date.now();
    const messages = [
      // 100 lists: the V-SKNN score as in training (every other training row), visits of 4 views — 10 of them
      // longer than any in training — and no price for 80 of the 100 candidates.
      ...Array.from({ length: 100 }, (_, i) => rankedImpression("rdrift-shift", model, [TRAINING_ROWS[2 * i]![0], i < 10 ? 12 : 4, i < 80 ? MISSING : 1], now - i * 1000)),
      // Lists the ranker did not rank (cold start, an older worker) and a row that does not match the manifest count for nothing.
      ...Array.from({ length: 20 }, (_, i) => rankedImpression("rdrift-shift", model, undefined, now - i * 1000)),
      rankedImpression("rdrift-shift", model, [0.5, 3], now),
      // A value that was not a finite number is logged as null: missing.
      rankedImpression("rdrift-shift", model, [TRAINING_ROWS[1]![0], 4, null], now),
    ];
    await consume(messages);
    const m = await driftOf("rdrift-shift", model);

    const score = feature(m, "ranker.gen.vsknn.score");
    expect(score.observations).toBe(101);
    expect(score.psi).toBeLessThan(0.001); // 10 of each decile's 20 training values, plus one in the first
    expect(score.status).toBe("fine");

    const length = feature(m, "ranker.visit.length");
    expect(length.observations).toBe(101);
    expect(length.out_of_range_share).toBeCloseTo(10 / 101, 12);
    expect(length.missing_share).toBe(0);
    // Training: a quarter in each of the bins 1, 2, 3, 4 and none missing; served in range: all 91 at 4.
    const e = 1e-4;
    const term = (a: number, b: number) => (Math.max(a, e) - Math.max(b, e)) * Math.log(Math.max(a, e) / Math.max(b, e));
    expect(length.psi).toBeCloseTo(3 * term(0, 0.25) + term(1, 0.25) + term(0, 0), 10);
    expect(length.status).toBe("act");

    const price = feature(m, "ranker.item.price_ratio");
    expect(price.observations).toBe(101);
    expect(price.missing_share).toBeCloseTo(81 / 101, 12);
    expect(price.training_missing_share).toBe(0.25);
    expect(price.status).toBe("act");

    expect(m.status).toBe("act");
  });

  it("a version without ranker baselines reports its model inputs only", async () => {
    const model = await publishFixtureModel("no-ranker");
    await consume(Array.from({ length: 60 }, (_, i) => rankedImpression("rdrift-none", model, [0.5, 2, 1], Date.now() - i * 1000)));
    const m = await driftOf("rdrift-none", model);
    expect(m.inputs.map((f) => f.feature)).toEqual(["item_idx.known_items", "item_w.latest_weight"]);
  });
});
