/**
 * Drift baselines of the ranker's features: the offline histograms the export
 * writes into the manifest, the manifest contract checked at load, and the
 * verdict of a feature whose baseline records a missing share.
 */
import { describe, expect, it } from "vitest";
import { featureDrift } from "../src/mlops/drift/report";
import { DEFAULT_DRIFT_SETTINGS } from "../src/mlops/drift/status";
import { ModelLoadError } from "../src/models/errors";
import { type Manifest, checkManifestAgainstFeatures, parseManifest } from "../src/models/manifest";
import { MISSING, isMissingRankerValue } from "../src/models/ranker/features";
import { quantileEdges, rankerBaselines, rankerHistogram } from "../src/offline/export/ranker-baselines";
import demoManifest from "../models/demo/1/manifest.json";

describe("ranker feature histograms (offline export)", () => {
  it("a flag or a small count gets one bin per value, edges halfway between values", () => {
    expect(quantileEdges([0, 1, 1, 0, 1])).toEqual([0, 0.5, 1]);
    expect(quantileEdges([1, 2, 2, 4, 3, 3, 3])).toEqual([1, 1.5, 2.5, 3.5, 4]);
    expect(quantileEdges([7, 7, 7])).toEqual([7, 7]); // a constant: one bin of zero width
    expect(quantileEdges([])).toBeNull();
  });

  it("a continuous feature gets decile edges from the minimum to the maximum; a heavy value is one bin", () => {
    const values = Array.from({ length: 200 }, (_, i) => i / 199);
    const edges = quantileEdges(values)!;
    expect(edges).toHaveLength(11);
    expect(edges[0]).toBe(0);
    expect(edges[10]).toBe(1);
    expect(edges[5]).toBe(values[100]);
    const h = rankerHistogram("gen.vsknn.score", values)!;
    expect(h.counts).toEqual(new Array(10).fill(20)); // deciles: 20 values each
    expect(h).toMatchObject({ missing: 0, min: 0, max: 1 });

    // 60 % zeros ("not listed by V-SKNN") and 40 % spread values: the zeros are one bin, not six.
    const heavy = [...new Array(120).fill(0), ...Array.from({ length: 80 }, (_, i) => (i + 1) / 80)];
    const hh = rankerHistogram("gen.vsknn.score", heavy)!;
    expect(hh.edges[0]).toBe(0);
    expect(hh.counts[0]).toBe(120);
    expect(hh.edges.every((e, i) => i === 0 || e > hh.edges[i - 1]!)).toBe(true);
    expect(hh.counts.reduce((a, b) => a + b, 0)).toBe(200);
  });

  it("counts the feature's 'cannot provide' value as missing, and only that feature's", () => {
    expect(isMissingRankerValue("item.price_ratio", MISSING)).toBe(true);
    expect(isMissingRankerValue("item.price_ratio", 0.5)).toBe(false);
    expect(isMissingRankerValue("gen.vsknn.score", 0)).toBe(false); // 0 = not listed: a value, with its own absent flag
    expect(isMissingRankerValue("visit.length", null)).toBe(true);
    expect(isMissingRankerValue("visit.length", Number.NaN)).toBe(true);
    const price = rankerHistogram("item.price_ratio", [MISSING, MISSING, 0.5, 1, 1.5, 2])!;
    expect(price).toEqual({ edges: [0.5, 0.75, 1.25, 1.75, 2], counts: [1, 1, 1, 1], missing: 2, min: 0.5, max: 2 });
    expect(rankerHistogram("item.trending", [MISSING, MISSING])).toBeNull(); // nothing to compare serving with
  });

  it("histograms every column of row-major rows, by name", () => {
    const rows = Float32Array.from([0, 1, MISSING, 1, 2, 0.5, 0, 3, 0.75, 1, 4, MISSING]);
    const b = rankerBaselines(["visitor.in_cart", "visit.length", "item.category_share"], rows);
    expect(b["visitor.in_cart"]).toEqual({ edges: [0, 0.5, 1], counts: [2, 2], missing: 0, min: 0, max: 1 });
    expect(b["visit.length"]!.counts).toEqual([1, 1, 1, 1]);
    expect(b["item.category_share"]).toMatchObject({ missing: 2, min: 0.5, max: 0.75 });
  });
});

