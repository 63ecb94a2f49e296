/**
 * Synthetic shopping sessions over a synthetic catalog, as TrackedEvents. The
 * behaviour has the structure a session model should find: a category intent,
 * popularity skew, moves to stylistically related items, re-views, and a
 * cart → purchase funnel. Deterministic for a seed; pure code.
 */
import type { EventType, PurchaseItem, TrackedEvent, TrackedEventOf } from "../../contracts/events";
import type { Catalog, CatalogItem } from "./catalog";
import { deriveSeed, Random, weightedSampler, type WeightedSampler } from "./random";

/** One visit of one visitor: its events in time order. */
export interface SyntheticSession {
  visitor: string;
  events: TrackedEvent[];
}

/** Options of {@link generateSessions}. */
export interface SessionOptions {
  /** Number of sessions (default 20000). */
  sessions?: number;
  /** Start of the 30-day period the sessions are spread over, epoch ms (default 2026-05-01T00:00Z). */
  start?: number;
}

const DAY_MS = 86_400_000;
const PERIOD_DAYS = 30;
/** Related items per item: its nearest neighbours in style within its category. */
const RELATED = 6;
/** What the next product view is, given the current one (the rest: a popular item of the intent category). */
const P_REVIEW = 0.15;
const P_RELATED = 0.55;
const P_GLOBAL = 0.07;
const P_SECOND_INTENT = 0.25;
const P_ADD_TO_CART = 0.08;
const P_REMOVE = 0.03;
const P_PURCHASE = 0.3;
/** Views per session: 2 + geometric, capped at 30 (mean about 7). */
const P_STOP = 0.17;
const MAX_VIEWS = 30;

/** An event before it gets its id and timestamp (one member per event type, so properties match the type). */
type EventDraft = { [T in EventType]: Omit<TrackedEventOf<T>, "id" | "timestamp"> }[EventType];

/** Samplers built once per catalog: items by popularity, overall and per category, and related lists. */
interface Browsing {
  visible: CatalogItem[];
  global: WeightedSampler;
  categories: string[];
  categoryPick: WeightedSampler;
  byCategory: Map<string, { items: CatalogItem[]; sampler: WeightedSampler }>;
  related: Map<string, CatalogItem[]>;
}

/**
 * Generates `opts.sessions` sessions spread over 30 days from `opts.start`,
 * returned in start-time order. Event ids, order ids and visitor ids are
 * unique strings derived from the seed's stream, not random UUIDs, so runs
 * are reproducible.
 */
export function generateSessions(catalog: Catalog, seed: number, opts: SessionOptions = {}): SyntheticSession[] {
  const count = opts.sessions ?? 20000;
  const start = opts.start ?? Date.UTC(2026, 4, 1);
  const rng = new Random(deriveSeed(seed, "sessions"));
  const browsing = prepare(catalog);
  // Returning visitors: a Zipf-ish pool smaller than the number of sessions.
  const visitorPick = weightedSampler(Array.from({ length: Math.ceil(count * 0.6) }, (_, r) => 1 / (r + 1) ** 0.6));

  const starts = Array.from({ length: count }, () => start + Math.floor(rng.float() * PERIOD_DAYS * DAY_MS)).sort((a, b) => a - b);
  return starts.map((t0, s) => {
    const visitor = `v-${String(visitorPick.sample(rng) + 1).padStart(6, "0")}`;
    return { visitor, events: browse(rng, browsing, t0, `s${s.toString(36)}`) };
  });
}

function prepare(catalog: Catalog): Browsing {
  const visible = catalog.items.filter((it) => !it.hidden);
  if (visible.length === 0) throw new RangeError("the catalog has no visible items");
  const byCategory = new Map<string, { items: CatalogItem[]; sampler: WeightedSampler }>();
  for (const cat of catalog.categories) {
    const items = visible.filter((it) => it.category === cat);
    if (items.length > 0) byCategory.set(cat, { items, sampler: weightedSampler(items.map((it) => it.popularity)) });
  }
  const categories = [...byCategory.keys()];
  // Shoppers pick a category less skewed than its items' total popularity: sqrt flattens it.
  const categoryPick = weightedSampler(categories.map((c) => Math.sqrt(byCategory.get(c)!.items.reduce((a, it) => a + it.popularity, 0))));
  const related = new Map<string, CatalogItem[]>();
  for (const { items } of byCategory.values()) {
    for (const it of items) {
      const nearest = items
        .filter((o) => o !== it)
        .map((o) => ({ o, d: torusDistance(it.style, o.style) }))
        .sort((a, b) => a.d - b.d || (a.o.item_id < b.o.item_id ? -1 : 1))
        .slice(0, RELATED)
        .map((x) => x.o);
      related.set(it.item_id, nearest);
    }
  }
  return { visible, global: weightedSampler(visible.map((it) => it.popularity)), categories, categoryPick, byCategory, related };
}

