/**
 * Seeded pseudo-random numbers for synthetic data and training. Pure code (no
 * `Math.random`, no platform APIs) so a seed reproduces the same catalog,
 * sessions and model in Node and in a worker.
 */

/** Mixes a 32-bit state (splitmix32): spreads nearby seeds such as 1, 2, 3 apart. */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Derives an independent seed for a named stream, so adding draws to one stream leaves the others unchanged. */
export function deriveSeed(seed: number, stream: string): number {
  let h = splitmix32(seed >>> 0);
  for (let i = 0; i < stream.length; i++) h = splitmix32(h ^ stream.charCodeAt(i));
  return h;
}

/** A seeded generator (sfc32: 128-bit state, passes PractRand far beyond what we draw). */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    this.a = splitmix32(seed);
    this.b = splitmix32(this.a);
    this.c = splitmix32(this.b);
    this.d = 1;
    // The first outputs of sfc32 are correlated with the seed: discard them.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** A normal draw (Box–Muller; the second value of each pair is kept for the next call). */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + sd * z;
    }
    const u = 1 - this.float(); // (0, 1]: log(0) would be -Infinity
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /** A log-normal draw whose median is `median`. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(this.normal(0, sigma));
  }

  /** Number of failures before the first success, each trial succeeding with probability `p`. */
  geometric(p: number): number {
    return Math.floor(Math.log(1 - this.float()) / Math.log(1 - p));
  }

  /** One element of a non-empty list, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[Math.floor(this.float() * items.length)]!;
  }

  /** One element of `items`, with probability proportional to `weights` (one-off draw: O(n)). */
  pickWeighted<T>(items: readonly T[], weights: readonly number[]): T {
    return items[weightedIndex(weights, this.float())]!;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1));
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }
}

function weightedIndex(weights: readonly number[], u: number): number {
  let total = 0;
  for (const w of weights) total += w;
  if (!(total > 0)) throw new RangeError("weights must have a positive sum");
  let target = u * total;
  for (let i = 0; i < weights.length; i++) {
    target -= weights[i]!;
    if (target < 0) return i;
  }
  return weights.length - 1; // rounding left a sliver at the end
}

/** Draws indices in proportion to fixed weights in O(log n): for repeated draws from one distribution. */
export interface WeightedSampler {
  /** Index of the drawn weight. */
  sample(rng: Random): number;
  /** Probability of drawing index `i`. */
  probability(i: number): number;
  readonly size: number;
}

/** Builds a sampler over `weights` (non-negative, positive sum) using a cumulative table and binary search. */
export function weightedSampler(weights: ArrayLike<number>): WeightedSampler {
  const cumulative = new Float64Array(weights.length);
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    if (!(w >= 0)) throw new RangeError(`weight ${i} is negative or NaN`);
    total += w;
    cumulative[i] = total;
  }
  if (!(total > 0)) throw new RangeError("weights must have a positive sum");
  return {
    size: weights.length,
    probability: (i) => (weights[i] ?? 0) / total,
    sample(rng) {
      const target = rng.float() * total;
      let lo = 0;
      let hi = cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid]! > target) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    },
  };
}

/** Zipf weight of 0-based rank `rank` with exponent `s`: 1 / (rank + 1)^s. */
export function zipfWeight(rank: number, s: number): number {
  return 1 / (rank + 1) ** s;
}

/** A sampler of ranks 0..n-1 following Zipf's law with exponent `s` (rank 0 is the most frequent). */
export function zipfSampler(n: number, s: number): WeightedSampler {
  return weightedSampler(Array.from({ length: n }, (_, r) => zipfWeight(r, s)));
}
