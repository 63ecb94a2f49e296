import { describe, expect, it } from "vitest";
import { analyseExperiment, srmCheck, type VariantCounts } from "../src/mlops/experiments/analysis";
import { featureDrift } from "../src/mlops/drift/report";
import { DEFAULT_DRIFT_SETTINGS } from "../src/mlops/drift/status";
import { checkGuardRails, latencyBucket, latencyQuantile } from "../src/mlops/rollout/guard-rails";
import { stepConfig, withWeights, type Rollout } from "../src/mlops/rollout/plan";
import { chiSquareGoodnessOfFit } from "../src/mlops/stats/chi-square";
import { chiSquareSurvival, normalCdf } from "../src/mlops/stats/distributions";
import { compareProportions, wilson } from "../src/mlops/stats/proportions";
import { binOf, psi } from "../src/mlops/stats/psi";

describe("population stability index", () => {
  it("matches hand-computed values", () => {
    // 50/50 → 25/75: (0.25 − 0.5)·ln(0.25/0.5) + (0.75 − 0.5)·ln(0.75/0.5) = 0.25·ln 2 + 0.25·ln 1.5
    expect(psi([50, 50], [25, 75])).toBeCloseTo(0.25 * Math.log(2) + 0.25 * Math.log(1.5), 12);
    expect(psi([50, 50], [25, 75])).toBeCloseTo(0.274653, 6);
    // 10/20/30/40 % → 40/30/20/10 %: 2·(0.3·ln 4 + 0.1·ln 1.5) = 0.912848
    expect(psi([10, 20, 30, 40], [40, 30, 20, 10])).toBeCloseTo(2 * (0.3 * Math.log(4) + 0.1 * Math.log(1.5)), 12);
    // Scale-free and zero for the same shape.
    expect(psi([1, 2, 3], [100, 200, 300])).toBe(0);
  });

  it("floors empty bins at epsilon instead of going infinite", () => {
    // (0.5 − 1e-4)·ln(0.5 / 1e-4) + (0.5 − 1)·ln(0.5 / 1)
    expect(psi([0, 10], [5, 5])).toBeCloseTo((0.5 - 1e-4) * Math.log(0.5 / 1e-4) + -0.5 * Math.log(0.5), 10);
    expect(psi([0, 0], [1, 1])).toBeNaN();
    expect(() => psi([1], [1, 2])).toThrow(RangeError);
  });

  it("bins values like the training histograms (last bin closed) and reports out-of-range as null", () => {
    const edges = [0, 0.5, 1];
    expect([0, 0.49, 0.5, 1].map((x) => binOf(x, edges))).toEqual([0, 0, 1, 1]);
    expect([-0.01, 1.01, Number.NaN].map((x) => binOf(x, edges))).toEqual([null, null, null]);
  });
});

describe("sample ratio mismatch (chi-square)", () => {
  it("matches hand-computed examples", () => {
    // 520 / 480 against 50/50: χ² = 2 · 20² / 500 = 1.6, df 1, p = erfc(√0.8) = 0.2059
    const ok = chiSquareGoodnessOfFit([520, 480], [50, 50])!;
    expect(ok.statistic).toBeCloseTo(1.6, 12);
    expect(ok.df).toBe(1);
    expect(ok.p_value).toBeCloseTo(0.205903, 5);
    // 5,500 / 4,500: χ² = 100, p ≈ 1.52e-23
    const broken = chiSquareGoodnessOfFit([5500, 4500], [1, 1])!;
    expect(broken.statistic).toBe(100);
    expect(broken.p_value).toBeGreaterThan(1.5e-23);
    expect(broken.p_value).toBeLessThan(1.55e-23);
    // Three arms 90/10 split... against 80/10/10: expected 800/100/100 of 1,000 observed 780/130/90:
    // χ² = 400/800 + 900/100 + 100/100 = 10.5, df 2, p = e^(−10.5/2) = 0.005248
    const three = chiSquareGoodnessOfFit([780, 130, 90], [80, 10, 10])!;
    expect(three.statistic).toBeCloseTo(10.5, 12);
    expect(three.p_value).toBeCloseTo(Math.exp(-5.25), 10);
  });

  it("critical values of the chi-square distribution", () => {
    expect(chiSquareSurvival(3.841458820694124, 1)).toBeCloseTo(0.05, 10);
    expect(chiSquareSurvival(5.991464547107979, 2)).toBeCloseTo(0.05, 10);
    expect(chiSquareSurvival(10.827566170662733, 1)).toBeCloseTo(0.001, 8);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 10);
  });

  it("flags a broken split at p < 0.001 and a visitor in a weight-0 arm as impossible", () => {
    const counts = (visitors: number[]): VariantCounts[] =>
      ["control", "treatment"].map((variant, i) => ({
        variant,
        visitors: visitors[i]!,
        impressions: 0,
        clicks: 0,
        add_to_carts: 0,
        purchases: 0,
        clicked_impressions: 0,
        carted_impressions: 0,
        purchased_impressions: 0,
      }));
    expect(srmCheck(counts([520, 480]), { control: 50, treatment: 50 })!.mismatch).toBe(false);
    expect(srmCheck(counts([5500, 4500]), { control: 50, treatment: 50 })!.mismatch).toBe(true);
    const impossible = srmCheck(counts([10, 1]), { control: 100, treatment: 0 })!;
    expect(impossible.p_value).toBe(0);
    expect(impossible.mismatch).toBe(true);
  });
});

