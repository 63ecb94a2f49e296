/**
 * onnxruntime-web inside workerd, end to end: ONNX bytes built by our encoder, loaded by
 * our loader, answers checked against the pure-JS reference.
 *
 * Every ORT test lives in this one file: each test file whose worker loads ORT costs
 * ~6 s and up to ~1.8 GB in the pool.
 */
import { describe, expect, it } from "vitest";
import pkg from "../package.json";
import { ModelLoadError } from "../src/models/errors";
import { encodeModel } from "../src/models/onnx/encode";
import { ProtoWriter } from "../src/models/onnx/protobuf";
import { PADDING_BIAS, buildSessionTopKModel, referenceTopK, type SessionTopKParams, type TopK } from "../src/models/onnx/session-topk";
import { createInferenceSession, ortVersion, runSessionTopK, warmUpOrt, type OrtSession } from "../src/models/ort";
import { Random } from "../src/offline/synthetic/random";

/** A seeded uniform [0, 1) source (the project's PRNG), so models and inputs are the same on every run. */
function prng(seed: number): () => number {
  const r = new Random(seed);
  return () => r.float();
}

/** A random session top-k model: padding row 0 zeros, padding bias PADDING_BIAS. */
function randomParams(numItems: number, dim: number, seqLen: number, seed: number): SessionTopKParams {
  const rand = prng(seed);
  const rows = numItems + 1;
  const embIn = new Float32Array(rows * dim);
  const embOut = new Float32Array(rows * dim);
  const bias = new Float32Array(rows);
  for (let i = dim; i < embIn.length; i++) embIn[i] = rand() * 2 - 1;
  for (let i = dim; i < embOut.length; i++) embOut[i] = rand() * 2 - 1;
  for (let i = 1; i < rows; i++) bias[i] = (rand() - 0.5) * 0.2;
  bias[0] = PADDING_BIAS;
  return { numItems, dim, seqLen, embIn, embOut, bias };
}

/** A right-aligned sequence of `n` random items with decaying weights summing to 1. */
function randomSequence(rand: () => number, numItems: number, seqLen: number, n: number): { idx: number[]; w: number[] } {
  const idx = new Array<number>(seqLen).fill(0);
  const w = new Array<number>(seqLen).fill(0);
  let total = 0;
  for (let j = 0; j < n; j++) {
    const pos = seqLen - n + j;
    idx[pos] = 1 + Math.floor(rand() * numItems);
    w[pos] = 0.7 ** (n - 1 - j);
    total += w[pos]!;
  }
  for (let p = 0; p < seqLen; p++) w[p] = total > 0 ? w[p]! / total : 0;
  return { idx, w };
}

function expectSameTopK(actual: TopK, expected: TopK): void {
  expect(actual.indices).toEqual(expected.indices);
  expect(actual.scores).toHaveLength(expected.scores.length);
  actual.scores.forEach((s, i) => expect(s).toBeCloseTo(expected.scores[i]!, 4));
}

// Captured before anything loads ORT: the loader must put it back after backend init.
const originalInstantiate = WebAssembly.instantiate;

const N = 500;
const DIM = 16;
const SEQ = 20;
const small = randomParams(N, DIM, SEQ, 42);
const smallModel = buildSessionTopKModel(small);

