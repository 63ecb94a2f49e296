/**
 * Item-to-item co-occurrence (item-kNN) baseline: the neighbours of an item are
 * the items seen with it, weighted by a cosine-normalised count, and a session
 * is scored from its last item only. Stored as CSR typed arrays, like the
 * session-kNN index. Pure code: no platform APIs.
 */

/** Which pairs count: "session" = any two distinct items of a session; "next" = a click and the one after it. */
export type CooccurrenceMode = "session" | "next";

/** Options of {@link buildCooccurrence}. */
export interface CooccurrenceOptions {
  /** Default "session", as in the Item-KNN of the session-rec framework. */
  mode?: CooccurrenceMode;
  /** Neighbours kept per item, the best weighted (default 100). */
  maxNeighbours?: number;
  /**
   * Shrinkage λ in co(i,j) / (√(n_i · n_j) + λ): without it, two items seen
   * once, together, get the top weight 1 (session-rec's default is 20; here 0).
   */
  shrinkage?: number;
}

/** Co-occurrence neighbours: for item index i, `neighbours`/`weights` in `offsets[i]..offsets[i+1]`, best first. */
export interface CooccurrenceModel {
  items: string[];
  itemIndex: Map<string, number>;
  offsets: Int32Array;
  neighbours: Int32Array;
  weights: Float32Array;
}

/**
 * Counts, for each pair of items, the sessions (mode "session") or the
 * transitions (mode "next", directed i → j) they share, and keeps each item's
 * best neighbours by cos(i, j) = co(i, j) / (√(n_i · n_j) + λ), with n the
 * number of sessions containing the item.
 */
export function buildCooccurrence(sessions: readonly (readonly string[])[], opts: CooccurrenceOptions = {}): CooccurrenceModel {
  const mode = opts.mode ?? "session";
  const maxNeighbours = opts.maxNeighbours ?? 100;
  const shrinkage = opts.shrinkage ?? 0;
  const items: string[] = [];
  const itemIndex = new Map<string, number>();
  const coded = sessions.map((seq) =>
    seq.map((id) => {
      let ix = itemIndex.get(id);
      if (ix === undefined) itemIndex.set(id, (ix = items.push(id) - 1));
      return ix;
    }),
  );
  const n = items.length;
  const support = new Float64Array(n);
  const distinct = coded.map((seq) => [...new Set(seq)]);
  for (const set of distinct) for (const ix of set) support[ix]! += 1;

  // Pairs grouped by their first item in two passes (count, then fill), so memory is one Int32Array of partners.
  const emit = (visit: (a: number, b: number) => void): void => {
    for (let s = 0; s < coded.length; s++) {
      if (mode === "next") {
        const seq = coded[s]!;
        for (let t = 1; t < seq.length; t++) if (seq[t - 1] !== seq[t]) visit(seq[t - 1]!, seq[t]!);
      } else {
        const set = distinct[s]!;
        for (const a of set) for (const b of set) if (a !== b) visit(a, b);
      }
    }
  };
  const pairOffsets = new Int32Array(n + 1);
  emit((a) => pairOffsets[a + 1]!++);
  for (let i = 0; i < n; i++) pairOffsets[i + 1]! += pairOffsets[i]!;
  const partners = new Int32Array(pairOffsets[n]!);
  const fill = pairOffsets.slice(0, n);
  emit((a, b) => (partners[fill[a]!++] = b));

  const counts = new Float64Array(n);
  const offsets = new Int32Array(n + 1);
  const outNeighbours: number[] = [];
  const outWeights: number[] = [];
  for (let a = 0; a < n; a++) {
    const touched: number[] = [];
    for (let p = pairOffsets[a]!; p < pairOffsets[a + 1]!; p++) {
      const b = partners[p]!;
      if (counts[b] === 0) touched.push(b);
      counts[b]! += 1;
    }
    const weight = (b: number): number => counts[b]! / (Math.sqrt(support[a]! * support[b]!) + shrinkage);
    const best = touched.map((b) => ({ b, w: weight(b) })).sort((x, y) => y.w - x.w || support[y.b]! - support[x.b]! || x.b - y.b);
    for (const { b, w } of best.slice(0, maxNeighbours)) outNeighbours.push(b), outWeights.push(w);
    offsets[a + 1] = outNeighbours.length;
    for (const b of touched) counts[b] = 0;
  }
  return { items, itemIndex, offsets, neighbours: Int32Array.from(outNeighbours), weights: Float32Array.from(outWeights) };
}

