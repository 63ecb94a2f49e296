/**
 * The trainer of the "session top-k" model of `session-model.ts`
 * (same arrays, same scoring contract: s = Σ w_j·E_in[idx_j] with
 * `sequenceInput`'s weights, logits = s·E_out + bias), for catalogues of tens
 * of thousands of items and close to a million training prefixes:
 *
 * - sessions are encoded once as vocabulary indices; each example's input is
 *   read from that array with precomputed recency weights that equal
 *   `sequenceInput`'s bit for bit (no per-example slicing or Map lookups);
 * - negatives come from an alias table (O(1) per draw) over popularity^power;
 * - learning rate can decay linearly over the run;
 * - optional row-wise Adagrad (one accumulator per row) cuts the square roots
 *   per update by the embedding width;
 * - progress is reported within epochs, for progress bars.
 *
 * Pure code, deterministic for a seed: runs in Node and in workerd.
 */
import { RECENCY_DECAY, SEQ_LEN } from "../../models/inputs";
import { deriveSeed, Random } from "../synthetic/random";
import { coreBuffers, coreLoss } from "./core-loss";
import { modelVocab, type SessionModel, type TrainOptions } from "./session-model";

/** Where training is, for progress bars. */
export interface TrainProgress {
  epoch: number;
  epochs: number;
  /** Examples done in this epoch. */
  done: number;
  /** Examples per epoch. */
  total: number;
  /** Mean loss over the examples done in this epoch. */
  loss: number;
  /** Learning rate in use. */
  learningRate: number;
}

/** Options of {@link trainSessionModelFast}: those of `trainSessionModel` plus the ones below. */
export interface FastTrainOptions extends TrainOptions {
  /** Exponent of popularity in the negative-sampling distribution (default 0.75; 0 = uniform). */
  negativePower?: number;
  /** "linear" decays the learning rate to `minLearningRateShare` of its start over the run (default "constant"). */
  schedule?: "constant" | "linear";
  /** Final share of the learning rate under the linear schedule (default 0.05). */
  minLearningRateShare?: number;
  /** "adagrad": one accumulator per weight; "rowwise": one per row (default "adagrad"). */
  optimizer?: "adagrad" | "rowwise";
  /** Called every `progressEvery` examples and at the end of each epoch. */
  onProgress?: (p: TrainProgress) => void;
  /** Examples between progress calls (default 10,000). */
  progressEvery?: number;
  /**
   * "dot" (default): separate E_in / E_out tables and a per-item bias.
   * "core": CORE-style (Hou et al., SIGIR 2022): one table for both, session and
   * item vectors L2-normalised, logits = cosine / `temperature`, dropout on the
   * input and candidate rows, no bias; exported in the same serving contract
   * (E_in = E, E_out = normalised E / τ, bias 0), see {@link coreModelArrays}.
   */
  mode?: "dot" | "core";
  /** Softmax temperature τ of the "core" mode (default 0.07). */
  temperature?: number;
  /** Dropout rate on input and candidate rows in the "core" mode (default 0.2). */
  dropout?: number;
}

/** A trained model with the mean loss of every epoch. */
export interface FastSessionModel extends SessionModel {
  epochLosses: number[];
}

const PADDING_BIAS = -1e9;
const TOP_POPULAR = 200;
const INIT_SD = 0.1;
const ADAGRAD_INIT = 0.1;

/**
 * Trains on next-item prediction over every prefix of every session with
 * sampled softmax (logQ-corrected, accidental hits of the target dropped),
 * with Adagrad updates of the rows an example touches; see the module comment.
 */
