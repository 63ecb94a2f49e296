/**
 * Ranker features: one pure function, shared by serving (the worker's recommend
 * path over the SessionDO's features) and training (the offline replay), turns
 * (visitor features, candidate generator outputs, item data) into a fixed-width
 * row per candidate. Each ranker feature has a name and a version, like every
 * feature definition; a model's manifest lists the ones its ranker reads.
 * Pure code: no platform APIs.
 */
import type { Catalog } from "../../catalog/catalog";
import type { FeatureVector } from "../../features/engine";

/** Candidate generators of a two-stage model, in column order (`fresh`: streaming co-visitation, design 0028). */
export const GENERATORS = ["vsknn", "iknn", "session", "neural", "popular", "fresh"] as const;
export type GeneratorName = (typeof GENERATORS)[number];

/** One generator's list: items best first, with scores normalised so that its best item scores 1. */
export interface GeneratorOutput {
  items: readonly string[];
  scores: readonly number[];
}
export type GeneratorOutputs = Partial<Record<GeneratorName, GeneratorOutput>>;

/** What the ranker knows about items besides the visitor. */
export interface ItemData {
  /** Training clicks of an item (0 when unknown). */
  clicks: (item: string) => number;
  /** The shop's catalog (category, price), when there is one. */
  catalog: Catalog | null;
  /** Trending scores now, best = 1; `null` when there is no trending data. */
  trending: ReadonlyMap<string, number> | null;
}

/** Everything one list's ranker rows are computed from. */
export interface RankerInput {
  features: FeatureVector | null;
  generators: GeneratorOutputs;
  items: ItemData;
}

/** A ranker feature: stable name, version, meaning. */
export interface RankerFeature {
  name: string;
  version: number;
  description: string;
  /** The value that stands for "the data cannot provide this" (drift counts it as missing, not as a value). */
  missing?: number;
}

/** Rank given to a candidate a generator did not list (its "absent" indicator is 1 then). */
export const ABSENT_RANK = 1000;
/** Value of a feature the data cannot provide (no category, no price, no trending data). */
export const MISSING = -1;
/** Steps since the last view of a candidate never viewed in the visit. */
export const NEVER_VIEWED_STEPS = 100;

const perGenerator = GENERATORS.flatMap((g): RankerFeature[] => [
  { name: `gen.${g}.score`, version: 1, description: `${g}: score relative to its best item (0 when absent)` },
  { name: `gen.${g}.rank`, version: 1, description: `${g}: 1-based rank (${ABSENT_RANK} when absent)` },
  { name: `gen.${g}.absent`, version: 1, description: `${g}: 1 when the generator did not list the candidate` },
]);

/** Every ranker feature the worker computes, in column order. */
export const RANKER_FEATURES: readonly RankerFeature[] = [
  ...perGenerator,
  { name: "gen.count", version: 1, description: "number of generators that listed the candidate" },
  { name: "visit.count", version: 1, description: "views of the candidate in the visit (visit_viewed_items, else last_viewed_items)" },
  { name: "visit.steps_since_last", version: 1, description: `views since the candidate's last view (0 = the latest; ${NEVER_VIEWED_STEPS} = never)` },
  { name: "visit.is_last", version: 1, description: "1 when the candidate is the latest viewed item" },
  { name: "visit.length", version: 1, description: "views in the visit (up to 20)" },
  { name: "visit.distinct", version: 1, description: "distinct items viewed in the visit" },
  { name: "visitor.lifetime_count", version: 1, description: "views of the candidate among the visitor's last 20 (last_viewed_items)" },
  { name: "visitor.in_cart", version: 1, description: "1 when the candidate is in the cart" },
  { name: "visitor.purchased", version: 1, description: "1 when the visitor bought the candidate" },
  { name: "item.popularity", version: 1, description: "ln(1 + training clicks)" },
  { name: "item.trending", version: 1, description: `trending score relative to the top item (${MISSING}: no trending data)`, missing: MISSING },
  { name: "item.category_share", version: 1, description: `share of the candidate's category in category_affinity (${MISSING}: no category)`, missing: MISSING },
  { name: "item.price_ratio", version: 1, description: `price / median of viewed_price_band (${MISSING}: no price or band)`, missing: MISSING },
];

