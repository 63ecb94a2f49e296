import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_VARIANT_PARAMS, type Variant } from "../src/experiments/config";
import { assignVariant, bucketVariant } from "../src/experiments/assign";
import { FEATURES } from "../src/features/registry";
import { ModelLoadError } from "../src/models/errors";
import { sequenceInput } from "../src/models/inputs";
import { referenceTopK } from "../src/models/onnx/session-topk";
import { buildIndex, serializeIndex } from "../src/models/knn/index";
import { buildPopularity, createPopularityRecommender } from "../src/models/knn/popularity";
import { restrictToTrainingItems } from "../src/offline/data/sessions";
import { evaluateRecommender, evaluationPoints } from "../src/offline/eval/metrics";
import { servingPathRecommender } from "../src/offline/eval/serving-path";
import { generateCatalog } from "../src/offline/synthetic/catalog";
import { generateSessions, viewSequences } from "../src/offline/synthetic/sessions";
import { trainSessionModelFast } from "../src/offline/train/session-model-fast";
import { loadModel } from "../src/models/registry";
import type { ImpressionMessage } from "../src/contracts/queue";
import { SHOP_A, SHOP_B, call, make, newVisitor, postEvents, visitorIdOf } from "./helpers";
import { chainWeights, publishTestModel, setCatalog, setTenantConfig } from "./models";
import { readEventLog, waitForVisitorLines } from "./r2";

interface RecoBody {
  impression_id: string;
  type: string;
  experiment: string | null;
  variant: string;
  model: string | null;
  degraded: string | null;
  items: Array<{ item_id: string; score: number; position: number; category?: string }>;
}

const weights = chainWeights(40);
let modelId = "";

async function reco(visitor: string | null, query = "", headers: Record<string, string> = {}) {
  const h: Record<string, string> = { "x-edgewise-key": SHOP_A.key, ...headers };
  if (visitor) h["x-edgewise-visitor"] = visitor;
  const res = await call(`/v1/recommendations${query}`, { headers: h });
  return { res, body: (await res.json()) as RecoBody };
}
const ids = (b: RecoBody) => b.items.map((i) => i.item_id);

beforeAll(async () => {
  modelId = await publishTestModel("chain", "1", weights);
  await setTenantConfig(SHOP_A.id, { default_model: modelId });
  await env.MODELS.delete(`tenants/${SHOP_A.id}/catalog.json`);
  // The isolate's first ONNX session compiles ORT's wasm (tens of seconds on a loaded 2-core
  // machine): done here, so no test's own timeout pays for it.
  expect((await reco(null, "?type=similar&item=sku-01")).res.status).toBe(200);
}, 180_000);

describe("model in workerd", () => {
  it("similar: top-k equals the JS reference computation on the same weights", async () => {
    const { res, body } = await reco(null, "?type=similar&item=sku-05&k=8");
    expect(res.status).toBe(200);
    const input = sequenceInput(["sku-05"], new Map(weights.items.map((x, i) => [x, i + 1])), 1);
    const ref = referenceTopK({ numItems: 40, dim: weights.dim, seqLen: 20, embIn: weights.embIn, embOut: weights.embOut, bias: weights.bias }, input.idx, input.w, 9);
    const expected = ref.indices
      .map((ix) => weights.items[ix - 1]!)
      .filter((x) => x !== "sku-05")
      .slice(0, 8);
    expect(ids(body)).toEqual(expected);
    expect(ids(body)[0]).toBe("sku-06");
    expect(body.items[0]!.score).toBeCloseTo(ref.scores[0]!, 3);
    expect(body).toMatchObject({ type: "similar", model: "chain/1", variant: "default", degraded: null });
    expect(res.headers.get("x-edgewise-variant")).toBe("default");
    expect(res.headers.get("server-timing")).toMatch(/model;dur=.*inference;dur=.*rules;dur=/);
  });

  it("personalized: follows the visitor's real-time session, most recent item first", async () => {
    const v = await newVisitor();
    await postEvents([make.productView("sku-03"), make.productView("sku-10")], { visitor: v });
    const { body } = await reco(v, "?k=4");
    // Logit of item j = recency weight of item j − 1: sku-11 (1/1.7), sku-04 (0.7/1.7), then bias order.
    expect(ids(body)).toEqual(["sku-11", "sku-04", "sku-01", "sku-02"]);
    expect(body.degraded).toBeNull();
  });

  it("cart: complements of the cart lines", async () => {
    const v = await newVisitor();
    await postEvents([make.addToCart("sku-20"), make.addToCart("sku-30")], { visitor: v });
    const { body } = await reco(v, "?type=cart&k=2");
    expect(new Set(ids(body))).toEqual(new Set(["sku-21", "sku-31"]));
  });

  it("falls back to trending, then the model's popular items, for a visitor with no session (cold start)", async () => {
    const { res, body } = await reco(null, "?k=30");
    expect(res.status).toBe(200);
    expect(body.degraded).toBe("cold_start");
    // Trending first (other tests' events may still be arriving in it), then the manifest's popular list.
    const trending = new Set((await env.TRENDING.getByName(SHOP_A.id).top(200)).map((t) => t.item_id));
    const popular = [...weights.items].reverse().slice(0, 10);
    for (const id of ids(body)) expect(trending.has(id) || popular.includes(id)).toBe(true);
    expect(ids(body).filter((x) => !trending.has(x))).toEqual(popular.filter((x) => !trending.has(x)));
    expect(ids(body).filter((x) => !trending.has(x)).length).toBeGreaterThan(0);
  });
});