/** Recommends the neighbours of the last known item of the prefix, best first. */
export function createCooccurrenceRecommender(model: CooccurrenceModel, name = "Item-KNN"): { name: string; recommend(prefix: readonly string[], k: number): string[] } {
  return {
    name,
    recommend(prefix, k) {
      for (let p = prefix.length - 1; p >= 0; p--) {
        const a = model.itemIndex.get(prefix[p]!);
        if (a === undefined) continue;
        const end = Math.min(model.offsets[a + 1]!, model.offsets[a]! + k);
        const out: string[] = [];
        for (let q = model.offsets[a]!; q < end; q++) out.push(model.items[model.neighbours[q]!]!);
        return out;
      }
      return [];
    },
  };
}

/**
 * Scores items for a session from the neighbours of its last `depth` distinct
 * items, the latest weighing 1, the one before `decay`, …; best first, ties to
 * the lower item index. The "item-kNN" candidate generator of a two-stage model.
 */
export function scoreCooccurrence(model: CooccurrenceModel, prefix: readonly string[], k: number, depth = 3, decay = 0.5): Array<{ item: string; score: number }> {
  const scores = new Map<number, number>();
  const used = new Set<number>();
  let weight = 1;
  for (let p = prefix.length - 1; p >= 0 && used.size < depth; p--) {
    const a = model.itemIndex.get(prefix[p]!);
    if (a === undefined || used.has(a)) continue;
    used.add(a);
    for (let q = model.offsets[a]!; q < model.offsets[a + 1]!; q++) {
      const b = model.neighbours[q]!;
      scores.set(b, (scores.get(b) ?? 0) + weight * model.weights[q]!);
    }
    weight *= decay;
  }
  return [...scores]
    .sort((x, y) => y[1] - x[1] || x[0] - y[0])
    .slice(0, k)
    .map(([b, score]) => ({ item: model.items[b]!, score }));
}

const COOC_MAGIC = 0x43574549; // "IEWC"

/** Binary form: header (magic, item count, neighbour count, name bytes), offsets, neighbours, weights, "\n"-joined ids. */
export function serializeCooccurrence(model: CooccurrenceModel): Uint8Array {
  const names = new TextEncoder().encode(model.items.join("\n"));
  const n = model.items.length;
  const m = model.neighbours.length;
  const out = new Uint8Array(16 + 4 * (n + 1) + 8 * m + names.byteLength);
  const view = new DataView(out.buffer);
  [COOC_MAGIC, n, m, names.byteLength].forEach((x, i) => view.setInt32(4 * i, x, true));
  let at = 16;
  for (const x of model.offsets) view.setInt32(at, x, true), (at += 4);
  for (const x of model.neighbours) view.setInt32(at, x, true), (at += 4);
  for (const x of model.weights) view.setFloat32(at, x, true), (at += 4);
  out.set(names, at);
  return out;
}

/** Loads {@link serializeCooccurrence} bytes. */
export function deserializeCooccurrence(bytes: Uint8Array): CooccurrenceModel {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 16 || view.getInt32(0, true) !== COOC_MAGIC) throw new RangeError("item-kNN index: bad magic");
  const [n, m, namesLen] = [view.getInt32(4, true), view.getInt32(8, true), view.getInt32(12, true)];
  if (bytes.byteLength !== 16 + 4 * (n + 1) + 8 * m + namesLen) throw new RangeError("item-kNN index: truncated");
  let at = 16;
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++, at += 4) offsets[i] = view.getInt32(at, true);
  const neighbours = new Int32Array(m);
  for (let i = 0; i < m; i++, at += 4) neighbours[i] = view.getInt32(at, true);
  const weights = new Float32Array(m);
  for (let i = 0; i < m; i++, at += 4) weights[i] = view.getFloat32(at, true);
  const text = new TextDecoder().decode(bytes.subarray(at, at + namesLen));
  const items = n === 0 ? [] : text.split("\n");
  return { items, itemIndex: new Map(items.map((id, i) => [id, i])), offsets, neighbours, weights };
}