/** Visitor features the ranker features read (the manifest records their versions too). */
export const RANKER_SOURCE_FEATURES = ["visit_viewed_items", "last_viewed_items", "cart", "purchased_items", "category_affinity", "viewed_price_band"] as const;

const COLUMN = new Map(RANKER_FEATURES.map((f, i) => [f.name, i]));

/** Column index of a ranker feature, or `undefined` if the worker does not compute it. */
export function rankerColumn(name: string): number | undefined {
  return COLUMN.get(name);
}

/** Whether `x` is a missing value of ranker feature `name` (not logged, not a number, or the feature's "cannot provide" value). */
export function isMissingRankerValue(name: string, x: number | null | undefined): boolean {
  if (x === null || x === undefined || !Number.isFinite(x)) return true;
  const def = RANKER_FEATURES[COLUMN.get(name) ?? -1];
  return def?.missing !== undefined && x === def.missing;
}

/** The candidates of a list (in first-listed order) and their rows, `RANKER_FEATURES.length` values each. */
export interface RankerMatrix {
  candidates: string[];
  width: number;
  values: Float32Array;
}

/** The sequence a personalised list starts from: the visit's views, else the visitor's last views. */
export function sessionSequence(features: FeatureVector | null): string[] {
  const visit = stringList(features?.visit_viewed_items);
  return visit.length > 0 ? visit : stringList(features?.last_viewed_items);
}

// Column indices, resolved once (the hot path writes ~180 rows × 27 columns per list).
const col = (name: string): number => COLUMN.get(name)!;
const C = {
  genCount: col("gen.count"),
  count: col("visit.count"),
  steps: col("visit.steps_since_last"),
  last: col("visit.is_last"),
  length: col("visit.length"),
  distinct: col("visit.distinct"),
  lifetime: col("visitor.lifetime_count"),
  cart: col("visitor.in_cart"),
  bought: col("visitor.purchased"),
  popularity: col("item.popularity"),
  trending: col("item.trending"),
  category: col("item.category_share"),
  price: col("item.price_ratio"),
};

/**
 * Computes every ranker feature for the union of the generators' lists. The hot path of a
 * recommendation (design 0027): one row map, one pass per generator and one per candidate,
 * no per-candidate objects or closures.
 */
