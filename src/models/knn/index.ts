/**
 * Session-kNN index: item → the sessions that contain it (most recent first),
 * session → its distinct items, and item popularity, all as flat typed arrays
 * (CSR layout) so the worker can load it from R2 bytes without parsing.
 * Pure code: no platform APIs.
 */

/**
 * A session-kNN index. Session ids are positions in the training order, so a
 * higher id is a more recent session; every per-item list is sorted by
 * descending id, which makes "the m most recent neighbours" a merge prefix.
 */
export interface KnnIndex {
  /** Vocabulary: index → item id. */
  items: string[];
  /** item id → index; derived from `items`, never serialized. */
  itemIndex: Map<string, number>;
  /** Number of training sessions (session ids are 0..sessionCount-1). */
  sessionCount: number;
  /** Clicks per item in the training sessions. */
  clicks: Int32Array;
  /** Sessions containing each item, before the cap: the IDF denominator. */
  sessionsWithItem: Int32Array;
  /** items.length + 1 offsets into `itemSessions`. */
  itemSessionOffsets: Int32Array;
  /** Per item, session ids (most recent first), at most `maxSessionsPerItem` each. */
  itemSessions: Int32Array;
  /** sessionCount + 1 offsets into `sessionItems`. */
  sessionItemOffsets: Int32Array;
  /** Per session, its distinct item indices in first-click order. */
  sessionItems: Int32Array;
}

/** Options of {@link buildIndex}. */
export interface BuildIndexOptions {
  /**
   * Sessions kept per item (the most recent). Popular items appear in tens of
   * thousands of sessions; neighbours are sampled among the most recent
   * anyway, so older entries only cost bytes (default 5,000).
   */
  maxSessionsPerItem?: number;
}

const MAGIC = 0x4e4b5745; // "EWKN" little-endian
const FORMAT_VERSION = 1;
const HEADER_WORDS = 8;

/** Builds the index from training sessions given oldest first (item ids in click order). */
export function buildIndex(sessions: readonly (readonly string[])[], opts: BuildIndexOptions = {}): KnnIndex {
  const cap = opts.maxSessionsPerItem ?? 5000;
  if (!(cap >= 1)) throw new RangeError(`maxSessionsPerItem must be ≥ 1, got ${cap}`);
  const items: string[] = [];
  const itemIndex = new Map<string, number>();
  const sessionItemOffsets = new Int32Array(sessions.length + 1);
  const distinct: number[] = [];
  const clicksList: number[] = [];
  const seenIn = new Map<number, number>(); // item → last session that listed it, for de-duplication

  sessions.forEach((seq, s) => {
    for (const id of seq) {
      let ix = itemIndex.get(id);
      if (ix === undefined) {
        // Ids are stored newline-separated; an id with a newline would corrupt the string table.
        if (id.includes("\n")) throw new RangeError(`item id contains a newline: ${JSON.stringify(id)}`);
        ix = items.length;
        items.push(id);
        itemIndex.set(id, ix);
        clicksList.push(0);
      }
      clicksList[ix]! += 1;
      if (seenIn.get(ix) !== s) {
        seenIn.set(ix, s);
        distinct.push(ix);
      }
    }
    sessionItemOffsets[s + 1] = distinct.length;
  });
  const sessionItems = Int32Array.from(distinct);
  const n = items.length;

  const sessionsWithItem = new Int32Array(n);
  for (const ix of sessionItems) sessionsWithItem[ix]! += 1;
  const itemSessionOffsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) itemSessionOffsets[i + 1] = itemSessionOffsets[i]! + Math.min(cap, sessionsWithItem[i]!);
  const itemSessions = new Int32Array(itemSessionOffsets[n]!);
  const fill = new Int32Array(n);
  // Walk sessions newest first so each item's list fills in recency order and the cap drops the oldest.
  for (let s = sessions.length - 1; s >= 0; s--) {
    for (let p = sessionItemOffsets[s]!; p < sessionItemOffsets[s + 1]!; p++) {
      const ix = sessionItems[p]!;
      const start = itemSessionOffsets[ix]!;
      if (start + fill[ix]! < itemSessionOffsets[ix + 1]!) itemSessions[start + fill[ix]!++] = s;
    }
  }
  return {
    items,
    itemIndex,
    sessionCount: sessions.length,
    clicks: Int32Array.from(clicksList),
    sessionsWithItem,
    itemSessionOffsets,
    itemSessions,
    sessionItemOffsets,
    sessionItems,
  };
}

