/**
 * The streaming co-visitation generator ("fresh", design 0028): items viewed
 * together in the same visit, counted as events arrive, so an item first seen
 * today gets neighbours within minutes instead of at the next retrain.
 *
 * One pure state, updated by one function (`observe`), used by both sides:
 * the queue consumer's sink feeds a tenant's FreshDO with it, and the offline
 * trainer streams the same state over its sessions in time order, so a ranker
 * learns on the values serving computes. Bounded by construction: at most
 * `max_items` items (least recently viewed dropped first), `neighbours` per item
 * (weakest dropped), `max_visitors` open visits (least recent dropped), and
 * weights halve every `half_life_s`. Pure code: no platform APIs.
 */
import type { GeneratorOutput } from "./features";

/** The state's bounds and how views pair up (the worker's FRESH_* settings; the manifest records what a ranker was trained with). */
export interface FreshStateOptions {
  /** Items kept per tenant; the least recently viewed is dropped first. */
  max_items: number;
  /** Neighbours kept per item; the weakest is dropped first. */
  neighbours: number;
  /** A view pairs with this many distinct items viewed before it in the visit (weight 1 / distance). */
  window: number;
  /** Co-visitation weights halve every this many seconds. */
  half_life_s: number;
  /** Views of one visitor further apart than this start a new visit. */
  visit_gap_s: number;
  /** Open visits kept (the visitor's last `window` items); the least recent is dropped first. */
  max_visitors: number;
}

export const FRESH_STATE_DEFAULTS: FreshStateOptions = { max_items: 5000, neighbours: 20, window: 5, half_life_s: 86_400, visit_gap_s: 1800, max_visitors: 10_000 };

/** One product view as the state sees it (`at`: epoch ms, the event's time — never ahead of its receipt). */
export interface FreshView {
  visitor: string;
  item: string;
  at: number;
}

/** One item's neighbours, in insertion order: `[neighbour, weight scaled to the state's reference time]`. */
export interface FreshItemRow {
  item: string;
  /** Order of the item's last view (higher = more recent): what the item cap drops by. */
  tick: number;
  neighbours: Array<[string, number]>;
}

/** One open visit: its last view (epoch ms), order (tick) and latest distinct items, oldest first. */
export interface FreshVisitRow {
  visitor: string;
  tick: number;
  last: number;
  items: string[];
}

/** What changed since the last `takeChanges()`: what a store persists. */
export interface FreshChanges {
  ref: number;
  tick: number;
  items: FreshItemRow[];
  removedItems: string[];
  visits: FreshVisitRow[];
  removedVisits: string[];
}

/** Neighbours per item, best first, as the generator reads them: a cached table in an isolate, the live state offline. */
export interface FreshNeighbours {
  get(item: string): { items: readonly string[]; weights: readonly number[] } | undefined;
}

/** The compact form a FreshDO hands to an isolate: ids once, then per item its neighbours' indices and weights. */
export interface FreshTable {
  items: string[];
  /** Item i's neighbours are `neighbours[offsets[i]..offsets[i+1])`, best first. */
  offsets: number[];
  neighbours: number[];
  weights: number[];
}

// Weights are stored scaled to a reference time so decay never rewrites every row:
// weight_now = stored × 2^(−(now − ref) / half-life). Rescale before the exponent loses precision.
const RESCALE_AFTER_HALF_LIVES = 30;

/** The co-visitation state of one tenant (see the module comment). */
export class CoVisitation {
  readonly options: FreshStateOptions;
  private readonly items = new Map<string, { tick: number; neighbours: Map<string, number> }>();
  private readonly visits = new Map<string, { tick: number; last: number; items: string[] }>();
  private ref: number | null = null;
  private tick = 0;
  private readonly dirtyItems = new Set<string>();
  private readonly removedItems = new Set<string>();
  private readonly dirtyVisits = new Set<string>();
  private readonly removedVisits = new Set<string>();

  constructor(options: FreshStateOptions = FRESH_STATE_DEFAULTS) {
    checkOptions(options);
    this.options = options;
  }

