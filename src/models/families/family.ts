/**
 * The contract every model family meets (docs/design/0017): which artifacts a
 * version of it reads, how they load into something that scores, and how a
 * request is scored. The recommend path and both loaders (R2 in the worker, a
 * folder in Node) speak only this contract, so a new family is one file in this
 * folder plus a line in `index.ts` — never an edit to the recommend path.
 */
import type { Catalog } from "../../catalog/catalog";
import type { FeatureVector } from "../../features/engine";
import type { Manifest } from "../manifest";
import type { OrtSession } from "../ort-session";
import type { FreshNeighbours, FreshStateOptions } from "../ranker/fresh";

/** A candidate and its score (higher is better). */
export interface ScoredItem {
  item_id: string;
  score: number;
}

/** Records a named duration for Server-Timing (or runs `fn` as is offline). */
export type Timer = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/** Where a version's artifacts come from: checksum-verified bytes and an ONNX session factory (worker or Node). */
export interface ArtifactSources {
  read: (file: string) => Promise<Uint8Array>;
  createSession: (bytes: Uint8Array) => Promise<OrtSession>;
}

/** What a family is asked to score: the request's kind and query items, the visitor's features, item data. */
export interface ScoreQuery {
  type: "personalized" | "similar" | "cart";
  /** The items the list is about, oldest first: the visit's views, the cart, or the one item. */
  query: readonly string[];
  features: FeatureVector | null;
  catalog: Catalog | null;
  /** Trending scores relative to the top item, or `null` without trending data. */
  trending: ReadonlyMap<string, number> | null;
  /** The tenant's streaming co-visitation now (design 0028), when the model's ranker declares the `fresh` generator. */
  fresh?: FreshNeighbours | null;
  /** How many candidates the rules need to fill the list after exclusions. */
  want: number;
  time: Timer;
}

/** The input a model was fed, logged with the served list for drift monitoring (`null`: not a sequence model). */
export interface ServedInput {
  item_idx: number[];
  item_w: number[];
  /**
   * When a ranker ranked the list: its input row (manifest order) of the candidate it put
   * first, before business rules — what drift compares with the manifest's ranker baselines.
   */
  ranker?: Array<number | null>;
}

/** A scoring outcome: ranked candidates, or why the model had nothing to read. */
export type Scoring = { kind: "scored"; items: ScoredItem[]; input: ServedInput | null } | { kind: "no_input" };

/** A loaded version of some family: what every family shares. */
export interface LoadedBase {
  /** `name/version` */
  id: string;
  manifest: Manifest;
}

/** A model family: its artifacts, its loader and its scorer. */
export interface ModelFamily<M extends LoadedBase> {
  /** Files of a version beyond `manifest.json` (each must have a checksum in the manifest). */
  artifacts(manifest: Manifest): string[];
  /** Loads a checked manifest's artifacts; faults are `ModelLoadError`s. */
  load(manifest: Manifest, sources: ArtifactSources): Promise<M>;
  /** The co-visitation bounds a version reads the tenant's fresh state with, or `null` when it does not read it. */
  freshState?(model: M): FreshStateOptions | null;
  /** Scores one request; throws only for an inference fault (the caller degrades to `model_error`). */
  score(model: M, q: ScoreQuery): Promise<Scoring>;
}
