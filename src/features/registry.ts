import { type FeatureDefinition, durationMs } from "./definition";
import { categoryAffinity } from "./definitions/affinity";
import { cart } from "./definitions/cart";
import { eventCountsOver, eventCountsSession, searchCount } from "./definitions/counts";
import { lastViewedItems, purchasedItems, viewedPriceBand, visitViewedItems } from "./definitions/items";
import { secondsSinceLastAddToCart, secondsSinceLastProductView } from "./definitions/recency";
import { sessionLength } from "./definitions/visit";
import { consentState, identity } from "./definitions/visitor";

/** Every feature the online store maintains, in output order. */
export const FEATURES = [
  eventCountsOver("5m"),
  eventCountsOver("1h"),
  eventCountsSession,
  secondsSinceLastProductView,
  secondsSinceLastAddToCart,
  lastViewedItems,
  visitViewedItems,
  purchasedItems,
  cart,
  categoryAffinity,
  sessionLength,
  viewedPriceBand,
  searchCount,
  consentState,
  identity,
] as const satisfies readonly FeatureDefinition[];

/** The materialised value of every feature, by name: inferred from the definitions, never written by hand. */
export type FeatureValues = { [D in (typeof FEATURES)[number] as D["name"]]: ReturnType<D["value"]> };

/** A feature's metadata without its code: for the API, manifests and docs. */
export interface FeatureSpec {
  name: string;
  version: number;
  entity: string;
  description: string;
  sources: readonly string[];
  aggregation: string;
  window: string;
  ttl: string;
}

/** Metadata of every registered feature. */
export function featureSpecs(defs: readonly FeatureDefinition[] = FEATURES): FeatureSpec[] {
  return defs.map(({ name, version, entity, description, sources, aggregation, window, ttl }) => ({
    name,
    version,
    entity,
    description,
    sources,
    aggregation,
    window,
    ttl,
  }));
}

/** Throws when two definitions share a name or a TTL does not parse: a programming error caught at start-up. */
export function assertValidRegistry(defs: readonly FeatureDefinition[]): void {
  const seen = new Set<string>();
  for (const d of defs) {
    if (seen.has(d.name)) throw new Error(`duplicate feature name ${d.name}`);
    seen.add(d.name);
    if (!(durationMs(d.ttl) > 0)) throw new Error(`feature ${d.name} has an invalid ttl ${d.ttl}`);
    if (!Number.isInteger(d.version) || d.version < 1) throw new Error(`feature ${d.name} needs an integer version ≥ 1`);
  }
}

assertValidRegistry(FEATURES);
