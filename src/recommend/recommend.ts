import type { Catalog } from "../catalog/catalog";
import type { ServedFeatures } from "../contracts/queue";
import type { VariantParams } from "../experiments/config";
import type { ProfiledFeatures } from "../profile/profile";
import { type LoadedModel, scoreWithFamily } from "../models/families/index";
import type { FreshNeighbours } from "../models/ranker/fresh";
import { guardVisit, visitOrder } from "../models/ranker/visit-guard";
import type { RecoRequest } from "./params";
import { affinityShares, preferAffinity } from "./affinity";
import { type Scored, applyRules } from "./rules";

/** Why a list was not (fully) served by the model; stable codes. */
export type DegradedReason =
  | "no_model_configured"
  | "model_unavailable"
  | "model_error"
  | "features_unavailable"
  | "profile_unavailable"
  | "no_consent"
  | "cold_start"
  | "empty_cart"
  | "unknown_item"
  | "no_trending_data"
  | "no_candidates";

/** Everything a recommendation is computed from. */
export interface RecoInputs {
  request: RecoRequest;
  /** The visitor's feature values; `null` for a visitor with no session yet. */
  /** The session's features, with the profile's additions for a known person. */
  features: ProfiledFeatures | null;
  featuresFailed: boolean;
  /** The visitor is a known customer but the profile store failed or timed out: served from the session alone. */
  profileFailed?: boolean;
  /** No personalization consent: the list is not personalised (trending and popularity), and says so. */
  noConsent?: boolean;
  /** The variant's model, or why there is none. */
  model: LoadedModel | null;
  modelProblem: "no_model_configured" | "model_unavailable" | null;
  params: VariantParams;
  catalog: Catalog | null;
  trending: Scored[];
  /** The tenant's streaming co-visitation (design 0028), when the model reads it. */
  fresh?: FreshNeighbours | null;
  /** Records a named duration for Server-Timing. */
  time: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
}

/** A computed list and what produced it. */
export interface RecoResult {
  items: Scored[];
  degraded: DegradedReason | null;
  servedFeatures: ServedFeatures;
}

/**
 * Candidates from the model (or trending), then business rules, then backfill
 * from trending and the model's training popularity. Never throws for a
 * missing or failing model: the list falls back and says why in `degraded`.
 */
export async function recommend(x: RecoInputs): Promise<RecoResult> {
  const { request, features } = x;
  // The model was trained on within-visit sequences: prefer the current visit, else the visitor's history.
  const visitViewed = stringList(features?.visit_viewed_items);
  const lifetimeViewed = stringList(features?.last_viewed_items);
  const lastViewed = visitViewed.length > 0 ? visitViewed : lifetimeViewed;
  const cartItems = features?.cart?.items.map((l) => l.item_id) ?? [];
  const purchased = x.params.exclude_purchased ? stringList(features?.purchased_items) : [];
  const query = request.type === "similar" ? [request.item!] : request.type === "cart" ? cartItems : request.type === "personalized" ? lastViewed : [];
  const source =
    request.type === "personalized"
      ? { visit_viewed_items: visitViewed, last_viewed_items: lifetimeViewed }
      : request.type === "cart"
        ? { cart_items: cartItems }
        : request.type === "similar"
          ? { item: request.item }
          : {};
  const served: ServedFeatures = { source, item_idx: null, item_w: null };

  // "similar" uses only the item, never the visitor: it needs no consent.
  let degraded: DegradedReason | null =
    x.noConsent && request.type !== "similar" && request.type !== "trending" ? "no_consent" : x.featuresFailed ? "features_unavailable" : x.profileFailed ? "profile_unavailable" : null;
  let candidates: Scored[] = [];
  if (request.type !== "trending") {
    if (!x.model) degraded ??= x.modelProblem ?? "model_unavailable";
    else if (query.length === 0) degraded ??= request.type === "cart" ? "empty_cart" : "cold_start";
    else {
      const exclusions = request.exclude.size + cartItems.length + purchased.length + query.length;
      const want = Math.min(x.model.manifest.vocabulary.size, Math.max(50, 4 * request.k + exclusions), 1000);
      try {
        const scoring = await scoreWithFamily(x.model, { type: request.type, query, features, catalog: x.catalog, trending: trendingShares(x.trending), fresh: x.fresh ?? null, want, time: x.time });
        if (scoring.kind === "no_input") degraded ??= request.type === "similar" ? "unknown_item" : "cold_start";
        else {
          // The visit guard (design 0029), when the trainer turned it on: the visit's own items, in S-POP's
          // order, keep places in the page that the rules below would not drop for other reasons.
          const guard = request.type === "personalized" && x.model.ranker?.spec.visit_guard === true;
          const dropped = new Set([...request.exclude, ...cartItems, ...purchased]);
          candidates = guard ? guardVisit(scoring.items, visitOrder(query), request.k, (id) => dropped.has(id)) : scoring.items;
          served.item_idx = scoring.input?.item_idx ?? null;
          served.item_w = scoring.input?.item_w ?? null;
          if (scoring.input?.ranker) served.ranker = scoring.input.ranker;
        }
      } catch {
        degraded ??= "model_error";
      }
    }
  }

  const exclude = new Set([...request.exclude, ...cartItems, ...purchased, ...(request.type === "similar" ? query : [])]);
  const rules = { exclude, catalog: x.catalog, maxPerCategory: x.params.max_per_category, k: request.k };
  // A signed-in customer's long-term categories (from the profile store) lean the list, backfill included.
  const shares = request.type === "personalized" ? affinityShares(features?.long_term_affinity) : null;
  const lean = (list: readonly Scored[]) => preferAffinity(list, shares, x.catalog, x.params.profile_affinity_weight);
  const items = await x.time("rules", async () => {
    const ranked = applyRules(lean(candidates), rules);
    // Backfill (same rules) only when the list is short: a full list would come back unchanged.
    if (ranked.length >= rules.k) return ranked;
    const withTrending = applyRules(lean(x.trending), rules, ranked);
    if (withTrending.length >= rules.k) return withTrending;
    return applyRules(lean(popularOf(x.model)), rules, withTrending);
  });
  // "Popular now" has no data yet (a new shop, a fresh dev server): training popularity stood in.
  if (request.type === "trending" && x.trending.length === 0) degraded ??= "no_trending_data";
  if (items.length === 0) degraded ??= "no_candidates";
  return { items, degraded, servedFeatures: served };
}

// Per isolate, built once per model version and per trending list (the isolate caches both), not per request.
const popularLists = new WeakMap<object, readonly Scored[]>();
const trendingMaps = new WeakMap<readonly Scored[], Map<string, number> | null>();

/** The model's training popularity as a scored list (best first), the last backfill. */
function popularOf(model: LoadedModel | null): readonly Scored[] {
  if (!model) return [];
  let list = popularLists.get(model.manifest);
  if (!list) {
    const popular = model.manifest.popular ?? [];
    list = popular.map((item_id, i) => ({ item_id, score: popular.length - i }));
    popularLists.set(model.manifest, list);
  }
  return list;
}

/** Trending scores relative to the top item, or `null` when there is no trending data. */
function trendingShares(list: readonly Scored[]): Map<string, number> | null {
  let shares = trendingMaps.get(list);
  if (shares === undefined) {
    const top = list[0]?.score ?? 0;
    shares = top > 0 ? new Map(list.map((s) => [s.item_id, s.score / top])) : null;
    trendingMaps.set(list, shares);
  }
  return shares;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((x): x is string => typeof x === "string") : [];
}
