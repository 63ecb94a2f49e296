import { type Catalog, isAvailable } from "../catalog/catalog";

/** A scored candidate. */
export interface Scored {
  item_id: string;
  score: number;
}

/** Business rules applied after scoring. */
export interface RuleSet {
  /** Items never shown: the query items, the cart, purchases (per variant), the request's exclude list. */
  exclude: ReadonlySet<string>;
  catalog: Catalog | null;
  /** At most this many items per category (0: no limit). Needs a catalog to know categories. */
  maxPerCategory: number;
  k: number;
}

/**
 * Filters ranked candidates through the business rules and keeps the first `k`:
 * exclusions, availability (in stock, not hidden, known to the catalog), and a
 * per-category cap for diversity. Order is preserved; each item appears once.
 */
export function applyRules(ranked: Iterable<Scored>, rules: RuleSet, already: Scored[] = []): Scored[] {
  const out = [...already];
  const seen = new Set(out.map((s) => s.item_id));
  const perCategory = new Map<string, number>();
  for (const s of out) bump(perCategory, categoryOf(rules.catalog, s.item_id));
  for (const candidate of ranked) {
    if (out.length >= rules.k) break;
    const id = candidate.item_id;
    if (seen.has(id) || rules.exclude.has(id) || !isAvailable(rules.catalog, id)) continue;
    const category = categoryOf(rules.catalog, id);
    if (rules.maxPerCategory > 0 && category !== undefined && (perCategory.get(category) ?? 0) >= rules.maxPerCategory) continue;
    bump(perCategory, category);
    seen.add(id);
    out.push(candidate);
  }
  return out;
}

function categoryOf(catalog: Catalog | null, id: string): string | undefined {
  return catalog?.byId.get(id)?.category;
}

function bump(counts: Map<string, number>, key: string | undefined): void {
  if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1);
}
