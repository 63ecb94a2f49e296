/**
 * The platform-free half of the ONNX runtime layer: a loaded model and how the
 * session top-k family is run. The worker creates sessions with the workerd
 * loader (`ort.ts`); offline tools create them with onnxruntime's Node build —
 * both then score through this same code.
 */
import type { InferenceSession, Tensor } from "onnxruntime-web/wasm";
import { ModelLoadError } from "./errors";
import { SESSION_TOPK_IO, type TopK } from "./onnx/session-topk";

/** The onnxruntime-web module (its wasm build in workerd, its Node build offline). */
export type Ort = typeof import("onnxruntime-web/wasm");

/** A tensor to feed a model: int64 or float32 data with its shape. */
export type OrtInput = { type: "int64"; data: BigInt64Array; dims: readonly number[] } | { type: "float32"; data: Float32Array; dims: readonly number[] };

/** A loaded model. Create once per isolate and reuse it across requests. */
export class OrtSession {
  /** @internal Use `createInferenceSession`. */
  constructor(
    private readonly ort: Ort,
    private readonly inner: InferenceSession,
  ) {}

  /** The model's graph input names. */
  get inputNames(): readonly string[] {
    return this.inner.inputNames;
  }

  /** The model's graph output names. */
  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }

  /** Runs the model; failures become `ModelLoadError` with code `inference_failed`. */
  async run(feeds: Record<string, OrtInput>): Promise<Record<string, Tensor>> {
    try {
      const tensors: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) tensors[name] = new this.ort.Tensor(t.type, t.data, t.dims);
      return await this.inner.run(tensors);
    } catch (cause) {
      throw new ModelLoadError("inference_failed", `inference failed: ${messageOf(cause)}`, { cause });
    }
  }

  /** Frees the model's memory inside the wasm heap. */
  async release(): Promise<void> {
    await this.inner.release();
  }
}

/**
 * Scores a session top-k model (see `buildSessionTopKModel`): `idx` vocabulary indices
 * and `w` weights, one per sequence position; returns the k best indices and scores.
 */
export async function runSessionTopK(session: OrtSession, idx: readonly number[], w: readonly number[], k: number): Promise<TopK> {
  if (idx.length !== w.length) throw new ModelLoadError("inference_failed", `idx has ${idx.length} entries, w has ${w.length}`);
  if (!Number.isInteger(k) || k < 1) throw new ModelLoadError("inference_failed", `k must be a positive integer, got ${k}`);
  if (!idx.every(Number.isSafeInteger)) throw new ModelLoadError("inference_failed", "idx must hold integer vocabulary indices");
  const io = SESSION_TOPK_IO;
  const out = await session.run({
    [io.idx]: { type: "int64", data: BigInt64Array.from(idx, (i) => BigInt(i)), dims: [1, idx.length] },
    [io.w]: { type: "float32", data: Float32Array.from(w), dims: [1, w.length] },
    [io.k]: { type: "int64", data: BigInt64Array.of(BigInt(k)), dims: [1] },
  });
  const scores = out[io.scores]?.data;
  const indices = out[io.indices]?.data;
  if (!(scores instanceof Float32Array) || !(indices instanceof BigInt64Array)) {
    throw new ModelLoadError("inference_failed", "model outputs do not match the session top-k contract (scores float32, indices int64)");
  }
  return { indices: Array.from(indices, Number), scores: Array.from(scores) };
}

/** The message of an unknown thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