export function trainSessionModelFast(sessions: readonly (readonly string[])[], opts: FastTrainOptions = {}): FastSessionModel {
  const dim = opts.dim ?? 32;
  const epochs = opts.epochs ?? 6;
  const negatives = opts.negatives ?? 32;
  const lr0 = opts.learningRate ?? 0.2;
  const l2 = opts.l2 ?? 1e-5;
  const power = opts.negativePower ?? 0.75;
  const minShare = opts.minLearningRateShare ?? 0.05;
  const rowwise = (opts.optimizer ?? "adagrad") === "rowwise";
  const progressEvery = opts.progressEvery ?? 10_000;
  const core = opts.mode === "core";
  const tau = opts.temperature ?? 0.07;
  const dropout = opts.dropout ?? 0.2;
  if (!(tau > 0)) throw new RangeError(`temperature must be positive, got ${tau}`);
  if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`dropout must be in [0, 1), got ${dropout}`);
  for (const [name, v] of [
    ["dim", dim],
    ["epochs", epochs],
    ["negatives", negatives],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  const rng = new Random(deriveSeed(opts.seed ?? 0, "session-model-fast"));

  const counts = new Map<string, number>();
  for (const seq of sessions) for (const id of seq) counts.set(id, (counts.get(id) ?? 0) + 1);
  const items = [...counts.keys()].sort();
  const vocab = modelVocab({ items });
  const size = items.length + 1;
  const count = new Float64Array(size);
  items.forEach((id, i) => (count[i + 1] = counts.get(id)!));
  const totalViews = count.reduce((a, c) => a + c, 0);

  // Sessions as one flat array of indices; one example per target position.
  const flat = new Int32Array(totalViews);
  const starts: number[] = [];
  const targets: number[] = [];
  let at = 0;
  for (const seq of sessions) {
    const start = at;
    for (let t = 0; t < seq.length; t++) {
      if (t > 0) starts.push(start), targets.push(at);
      flat[at++] = vocab.get(seq[t]!)!;
    }
  }
  const exStart = Int32Array.from(starts);
  const exTarget = Int32Array.from(targets);
  const order = Int32Array.from(exTarget.keys());
  const weights = recencyWeights();

  const embIn = new Float32Array(size * dim);
  // The "core" mode trains one table: E_out is E_in until export.
  const embOut = core ? embIn : new Float32Array(size * dim);
  const bias = new Float32Array(size);
  for (let i = dim; i < embIn.length; i++) embIn[i] = rng.normal(0, INIT_SD);
  if (!core) for (let i = dim; i < embOut.length; i++) embOut[i] = rng.normal(0, INIT_SD);
  if (!core) for (let i = 1; i < size; i++) bias[i] = Math.log((count[i]! + 1) / (totalViews + size));
  bias[0] = PADDING_BIAS;

  const sampler = aliasSampler(Array.from(count, (c, i) => (i === 0 ? 0 : c ** power)));
  const logExpected = Float64Array.from(count, (_, i) => (i === 0 ? 0 : Math.log(negatives * sampler.probability[i]!)));
  const accIn = new Float32Array(rowwise ? size : embIn.length).fill(ADAGRAD_INIT);
  const accOut = core ? accIn : new Float32Array(rowwise ? size : embOut.length).fill(ADAGRAD_INIT);
  const accBias = new Float32Array(size).fill(ADAGRAD_INIT);

  const s = new Float32Array(dim);
  const ds = new Float32Array(dim);
  const cand = new Int32Array(negatives + 1);
  const z = new Float64Array(negatives + 1);
  let lr = lr0;
  const cb = coreBuffers(dim, SEQ_LEN, negatives + 1);
  const keep = 1 - dropout;
  const inMask = dropout > 0 ? new Float32Array(SEQ_LEN * dim) : null;
  const outMask = dropout > 0 ? new Float32Array((negatives + 1) * dim) : null;
  const fillMask = (m: Float32Array, n: number): void => {
    for (let i = 0; i < n; i++) m[i] = rng.float() < keep ? 1 / keep : 0;
  };
  const grad = new Float32Array(dim);
  const coreExample = { idx: flat, from: 0, len: 0, w: weights[1]!, cand, count: negatives + 1, logQ: logExpected, skip: (k: number) => cand[k] === cand[0], inMask, outMask };
  /** One CORE step on example (from, len): loss, then Adagrad on the rows read (candidates first, then inputs). */
  const coreStep = (from: number, len: number, w: Float64Array): number => {
    coreExample.from = from;
    coreExample.len = len;
    coreExample.w = w;
    if (inMask) fillMask(inMask, len * dim);
    if (outMask) fillMask(outMask, (negatives + 1) * dim);
    const loss = coreLoss(embIn, tau, coreExample, cb);
    if (Number.isNaN(loss)) return 0;
    for (let k = 0; k <= negatives; k++) {
      if (cb.g[k] === 0) continue;
      grad.set(cb.gOut.subarray(k * dim, (k + 1) * dim));
      updateRow(embIn, accIn, cand[k]!, 1, grad);
    }
    for (let j = 0; j < len; j++) {
      grad.set(cb.gIn.subarray(j * dim, (j + 1) * dim));
      updateRow(embIn, accIn, flat[from + j]!, 1, grad);
    }
    return loss;
  };

  const updateRow = (emb: Float32Array, acc: Float32Array, r: number, scale: number, v: Float32Array): void => {
    const row = r * dim;
    if (rowwise) {
      let sq = 0;
      for (let d = 0; d < dim; d++) {
        const g = scale * v[d]! + l2 * emb[row + d]!;
        sq += g * g;
      }
      acc[r]! += sq / dim;
      const step = lr / Math.sqrt(acc[r]!);
      for (let d = 0; d < dim; d++) emb[row + d]! -= step * (scale * v[d]! + l2 * emb[row + d]!);
      return;
    }
    for (let d = 0; d < dim; d++) {
      const k = row + d;
      const g = scale * v[d]! + l2 * emb[k]!;
      acc[k]! += g * g;
      emb[k]! -= (lr * g) / Math.sqrt(acc[k]!);
    }
  };

  const total = order.length;
  const steps = epochs * total;
  const epochLosses: number[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    shuffle(order, rng);
    let lossSum = 0;
    for (let n = 0; n < total; n++) {
      if (opts.schedule === "linear") lr = lr0 * (1 - (1 - minShare) * (((epoch - 1) * total + n) / steps));
      const ex = order[n]!;
      const p = exTarget[ex]!;
      const len = Math.min(SEQ_LEN, p - exStart[ex]!);
      const w = weights[len]!;
      const from = p - len;
      if (core) {
        cand[0] = flat[p]!;
        for (let k = 1; k <= negatives; k++) cand[k] = sampler.sample(rng);
        lossSum += coreStep(from, len, w);
        if (opts.onProgress && (n + 1) % progressEvery === 0 && n + 1 < total) {
          opts.onProgress({ epoch, epochs, done: n + 1, total, loss: lossSum / (n + 1), learningRate: lr });
        }
        continue;
      }
      s.fill(0);
      for (let j = 0; j < len; j++) {
        const wj = w[j]!;
        const row = flat[from + j]! * dim;
        for (let d = 0; d < dim; d++) s[d]! += wj * embIn[row + d]!;
      }
      const target = flat[p]!;

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
        const row = c * dim;
        for (let d = 0; d < dim; d++) dot += s[d]! * embOut[row + d]!;
        z[k] = dot;
        if (dot > max) max = dot;
      }
      let sum = 0;
      for (let k = 0; k <= negatives; k++) sum += z[k] = Math.exp(z[k]! - max);
      lossSum -= Math.log(z[0]! / sum);

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
        updateRow(embOut, accOut, c, g, s);
        accBias[c]! += g * g;
        bias[c]! -= (lr * g) / Math.sqrt(accBias[c]!);
      }
      for (let j = 0; j < len; j++) updateRow(embIn, accIn, flat[from + j]!, w[j]!, ds);

      if (opts.onProgress && (n + 1) % progressEvery === 0 && n + 1 < total) {
        opts.onProgress({ epoch, epochs, done: n + 1, total, loss: lossSum / (n + 1), learningRate: lr });
      }
    }
    const loss = total > 0 ? lossSum / total : NaN;
    epochLosses.push(loss);
    opts.onProgress?.({ epoch, epochs, done: total, total, loss, learningRate: lr });
    opts.log?.(`epoch ${epoch}/${epochs} loss ${loss.toFixed(4)} (${total} prefixes)`);
  }

  const popularity = items
    .map((item_id) => ({ item_id, count: counts.get(item_id)! }))
    .sort((a, b) => b.count - a.count || (a.item_id < b.item_id ? -1 : 1))
    .slice(0, TOP_POPULAR);
  const arrays = core ? coreModelArrays(embIn, dim, tau) : { embIn, embOut, bias };
  return {
    items,
    dim,
    ...arrays,
    popularity,
    trainingWindow: opts.trainingWindow ?? null,
    epochs,
    finalLoss: epochLosses.at(-1) ?? NaN,
    epochLosses,
  };
}

