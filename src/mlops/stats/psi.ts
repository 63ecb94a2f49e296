/**
 * Population stability index between a reference histogram and an observed one
 * over the same bins: Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ), with shares aᵢ, eᵢ.
 * An empty bin on either side would make the sum infinite, so every share is
 * floored at `epsilon` (the usual 1e-4) before the sum.
 */
export function psi(expected: readonly number[], actual: readonly number[], epsilon = 1e-4): number {
  if (expected.length !== actual.length) throw new RangeError(`psi: ${expected.length} expected bins vs ${actual.length} actual bins`);
  const e = shares(expected);
  const a = shares(actual);
  if (!e || !a) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = Math.max(e[i]!, epsilon);
    const ai = Math.max(a[i]!, epsilon);
    sum += (ai - ei) * Math.log(ai / ei);
  }
  return sum;
}

/** Counts → shares summing to 1, or `null` for an empty histogram. */
export function shares(counts: readonly number[]): number[] | null {
  const total = counts.reduce((s, x) => s + x, 0);
  return total > 0 ? counts.map((x) => x / total) : null;
}

/**
 * The bin of `x` under `edges` (n + 1 ascending edges for n bins; the last bin
 * includes its upper edge, as the training histograms do), or `null` when x
 * lies outside [edges[0], edges[n]] or is not a finite number.
 */
export function binOf(x: number, edges: readonly number[]): number | null {
  const n = edges.length - 1;
  if (!Number.isFinite(x) || n < 1 || x < edges[0]! || x > edges[n]!) return null;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (x >= edges[mid]!) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