describe("session-kNN candidates blended with the model", () => {
  // Shoppers who viewed sku-05 went on to sku-20 (never to sku-06, the chain model's pick).
  const sessions = [
    ["sku-05", "sku-20"],
    ["sku-05", "sku-20", "sku-21"],
    ["sku-07", "sku-05", "sku-20"],
    ["sku-30", "sku-31"],
  ];
  const options = { sample_size: 500, neighbours: 100, weighting: "linear", match_decay: "div", idf: 0, backfill: false } as const;

  it("ranks by the blend the manifest asks for: kNN only, model only, and in between", async () => {
    const index = serializeIndex(buildIndex(sessions));
    const knnOnly = await publishTestModel("chain-knn", "w0", weights, undefined, { index, options, modelWeight: 0 });
    const modelOnly = await publishTestModel("chain-knn", "w1", weights, undefined, { index, options, modelWeight: 1 });
    const half = await publishTestModel("chain-knn", "w05", weights, undefined, { index, options, modelWeight: 0.5 });
    const top = async (model: string) => {
      await setTenantConfig(SHOP_A.id, { default_model: model });
      const { body, res } = await reco(null, "?type=similar&item=sku-05&k=3");
      expect(body.model).toBe(model);
      return { ids: ids(body), timing: res.headers.get("server-timing") ?? "" };
    };
    try {
      const knn = await top(knnOnly);
      expect(knn.ids[0]).toBe("sku-20");
      expect(knn.timing).toContain("knn;dur=");
      expect(knn.timing).not.toContain("inference;dur=");
      expect((await top(modelOnly)).ids[0]).toBe("sku-06");
      // Both lists normalise their best to 1: at 0.5 the tie goes to the kNN list's order.
      const both = await top(half);
      expect(both.ids.slice(0, 2)).toEqual(["sku-20", "sku-06"]);
      expect(both.timing).toMatch(/inference;dur=.*knn;dur=/);
    } finally {
      await setTenantConfig(SHOP_A.id, { default_model: modelId });
    }
  });
});