function arraysOf(index: KnnIndex): Int32Array[] {
  return [index.clicks, index.sessionsWithItem, index.itemSessionOffsets, index.itemSessions, index.sessionItemOffsets, index.sessionItems];
}

/**
 * Binary form: a 32-byte header (magic, version, item count, session count,
 * the two CSR value lengths, string-table length), the six Int32 arrays in
 * little-endian order, then the item ids as UTF-8 joined by "\n". The arrays
 * come first so they stay 4-byte aligned and load as zero-copy views.
 */
export function serializeIndex(index: KnnIndex): Uint8Array {
  assertLittleEndian();
  const names = new TextEncoder().encode(index.items.join("\n"));
  const arrays = arraysOf(index);
  const arrayBytes = arrays.reduce((sum, a) => sum + a.byteLength, 0);
  const out = new Uint8Array(HEADER_WORDS * 4 + arrayBytes + names.byteLength);
  const header = new Int32Array(out.buffer, 0, HEADER_WORDS);
  header.set([MAGIC, FORMAT_VERSION, index.items.length, index.sessionCount, index.itemSessions.length, index.sessionItems.length, names.byteLength, 0]);
  let at = HEADER_WORDS * 4;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  }
  out.set(names, at);
  return out;
}

/**
 * Loads an index from {@link serializeIndex} bytes. The typed arrays are
 * views on `bytes` (copied once only if `bytes` is not 4-byte aligned), so
 * loading costs the id table and the id → index map, not the arrays.
 */
export function deserializeIndex(bytes: Uint8Array): KnnIndex {
  assertLittleEndian();
  if (bytes.byteLength < HEADER_WORDS * 4) throw new RangeError("knn index: truncated header");
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const buf = aligned.buffer;
  const base = aligned.byteOffset;
  const [magic, version, n, sessionCount, itemSessionsLen, sessionItemsLen, namesLen] = new Int32Array(buf, base, HEADER_WORDS);
  if (magic !== MAGIC) throw new RangeError("knn index: bad magic");
  if (version !== FORMAT_VERSION) throw new RangeError(`knn index: unsupported version ${version}`);
  const lengths = [n!, n!, n! + 1, itemSessionsLen!, sessionCount! + 1, sessionItemsLen!];
  const expected = HEADER_WORDS * 4 + lengths.reduce((s, l) => s + 4 * l, 0) + namesLen!;
  if (aligned.byteLength !== expected) throw new RangeError(`knn index: expected ${expected} bytes, got ${aligned.byteLength}`);
  let at = base + HEADER_WORDS * 4;
  const views = lengths.map((len) => {
    const view = new Int32Array(buf, at, len);
    at += 4 * len;
    return view;
  });
  const text = new TextDecoder().decode(new Uint8Array(buf, at, namesLen));
  const items = n === 0 ? [] : text.split("\n");
  if (items.length !== n) throw new RangeError(`knn index: expected ${n} item ids, got ${items.length}`);
  const [clicks, sessionsWithItem, itemSessionOffsets, itemSessions, sessionItemOffsets, sessionItems] = views as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
  return {
    items,
    itemIndex: new Map(items.map((id, i) => [id, i])),
    sessionCount: sessionCount!,
    clicks,
    sessionsWithItem,
    itemSessionOffsets,
    itemSessions,
    sessionItemOffsets,
    sessionItems,
  };
}

// Int32Array views use the host's byte order; every Workers and Node target is little-endian, but say so loudly if not.
function assertLittleEndian(): void {
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error("knn index: big-endian hosts are not supported");
}
