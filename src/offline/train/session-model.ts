/**
 * The "session top-k" next-item model of the serving graph: item embeddings in
 * and out plus a per-item bias, scored exactly as the worker scores them (see
 * {@link scoreItems}); `session-model-fast.ts` trains it. Pure code.
 */
import { type SequenceInput, sequenceInput } from "../../models/inputs";

/** A trained session model: the arrays the serving graph is built from, plus what the manifest reports. */
export interface SessionModel {
  /** Vocabulary: index `i + 1` is `items[i]`; index 0 is padding. */
  items: string[];
  dim: number;
  /** (N+1) × dim, row-major; row 0 is zeros. */
  embIn: Float32Array;
  /** (N+1) × dim, row-major. */
  embOut: Float32Array;
  /** N+1; `bias[0]` is -1e9 so padding is never recommended. */
  bias: Float32Array;
  /** The 200 most viewed items of the training sessions, most viewed first. */
  popularity: Array<{ item_id: string; count: number }>;
  /** Time span of the training data (epoch ms), when the caller knows it. */
  trainingWindow: { from: number; to: number } | null;
  epochs: number;
  /** Mean sampled-softmax loss of the last epoch. */
  finalLoss: number;
}

/** Training options shared by the session-model trainers (see `session-model-fast.ts`). */
export interface TrainOptions {
  seed?: number;
  /** Embedding size (default 32). */
  dim?: number;
  /** Passes over every prefix of every session (default 6). */
  epochs?: number;
  /** Negatives per example, drawn by popularity^0.75 (default 32). */
  negatives?: number;
  /** Adagrad learning rate (default 0.2). */
  learningRate?: number;
  /** L2 penalty on the embedding rows an example touches (default 1e-5). */
  l2?: number;
  /** Copied into the model: the caller knows the sessions' timestamps, training does not. */
  trainingWindow?: { from: number; to: number } | null;
  /** Receives one progress line per epoch. */
  log?: (line: string) => void;
}

/** Vocabulary lookup of a model: item id → index (1..N). */
export function modelVocab(model: Pick<SessionModel, "items">): Map<string, number> {
  return new Map(model.items.map((id, i) => [id, i + 1]));
}

/** Session vector s = Σ_j w[j] · E_in[idx[j]], written into `out`. */
export function sessionVector(model: Pick<SessionModel, "dim" | "embIn">, input: SequenceInput, out = new Float32Array(model.dim)): Float32Array {
  const { dim, embIn } = model;
  out.fill(0);
  for (let j = 0; j < input.idx.length; j++) {
    const wj = input.w[j]!;
    if (wj === 0) continue;
    const row = input.idx[j]! * dim;
    for (let d = 0; d < dim; d++) out[d]! += wj * embIn[row + d]!;
  }
  return out;
}

/**
 * The serving contract: logits[i] = s · E_out[i] + bias[i] for every index
 * 0..N, with s built from `sequenceInput(prefix, vocab)`.
 */
export function scoreItems(model: SessionModel, prefix: readonly string[], vocab: ReadonlyMap<string, number>): Float32Array {
  const { dim, embOut, bias } = model;
  const s = sessionVector(model, sequenceInput(prefix, vocab));
  const logits = new Float32Array(bias.length);
  for (let i = 0; i < bias.length; i++) {
    let z = bias[i]!;
    const row = i * dim;
    for (let d = 0; d < dim; d++) z += s[d]! * embOut[row + d]!;
    logits[i] = z;
  }
  return logits;
}
