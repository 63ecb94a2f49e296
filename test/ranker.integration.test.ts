/**
 * The two-stage model in workerd: the ranker's ONNX tree ensemble run by
 * onnxruntime-web against the TypeScript reference, and a whole two-stage
 * version trained on a tiny synthetic shop, published, loaded and served.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { ImpressionMessage } from "../src/contracts/queue";
import { ModelLoadError } from "../src/models/errors";
import { createInferenceSession } from "../src/models/ort";
import { RANKER_IO, buildTreeEnsembleModel, scoreEnsemble } from "../src/models/ranker/trees";
import { familyArtifacts, loadFamilyModel } from "../src/models/families/index";
import { parseManifest } from "../src/models/manifest";
import { loadModel } from "../src/models/registry";
import { buildModelVersion } from "../src/offline/export/model-version";
import { Random } from "../src/offline/synthetic/random";
import { type RankingData, trainLambdaMart } from "../src/offline/train/lambdamart";
import { trainSessionModelFast } from "../src/offline/train/session-model-fast";
import { CUT_TOLERANCE, cutList } from "../src/offline/train/candidate-counts";
import { type TwoStageArtifacts, replayLists, stage1For, trainTwoStage } from "../src/offline/train/two-stage";
import { GENERATORS } from "../src/models/ranker/features";
import { SEQ_LEN } from "../src/models/inputs";
import { SHOP_A, call, make, newVisitor, postEvents } from "./helpers";
import { setTenantConfig } from "./models";
import { readEventLog } from "./r2";

function randomData(lists: number, size: number, features: number, seed: number): RankingData {
  const r = new Random(seed);
  const values = new Float32Array(lists * size * features).map(() => Math.round(r.float() * 1000) / 100);
  const labels = new Uint8Array(lists * size);
  for (let q = 0; q < lists; q++) {
    // The positive: the row with the largest feature 0 + feature 1 (a rule the trees must learn).
    let best = 0;
    for (let i = 1; i < size; i++) {
      const v = (j: number) => values[(q * size + j) * features]! + values[(q * size + j) * features + 1]!;
      if (v(i) > v(best)) best = i;
    }
    labels[q * size + best] = 1;
  }
  return { numFeatures: features, values, labels, queryOffsets: Int32Array.from({ length: lists + 1 }, (_, q) => q * size) };
}

describe("ranker ONNX in workerd", () => {
  it("scores every row exactly as the TypeScript reference does", async () => {
    const train = randomData(300, 10, 6, 1);
    const { ensemble } = trainLambdaMart(train, randomData(100, 10, 6, 2), { maxTrees: 40, maxDepth: 4, learningRate: 0.2, minLeaf: 5, l2: 1, bins: 32, patience: 40 });
    expect(ensemble.trees.length).toBeGreaterThan(5);
    const session = await createInferenceSession(buildTreeEnsembleModel(ensemble));
    const rows = randomData(50, 10, 6, 3).values;
    const out = await session.run({ [RANKER_IO.features]: { type: "float32", data: rows, dims: [500, 6] } });
    const ort = out[RANKER_IO.scores]!;
    expect(ort.dims).toEqual([500, 1]);
    const reference = scoreEnsemble(ensemble, rows);
    const got = ort.data as Float32Array;
    for (let i = 0; i < reference.length; i++) expect(got[i]).toBeCloseTo(reference[i]!, 5);
    // Values on a threshold go left (BRANCH_LEQ), as in the reference.
    const tree = ensemble.trees[0]!;
    const edge = new Float32Array(6);
    edge[tree.feature[0]!] = tree.threshold[0]!;
    const single = await session.run({ [RANKER_IO.features]: { type: "float32", data: edge, dims: [1, 6] } });
    expect((single[RANKER_IO.scores]!.data as Float32Array)[0]).toBeCloseTo(scoreEnsemble(ensemble, edge)[0]!, 5);
  });
});

/**
 * A shop where the next item is a repeat: every visit views four distinct
 * items and goes back to the first one. Co-occurrence cannot tell which of the
 * four comes back (all four co-occur alike), recency says the wrong one; the
 * ranker has to learn "the item viewed 3 steps ago, in a visit of 4".
 */