describe("rates, intervals and lift", () => {
  it("Wilson interval of 10 / 100", () => {
    const w = wilson(10, 100)!;
    expect(w.value).toBe(0.1);
    expect(w.low).toBeCloseTo(0.05523, 4);
    expect(w.high).toBeCloseTo(0.17437, 4);
    expect(wilson(0, 0)).toBeNull();
  });

  it("two-proportion z-test and relative lift: 100/1,000 vs 130/1,000", () => {
    // pooled 0.115, se = √(0.115·0.885·0.002) = 0.014267, z = 0.03 / se = 2.1027, p = 0.0355
    const c = compareProportions({ successes: 100, trials: 1000 }, { successes: 130, trials: 1000 })!;
    expect(c.z).toBeCloseTo(2.1027, 3);
    expect(c.p_value).toBeCloseTo(0.03549, 4);
    expect(c.significant).toBe(true);
    expect(c.lift!.value).toBeCloseTo(0.3, 12);
    expect(c.lift!.low).toBeLessThan(0.3);
    expect(c.lift!.high).toBeGreaterThan(0.3);
    expect(c.lift!.low).toBeGreaterThan(0); // significant: the interval excludes 0
  });

  it("analyses an experiment with control first and per-variant comparisons", () => {
    const base = { add_to_carts: 0, purchases: 0, carted_impressions: 0 };
    const r = analyseExperiment(
      "exp",
      [
        { variant: "treatment", visitors: 500, impressions: 1000, clicks: 140, clicked_impressions: 130, purchased_impressions: 20, ...base },
        { variant: "control", visitors: 500, impressions: 1000, clicks: 100, clicked_impressions: 100, purchased_impressions: 10, ...base },
      ],
      { control: 50, treatment: 50 },
    );
    expect(r.control).toBe("control");
    expect(r.variants.map((v) => v.variant)).toEqual(["control", "treatment"]);
    expect(r.variants[0]!.vs_control).toBeNull();
    expect(r.variants[1]!.ctr!.value).toBe(0.13);
    expect(r.variants[1]!.vs_control!.ctr!.p_value).toBeCloseTo(0.03549, 4);
    expect(r.srm!.mismatch).toBe(false);
  });
});

describe("drift verdicts", () => {
  const baseline = { edges: [0, 1, 2, 3], counts: [500, 300, 200] };
  const hour = 0;
  it("same shape is fine, a shift is act, few observations are no_data", () => {
    const same = featureDrift(
      "f",
      baseline,
      [
        { hour, bin: 0, count: 50 },
        { hour, bin: 1, count: 30 },
        { hour, bin: 2, count: 20 },
      ],
      [hour],
      DEFAULT_DRIFT_SETTINGS,
    );
    expect(same.psi).toBe(0);
    expect(same.status).toBe("fine");
    const shifted = featureDrift(
      "f",
      baseline,
      [
        { hour, bin: 0, count: 10 },
        { hour, bin: 1, count: 20 },
        { hour, bin: 2, count: 70 },
      ],
      [hour],
      DEFAULT_DRIFT_SETTINGS,
    );
    // (0.1 − 0.5)·ln(0.1/0.5) + (0.2 − 0.3)·ln(0.2/0.3) + (0.7 − 0.2)·ln(0.7/0.2)
    expect(shifted.psi).toBeCloseTo(-0.4 * Math.log(0.2) + -0.1 * Math.log(2 / 3) + 0.5 * Math.log(3.5), 10);
    expect(shifted.status).toBe("act");
    const few = featureDrift("f", baseline, [{ hour, bin: 2, count: 10 }], [hour], DEFAULT_DRIFT_SETTINGS);
    expect(few.status).toBe("no_data");
  });

  it("missing and out-of-range shares count against their own thresholds", () => {
    const cells = [
      { hour, bin: 0, count: 50 },
      { hour, bin: 1, count: 30 },
      { hour, bin: 2, count: 20 },
      { hour, bin: -2, count: 10 },
    ];
    const d = featureDrift("f", baseline, cells, [hour], DEFAULT_DRIFT_SETTINGS);
    expect(d.out_of_range_share).toBeCloseTo(10 / 110, 12);
    expect(d.status).toBe("act"); // 9 % out of range ≥ 5 %
  });
});

