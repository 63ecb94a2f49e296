import { DEFAULT_VARIANT_PARAMS } from "../../experiments/config";
import type { TrackedEvent } from "../../contracts/events";
import { type EngineOptions, type FeatureState, type FeatureVector, applyEvent, initialState, materialise } from "../../features/engine";
import type { Catalog } from "../../catalog/catalog";
import type { LoadedModel } from "../../models/loaded-model";
import { recommend } from "../../recommend/recommend";
import type { FreshStream } from "../train/fresh-replay";
import type { Recommender } from "./metrics";

const CLICK_GAP_MS = 60_000;
const START = Date.UTC(2020, 0, 1);

/**
 * The worker's own recommendation path as an offline `Recommender`: each prefix
 * is applied as product views through the feature engine (the SessionDO's code),
 * and the worker's `recommend` function ranks with the same model artifacts
 * (ONNX through onnxruntime) and business rules, for `type=personalized`.
 * Incremental per session: a prefix that extends the previous one reuses its state.
 */
export function servingPathRecommender(model: LoadedModel, opts: EngineOptions = { sessionGapMs: 1800 * 1000 }, catalog: Catalog | null = null, fresh: FreshStream | null = null): Recommender {
  const featuresOf = prefixFeatures(opts, catalog);
  const params = DEFAULT_VARIANT_PARAMS;
  return {
    name: `serving path (${model.id})`,
    // The fresh generator's state streams over the evaluated sessions as a FreshDO's would.
    ...(fresh ? { startSession: (session: readonly string[]) => fresh.startSession(session) } : {}),
    async recommend(prefix, k) {
      const features = featuresOf(prefix);
      const result = await recommend({
        request: { type: "personalized", k, exclude: new Set() },
        features,
        featuresFailed: false,
        model,
        modelProblem: null,
        params,
        catalog,
        trending: [],
        fresh: fresh?.after(prefix.length) ?? null,
        time: (_name, fn) => fn(),
      });
      return result.items.map((s) => s.item_id);
    },
  };
}

/**
 * The visitor's features after a prefix of product views, one minute apart,
 * folded by the feature engine (the SessionDO's code). Incremental: a prefix
 * that extends the previous one reuses its state.
 */
export function prefixFeatures(opts: EngineOptions = { sessionGapMs: 1800 * 1000 }, catalog: Catalog | null = null): (prefix: readonly string[]) => FeatureVector {
  let last: { prefix: string[]; state: FeatureState } = { prefix: [], state: initialState() };
  return (prefix) => {
    const extends_ = last.prefix.length < prefix.length && last.prefix.every((x, i) => x === prefix[i]);
    let state = extends_ ? last.state : initialState();
    for (let i = extends_ ? last.prefix.length : 0; i < prefix.length; i++) {
      state = applyEvent(state, productView(prefix[i]!, i, catalog), opts);
    }
    last = { prefix: [...prefix], state };
    return materialise(state, START + (prefix.length - 1) * CLICK_GAP_MS + 1000, opts);
  };
}

/** The `i`-th product view of a replayed session, one minute apart, with the catalog's category and price when known. */
export function productView(item: string, i: number, catalog: Catalog | null): TrackedEvent {
  const entry = catalog?.byId.get(item);
  const properties = { item_id: item, ...(entry?.category !== undefined ? { category: entry.category } : {}), ...(entry?.price !== undefined ? { price: entry.price } : {}) };
  return { id: String(i), type: "product_view", timestamp: START + i * CLICK_GAP_MS, properties } as TrackedEvent;
}

/** When the `i`-th replayed view happened (epoch ms). */
export function viewTime(i: number): number {
  return START + i * CLICK_GAP_MS;
}
