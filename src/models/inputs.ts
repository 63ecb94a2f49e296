/**
 * Model inputs built from feature values: shared by serving (the worker) and
 * training (offline), so the model sees at serving time exactly what it saw in
 * training. Pure code: no platform APIs.
 */

/** Positions of the item sequence a session model reads (the last 20 viewed items). */
export const SEQ_LEN = 20;
/** Recency decay per step back in the sequence: the latest item weighs 1, the one before 0.7, … */
export const RECENCY_DECAY = 0.7;

/** A sequence input: vocabulary indices (0 = padding) and weights that sum to 1 (or all 0). */
export interface SequenceInput {
  idx: number[];
  w: number[];
}

/**
 * Encodes the most recent `SEQ_LEN` known items of `items` (oldest first) as
 * right-aligned indices with recency weights normalised to sum 1. Items missing
 * from the vocabulary are skipped; an empty result has all-zero weights.
 */
export function sequenceInput(items: readonly string[], vocab: ReadonlyMap<string, number>, decay = RECENCY_DECAY): SequenceInput {
  const known: number[] = [];
  for (let i = items.length - 1; i >= 0 && known.length < SEQ_LEN; i--) {
    const ix = vocab.get(items[i]!);
    if (ix !== undefined) known.push(ix);
  }
  known.reverse(); // oldest first
  const idx = new Array<number>(SEQ_LEN).fill(0);
  const w = new Array<number>(SEQ_LEN).fill(0);
  let total = 0;
  for (let j = 0; j < known.length; j++) {
    const pos = SEQ_LEN - known.length + j;
    idx[pos] = known[j]!;
    w[pos] = decay ** (known.length - 1 - j);
    total += w[pos]!;
  }
  if (total > 0) for (let p = 0; p < SEQ_LEN; p++) w[p] = w[p]! / total;
  return { idx, w };
}

/** Equal weights over a set of items (a cart, or one item for "similar"). */
export function setInput(items: readonly string[], vocab: ReadonlyMap<string, number>): SequenceInput {
  return sequenceInput(items, vocab, 1);
}