  /** Restores a persisted state (rows in any order; `tick` orders them). */
  static restore(options: FreshStateOptions, saved: { ref: number | null; tick: number; items: FreshItemRow[]; visits: FreshVisitRow[] }): CoVisitation {
    const s = new CoVisitation(options);
    s.ref = saved.ref;
    s.tick = saved.tick;
    for (const r of [...saved.items].sort((a, b) => a.tick - b.tick)) s.items.set(r.item, { tick: r.tick, neighbours: new Map(r.neighbours) });
    for (const v of [...saved.visits].sort((a, b) => a.tick - b.tick)) s.visits.set(v.visitor, { tick: v.tick, last: v.last, items: [...v.items] });
    return s;
  }

  get size(): { items: number; visits: number; pairs: number } {
    let pairs = 0;
    for (const e of this.items.values()) pairs += e.neighbours.size;
    return { items: this.items.size, visits: this.visits.size, pairs };
  }

  /**
   * Applies one product view: it pairs with the visit's latest distinct items (both
   * directions, weight 1 / distance). A repeat view of an item already in the window
   * adds nothing, so one visitor cannot inflate a pair by viewing it over and over.
   */
  observe(view: FreshView): void {
    const o = this.options;
    const at = view.at;
    this.ref ??= at;
    if ((at - this.ref) / (o.half_life_s * 1000) > RESCALE_AFTER_HALF_LIVES) this.rescale(at);
    const scale = 2 ** ((at - this.ref) / (o.half_life_s * 1000));

    const open = this.visits.get(view.visitor);
    const recent = open && at - open.last <= o.visit_gap_s * 1000 ? open.items : [];
    const seen = recent.includes(view.item);
    if (!seen) {
      for (let d = 1; d <= recent.length; d++) {
        const other = recent[recent.length - d]!;
        this.add(other, view.item, scale / d);
        this.add(view.item, other, scale / d);
      }
    }
    this.touchItem(view.item);
    const items = seen ? [...recent.filter((i) => i !== view.item), view.item] : [...recent, view.item].slice(-o.window);
    this.visits.delete(view.visitor);
    this.visits.set(view.visitor, { tick: ++this.tick, last: Math.max(at, open?.last ?? at), items });
    this.dirtyVisits.add(view.visitor);
    this.removedVisits.delete(view.visitor);
    this.enforceCaps(at);
  }

  /** Neighbours of every item, best first (weights at the reference time: only their ratios matter). */
  table(): FreshTable {
    const items = [...this.items.keys()];
    const index = new Map(items.map((item, i) => [item, i]));
    const offsets = [0];
    const neighbours: number[] = [];
    const weights: number[] = [];
    for (const item of items) {
      for (const [n, w] of this.ranked(item)) neighbours.push(index.get(n)!), weights.push(w);
      offsets.push(neighbours.length);
    }
    return { items, offsets, neighbours, weights };
  }

  /** The live state as the generator reads it: what `freshNeighbours(this.table())` would give, per item on demand. */
  lookup(): FreshNeighbours {
    return {
      get: (item) => {
        const ranked = this.ranked(item);
        return ranked.length > 0 ? { items: ranked.map(([n]) => n), weights: ranked.map(([, w]) => w) } : undefined;
      },
    };
  }

