/**
 * One example of the CORE objective (Hou et al., SIGIR 2022, "CORE-ave" with our
 * recency weights), over a single item table E shared by input and output:
 *
 *   u   = Σ_j w_j · (m_j ⊙ E[idx_j])        (m: inverted-dropout masks, or 1)
 *   s   = u / ‖u‖
 *   z_k = s · n_k / τ − logQ_k,  n_k = (m_k ⊙ E[c_k]) / ‖m_k ⊙ E[c_k]‖
 *   loss = −log softmax(z)_0                  (candidate 0 is the target)
 *
 * Forward and backward by hand, into caller-owned buffers (no allocation per
 * example); `test/core-loss.unit.test.ts` checks the gradient by finite differences.
 * Pure code.
 */

/** Buffers of {@link coreLoss}, sized for `seqLen` inputs and `candidates` candidates of width `dim`. */
export interface CoreBuffers {
  dim: number;
  /** Gradient w.r.t. each input row, `seqLen × dim` (only the first `len` rows are written). */
  gIn: Float32Array;
  /** Gradient w.r.t. each candidate's row, `candidates × dim`; all zeros for a skipped candidate. */
  gOut: Float32Array;
  /** Per candidate: the softmax gradient p_k − y_k (0 for a skipped one). */
  g: Float64Array;
  u: Float64Array;
  s: Float64Array;
  ds: Float64Array;
  n: Float64Array;
  norms: Float64Array;
  z: Float64Array;
}

/** Allocates the buffers of {@link coreLoss}. */
export function coreBuffers(dim: number, seqLen: number, candidates: number): CoreBuffers {
  return {
    dim,
    gIn: new Float32Array(seqLen * dim),
    gOut: new Float32Array(candidates * dim),
    g: new Float64Array(candidates),
    u: new Float64Array(dim),
    s: new Float64Array(dim),
    ds: new Float64Array(dim),
    n: new Float64Array(candidates * dim),
    norms: new Float64Array(candidates),
    z: new Float64Array(candidates),
  };
}

/** One example's inputs: rows `idx[from..from+len)` weighted by `w`, scored against `cand[0..count)`. */
export interface CoreExample {
  idx: Int32Array;
  from: number;
  len: number;
  w: ArrayLike<number>;
  cand: Int32Array;
  count: number;
  /** Subtracted from each candidate's logit (logQ correction of sampled softmax); indexed by row. */
  logQ: ArrayLike<number> | null;
  /** Candidates k > 0 to leave out (accidental hits of the target). */
  skip: (k: number) => boolean;
  /** Inverted-dropout masks (0 or 1/(1−p)) of the inputs (`len × dim`) and candidates (`count × dim`); null = none. */
  inMask: Float32Array | null;
  outMask: Float32Array | null;
}

/**
 * Returns the example's loss and writes the gradients w.r.t. the rows it read
 * into `buf.gIn` / `buf.gOut`; NaN (no gradient) when the session vector is zero.
 */
export function coreLoss(E: Float32Array, tau: number, ex: CoreExample, buf: CoreBuffers): number {
  const { dim, gIn, gOut, g, u, s, ds, n, norms, z } = buf;
  const { idx, from, len, w, cand, count, logQ, inMask, outMask } = ex;
  u.fill(0);
  for (let j = 0; j < len; j++) {
    const wj = w[j]!;
    const row = idx[from + j]! * dim;
    const mo = j * dim;
    for (let d = 0; d < dim; d++) u[d]! += wj * (inMask ? inMask[mo + d]! : 1) * E[row + d]!;
  }
  let nu = 0;
  for (let d = 0; d < dim; d++) nu += u[d]! * u[d]!;
  nu = Math.sqrt(nu);
  if (!(nu > 0)) return NaN;
  for (let d = 0; d < dim; d++) s[d] = u[d]! / nu;

  let max = -Infinity;
  for (let k = 0; k < count; k++) {
    const c = cand[k]!;
    const o = k * dim;
    if (k > 0 && ex.skip(k)) {
      z[k] = -Infinity;
      continue;
    }
    const row = c * dim;
    let sq = 0;
    for (let d = 0; d < dim; d++) {
      const e = (outMask ? outMask[o + d]! : 1) * E[row + d]!;
      n[o + d] = e;
      sq += e * e;
    }
    const ne = Math.sqrt(sq);
    norms[k] = ne;
    let cos = 0;
    if (ne > 0) for (let d = 0; d < dim; d++) cos += s[d]! * (n[o + d] = n[o + d]! / ne);
    const zk = cos / tau - (logQ ? logQ[c]! : 0);
    z[k] = zk;
    if (zk > max) max = zk;
  }
  let sum = 0;
  for (let k = 0; k < count; k++) sum += z[k] = Math.exp(z[k]! - max);
  const loss = -Math.log(z[0]! / sum);

  // ∂loss/∂z_k = p_k − y_k; through the cosine: ∂/∂s = Σ g_k n_k / τ, ∂/∂n_k = g_k s / τ.
  ds.fill(0);
  for (let k = 0; k < count; k++) {
    const gk = z[k]! / sum - (k === 0 ? 1 : 0);
    g[k] = gk;
    const o = k * dim;
    if (gk === 0 || !(norms[k]! > 0)) {
      gOut.fill(0, o, o + dim);
      continue;
    }
    let cos = 0;
    for (let d = 0; d < dim; d++) cos += s[d]! * n[o + d]!;
    // v/‖v‖ back-propagates as (x − (x·n) n) / ‖v‖.
    const scale = gk / tau / norms[k]!;
    for (let d = 0; d < dim; d++) {
      ds[d]! += (gk / tau) * n[o + d]!;
      gOut[o + d] = scale * (s[d]! - cos * n[o + d]!) * (outMask ? outMask[o + d]! : 1);
    }
  }
  let dss = 0;
  for (let d = 0; d < dim; d++) dss += ds[d]! * s[d]!;
  for (let j = 0; j < len; j++) {
    const wj = w[j]!;
    const mo = j * dim;
    for (let d = 0; d < dim; d++) gIn[mo + d] = ((wj * (ds[d]! - dss * s[d]!)) / nu) * (inMask ? inMask[mo + d]! : 1);
  }
  return loss;
}
