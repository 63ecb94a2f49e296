import * as v from "valibot";

const ItemSchema = v.object({
  item_id: v.string(),
  name: v.optional(v.string()),
  category: v.optional(v.string()),
  price: v.optional(v.number()),
  currency: v.optional(v.string()),
  stock: v.optional(v.number()),
  hidden: v.optional(v.boolean()),
});
const CatalogSchema = v.object({ items: v.array(ItemSchema) });

/** One catalog item as recommendations need it. */
export type CatalogItem = v.InferOutput<typeof ItemSchema>;

/** A tenant's catalog, indexed by item id. */
export interface Catalog {
  byId: Map<string, CatalogItem>;
}

/** Parses `tenants/<tenant>/catalog.json` (`{ "items": [ … ] }`). */
export function parseCatalog(raw: unknown): Catalog {
  const parsed = v.safeParse(CatalogSchema, raw);
  if (!parsed.success) throw new Error(`catalog.json: ${v.summarize(parsed.issues).split("\n")[0]}`);
  return { byId: new Map(parsed.output.items.map((i) => [i.item_id, i])) };
}

/** R2 key of a tenant's catalog. */
export function catalogKey(tenant: string): string {
  return `tenants/${tenant}/catalog.json`;
}

/** True when an item may be shown: known to the catalog (if there is one), in stock and not hidden. */
export function isAvailable(catalog: Catalog | null, itemId: string): boolean {
  if (!catalog) return true;
  const item = catalog.byId.get(itemId);
  return item !== undefined && item.hidden !== true && (item.stock === undefined || item.stock > 0);
}
