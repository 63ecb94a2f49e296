/**
 * Candidate counts chosen per run: how many items each generator hands the
 * ranker. The lists were replayed with the declared (largest) counts; a
 * generator's top-k' is the first k' of its top-k, so cutting a replayed list is
 * exactly what serving would compute with k' — no second replay. The trained
 * ensemble scores every cut on the validation lists, and a generator keeps the
 * smallest count (0: switched off) that costs less than {@link CUT_TOLERANCE} of
 * HR@20 + MRR@20: fewer candidates are fewer feature rows and trees to run per
 * request, and a generator switched off is not run at all.
 * Offline code (Node).
 */
import { ABSENT_RANK, GENERATORS, type GeneratorName, type RankerMatrix, rankerColumn, selectColumns } from "../../models/ranker/features";
import { type TreeEnsemble, scoreEnsemble } from "../../models/ranker/trees";

/** A replayed list: every ranker feature of its candidates, and the row of the next item (−1: not a candidate). */
export interface ReplayedList {
  matrix: RankerMatrix;
  positive: number;
  /** Whether the next item was already viewed in the visit (a repeat target; else a new one). */
  repeat?: boolean;
}

/** What a cut may cost, in HR@20 + MRR@20 (fractions) on the validation lists. */
export const CUT_TOLERANCE = 0.001;
/** Counts tried per generator: the declared one, halved while at least this many. */
const MIN_COUNT = 10;

/** Outcome of the choice: counts per generator and the figures behind it (the manifest's `selection`). */
export interface CandidateCounts {
  counts: Record<GeneratorName, number>;
  /** Median candidates per list before and after. */
  candidates: { declared: number; chosen: number };
  metric: { declared: number; chosen: number };
  tried: Array<{ generator: GeneratorName; k: number; metric: number; candidates: number }>;
}

/**
 * Cuts every generator's entries ranked beyond `counts[g]`: the candidate
 * becomes absent for that generator (score 0, rank ABSENT_RANK, absent 1,
 * gen.count − 1), and a candidate no generator lists any more leaves the list.
 */
export function cutList(list: ReplayedList, counts: Partial<Record<GeneratorName, number>>): ReplayedList {
  const { candidates, width, values } = list.matrix;
  const genCount = rankerColumn("gen.count")!;
  const keep: number[] = [];
  const rows: Float32Array[] = [];
  for (let r = 0; r < candidates.length; r++) {
    const row = values.slice(r * width, (r + 1) * width);
    GENERATORS.forEach((g, gi) => {
      const k = counts[g];
      if (k === undefined || row[3 * gi + 2] === 1 || row[3 * gi + 1]! <= k) return;
      row[3 * gi] = 0;
      row[3 * gi + 1] = ABSENT_RANK;
      row[3 * gi + 2] = 1;
      row[genCount]! -= 1;
    });
    if (row[genCount]! > 0) keep.push(r), rows.push(row);
  }
  // The union lists candidates by the first generator (in GENERATORS order) that lists them, then by
  // that generator's rank: a candidate whose first lister was cut moves to where its next one puts it.
  const firstListed = (row: Float32Array) => {
    const gi = GENERATORS.findIndex((_, i) => row[3 * i + 2] === 0);
    return gi * (ABSENT_RANK + 1) + row[3 * gi + 1]!;
  };
  const order = rows.map((_, i) => i).sort((a, b) => firstListed(rows[a]!) - firstListed(rows[b]!) || a - b);
  const out = new Float32Array(keep.length * width);
  order.forEach((i, at) => out.set(rows[i]!, at * width));
  const kept = order.map((i) => keep[i]!);
  return { matrix: { candidates: kept.map((r) => candidates[r]!), width, values: out }, positive: kept.indexOf(list.positive), ...(list.repeat === undefined ? {} : { repeat: list.repeat }) };
}

/** HR@20 + MRR@20 of the ensemble over lists (a list without its next item is a miss), and the median list length. */
export function scoreLists(lists: readonly ReplayedList[], ensemble: TreeEnsemble, columns: readonly number[]): { metric: number; candidates: number } {
  let sum = 0;
  const lengths: number[] = [];
  for (const { matrix, positive } of lists) {
    lengths.push(matrix.candidates.length);
    if (positive < 0) continue;
    const scores = scoreEnsemble(ensemble, selectColumns(matrix, columns));
    let rank = 1;
    for (let r = 0; r < scores.length; r++) if (scores[r]! > scores[positive]! || (scores[r] === scores[positive] && r < positive)) rank++;
    if (rank <= 20) sum += 1 + 1 / rank;
  }
  lengths.sort((a, b) => a - b);
  return { metric: sum / Math.max(1, lists.length), candidates: lengths[lengths.length >> 1] ?? 0 };
}

/**
 * Chooses each generator's count, largest list first, keeping the others at
 * their current choice: the smallest of k, k/2, k/4, … (≥ MIN_COUNT), 0, whose
 * metric is within CUT_TOLERANCE of the declared counts'. Deterministic.
 */
export function chooseCandidateCounts(lists: readonly ReplayedList[], ensemble: TreeEnsemble, columns: readonly number[], declared: Record<GeneratorName, number>): CandidateCounts {
  const base = scoreLists(lists, ensemble, columns);
  const counts = { ...declared };
  const tried: CandidateCounts["tried"] = [];
  let current = base;
  const order = [...GENERATORS].filter((g) => declared[g] > 0).sort((a, b) => declared[b] - declared[a] || GENERATORS.indexOf(a) - GENERATORS.indexOf(b));
  for (const g of order) {
    // Halvings down to MIN_COUNT, then 0: a generator that does not pay for itself is switched off
    // (serving skips a generator whose count is 0 — the neural top-k is a third of a request's CPU).
    const ks: number[] = [];
    for (let k = Math.floor(declared[g] / 2); k >= MIN_COUNT; k = Math.floor(k / 2)) ks.push(k);
    ks.push(0);
    for (const k of ks) {
      const trial = { ...counts, [g]: k };
      const s = scoreLists(
        lists.map((l) => cutList(l, trial)),
        ensemble,
        columns,
      );
      tried.push({ generator: g, k, metric: s.metric, candidates: s.candidates });
      if (s.metric < base.metric - CUT_TOLERANCE) break;
      counts[g] = k;
      current = s;
    }
  }
  return { counts, candidates: { declared: base.candidates, chosen: current.candidates }, metric: { declared: base.metric, chosen: current.metric }, tried };
}