describe("offline evaluation through the serving path, end to end on a small generated dataset", () => {
  it("trains, exports, publishes, loads in the worker and evaluates every model with the same recommend function", async () => {
    const catalog = generateCatalog(7, { items: 300, categories: 6 });
    const sequences = viewSequences(generateSessions(catalog, 7, { sessions: 1200 })).filter((s) => s.length >= 2);
    const train = sequences.slice(0, 1000);
    const test = restrictToTrainingItems(sequences.slice(1000), train);
    const model = trainSessionModelFast(train, { dim: 16, epochs: 3, seed: 3 });
    const index = serializeIndex(buildIndex(train));
    const options = { sample_size: 500, neighbours: 100, weighting: "linear", match_decay: "div", idf: 2, backfill: true } as const;
    const id = await publishTestModel("generated", "1", model, undefined, { index, options, modelWeight: 0.3 });
    const loaded = await loadModel(env.MODELS, id);
    const vocabulary = new Set(train.flat());
    const points = evaluationPoints(test);

    const pop = await evaluateRecommender(createPopularityRecommender(buildPopularity(train)), test, { vocabulary });
    const neural = await evaluateRecommender(servingPathRecommender({ ...loaded, candidates: null }), test, { vocabulary });
    const hybrid = await evaluateRecommender(servingPathRecommender(loaded), test, { vocabulary });
    for (const r of [pop, neural, hybrid]) {
      expect(r.all.cases).toBe(points);
      expect(r.repeat.cases + r.fresh.cases).toBe(points);
      expect(r.all.hr[20]).toBeGreaterThanOrEqual(r.all.hr[10]!);
      expect(r.coverage).toBeGreaterThan(0);
    }
    // The learned models find the generator's structure; popularity does not.
    expect(neural.all.hr[20]).toBeGreaterThan(2 * pop.all.hr[20]!);
    expect(hybrid.all.hr[20]).toBeGreaterThan(2 * pop.all.hr[20]!);
    // The serving path ranks exactly as the exported weights say (first prefixes, no rules in play).
    const rec = servingPathRecommender({ ...loaded, candidates: null });
    for (const s of test.slice(0, 5)) {
      const prefix = s.slice(0, 1);
      const input = sequenceInput(prefix, loaded.vocab);
      const ref = referenceTopK({ numItems: model.items.length, dim: model.dim, seqLen: 20, embIn: model.embIn, embOut: model.embOut, bias: model.bias }, input.idx, input.w, 10);
      expect(await rec.recommend(prefix, 10)).toEqual(ref.indices.map((ix) => model.items[ix - 1]));
    }
  });
});

describe("business rules", () => {
  it("excludes cart items, purchased items and the request's exclude list", async () => {
    const v = await newVisitor();
    await postEvents([make.productView("sku-03"), make.productView("sku-10"), make.addToCart("sku-11"), make.purchase(["sku-04"])], { visitor: v });
    const { body } = await reco(v, "?k=3&exclude=sku-01");
    // Model order: sku-11 (cart), sku-04 (bought), then by bias sku-01 (excluded), sku-02, sku-03, sku-05.
    expect(ids(body)).toEqual(["sku-02", "sku-03", "sku-05"]);
  });

  it("POST takes long exclude lists", async () => {
    const v = await newVisitor();
    await postEvents([make.productView("sku-10")], { visitor: v });
    const exclude = [...Array.from({ length: 500 }, (_, i) => `other-${i}`), "sku-11", "sku-01"];
    const res = await call("/v1/recommendations", {
      method: "POST",
      headers: { "content-type": "application/json", "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": v },
      body: JSON.stringify({ type: "personalized", k: 2, exclude }),
    });
    expect(res.status).toBe(200);
    expect(ids((await res.json()) as RecoBody)).toEqual(["sku-02", "sku-03"]);
  });

  it("drops out-of-stock, hidden and unknown items, and caps items per category", async () => {
    await setCatalog(
      SHOP_A.id,
      weights.items
        .map((item_id, i) => ({ item_id, category: `cat-${i % 3}`, stock: item_id === "sku-02" ? 0 : 5, hidden: item_id === "sku-03", name: `Item ${i + 1}` }))
        .filter((x) => x.item_id !== "sku-04"),
    );
    try {
      const { body } = await reco(null, "?type=similar&item=sku-40&k=4");
      // No successor of sku-40: bias order sku-01…, without sku-02 (no stock), sku-03 (hidden), sku-04 (not in the catalog).
      expect(ids(body)).toEqual(["sku-01", "sku-05", "sku-06", "sku-07"]);
      expect(body.items[0]).toMatchObject({ category: "cat-0", name: "Item 1" });

      await setTenantConfig(SHOP_A.id, {
        default_model: modelId,
        experiment: { name: "div", salt: "s", variants: [{ name: "diverse", weight: 1, model: modelId, params: { ...DEFAULT_VARIANT_PARAMS, max_per_category: 1 } }] },
      });
      const diverse = await reco(null, "?type=similar&item=sku-40&k=3");
      expect(ids(diverse.body)).toEqual(["sku-01", "sku-05", "sku-06"]);
      expect(new Set(diverse.body.items.map((i) => i.category)).size).toBe(3);
    } finally {
      await env.MODELS.delete(`tenants/${SHOP_A.id}/catalog.json`);
      await setTenantConfig(SHOP_A.id, { default_model: modelId });
    }
  });
});