describe("onnxruntime-web loader (src/models/ort.ts)", () => {
  // First in the file on purpose: these two calls race to initialise the backend.
  it("two concurrent createInferenceSession calls both succeed", async () => {
    const t = performance.now();
    const [a, b] = await Promise.all([createInferenceSession(smallModel), createInferenceSession(smallModel)]);
    // Informational: in the pool this includes fetching the 14 MB .wasm through the module fallback.
    console.log(`[ort] first use (import + backend init + 2 sessions): ${(performance.now() - t).toFixed(0)} ms`);
    const seq = randomSequence(prng(7), N, SEQ, 5);
    const [ra, rb] = await Promise.all([runSessionTopK(a, seq.idx, seq.w, 10), runSessionTopK(b, seq.idx, seq.w, 10)]);
    expect(ra).toEqual(rb);
    expect(WebAssembly.instantiate, "the loader left its WebAssembly.instantiate override installed").toBe(originalInstantiate);
    await Promise.all([a.release(), b.release()]);
  });

  it("loader works with the pinned ORT version", async () => {
    const pinned = pkg.dependencies["onnxruntime-web"];
    try {
      await warmUpOrt();
      const session = await createInferenceSession(smallModel);
      await runSessionTopK(session, new Array<number>(SEQ).fill(0), new Array<number>(SEQ).fill(0), 1);
      await session.release();
    } catch (e) {
      throw new Error(
        `src/models/ort.ts cannot run onnxruntime-web ${ortVersion() ?? pinned} inside workerd. It relies on ORT internals ` +
          `(wasmBinary sentinel + WebAssembly.instantiate override); see docs/design/0006-onnxruntime-in-workerd.md. Cause: ${String(e)}`,
        { cause: e },
      );
    }
    console.log(`[ort] onnxruntime-web ${ortVersion()} loaded in workerd`);
    expect(ortVersion(), "the loaded ORT is not the version package.json pins").toBe(pinned);
  });

  describe("session top-k model matches the JS reference", () => {
    let session: OrtSession;
    const rand = prng(1234);
    const cases: Array<{ name: string; idx: number[]; w: number[]; k: number }> = [
      { name: "full sequence, k=20", ...randomSequence(rand, N, SEQ, SEQ), k: 20 },
      { name: "3 items then padding, k=10", ...randomSequence(rand, N, SEQ, 3), k: 10 },
      { name: "one item, k=5", ...randomSequence(rand, N, SEQ, 1), k: 5 },
      { name: "all padding (zero weights): bias order", idx: new Array<number>(SEQ).fill(0), w: new Array<number>(SEQ).fill(0), k: 15 },
      { name: "k=1", ...randomSequence(rand, N, SEQ, 8), k: 1 },
      { name: "k=N returns every real item, never padding", ...randomSequence(rand, N, SEQ, 12), k: N },
      { name: "repeated item, unnormalised weights", idx: new Array<number>(SEQ).fill(17), w: new Array<number>(SEQ).fill(0.5), k: 7 },
    ];

    it("loads", async () => {
      session = await createInferenceSession(smallModel);
      expect(session.inputNames).toEqual(["item_idx", "item_w", "k"]);
      expect(session.outputNames).toEqual(["scores", "indices"]);
    });

    it.each(cases)("$name", async ({ idx, w, k }) => {
      const got = await runSessionTopK(session, idx, w, k);
      expectSameTopK(got, referenceTopK(small, idx, w, k));
      expect(got.indices).not.toContain(0);
      if (k === N) expect([...got.indices].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    });

    it("bad inputs reject with inference_failed, and the session keeps working", async () => {
      const ok = randomSequence(prng(3), N, SEQ, 4);
      const outOfRange = [...ok.idx];
      outOfRange[SEQ - 1] = N + 5;
      await expect(runSessionTopK(session, outOfRange, ok.w, 3)).rejects.toMatchObject({ name: "ModelLoadError", code: "inference_failed" });
      await expect(runSessionTopK(session, ok.idx.slice(1), ok.w.slice(1), 3)).rejects.toMatchObject({ code: "inference_failed" });
      await expect(runSessionTopK(session, ok.idx, ok.w, 0)).rejects.toMatchObject({ code: "inference_failed" });
      await expect(
        runSessionTopK(
          session,
          ok.idx.map((i) => i + 0.5),
          ok.w,
          3,
        ),
      ).rejects.toMatchObject({ code: "inference_failed" });
      expectSameTopK(await runSessionTopK(session, ok.idx, ok.w, 3), referenceTopK(small, ok.idx, ok.w, 3));
    });
  });

  it("corrupted or invalid model bytes reject with model_invalid, not a crash", async () => {
    const garbage = new Uint8Array(4096).map((_, i) => (i * 131 + 7) & 0xff);
    const truncated = smallModel.slice(0, Math.floor(smallModel.length / 2));
    const unknownOp = encodeModel({
      graph: {
        name: "bad",
        nodes: [{ opType: "NoSuchOperator", inputs: ["x"], outputs: ["y"] }],
        initializers: [],
        inputs: [{ name: "x", type: "float32", shape: [1] }],
        outputs: [{ name: "y", type: "float32", shape: [1] }],
      },
    });
    for (const bytes of [garbage, truncated, unknownOp, new Uint8Array(0)]) {
      const err = await createInferenceSession(bytes).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ModelLoadError);
      expect(err).toMatchObject({ code: "model_invalid" });
    }
    // The runtime survived: a valid model still loads and answers.
    const session = await createInferenceSession(smallModel);
    const seq = randomSequence(prng(9), N, SEQ, 6);
    expectSameTopK(await runSessionTopK(session, seq.idx, seq.w, 5), referenceTopK(small, seq.idx, seq.w, 5));
    await session.release();
  });

  it("INTS and FLOAT attributes and symbolic dims encode as ORT expects", async () => {
    // y = LeakyRelu(Transpose(x, perm=[1, 0]), alpha=0.5): x [n, 3] → y [3, n]
    const bytes = encodeModel({
      graph: {
        name: "attrs",
        nodes: [
          { opType: "Transpose", inputs: ["x"], outputs: ["t"], attributes: [{ name: "perm", kind: "ints", value: [1, 0] }] },
          { opType: "LeakyRelu", inputs: ["t"], outputs: ["y"], attributes: [{ name: "alpha", kind: "float", value: 0.5 }] },
        ],
        initializers: [],
        inputs: [{ name: "x", type: "float32", shape: ["n", 3] }],
        outputs: [{ name: "y", type: "float32", shape: [3, "n"] }],
      },
    });
    const session = await createInferenceSession(bytes);
    const out = await session.run({ x: { type: "float32", data: Float32Array.of(1, -2, 3, -4, 5, -6), dims: [2, 3] } });
    expect(out.y?.dims).toEqual([3, 2]);
    expect(Array.from(out.y?.data as Float32Array)).toEqual([1, -2, -1, 5, 3, -3]);
    await session.release();
  });

  // Informational: prints costs for docs/design/0006 (no timing assertions).
  it("43,000 × 32 model matches the reference (and reports timings)", async () => {
    const params = randomParams(43_000, 32, SEQ, 99);
    let t = performance.now();
    const bytes = buildSessionTopKModel(params);
    const buildMs = performance.now() - t;
    t = performance.now();
    const session = await createInferenceSession(bytes);
    const createMs = performance.now() - t;
    const rand = prng(5);
    const inputs = Array.from({ length: 200 }, () => randomSequence(rand, 43_000, SEQ, 1 + Math.floor(rand() * SEQ)));
    const first = inputs[0]!;
    expectSameTopK(await runSessionTopK(session, first.idx, first.w, 20), referenceTopK(params, first.idx, first.w, 20));
    t = performance.now();
    for (const { idx, w } of inputs) await runSessionTopK(session, idx, w, 20);
    const runMs = (performance.now() - t) / inputs.length;
    console.log(
      `[ort] 43k×32 model: ${(bytes.length / 1e6).toFixed(2)} MB, build ${buildMs.toFixed(1)} ms, ` +
        `session create ${createMs.toFixed(1)} ms, top-20 ${runMs.toFixed(3)} ms/run over ${inputs.length} runs`,
    );
    await session.release();
  });
});