/**
 * The serving arrays of a "core" table E: E_in = E (the session vector is not
 * normalised in the graph, which leaves the ranking unchanged), E_out = E's rows
 * normalised and divided by τ (the graph's scores are ‖s‖·cos/τ), bias 0 but padding.
 */
export function coreModelArrays(E: Float32Array, dim: number, tau: number): Pick<FastSessionModel, "embIn" | "embOut" | "bias"> {
  const rows = E.length / dim;
  const embIn = E.slice();
  embIn.fill(0, 0, dim);
  const embOut = new Float32Array(E.length);
  for (let r = 1; r < rows; r++) {
    let sq = 0;
    for (let d = 0; d < dim; d++) sq += E[r * dim + d]! ** 2;
    const scale = sq > 0 ? 1 / (Math.sqrt(sq) * tau) : 0;
    for (let d = 0; d < dim; d++) embOut[r * dim + d] = E[r * dim + d]! * scale;
  }
  const bias = new Float32Array(rows);
  bias[0] = PADDING_BIAS;
  return { embIn, embOut, bias };
}

/**
 * `weights[len][j]`: the weight `sequenceInput` gives the j-th (oldest first) of
 * `len` known items, computed in the same order so the values are identical.
 */
function recencyWeights(): Float64Array[] {
  const table: Float64Array[] = [new Float64Array(0)];
  for (let len = 1; len <= SEQ_LEN; len++) {
    const w = new Float64Array(len);
    let total = 0;
    for (let j = 0; j < len; j++) {
      w[j] = RECENCY_DECAY ** (len - 1 - j);
      total += w[j]!;
    }
    for (let j = 0; j < len; j++) w[j] = w[j]! / total;
    table.push(w);
  }
  return table;
}

