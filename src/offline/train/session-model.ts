/**
 * Trains the "session top-k" next-item model of the serving graph: item
 * embeddings in and out plus a per-item bias, scored exactly as the worker
 * scores them (see {@link scoreItems}). Pure code, deterministic for a seed.
 */
import { type SequenceInput, sequenceInput } from "../../models/inputs";
import { deriveSeed, Random, weightedSampler } from "../synthetic/random";

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

/** Options of {@link trainSessionModel}. */
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

const PADDING_BIAS = -1e9;
const TOP_POPULAR = 200;
const INIT_SD = 0.1;
const ADAGRAD_INIT = 0.1;

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

/**
 * Trains on next-item prediction over every prefix of every session (target:
 * the next viewed item) with sampled softmax: 1 target against `negatives`
 * items drawn by popularity^0.75, logits corrected by log(expected count) so
 * that the full-softmax ranking is what is learned; sparse Adagrad updates.
 */
export function trainSessionModel(sessions: readonly (readonly string[])[], opts: TrainOptions = {}): SessionModel {
  const dim = opts.dim ?? 32;
  const epochs = opts.epochs ?? 6;
  const negatives = opts.negatives ?? 32;
  const lr = opts.learningRate ?? 0.2;
  const l2 = opts.l2 ?? 1e-5;
  const rng = new Random(deriveSeed(opts.seed ?? 0, "session-model"));

  const counts = new Map<string, number>();
  for (const seq of sessions) for (const id of seq) counts.set(id, (counts.get(id) ?? 0) + 1);
  const items = [...counts.keys()].sort();
  const vocab = modelVocab({ items });
  const size = items.length + 1;
  const count = new Float64Array(size);
  items.forEach((id, i) => (count[i + 1] = counts.get(id)!));
  const totalViews = count.reduce((a, c) => a + c, 0);

  const embIn = new Float32Array(size * dim);
  const embOut = new Float32Array(size * dim);
  const bias = new Float32Array(size);
  for (let i = dim; i < embIn.length; i++) embIn[i] = rng.normal(0, INIT_SD);
  for (let i = dim; i < embOut.length; i++) embOut[i] = rng.normal(0, INIT_SD);
  // Log popularity: the model starts as the popularity baseline and learns the session signal on top.
  for (let i = 1; i < size; i++) bias[i] = Math.log((count[i]! + 1) / (totalViews + size));
  bias[0] = PADDING_BIAS;

  const sampler = weightedSampler(Array.from(count, (c, i) => (i === 0 ? 0 : Math.pow(c, 0.75))));
  const logExpected = Float64Array.from(count, (_, i) => (i === 0 ? 0 : Math.log(negatives * sampler.probability(i))));
  const accIn = new Float32Array(embIn.length).fill(ADAGRAD_INIT);
  const accOut = new Float32Array(embOut.length).fill(ADAGRAD_INIT);
  const accBias = new Float32Array(size).fill(ADAGRAD_INIT);

  // One example per (session, position of the target).
  const exSession: number[] = [];
  const exPos: number[] = [];
  sessions.forEach((seq, s) => {
    for (let t = 1; t < seq.length; t++) exSession.push(s), exPos.push(t);
  });
  const order = Array.from(exPos.keys());

  const s = new Float32Array(dim);
  const ds = new Float32Array(dim);
  const cand = new Int32Array(negatives + 1);
  const z = new Float64Array(negatives + 1);
  const updateRow = (emb: Float32Array, acc: Float32Array, row: number, scale: number, v: Float32Array): void => {
    for (let d = 0; d < dim; d++) {
      const k = row + d;
      const g = scale * v[d]! + l2 * emb[k]!;
      acc[k]! += g * g;
      emb[k]! -= (lr * g) / Math.sqrt(acc[k]!);
    }
  };

  let finalLoss = NaN;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    rng.shuffle(order);
    let lossSum = 0;
    for (const ex of order) {
      const seq = sessions[exSession[ex]!]!;
      const t = exPos[ex]!;
      const input = sequenceInput(seq.slice(0, t), vocab);
      sessionVector({ dim, embIn }, input, s);
      const target = vocab.get(seq[t]!)!;

      // Candidates: the target, then negatives; accidental hits of the target are dropped (-Infinity).
      cand[0] = target;
      for (let k = 1; k <= negatives; k++) cand[k] = sampler.sample(rng);
      let max = -Infinity;
      for (let k = 0; k <= negatives; k++) {
        const c = cand[k]!;
        if (k > 0 && c === target) {
          z[k] = -Infinity;
          continue;
        }
        let dot = bias[c]! - logExpected[c]!;
        for (let d = 0; d < dim; d++) dot += s[d]! * embOut[c * dim + d]!;
        z[k] = dot;
        if (dot > max) max = dot;
      }
      let sum = 0;
      for (let k = 0; k <= negatives; k++) sum += (z[k] = Math.exp(z[k]! - max));
      lossSum -= Math.log(z[0]! / sum);

      // Gradient of the loss w.r.t. each candidate's logit: p - [target]. ds before E_out moves.
      ds.fill(0);
      for (let k = 0; k <= negatives; k++) {
        const g = z[k]! / sum - (k === 0 ? 1 : 0);
        z[k] = g;
        if (g === 0) continue;
        const row = cand[k]! * dim;
        for (let d = 0; d < dim; d++) ds[d]! += g * embOut[row + d]!;
      }
      for (let k = 0; k <= negatives; k++) {
        const g = z[k]!;
        if (g === 0) continue;
        const c = cand[k]!;
        updateRow(embOut, accOut, c * dim, g, s);
        accBias[c]! += g * g;
        bias[c]! -= (lr * g) / Math.sqrt(accBias[c]!);
      }
      for (let j = 0; j < input.idx.length; j++) {
        const wj = input.w[j]!;
        if (wj !== 0) updateRow(embIn, accIn, input.idx[j]! * dim, wj, ds);
      }
    }
    finalLoss = order.length > 0 ? lossSum / order.length : NaN;
    opts.log?.(`epoch ${epoch}/${epochs} loss ${finalLoss.toFixed(4)} (${order.length} prefixes)`);
  }

  const popularity = items
    .map((item_id) => ({ item_id, count: counts.get(item_id)! }))
    .sort((a, b) => b.count - a.count || (a.item_id < b.item_id ? -1 : 1))
    .slice(0, TOP_POPULAR);
  return { items, dim, embIn, embOut, bias, popularity, trainingWindow: opts.trainingWindow ?? null, epochs, finalLoss };
}