  /** An item's neighbours still in the state, best first, ties by id. */
  private ranked(item: string): Array<[string, number]> {
    const e = this.items.get(item);
    if (!e) return [];
    return [...e.neighbours].filter(([n]) => this.items.has(n)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  }

  /** What changed since the previous call (and forgets it). */
  takeChanges(): FreshChanges {
    const items = [...this.dirtyItems].flatMap((item) => {
      const e = this.items.get(item);
      return e ? [{ item, tick: e.tick, neighbours: [...e.neighbours] }] : [];
    });
    const visits = [...this.dirtyVisits].flatMap((visitor) => {
      const v = this.visits.get(visitor);
      return v ? [{ visitor, tick: v.tick, last: v.last, items: [...v.items] }] : [];
    });
    const out = { ref: this.ref ?? 0, tick: this.tick, items, removedItems: [...this.removedItems], visits, removedVisits: [...this.removedVisits] };
    for (const s of [this.dirtyItems, this.removedItems, this.dirtyVisits, this.removedVisits]) s.clear();
    return out;
  }

  private add(from: string, to: string, w: number): void {
    const e = this.touchItem(from, false);
    e.neighbours.set(to, (e.neighbours.get(to) ?? 0) + w);
    if (e.neighbours.size > this.options.neighbours) {
      let weakest: string | null = null;
      let min = Infinity;
      for (const [n, x] of e.neighbours) if (x < min) (min = x), (weakest = n);
      e.neighbours.delete(weakest!);
    }
    this.dirtyItems.add(from);
  }

  /** The item's entry, created if new; `recent` moves it to the most recently viewed end. */
  private touchItem(item: string, recent = true): { tick: number; neighbours: Map<string, number> } {
    let e = this.items.get(item);
    if (!e) {
      e = { tick: ++this.tick, neighbours: new Map() };
      this.items.set(item, e);
    } else if (recent) {
      this.items.delete(item);
      e.tick = ++this.tick;
      this.items.set(item, e);
    }
    this.dirtyItems.add(item);
    this.removedItems.delete(item);
    return e;
  }

  private enforceCaps(now: number): void {
    // Maps keep insertion order and every touch re-inserts: the first key is the least recent.
    while (this.items.size > this.options.max_items) {
      const oldest = this.items.keys().next().value!;
      this.items.delete(oldest);
      this.dirtyItems.delete(oldest);
      this.removedItems.add(oldest);
    }
    // Visits ended a visit gap ago are forgotten (they would start afresh anyway): no visitor's items outlive it.
    for (const [visitor, v] of this.visits) {
      if (this.visits.size <= this.options.max_visitors && now - v.last <= this.options.visit_gap_s * 1000) break;
      this.visits.delete(visitor);
      this.dirtyVisits.delete(visitor);
      this.removedVisits.add(visitor);
    }
  }

  private rescale(at: number): void {
    const factor = 2 ** (-(at - this.ref!) / (this.options.half_life_s * 1000));
    for (const [item, e] of this.items) {
      for (const [n, w] of e.neighbours) {
        const x = w * factor;
        if (x < 1e-9) e.neighbours.delete(n);
        else e.neighbours.set(n, x);
      }
      this.dirtyItems.add(item);
    }
    this.ref = at;
  }
}

/** Refuses options that would make the state unbounded or meaningless. */
export function checkOptions(o: FreshStateOptions): void {
  for (const [k, x] of Object.entries(o)) {
    if (!Number.isInteger(x) || x < 1) throw new RangeError(`fresh state option ${k} must be a positive integer (got ${x})`);
  }
}

/** The request path's lookup form of a table. */
export function freshNeighbours(t: FreshTable): FreshNeighbours {
  const out = new Map<string, { items: string[]; weights: number[] }>();
  t.items.forEach((item, i) => {
    const from = t.offsets[i]!;
    const to = t.offsets[i + 1]!;
    if (to > from) out.set(item, { items: t.neighbours.slice(from, to).map((n) => t.items[n]!), weights: t.weights.slice(from, to) });
  });
  return out;
}

/**
 * The generator: neighbours of the visit's last `depth` distinct items (the latest
 * weighs 1, each earlier one `decay` times the next), summed, best `k` first, scores
 * relative to the best. Ties by item id, so serving and training agree.
 *
 * `excludeViewed` leaves out the visit's own items (versions trained since design 0029
 * declare it). The visit's own views pair only its own items with each other, and they
 * reach a FreshDO's table seconds to a minute late (queue batching, the per-isolate
 * cache), while the trainer's replay sees them at once: scores of the visit's own items
 * would be learnt on a signal serving mostly lacks. Without them, the list is the same
 * whether or not the visit's latest views have arrived.
 */
export function scoreFresh(table: FreshNeighbours, sequence: readonly string[], k: number, depth: number, decay: number, excludeViewed = false): GeneratorOutput {
  const scores = new Map<string, number>();
  const used = new Set<string>();
  let weight = 1;
  for (let p = sequence.length - 1; p >= 0 && used.size < depth; p--) {
    const a = sequence[p]!;
    if (used.has(a)) continue;
    used.add(a);
    const row = table.get(a);
    if (row) row.items.forEach((b, i) => scores.set(b, (scores.get(b) ?? 0) + weight * row.weights[i]!));
    weight *= decay;
  }
  if (excludeViewed) for (const item of sequence) scores.delete(item);
  const ranked = [...scores].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).slice(0, k);
  const top = ranked[0]?.[1] ?? 0;
  return { items: ranked.map(([i]) => i), scores: ranked.map(([, s]) => (top > 0 ? s / top : 0)) };
}