describe("A/B routing", () => {
  const variants: Variant[] = [
    { name: "control", weight: 30, model: null, params: DEFAULT_VARIANT_PARAMS },
    { name: "treatment", weight: 70, model: null, params: DEFAULT_VARIANT_PARAMS },
  ];

  it("buckets 10,000 visitor ids within 2 points of the weights, deterministically", () => {
    const counts = { control: 0, treatment: 0 };
    for (let i = 0; i < 10_000; i++) {
      const id = `visitor-${i}-${(i * 2654435761) % 1000003}`;
      const v = bucketVariant(variants, "exp-salt", id);
      counts[v.name as keyof typeof counts]++;
      expect(bucketVariant(variants, "exp-salt", id).name).toBe(v.name);
    }
    expect(counts.control / 10_000).toBeGreaterThan(0.28);
    expect(counts.control / 10_000).toBeLessThan(0.32);
    // Another salt reshuffles visitors (independent experiments).
    let moved = 0;
    for (let i = 0; i < 1000; i++) if (bucketVariant(variants, "a", `v${i}`).name !== bucketVariant(variants, "b", `v${i}`).name) moved++;
    expect(moved).toBeGreaterThan(200);
  });

  it("honours the header, rejects unknown forced variants, and is sticky per visitor", async () => {
    const model2 = await publishTestModel("chain", "2", weights);
    const params = DEFAULT_VARIANT_PARAMS;
    const config = {
      default_model: modelId,
      experiment: {
        name: "exp-1",
        salt: "salt-1",
        variants: [
          { name: "control", weight: 50, model: modelId, params },
          { name: "treatment", weight: 50, model: model2, params },
        ],
      },
    };
    await setTenantConfig(SHOP_A.id, config);
    try {
      const v = await newVisitor();
      const forced = await reco(v, "", { "x-edgewise-variant": "treatment" });
      expect(forced.res.headers.get("x-edgewise-variant")).toBe("treatment");
      expect(forced.body).toMatchObject({ variant: "treatment", experiment: "exp-1", model: "chain/2" });

      const bad = await reco(v, "", { "x-edgewise-variant": "nope" });
      expect(bad.res.status).toBe(400);
      expect(bad.body).toMatchObject({ error: { code: "unknown_variant" } });

      const first = await reco(v);
      const expected = assignVariant(config, visitorIdOf(v), undefined);
      expect(expected.ok && expected.assignment.variant.name).toBe(first.body.variant);
      for (let i = 0; i < 5; i++) expect((await reco(v)).body.variant).toBe(first.body.variant);
    } finally {
      await setTenantConfig(SHOP_A.id, { default_model: modelId });
    }
  });
});

describe("impressions and attribution", () => {
  it("logs each served list with the exact feature vector, and attributes later clicks and add-to-carts", async () => {
    const v = await newVisitor();
    const id = visitorIdOf(v);
    await postEvents([make.productView("sku-07"), make.productView("sku-08")], { visitor: v });
    const { body } = await reco(v, "?k=3");
    expect(ids(body)[0]).toBe("sku-09");

    const impression = await vi_waitFor(async () => {
      const lines = await readEventLog("impressions/");
      return lines.map((l) => l.line as unknown as ImpressionMessage).find((m) => m.impression_id === body.impression_id);
    });
    const expectedInput = sequenceInput(["sku-07", "sku-08"], new Map(weights.items.map((x, i) => [x, i + 1])));
    expect(impression).toMatchObject({
      kind: "impression",
      tenant: SHOP_A.id,
      visitor_id: id,
      variant: "default",
      model: "chain/1",
      features: { source: { visit_viewed_items: ["sku-07", "sku-08"], last_viewed_items: ["sku-07", "sku-08"] }, item_idx: expectedInput.idx, item_w: expectedInput.w },
    });
    // sku-09 follows the latest view, sku-08 the one before, then bias order.
    expect(impression.items.map((i) => [i.item_id, i.position])).toEqual([
      ["sku-09", 1],
      ["sku-08", 2],
      ["sku-01", 3],
    ]);

    const click = { ...make.recClick("sku-09"), properties: { impression_id: body.impression_id, item_id: "sku-09", position: 1 } };
    await postEvents([click, make.addToCart("sku-01")], { visitor: v });
    const lines = await waitForVisitorLines(id, 4);
    const byId = new Map(lines.map((l) => [l.line.event.id, l.line]));
    expect(byId.get(click.id)!.attribution).toEqual([{ item_id: "sku-09", impression_id: body.impression_id, experiment: null, variant: "default", model: "chain/1", position: 1 }]);
    const add = lines.find((l) => l.line.event.type === "add_to_cart")!.line;
    expect(add.attribution).toEqual([{ item_id: "sku-01", impression_id: body.impression_id, experiment: null, variant: "default", model: "chain/1", position: 3 }]);
  });
});