describe("guard rails", () => {
  const rails = { min_impressions: 100, max_error_rate: 0.05, max_p95_latency_ms: 800, max_ctr_drop: 0.3 };
  const arm = (impressions: number, errors = 0, clicked = 0, p95: number | null = 50) => ({ impressions, errors, clicked_impressions: clicked, p95_latency_ms: p95 });
  it("waits for data, then passes a healthy canary", () => {
    expect(checkGuardRails(arm(99, 99), arm(1000), rails).verdict).toBe("wait");
    expect(checkGuardRails(arm(200, 5, 20), arm(1000, 0, 100), rails)).toEqual({ verdict: "ok", reasons: [] });
  });
  it("breaches on errors, latency and a significant CTR drop, with plain reasons", () => {
    expect(checkGuardRails(arm(200, 20), arm(1000), rails).reasons).toEqual(["error rate 10.0% is above the 5.0% limit (20 of 200 lists failed)"]);
    expect(checkGuardRails(arm(200, 0, 0, 1200), arm(1000), rails).reasons).toEqual(["p95 latency 1200 ms is above the 800 ms limit"]);
    const ctr = checkGuardRails(arm(1000, 0, 50), arm(1000, 0, 100), rails);
    expect(ctr.verdict).toBe("breach");
    expect(ctr.reasons[0]).toMatch(/^click-through rate 5\.0% is more than 30\.0% below stable's 10\.0%$/);
    // Same drop on too little data is not significant.
    expect(checkGuardRails(arm(100, 0, 1), arm(100, 0, 3), rails).verdict).toBe("ok");
  });
  it("latency quantiles interpolate inside buckets", () => {
    const h = new Map<number, number>([[latencyBucket(15), 100]]); // bucket (10, 20]
    expect(latencyQuantile(h, 0.5)).toBe(15);
    expect(latencyQuantile(h, 0.95)).toBeCloseTo(19.5, 10);
    expect(latencyQuantile(new Map(), 0.5)).toBeNull();
  });
});

describe("rollout configs", () => {
  const r: Rollout = {
    id: "ro1",
    model: "new/2",
    baseline: "old/1",
    steps: [10, 50, 100],
    step: 0,
    status: "running",
    guard_rails: { min_impressions: 1, max_error_rate: 0.05, max_p95_latency_ms: 800, max_ctr_drop: 0.3 },
    auto_promote_after: null,
    created_at: 0,
    updated_at: 0,
    reason: null,
  };
  it("splits stable and canary by the step's share with one salt, and the last step serves the new model alone", () => {
    const c = stepConfig(r);
    expect(c.default_model).toBe("old/1");
    expect(c.experiment).toMatchObject({
      name: "ro1-s1",
      salt: "ro1",
      variants: [
        { name: "stable", weight: 90, model: "old/1" },
        { name: "canary", weight: 10, model: "new/2" },
      ],
    });
    expect(stepConfig({ ...r, step: 1 }).experiment!.name).toBe("ro1-s2");
    expect(stepConfig({ ...r, step: 2 })).toEqual({ default_model: "new/2" });
  });
  it("weight changes need every variant and nothing unknown", () => {
    const c = stepConfig(r);
    expect(withWeights(c, { stable: 1, canary: 3 })).toMatchObject({ ok: true, config: { experiment: { variants: [{ weight: 1 }, { weight: 3 }] } } });
    expect(withWeights(c, { stable: 1 })).toMatchObject({ ok: false });
    expect(withWeights(c, { stable: 1, canary: 1, other: 1 })).toMatchObject({ ok: false });
    expect(withWeights(c, { stable: 0, canary: 0 })).toMatchObject({ ok: false });
    expect(withWeights({ default_model: null }, { a: 1 })).toMatchObject({ ok: false });
  });
});