function torusDistance(a: readonly [number, number], b: readonly [number, number]): number {
  const dx = Math.min(Math.abs(a[0] - b[0]), 1 - Math.abs(a[0] - b[0]));
  const dy = Math.min(Math.abs(a[1] - b[1]), 1 - Math.abs(a[1] - b[1]));
  return Math.hypot(dx, dy);
}

/** One session's events, starting at `t0`; `key` makes event and order ids unique. */
function browse(rng: Random, b: Browsing, t0: number, key: string): TrackedEvent[] {
  const events: TrackedEvent[] = [];
  let t = t0;
  const emit = (e: EventDraft): void => {
    events.push({ id: `evt-${key}-${events.length}`, timestamp: t, ...e });
    // A few seconds to a few minutes between events, always inside the 30-minute visit gap.
    t += Math.round(Math.min(10 * 60_000, Math.max(2_000, rng.logNormal(25_000, 1))));
  };

  let intent = b.categories[b.categoryPick.sample(rng)]!;
  const second = rng.chance(P_SECOND_INTENT) ? b.categories[b.categoryPick.sample(rng)]! : null;
  const views = Math.min(MAX_VIEWS, 2 + rng.geometric(P_STOP));
  const switchAt = second ? rng.int(1, Math.max(1, views - 1)) : -1;
  if (rng.chance(0.3)) emit({ type: "search", properties: { query: searchQuery(rng, b, intent), results_count: rng.int(3, 120) } });
  else if (rng.chance(0.6)) emit({ type: "page_view", properties: { path: `/c/${intent}`, page_type: "category" } });

  const seen: CatalogItem[] = [];
  const cart = new Map<string, PurchaseItem>();
  let current: CatalogItem | null = null;
  for (let v = 0; v < views; v++) {
    if (v === switchAt && second) {
      intent = second;
      current = null; // a new intent starts from that category's popular items
      if (rng.chance(0.5)) emit({ type: "search", properties: { query: searchQuery(rng, b, intent), results_count: rng.int(3, 120) } });
    }
    current = nextItem(rng, b, intent, current, seen);
    seen.push(current);
    const { item_id, category, price, currency } = current;
    emit({ type: "product_view", properties: { item_id, category, price, currency } });
    if (current.stock > 0 && rng.chance(P_ADD_TO_CART)) {
      const quantity = rng.chance(0.85) ? 1 : 2;
      emit({ type: "add_to_cart", properties: { item_id, quantity, price, currency, category } });
      const line = cart.get(item_id);
      cart.set(item_id, { item_id, quantity: (line?.quantity ?? 0) + quantity, price, category });
    } else if (cart.size > 0 && rng.chance(P_REMOVE)) {
      const removed = rng.pick([...cart.keys()]);
      cart.delete(removed);
      emit({ type: "remove_from_cart", properties: { item_id: removed } });
    }
  }
  if (cart.size > 0 && rng.chance(P_PURCHASE)) {
    const items = [...cart.values()];
    const total = Math.round(items.reduce((a, l) => a + (l.price ?? 0) * l.quantity, 0) * 100) / 100;
    emit({ type: "page_view", properties: { path: "/checkout", page_type: "checkout" } });
    emit({ type: "purchase", properties: { order_id: `ord-${key}`, items, currency: "EUR", total } });
  }
  return events;
}

function nextItem(rng: Random, b: Browsing, intent: string, current: CatalogItem | null, seen: readonly CatalogItem[]): CatalogItem {
  const inIntent = b.byCategory.get(intent)!;
  const popularInIntent = (): CatalogItem => inIntent.items[inIntent.sampler.sample(rng)]!;
  if (current === null) return popularInIntent();
  const u = rng.float();
  if (u < P_REVIEW && seen.length > 1) {
    // Back to one of the last few items, not the one on screen.
    const recent = seen.slice(-5).filter((it) => it !== current);
    if (recent.length > 0) return rng.pick(recent);
  }
  if (u < P_REVIEW + P_RELATED) {
    const related = b.related.get(current.item_id) ?? [];
    // Nearer neighbours are likelier; popularity tilts the choice a little.
    if (related.length > 0)
      return rng.pickWeighted(
        related,
        related.map((it, r) => it.popularity ** 0.2 / (r + 1)),
      );
  }
  if (u < P_REVIEW + P_RELATED + P_GLOBAL) return b.visible[b.global.sample(rng)]!;
  return popularInIntent();
}

function searchQuery(rng: Random, b: Browsing, category: string): string {
  const example = rng.pick(b.byCategory.get(category)!.items);
  // Shoppers type a word or two of a product name, in lower case.
  const words = example.name
    .replace(/ – .*$/, "")
    .toLowerCase()
    .split(" ");
  return words.slice(Math.max(0, words.length - rng.int(1, 2))).join(" ");
}

/** The product-view item ids of each session, in order: the input of session-model training and evaluation. */
export function viewSequences(sessions: readonly SyntheticSession[]): string[][] {
  return sessions.map((s) => s.events.flatMap((e) => (e.type === "product_view" ? [e.properties.item_id] : [])));
}
