import { describe, expect, it } from "vitest";
import { SEQ_LEN, sequenceInput } from "../src/models/inputs";
import { referenceTopK } from "../src/models/onnx/session-topk";
import { Random } from "../src/offline/synthetic/random";
import { coreBuffers, coreLoss, type CoreExample } from "../src/offline/train/core-loss";
import { modelVocab } from "../src/offline/train/session-model";
import { trainSessionModelFast } from "../src/offline/train/session-model-fast";
import { ITEMS, chainSessions, item } from "./chain-sessions";

describe("CORE loss", () => {
  const dim = 5;
  const rows = 7;
  const rng = new Random(11);
  const E = Float32Array.from({ length: rows * dim }, (_, i) => (i < dim ? 0 : rng.normal(0, 0.5)));
  const mask = (n: number) => Float32Array.from({ length: n }, () => (rng.chance(0.8) ? 1 / 0.8 : 0));
  // Row 3 is both an input and a candidate, row 4 appears twice among the inputs.
  const ex: CoreExample = {
    idx: Int32Array.from([4, 3, 4, 1]),
    from: 1,
    len: 3,
    w: [0.2, 0.3, 0.5],
    cand: Int32Array.from([2, 3, 5, 2, 6]),
    count: 5,
    logQ: [0, 0.1, -0.3, 0.2, 0.05, -0.1, 0.4],
    skip: (k) => k === 3, // an accidental hit of the target
    inMask: mask(3 * dim),
    outMask: mask(5 * dim),
  };
  const tau = 0.2;

  it("has the gradient of finite differences", () => {
    const buf = coreBuffers(dim, SEQ_LEN, 5);
    const loss = coreLoss(E, tau, ex, buf);
    expect(Number.isFinite(loss)).toBe(true);
    const analytic = new Float64Array(E.length);
    for (let j = 0; j < ex.len; j++) for (let d = 0; d < dim; d++) analytic[ex.idx[ex.from + j]! * dim + d]! += buf.gIn[j * dim + d]!;
    for (let k = 0; k < ex.count; k++) for (let d = 0; d < dim; d++) analytic[ex.cand[k]! * dim + d]! += buf.gOut[k * dim + d]!;
    const h = 1e-3;
    const probe = coreBuffers(dim, SEQ_LEN, 5);
    for (let i = dim; i < E.length; i++) {
      const plus = E.slice();
      const minus = E.slice();
      plus[i]! += h;
      minus[i]! -= h;
      const numeric = (coreLoss(plus, tau, ex, probe) - coreLoss(minus, tau, ex, probe)) / (2 * h);
      expect(analytic[i]!).toBeCloseTo(numeric, 2);
    }
    expect(analytic.some((g) => Math.abs(g) > 0.01)).toBe(true);
  });

  it("has no gradient without a session vector", () => {
    const zero = new Float32Array(E.length);
    expect(coreLoss(zero, tau, ex, coreBuffers(dim, SEQ_LEN, 5))).toBeNaN();
  });
});

describe('trainer, mode "core"', () => {
  const sessions = chainSessions();
  const opts = { seed: 3, dim: 16, epochs: 8, negatives: 8, schedule: "linear", optimizer: "rowwise", mode: "core", temperature: 0.1, dropout: 0.1 } as const;
  const model = trainSessionModelFast(sessions, opts);
  const params = { numItems: model.items.length, dim: model.dim, seqLen: SEQ_LEN, embIn: model.embIn, embOut: model.embOut, bias: model.bias };

  // One table and a symmetric cosine: after one item its own row comes first and
  // i − 1 is as near as i + 1, so the chain shows as i + 1 among the next two.
  it("learns the chain (the next item right after the input item itself)", () => {
    expect(model.epochLosses.at(-1)!).toBeLessThan(model.epochLosses[0]! * 0.8);
    const vocab = modelVocab(model);
    let right = 0;
    for (let i = 0; i < ITEMS; i++) {
      const input = sequenceInput([item(i)], vocab);
      const top = referenceTopK(params, input.idx, input.w, 3).indices.map((ix) => model.items[ix - 1]);
      if (top[0] === item(i) && top.includes(item(i + 1))) right++;
    }
    expect(right).toBeGreaterThanOrEqual(ITEMS * 0.8);
  });

  it("exports unit output rows over τ, a zero bias and the input table", () => {
    expect(model.bias[0]).toBeLessThanOrEqual(-1e9);
    expect(Array.from(model.bias.subarray(1)).every((b) => b === 0)).toBe(true);
    for (let r = 1; r <= model.items.length; r++) {
      const norm = Math.hypot(...model.embOut.subarray(r * 16, (r + 1) * 16));
      expect(norm * 0.1).toBeCloseTo(1, 5);
    }
    expect(Array.from(model.embIn.subarray(0, 16)).every((x) => x === 0)).toBe(true);
  });

  it("is deterministic for a seed", () => {
    const again = trainSessionModelFast(sessions, opts);
    expect(again.embIn).toEqual(model.embIn);
    expect(again.embOut).toEqual(model.embOut);
    expect(again.epochLosses).toEqual(model.epochLosses);
  });
});