export function rankerFeatures(input: RankerInput): RankerMatrix {
  const { features, generators, items } = input;
  const width = RANKER_FEATURES.length;
  const candidates: string[] = [];
  const row = new Map<string, number>();
  for (let gi = 0; gi < GENERATORS.length; gi++) {
    const listed = generators[GENERATORS[gi]!]?.items;
    if (!listed) continue;
    for (let i = 0; i < listed.length; i++) {
      const item = listed[i]!;
      if (!row.has(item)) row.set(item, candidates.push(item) - 1);
    }
  }
  const n = candidates.length;
  const values = new Float32Array(n * width);
  for (let base = 0; base < n * width; base += width) {
    for (let gi = 0; gi < GENERATORS.length; gi++) {
      values[base + 3 * gi + 1] = ABSENT_RANK;
      values[base + 3 * gi + 2] = 1;
    }
  }
  for (let gi = 0; gi < GENERATORS.length; gi++) {
    const out = generators[GENERATORS[gi]!];
    if (!out) continue;
    const { items: listed, scores } = out;
    for (let rank = 0; rank < listed.length; rank++) {
      const base = row.get(listed[rank]!)! * width;
      if (values[base + 3 * gi + 2] === 0) continue; // listed twice: the first (best) entry counts
      values[base + 3 * gi] = scores[rank] ?? 0;
      values[base + 3 * gi + 1] = rank + 1;
      values[base + 3 * gi + 2] = 0;
      values[base + C.genCount]! += 1;
    }
  }

  const sequence = sessionSequence(features);
  const lifetime = stringList(features?.last_viewed_items);
  // Per viewed item: views in the sequence and steps since its last view (the latest view wins).
  const visit = new Map<string, { count: number; steps: number }>();
  for (let i = 0; i < sequence.length; i++) {
    const item = sequence[i]!;
    const steps = sequence.length - 1 - i;
    const seen = visit.get(item);
    if (seen) (seen.count += 1), (seen.steps = steps);
    else visit.set(item, { count: 1, steps });
  }
  const lifetimeCounts = countOf(lifetime);
  const cart = new Set(cartItems(features));
  const purchased = new Set(stringList(features?.purchased_items));
  const affinity = categoryShares(features?.category_affinity);
  const band = features?.viewed_price_band;
  const median = typeof band?.median === "number" && band.median > 0 ? band.median : null;
  const distinct = visit.size;
  const trending = items.trending;
  const byId = items.catalog?.byId;

  for (let r = 0; r < n; r++) {
    const item = candidates[r]!;
    const base = r * width;
    const viewed = visit.get(item);
    values[base + C.count] = viewed?.count ?? 0;
    values[base + C.steps] = viewed?.steps ?? NEVER_VIEWED_STEPS;
    values[base + C.last] = viewed?.steps === 0 ? 1 : 0;
    values[base + C.length] = sequence.length;
    values[base + C.distinct] = distinct;
    values[base + C.lifetime] = lifetime.length > 0 ? (lifetimeCounts.get(item) ?? 0) : 0;
    values[base + C.cart] = cart.size > 0 && cart.has(item) ? 1 : 0;
    values[base + C.bought] = purchased.size > 0 && purchased.has(item) ? 1 : 0;
    values[base + C.popularity] = Math.log1p(items.clicks(item));
    values[base + C.trending] = trending ? (trending.get(item) ?? 0) : MISSING;
    const entry = byId?.get(item);
    values[base + C.category] = entry?.category !== undefined && affinity ? (affinity.get(entry.category) ?? 0) : MISSING;
    values[base + C.price] = entry?.price !== undefined && median !== null ? entry.price / median : MISSING;
  }
  return { candidates, width, values };
}

/** The columns `columns` (indices into RANKER_FEATURES) of every row, in that order: the ranker's input. */
export function selectColumns(m: RankerMatrix, columns: readonly number[]): Float32Array {
  const n = m.candidates.length;
  const out = new Float32Array(n * columns.length);
  for (let r = 0; r < n; r++) for (let c = 0; c < columns.length; c++) out[r * columns.length + c] = m.values[r * m.width + columns[c]!]!;
  return out;
}

/**
 * One candidate's row over `columns` (the ranker's input order): what drift
 * monitoring compares with training. A non-finite value is `null` (JSON has no NaN).
 */
export function rankerRow(m: RankerMatrix, row: number, columns: readonly number[]): Array<number | null> {
  return columns.map((c) => {
    const x = m.values[row * m.width + c]!;
    return Number.isFinite(x) ? x : null;
  });
}

function countOf(items: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of items) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

function cartItems(features: FeatureVector | null): string[] {
  const lines = features?.cart?.items;
  return Array.isArray(lines) ? lines.flatMap((l: unknown) => (typeof (l as { item_id?: unknown })?.item_id === "string" ? [(l as { item_id: string }).item_id] : [])) : [];
}

/** category → share of the visitor's affinity (scores normalised to sum 1), or `null` without affinity. */
function categoryShares(value: unknown): Map<string, number> | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  const entries = value.flatMap((e: unknown) => {
    const c = e as { category?: unknown; score?: unknown };
    return typeof c?.category === "string" && typeof c.score === "number" && c.score > 0 ? [[c.category, c.score] as const] : [];
  });
  const total = entries.reduce((s, [, x]) => s + x, 0);
  return total > 0 ? new Map(entries.map(([c, x]) => [c, x / total])) : null;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((x): x is string => typeof x === "string") : [];
}