describe("protobuf writer (src/models/onnx/protobuf.ts)", () => {
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

  it("encodes varints, negative int64, floats and strings as protobuf does", () => {
    expect(hex(new ProtoWriter().int(1, 300).finish())).toBe("08 ac 02");
    expect(hex(new ProtoWriter().int(3, -1).finish())).toBe("18 ff ff ff ff ff ff ff ff ff 01");
    expect(hex(new ProtoWriter().int(1, 2 ** 40).finish())).toBe("08 80 80 80 80 80 20");
    expect(hex(new ProtoWriter().float(2, 1).finish())).toBe("15 00 00 80 3f");
    expect(hex(new ProtoWriter().string(20, "ab").finish())).toBe("a2 01 02 61 62");
    expect(hex(new ProtoWriter().ints(8, [1, 2]).finish())).toBe("40 01 40 02");
    expect(() => new ProtoWriter().int(1, 0.5)).toThrow(RangeError);
  });

  it("rejects inconsistent session top-k params", () => {
    expect(() => buildSessionTopKModel({ ...small, bias: small.bias.slice(1) })).toThrow(RangeError);
    const bias = small.bias.slice();
    bias[0] = 0;
    expect(() => buildSessionTopKModel({ ...small, bias })).toThrow(/padding/);
  });
});