describe("fallbacks answer 200 with a degraded reason, never a 500", () => {
  it("model missing from the registry", async () => {
    await setTenantConfig(SHOP_A.id, { default_model: "chain/404" });
    try {
      const v = await newVisitor();
      await postEvents([make.productView("sku-05")], { visitor: v });
      const { res, body } = await reco(v);
      expect(res.status).toBe(200);
      expect(body).toMatchObject({ degraded: "model_unavailable", model: null });
    } finally {
      await setTenantConfig(SHOP_A.id, { default_model: modelId });
    }
  });

  it("broken model: checksum mismatch and unloadable bytes", async () => {
    const tampered = await publishTestModel("chain", "tampered", weights, (files) => {
      files["model.onnx"] = files["model.onnx"]!.slice(0, 100); // manifest keeps the real checksum
    });
    await expect(loadModel(env.MODELS, tampered)).rejects.toMatchObject({ code: "checksum_mismatch" });
    await setTenantConfig(SHOP_A.id, { default_model: tampered });
    try {
      const { res, body } = await reco(null, "?type=similar&item=sku-01");
      expect(res.status).toBe(200);
      expect(body.degraded).toBe("model_unavailable");
      // Without a model, only trending can serve (the consumer may still be adding to it).
      const trending = (await env.TRENDING.getByName(SHOP_A.id).top(200)).map((t) => t.item_id);
      expect(body.items.length).toBeGreaterThan(0);
      for (const id of ids(body)) expect(trending).toContain(id);
      expect(ids(body)).not.toContain("sku-01");
    } finally {
      await setTenantConfig(SHOP_A.id, { default_model: modelId });
    }
  });

  it("a model whose checksums match but whose bytes are not a model is refused as model_invalid", async () => {
    const garbage = await publishTestModel("chain", "garbage", weights, (files) => {
      files["model.onnx"] = new TextEncoder().encode("not an onnx model at all");
    });
    // Re-publish the manifest with the garbage file's real checksum.
    const manifest = (await (await env.MODELS.get(`models/${garbage}/manifest.json`))!.json()) as { files: Record<string, { sha256: string; bytes: number }> };
    const bytes = new TextEncoder().encode("not an onnx model at all");
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
    manifest.files["model.onnx"] = { sha256: digest, bytes: bytes.byteLength };
    await env.MODELS.put(`models/${garbage}/manifest.json`, JSON.stringify(manifest));
    await expect(loadModel(env.MODELS, garbage)).rejects.toMatchObject({ code: "model_invalid" });
    await setTenantConfig(SHOP_A.id, { default_model: garbage });
    try {
      const { res, body } = await reco(null, "?type=similar&item=sku-01");
      expect(res.status).toBe(200);
      expect(body).toMatchObject({ degraded: "model_unavailable", model: null });
    } finally {
      await setTenantConfig(SHOP_A.id, { default_model: modelId });
    }
  });

  it("refuses a manifest whose feature versions differ from the running definitions", async () => {
    const id = await publishTestModel("chain", "oldfeatures", weights);
    const manifest = (await (await env.MODELS.get(`models/${id}/manifest.json`))!.json()) as { features: Array<{ name: string; version: number }> };
    const lastViewed = manifest.features.find((f) => f.name === "last_viewed_items")!;
    lastViewed.version = FEATURES.find((f) => f.name === "last_viewed_items")!.version + 1;
    await env.MODELS.put(`models/${id}/manifest.json`, JSON.stringify(manifest));
    const err = await loadModel(env.MODELS, id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err).toMatchObject({ code: "feature_mismatch", message: expect.stringContaining("last_viewed_items") });
  });

  it("no model configured for the tenant: trending only", async () => {
    await env.MODELS.delete(`tenants/${SHOP_A.id}/experiments.json`);
    try {
      const { res, body } = await reco(null, "?type=personalized");
      expect(res.status).toBe(200);
      expect(body).toMatchObject({ degraded: "no_model_configured", variant: "default", model: null });
    } finally {
      await setTenantConfig(SHOP_A.id, { default_model: modelId });
    }
  });
});

