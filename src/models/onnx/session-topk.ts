/**
 * The "session top-k" model family: a weighted bag of the session's item embeddings,
 * scored against every item's output embedding, top-k returned.
 *
 *   s      = Σ_j w[j] · E_in[idx[j]]            (weighted sum over the sequence)
 *   logits = s · E_outᵀ + bias                   (one score per vocabulary index; one Gemm)
 *   result = TopK(logits, k)                     (sorted, largest first)
 *
 * Vocabulary index 0 is padding; its bias is a large negative so it is never returned
 * while k ≤ numItems. Platform-free: the builder runs offline in Node (export) and in
 * workerd (tests); `referenceTopK` is the pure-JS twin used to check ORT's answers.
 */
import { encodeModel, type NodeSpec } from "./encode";

/** Weights of one session top-k model. Tables are row-major, one row per vocabulary index 0..numItems. */
export interface SessionTopKParams {
  /** N real items, vocabulary indices 1..N; index 0 is padding. */
  numItems: number;
  /** Embedding width. */
  dim: number;
  /** Fixed length of the input sequence. */
  seqLen: number;
  /** Input embeddings, (N+1)·dim; row 0 (padding) should be zeros. */
  embIn: Float32Array;
  /** Output embeddings, (N+1)·dim, row-major (the graph multiplies by its transpose). */
  embOut: Float32Array;
  /** Per-item bias, N+1; bias[0] ≤ PADDING_BIAS so padding is never returned. */
  bias: Float32Array;
}

/** The bias padding must have at most: far below any real score, still finite in float32. */
export const PADDING_BIAS = -1e9;

/** Graph input and output names: the contract between the builder and the runtime. */
export const SESSION_TOPK_IO = {
  idx: "item_idx",
  w: "item_w",
  k: "k",
  scores: "scores",
  indices: "indices",
} as const;

/** Top-k result: vocabulary indices (best first) and their scores. */
export interface TopK {
  indices: number[];
  scores: number[];
}

/** Builds the ONNX bytes of a session top-k model (ir_version 8, opset 13). Throws RangeError on inconsistent params. */
export function buildSessionTopKModel(params: SessionTopKParams): Uint8Array {
  validate(params);
  const { numItems, dim, seqLen } = params;
  const rows = numItems + 1;
  const io = SESSION_TOPK_IO;
  const nodes: NodeSpec[] = [
    { opType: "Gather", inputs: ["E_in", io.idx], outputs: ["g"], name: "gather_in" }, // [1, seqLen, dim]
    { opType: "Unsqueeze", inputs: [io.w, "axes_2"], outputs: ["wu"], name: "unsqueeze_w" }, // [1, seqLen, 1]
    { opType: "Mul", inputs: ["g", "wu"], outputs: ["gw"], name: "weight" },
    {
      opType: "ReduceSum",
      inputs: ["gw", "axes_1"],
      outputs: ["s"], // [1, dim]
      name: "pool",
      attributes: [{ name: "keepdims", kind: "int", value: 0 }],
    },
    // Gemm with transB over the row-major table (bias fused) measured ~2× faster than
    // MatMul over a transposed copy in ORT's wasm backend (docs/design/0006).
    {
      opType: "Gemm",
      inputs: ["s", "E_out", "bias"],
      outputs: ["logits"], // [1, N+1]
      name: "score",
      attributes: [{ name: "transB", kind: "int", value: 1 }],
    },
    {
      opType: "TopK",
      inputs: ["logits", io.k],
      outputs: [io.scores, io.indices],
      name: "topk",
      attributes: [
        { name: "axis", kind: "int", value: -1 },
        { name: "largest", kind: "int", value: 1 },
        { name: "sorted", kind: "int", value: 1 },
      ],
    },
  ];
  return encodeModel({
    producerName: "edgewise.session-topk",
    graph: {
      name: "session_topk",
      nodes,
      initializers: [
        { name: "E_in", type: "float32", dims: [rows, dim], data: params.embIn },
        { name: "E_out", type: "float32", dims: [rows, dim], data: params.embOut },
        { name: "bias", type: "float32", dims: [rows], data: params.bias },
        // Opset 13 takes Unsqueeze/ReduceSum axes as int64 inputs, not attributes.
        { name: "axes_2", type: "int64", dims: [1], data: [2] },
        { name: "axes_1", type: "int64", dims: [1], data: [1] },
      ],
      inputs: [
        { name: io.idx, type: "int64", shape: [1, seqLen] },
        { name: io.w, type: "float32", shape: [1, seqLen] },
        { name: io.k, type: "int64", shape: [1] },
      ],
      outputs: [
        { name: io.scores, type: "float32", shape: [1, "k"] },
        { name: io.indices, type: "int64", shape: [1, "k"] },
      ],
    },
  });
}

/**
 * Computes what the model computes, in float64 JS: the reference for tests and for
 * offline evaluation. Ties are broken by the lower index (as ORT's sorted TopK does).
 */
export function referenceTopK(params: SessionTopKParams, idx: readonly number[], w: readonly number[], k: number): TopK {
  const { numItems, dim, embIn, embOut, bias } = params;
  const rows = numItems + 1;
  if (idx.length !== w.length) throw new RangeError(`idx has ${idx.length} entries, w has ${w.length}`);
  if (!Number.isInteger(k) || k < 1 || k > rows) throw new RangeError(`k must be an integer in 1..${rows}, got ${k}`);
  const s = new Float64Array(dim);
  for (let j = 0; j < idx.length; j++) {
    const row = idx[j]!;
    if (!Number.isInteger(row) || row < 0 || row >= rows) throw new RangeError(`idx[${j}] = ${row} is outside 0..${numItems}`);
    const wj = Math.fround(w[j]!); // the runtime feeds weights as float32
    for (let d = 0; d < dim; d++) s[d] = s[d]! + wj * embIn[row * dim + d]!;
  }
  const logits = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += s[d]! * embOut[i * dim + d]!;
    logits[i] = dot + bias[i]!;
  }
  const order = Array.from({ length: rows }, (_, i) => i);
  order.sort((a, b) => logits[b]! - logits[a]! || a - b);
  const indices = order.slice(0, k);
  return { indices, scores: indices.map((i) => logits[i]!) };
}

function validate(p: SessionTopKParams): void {
  for (const [name, v] of [
    ["numItems", p.numItems],
    ["dim", p.dim],
    ["seqLen", p.seqLen],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  const rows = p.numItems + 1;
  if (p.embIn.length !== rows * p.dim) throw new RangeError(`embIn needs ${rows}×${p.dim} values, got ${p.embIn.length}`);
  if (p.embOut.length !== rows * p.dim) throw new RangeError(`embOut needs ${rows}×${p.dim} values, got ${p.embOut.length}`);
  if (p.bias.length !== rows) throw new RangeError(`bias needs ${rows} values, got ${p.bias.length}`);
  if (!(p.bias[0]! <= PADDING_BIAS)) throw new RangeError(`bias[0] must be ≤ ${PADDING_BIAS} so padding is never returned, got ${p.bias[0]}`);
}