function repeatShop(sessions: number, items: number, seed: number): string[][] {
  const r = new Random(seed);
  const id = (i: number) => `sku-${String(i).padStart(3, "0")}`;
  return Array.from({ length: sessions }, () => {
    const picked = new Set<number>();
    while (picked.size < 4) picked.add(Math.floor(r.float() * items));
    const s = [...picked].map(id);
    return [...s, s[0]!];
  });
}

describe("two-stage model trained on a tiny shop whose answer is a repeat", () => {
  let artifacts: TwoStageArtifacts;
  let modelId = "";
  let versionFiles: Record<string, Uint8Array> = {};
  const sessions = repeatShop(1500, 120, 5);

  beforeAll(async () => {
    artifacts = await trainTwoStage(sessions, {
      trainNeural: (s) => trainSessionModelFast(s, { dim: 8, epochs: 1, seed: 1 }),
      createSession: createInferenceSession,
      maxFitLists: 3000,
      maxValidationLists: 1000,
      lambdamart: { maxTrees: 30, patience: 10, minLeaf: 20 },
    });
    const n = artifacts.neural;
    const { files } = await buildModelVersion(n, {
      name: "repeat",
      version: "1",
      createdAt: new Date().toISOString(),
      training: { data: "synthetic repeat shop (test)", window: null, sessions: sessions.length, examples: 0 },
      metrics: {},
      trainingInputs: [{ idx: new Array(SEQ_LEN).fill(0), w: new Array(SEQ_LEN).fill(0) }],
      popular: n.items.slice(0, 10),
      candidates: { index: artifacts.knnIndex, options: artifacts.vsknnOptions, modelWeight: 0.1 },
      ranker: { onnx: artifacts.ranker.onnx, iknn: artifacts.iknnIndex, spec: artifacts.ranker.spec },
    });
    versionFiles = files;
    for (const [file, bytes] of Object.entries(files)) await env.MODELS.put(`models/repeat/1/${file}`, bytes);
    // The same version with a ranker feature the worker does not compute.
    const manifest = JSON.parse(new TextDecoder().decode(files["manifest.json"])) as { version: string; ranker: { features: Array<{ name: string }> } };
    manifest.version = "2";
    manifest.ranker.features[0]!.name = "visit.mood";
    for (const [file, bytes] of Object.entries(files)) await env.MODELS.put(`models/repeat/2/${file}`, file === "manifest.json" ? JSON.stringify(manifest) : bytes);
    // The same version with the visit guard on (design 0029), as a trainer whose ranker ranks repeats below S-POP writes it.
    const guarded = JSON.parse(new TextDecoder().decode(files["manifest.json"])) as { version: string; ranker: { visit_guard?: boolean } };
    guarded.version = "3";
    guarded.ranker.visit_guard = true;
    for (const [file, bytes] of Object.entries(files)) await env.MODELS.put(`models/repeat/3/${file}`, file === "manifest.json" ? JSON.stringify(guarded) : bytes);
    modelId = "repeat/1";
  }, 120_000);

  it("its model family declares every file the version ships, and refuses a version missing one's checksum", async () => {
    const manifest = parseManifest(JSON.parse(new TextDecoder().decode(versionFiles["manifest.json"])));
    expect(familyArtifacts(manifest).sort()).toEqual(
      Object.keys(versionFiles)
        .filter((f) => f !== "manifest.json")
        .sort(),
    );
    const { "ranker.onnx": _dropped, ...files } = manifest.files;
    const sources = { read: async (f: string) => versionFiles[f]!, createSession: createInferenceSession };
    await expect(loadFamilyModel({ ...manifest, files }, sources)).rejects.toMatchObject({ code: "manifest_invalid" });
    const loaded = await loadFamilyModel(manifest, sources);
    expect(loaded).toMatchObject({ family: "session-topk", id: "repeat/1" });
    expect(loaded.ranker).not.toBeNull();
  });

  it("the validation table shows the ranker beating every generator alone", () => {
    const v = Object.fromEntries(artifacts.validation.map((r) => [r.name, r]));
    for (const g of ["vsknn", "iknn", "session", "neural", "popular"]) expect(v.ranker!.mrr20).toBeGreaterThan(v[g]!.mrr20);
    expect(v.ranker!.mrr20).toBeGreaterThan(0.22); // 1 of 4 points per visit is the repeat: ranked first, that is 0.25
    expect(artifacts.ranker.spec.features.map((f) => f.name)).toContain("visit.steps_since_last");
  });

  it("splits the validation table into repeat and new targets (S-POP finds only repeats; the ranker ranks the repeat like S-POP)", () => {
    const v = Object.fromEntries(artifacts.validation.map((r) => [r.name, r]));
    const { selection } = artifacts.ranker.spec;
    // The fifth view of each visit repeats its first: one repeat target in four.
    expect(Number(selection["validation_lists.repeat"])).toBeGreaterThan(0);
    expect(Number(selection["validation_lists.new"])).toBeGreaterThan(Number(selection["validation_lists.repeat"]));
    expect(v.session!.newHr20).toBe(0);
    expect(v.session!.repeatHr20).toBe(1);
    expect(v.ranker!.repeatHr20).toBe(1);
    expect(selection["ranker.repeat_hr@20"]).toBe(1);
    expect(selection["session.new_hr@20"]).toBe(0);
    // The visit guard (design 0029) is for rankers that rank repeats below S-POP; this one does not.
    expect(artifacts.ranker.spec.visit_guard).toBe(false);
    expect(v["ranker + visit guard"]!.repeatHr20).toBe(1);
  });

  it("records a training histogram for every feature the ranker reads (its first candidates on the validation lists)", () => {
    const { features, baselines } = artifacts.ranker.spec;
    expect(Object.keys(baselines!).sort()).toEqual(features.map((f) => f.name).sort());
    const steps = baselines!["visit.steps_since_last"]!;
    // A quarter of the lists are 4-view prefixes, where the ranker puts the repeat (3 views back) first.
    const bin3 = steps.edges.findIndex((e, i) => e <= 3 && 3 < steps.edges[i + 1]!);
    expect(steps.counts[bin3]! / (steps.counts.reduce((a, b) => a + b, 0) + steps.missing)).toBeGreaterThan(0.2);
  });

  it("serves the repeat first through GET /v1/recommendations (SessionDO features → generators → ONNX ranker)", async () => {
    await setTenantConfig(SHOP_A.id, { default_model: modelId });
    await env.MODELS.delete(`tenants/${SHOP_A.id}/catalog.json`);
    const v = await newVisitor();
    const now = Date.now();
    const visit = ["sku-007", "sku-042", "sku-099", "sku-013"];
    const res = await postEvents(
      visit.map((item, i) => make.productView(item, "shoes", 50, now - (10 - i) * 1000)),
      { visitor: v },
    );
    expect(res.status).toBe(202);
    const reco = await call("/v1/recommendations?k=5", { headers: { "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": v } });
    const body = (await reco.json()) as { model: string; degraded: string | null; items: Array<{ item_id: string }> };
    expect(body.model).toBe(modelId);
    expect(body.degraded).toBeNull();
    expect(body.items[0]!.item_id).toBe("sku-007");
  });

  it("with the visit guard on, keeps the visit's latest item in the page where the ranker put it below (GET /v1/recommendations)", async () => {
    const visit = ["sku-007", "sku-042", "sku-099", "sku-013"];
    const page = async (model: string) => {
      await setTenantConfig(SHOP_A.id, { default_model: model });
      const v = await newVisitor();
      const now = Date.now();
      expect(
        (
          await postEvents(
            visit.map((item, i) => make.productView(item, "shoes", 50, now - (10 - i) * 1000)),
            { visitor: v },
          )
        ).status,
      ).toBe(202);
      const reco = await call("/v1/recommendations?k=2", { headers: { "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": v } });
      const body = (await reco.json()) as { model: string; items: Array<{ item_id: string }> };
      expect(body.model).toBe(model);
      return body.items.map((i) => i.item_id);
    };
    // The shop's next view is never the latest one: the ranker leaves it out of a page of 2.
    const plain = await page("repeat/1");
    expect(plain[0]).toBe("sku-007");
    expect(plain).not.toContain("sku-013");
    // Guarded: S-POP's first item (all viewed once: the latest) takes the page's last place.
    expect(await page("repeat/3")).toEqual(["sku-007", "sku-013"]);
    await setTenantConfig(SHOP_A.id, { default_model: modelId });
  });

  it("logs the first candidate's ranker row with the list, and MonitorDO compares each feature with training", async () => {
    const v = await newVisitor();
    const now = Date.now();
    await postEvents(
      ["sku-021", "sku-064", "sku-110", "sku-033"].map((item, i) => make.productView(item, "shoes", 50, now - (10 - i) * 1000)),
      { visitor: v },
    );
    const reco = await call("/v1/recommendations?k=5", { headers: { "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": v } });
    const body = (await reco.json()) as { impression_id: string; items: Array<{ item_id: string }> };
    expect(body.items[0]!.item_id).toBe("sku-021");
    const logged = await vi.waitFor(
      async () => {
        const lines = await readEventLog("impressions/");
        const m = lines.map((l) => l.line as unknown as ImpressionMessage).find((x) => x.impression_id === body.impression_id);
        if (!m) throw new Error("impression not logged yet");
        return m;
      },
      { timeout: 10_000, interval: 50 },
    );
    const names = artifacts.ranker.spec.features.map((f) => f.name);
    const row = logged.features.ranker!;
    expect(row).toHaveLength(names.length);
    const value = (name: string) => row[names.indexOf(name)];
    expect(value("visit.steps_since_last")).toBe(3); // the repeat the ranker put first
    expect(value("visit.length")).toBe(4);

    const drift = await vi.waitFor(
      async () => {
        const d = await env.MONITOR.getByName(SHOP_A.id).dashboard(SHOP_A.id, 24);
        const m = d.drift.find((x) => x.model === modelId);
        if (!m?.inputs.some((f) => f.feature === "ranker.visit.steps_since_last" && f.observations >= 1)) throw new Error("not aggregated yet");
        return m;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(drift.inputs.filter((f) => f.feature.startsWith("ranker.")).map((f) => f.feature)).toEqual(names.map((n) => `ranker.${n}`));
    const steps = drift.inputs.find((f) => f.feature === "ranker.visit.steps_since_last")!;
    expect(steps.out_of_range_share).toBe(0);
    expect(steps.status).toBe("no_data"); // a list or two: far below min_count
  });

  it("chooses candidate counts per generator, and a cut list is exactly what replaying with those counts gives", async () => {
    const { generators, selection } = artifacts.ranker.spec;
    for (const g of GENERATORS) {
      const k = generators[g]?.k ?? 0;
      expect(k).toBeLessThanOrEqual(Number(selection[`candidates.${g}.declared`]));
    }
    expect(Number(selection["candidates.metric.chosen"])).toBeGreaterThanOrEqual(Number(selection["candidates.metric.declared"]) - CUT_TOLERANCE - 1e-4);
    // Exactness, with counts that cut every generator: replayed at the declared counts then cut,
    // or replayed at the cut counts, the lists (candidates, every feature, the label's row) are equal.
    const wide = { ...generators, vsknn: { k: 40 }, iknn: { ...generators.iknn, k: 30 }, session: { k: 4 }, neural: { k: 40 }, popular: { k: 20 } };
    const narrow = { vsknn: 7, iknn: 5, session: 2, neural: 9, popular: 0 };
    const small = { ...wide, vsknn: { k: 7 }, iknn: { ...wide.iknn, k: 5 }, session: { k: 2 }, neural: { k: 9 }, popular: { k: 0 } };
    const stage1 = await stage1For(sessions.slice(0, 1200), artifacts.neural, wide, createInferenceSession, artifacts.vsknnOptions);
    const held = sessions.slice(1200, 1260);
    const engine = { sessionGapMs: 1_800_000 };
    const full = await replayLists(stage1, wide, held, 1000, null, engine, () => undefined);
    const cut = full.map((l) => cutList(l, narrow));
    const direct = await replayLists(stage1, small, held, 1000, null, engine, () => undefined);
    const rows = (ls: typeof full) => ls.reduce((n, l) => n + l.matrix.candidates.length, 0);
    expect(rows(cut)).toBeLessThan(rows(full) / 2); // the cut removed most candidates
    expect(cut.length).toBe(direct.length);
    for (let i = 0; i < cut.length; i++) {
      expect(cut[i]!.matrix.candidates).toEqual(direct[i]!.matrix.candidates);
      expect(Array.from(cut[i]!.matrix.values)).toEqual(Array.from(direct[i]!.matrix.values));
      expect(cut[i]!.positive).toBe(direct[i]!.positive);
    }
  });

  it("refuses a version whose ranker reads an unknown feature with feature_mismatch", async () => {
    const err = await loadModel(env.MODELS, "repeat/2").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as ModelLoadError).code).toBe("feature_mismatch");
  });
});