describe("trending", () => {
  it("before any traffic, says so and serves the model's training popularity", async () => {
    await setTenantConfig(SHOP_B.id, { default_model: modelId });
    const res = await call("/v1/recommendations?type=trending&k=3", { headers: { "x-edgewise-key": SHOP_B.key } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as RecoBody;
    expect(body.degraded).toBe("no_trending_data");
    expect(ids(body)).toEqual(["sku-40", "sku-39", "sku-38"]);
  });

  it("ranks items by recent interactions fed through the queue", async () => {
    // Weights: a view 1, an add-to-cart 3 → sku-35: 9, sku-33: 7, sku-34: 6 — from seven shoppers,
    // since each visitor's share of trending is capped (src/trending/weights.ts).
    for (let i = 0; i < 7; i++) {
      const v = await newVisitor(SHOP_A.key);
      const events = [make.productView("sku-33"), ...(i < 6 ? [make.productView("sku-34")] : []), ...(i < 3 ? [make.addToCart("sku-35")] : [])];
      await postEvents(events, { visitor: v });
      // The consumer feeds trending right after it writes the log.
      await waitForVisitorLines(visitorIdOf(v), events.length);
    }
    const mine = ["sku-33", "sku-34", "sku-35"];
    const body = await vi_waitFor(async () => {
      const r = await reco(null, "?type=trending&k=50");
      const score = (x: string) => r.body.items.find((i) => i.item_id === x)?.score ?? 0;
      return score("sku-33") >= 6.99 && score("sku-34") >= 5.99 && score("sku-35") >= 8.99 ? r.body : undefined;
    });
    expect(ids(body).filter((x) => mine.includes(x))).toEqual(["sku-35", "sku-33", "sku-34"]);
    const score = (x: string) => body.items.find((i) => i.item_id === x)!.score;
    expect(score("sku-35") / score("sku-33")).toBeCloseTo(9 / 7, 2);
    expect(body.degraded).toBeNull();
  });
});

describe("parameters", () => {
  it.each([
    ["?k=0", "k"],
    ["?k=101", "k"],
    ["?k=abc", "k"],
    ["?type=bogus", "type"],
    ["?type=similar", "item"],
    ["?colour=red", "colour"],
    [`?exclude=${Array.from({ length: 101 }, (_, i) => `x${i}`).join(",")}`, "POST"],
  ])("%s → 400 invalid_parameter", async (query, mention) => {
    const { res, body } = await reco(null, query);
    expect(res.status).toBe(400);
    expect(body).toMatchObject({ error: { code: "invalid_parameter", message: expect.stringContaining(mention) } });
  });

  it("POST bodies: malformed JSON, wrong content type and unknown fields are refused", async () => {
    const post = (body: string, type = "application/json") => call("/v1/recommendations", { method: "POST", headers: { "content-type": type, "x-edgewise-key": SHOP_A.key }, body });
    expect(await (await post("{nope")).json()).toMatchObject({ error: { code: "malformed_json" } });
    expect((await post('{"k":3}', "text/plain")).status).toBe(415);
    const unknown = await post('{"k":3,"colour":"red"}');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: { code: "invalid_parameter" } });
  });
});

async function vi_waitFor<T>(fn: () => Promise<T | undefined>, timeout = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - start > timeout) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}