function shuffle(a: Int32Array, rng: Random): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.float() * (i + 1));
    const tmp = a[i]!;
    a[i] = a[j]!;
    a[j] = tmp;
  }
}

/** Walker's alias method: O(1) draws from fixed weights. */
function aliasSampler(weights: readonly number[]): { sample(rng: Random): number; probability: Float64Array } {
  const n = weights.length;
  const total = weights.reduce((a, w) => a + w, 0);
  if (!(total > 0)) throw new RangeError("weights must have a positive sum");
  const probability = Float64Array.from(weights, (w) => w / total);
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  const scaled = Float64Array.from(probability, (p) => p * n);
  const small: number[] = [];
  const large: number[] = [];
  scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
  while (small.length > 0 && large.length > 0) {
    const l = small.pop()!;
    const g = large.pop()!;
    prob[l] = scaled[l]!;
    alias[l] = g;
    scaled[g] = scaled[g]! + scaled[l]! - 1;
    (scaled[g]! < 1 ? small : large).push(g);
  }
  // Leftovers are 1 up to rounding; a zero weight (padding) must never be drawn.
  const heaviest = probability.reduce((best, p, i) => (p > probability[best]! ? i : best), 0);
  for (const i of [...small, ...large]) {
    prob[i] = weights[i]! > 0 ? 1 : 0;
    alias[i] = heaviest;
  }
  return {
    probability,
    sample(rng) {
      const u = rng.float() * n;
      const i = Math.floor(u);
      return u - i < prob[i]! ? i : alias[i]!;
    },
  };
}