describe("ranker baselines in the manifest contract", () => {
  const base = structuredClone(demoManifest) as unknown as Manifest;

  it("the demo model ships a histogram for every feature its ranker reads", () => {
    const m = parseManifest(structuredClone(demoManifest));
    const ranker = m.ranker!;
    expect(Object.keys(ranker.baselines ?? {}).sort()).toEqual(ranker.features.map((f) => f.name).sort());
    for (const h of Object.values(ranker.baselines!)) expect(h.counts.reduce((a, b) => a + b, 0) + h.missing).toBeGreaterThan(1000);
    expect(() => checkManifestAgainstFeatures(m)).not.toThrow();
  });

  it("refuses a histogram whose counts do not fit its edges, or whose range is not its outer edges", () => {
    const bad = structuredClone(base);
    bad.ranker!.baselines = { "visit.length": { edges: [1, 2, 3], counts: [5], missing: 0, min: 1, max: 3 } };
    expect(() => parseManifest(bad)).toThrow(expect.objectContaining({ code: "manifest_invalid" }));
    bad.ranker!.baselines = { "visit.length": { edges: [1, 2, 3], counts: [5, 5], missing: 0, min: 0, max: 3 } };
    expect(() => parseManifest(bad)).toThrow(expect.objectContaining({ code: "manifest_invalid" }));
    bad.ranker!.baselines = { "visit.length": { edges: [3, 2, 1], counts: [5, 5], missing: 0, min: 3, max: 1 } };
    expect(() => parseManifest(bad)).toThrow(expect.objectContaining({ code: "manifest_invalid" }));
  });

  it("refuses a baseline for a feature the ranker does not read", () => {
    const m = parseManifest(structuredClone(base));
    m.ranker!.baselines = { ...m.ranker!.baselines, "visit.mood": { edges: [0, 1], counts: [1], missing: 0, min: 0, max: 1 } };
    const err = (() => {
      try {
        checkManifestAgainstFeatures(m);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as ModelLoadError).code).toBe("manifest_invalid");
  });
});

describe("drift verdict of a feature with a training missing share", () => {
  const hour = 0;
  // Training: 100 present values in two bins, 100 missing (half the lists: no price for the candidate).
  const baseline = { edges: [0, 1, 2], counts: [50, 50], missing: 100 };

  it("the training missing share is not drift; PSI includes the missing bin", () => {
    const same = featureDrift(
      "ranker.item.price_ratio",
      baseline,
      [
        { hour, bin: 0, count: 25 },
        { hour, bin: 1, count: 25 },
        { hour, bin: -1, count: 50 },
      ],
      [hour],
      DEFAULT_DRIFT_SETTINGS,
    );
    expect(same).toMatchObject({ psi: 0, missing_share: 0.5, training_missing_share: 0.5, status: "fine" });
  });

  it("a missing share far above training is act, through PSI and the missing threshold alike", () => {
    const cells = [
      { hour, bin: 0, count: 2 },
      { hour, bin: 1, count: 3 },
      { hour, bin: -1, count: 95 },
    ];
    const d = featureDrift("ranker.item.price_ratio", baseline, cells, [hour], DEFAULT_DRIFT_SETTINGS);
    const term = (a: number, b: number) => (a - b) * Math.log(a / b);
    expect(d.psi).toBeCloseTo(term(0.02, 0.25) + term(0.03, 0.25) + term(0.95, 0.5), 10);
    expect(d.missing_share).toBeCloseTo(0.95, 12);
    expect(d.status).toBe("act");
    // The rise alone (0.45) is short of the missing "watch" line (0.5): with PSI ignored, it would be fine.
    expect(featureDrift("f", baseline, cells, [hour], { ...DEFAULT_DRIFT_SETTINGS, psi: { watch: 99, act: 100 } }).status).toBe("fine");
  });
});
