import * as v from "valibot";
import { FEATURES } from "../features/registry";
import { ModelLoadError } from "./errors";
import { SEQ_LEN } from "./inputs";
import { RANKER_FEATURES } from "./ranker/features";

/** Model families the worker knows how to feed and read. */
export const MODEL_FAMILIES = ["session-topk"] as const;
/** A model family's name, as a manifest gives it (its code: ./families). */
export type ModelFamilyName = (typeof MODEL_FAMILIES)[number];

const Sha256 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));
const TensorSpec = v.object({
  name: v.string(),
  type: v.picklist(["float32", "int64"]),
  shape: v.array(v.union([v.number(), v.string()])),
});
const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
const Histogram = v.object({ edges: v.array(v.number()), counts: v.array(v.number()) });
/**
 * A ranker feature's training histogram (docs/mlops.md, "Drift"): counts of the
 * present values per bin (`edges`, ascending; the last bin includes its upper
 * edge), how many values were missing, and the range seen (`min` = first edge,
 * `max` = last edge: a served value outside it is out of range).
 */
const RankerHistogram = v.pipe(
  v.object({ edges: v.pipe(v.array(v.number()), v.minLength(2)), counts: v.array(Count), missing: Count, min: v.number(), max: v.number() }),
  v.check((h) => h.counts.length === h.edges.length - 1, "a ranker histogram has one count per bin (edges − 1)"),
  v.check((h) => h.edges.every((e, i) => i === 0 || e > h.edges[i - 1]! || (h.edges.length === 2 && e === h.edges[0])), "ranker histogram edges must ascend"),
  v.check((h) => h.min === h.edges[0] && h.max === h.edges[h.edges.length - 1], "a ranker histogram's min and max are its outer edges"),
);

const Positive = v.pipe(v.number(), v.integer(), v.minValue(1));
const FreshStateSchema = v.object({ max_items: Positive, neighbours: Positive, window: Positive, half_life_s: Positive, visit_gap_s: Positive, max_visitors: Positive });

const Metrics = v.record(v.string(), v.number());
/**
 * The model card of a version trained by `npm run retrain` (docs/mlops.md, "The loop"):
 * the data it saw, what it was compared with on which held-out period, both models'
 * figures (value and 95 % interval bounds, `<metric>.low` / `.high`) and the gate's
 * verdict with its reasons. Optional: versions built otherwise have none.
 */
const ModelCardSchema = v.object({
  kind: v.literal("retrain"),
  run: v.string(),
  tenant: v.string(),
  request: v.nullable(v.string()),
  data_window: v.object({ from: v.string(), to: v.string() }),
  holdout_window: v.object({ from: v.string(), to: v.string() }),
  events_used: Count,
  sessions: v.object({ train: Count, holdout: Count }),
  champion: v.nullable(v.string()),
  metrics: v.object({ challenger: Metrics, champion: Metrics, difference: Metrics }),
  gate: v.record(v.string(), v.union([v.number(), v.string()])),
  verdict: v.picklist(["published", "refused"]),
  reasons: v.array(v.string()),
});
/** A retrained version's model card. */
export type ModelCard = v.InferOutput<typeof ModelCardSchema>;

/**
 * `manifest.json` of a model version: what the model reads and returns, which
 * feature definitions (and versions) produce its inputs, its vocabulary, how it
 * was trained and scored, baseline histograms for drift monitoring, and the
 * sha256 of every file in the version folder.
 */
export const ManifestSchema = v.object({
  format: v.literal("edgewise.model/v1"),
  name: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)),
  version: v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,32}$/)),
  family: v.picklist(MODEL_FAMILIES),
  created_at: v.string(),
  inputs: v.array(TensorSpec),
  outputs: v.array(TensorSpec),
  /** Features in the order the model reads them, with the definition versions it was trained on. */
  features: v.array(v.object({ name: v.string(), version: v.number(), input: v.string(), transform: v.string() })),
  params: v.object({ seq_len: v.number(), dim: v.number(), num_items: v.number(), recency_decay: v.number() }),
  vocabulary: v.object({ file: v.string(), size: v.number() }),
  training: v.object({
    data: v.string(),
    window: v.nullable(v.object({ from: v.string(), to: v.string() })),
    sessions: v.number(),
    examples: v.number(),
  }),
  metrics: v.record(v.string(), v.number()),
  baselines: v.record(v.string(), Histogram),
  /** Most popular items in training, best first: the last-resort fallback list. */
  popular: v.array(v.string()),
  /**
   * Optional session-kNN candidates blended with the model's scores: a V-SKNN
   * index over the training sessions (`file`), its options, and the weight of the
   * ONNX model in the blend (0: V-SKNN only, 1: the model only).
   */
  candidates: v.optional(
    v.object({
      kind: v.literal("vsknn"),
      file: v.string(),
      options: v.object({
        sample_size: v.pipe(v.number(), v.integer(), v.minValue(1)),
        neighbours: v.pipe(v.number(), v.integer(), v.minValue(1)),
        weighting: v.picklist(["same", "div", "linear", "quadratic", "log"]),
        match_decay: v.picklist(["same", "div"]),
        idf: v.pipe(v.number(), v.minValue(0)),
        backfill: v.boolean(),
      }),
      model_weight: v.pipe(v.number(), v.minValue(0), v.maxValue(1)),
    }),
  ),
  /**
   * Optional second stage: the union of the declared candidate generators' lists
   * is scored by a tree-ensemble ranker (`file`, ONNX-ML TreeEnsembleRegressor) over
   * the ranker features listed here, in its input column order (docs/design/0018).
   */
  ranker: v.optional(
    v.object({
      kind: v.literal("tree-ensemble"),
      file: v.string(),
      generators: v.object({
        vsknn: v.object({ k: Count }),
        iknn: v.object({ k: Count, file: v.string(), depth: Count, decay: v.number(), shrinkage: v.number(), neighbours: Count }),
        session: v.object({ k: Count }),
        neural: v.object({ k: Count }),
        popular: v.object({ k: Count }),
        /**
         * Streaming co-visitation (design 0028): the tenant's FreshDO state, fed by the queue
         * consumer; `depth` / `decay` as item-kNN's; `state`: the bounds it was trained with.
         * Absent in versions trained before it (they run without it, as before).
         */
        // exclude_viewed: the visit's own items are never listed (design 0029); absent in versions trained before.
        fresh: v.optional(v.object({ k: Count, depth: Count, decay: v.number(), state: FreshStateSchema, exclude_viewed: v.optional(v.boolean()) })),
      }),
      features: v.array(v.object({ name: v.string(), version: v.number() })),
      /** The visit's own items keep places in the page (design 0029); absent in versions trained before it. */
      visit_guard: v.optional(v.boolean()),
      params: v.record(v.string(), v.number()),
      /** Validation numbers the choices were made on (time-ordered split of the run's own training data). */
      selection: v.record(v.string(), v.union([v.number(), v.string()])),
      /**
       * Drift baselines: per ranker feature, its histogram over the rows the ranker put
       * first on the validation lists — what serving logs per list (the top candidate's row).
       * Absent in versions exported before drift covered the ranker.
       */
      baselines: v.optional(v.record(v.string(), RankerHistogram)),
    }),
  ),
  files: v.record(v.string(), v.object({ sha256: Sha256, bytes: v.number() })),
  /** How a retrained version was judged (absent in versions not built by `npm run retrain`). */
  card: v.optional(ModelCardSchema),
});

/** A parsed manifest's two-stage ranker section. */
export type RankerSpec = NonNullable<Manifest["ranker"]>;

/** A parsed model manifest. */
export type Manifest = v.InferOutput<typeof ManifestSchema>;

/** Parses a manifest; a malformed one is a `ModelLoadError("manifest_invalid")`. */
export function parseManifest(raw: unknown): Manifest {
  const parsed = v.safeParse(ManifestSchema, raw);
  if (!parsed.success) throw new ModelLoadError("manifest_invalid", `manifest.json: ${v.summarize(parsed.issues).split("\n")[0]}`);
  return parsed.output;
}

/**
 * Refuses a model whose feature contract differs from the running feature
 * definitions: a missing feature, or one trained on another definition version,
 * would feed it inputs it never saw in training.
 */
export function checkManifestAgainstFeatures(manifest: Manifest, defs = FEATURES): void {
  const versions = new Map<string, number>(defs.map((d) => [d.name, d.version]));
  for (const f of manifest.features) {
    const running = versions.get(f.name);
    if (running === undefined) throw new ModelLoadError("feature_mismatch", `model ${manifest.name}/${manifest.version} needs feature ${f.name}, which is not defined`);
    if (running !== f.version) {
      throw new ModelLoadError("feature_mismatch", `model ${manifest.name}/${manifest.version} was trained on ${f.name} v${f.version}; the worker computes v${running}`);
    }
  }
  if (manifest.params.seq_len !== SEQ_LEN) {
    throw new ModelLoadError("feature_mismatch", `model reads ${manifest.params.seq_len} items; the worker builds sequences of ${SEQ_LEN}`);
  }
  if (manifest.ranker) checkRanker(manifest, manifest.ranker);
}

/** The ranker reads its features by column: each must be one the worker computes, at the same version. */
function checkRanker(manifest: Manifest, ranker: RankerSpec, defs = RANKER_FEATURES): void {
  const versions = new Map<string, number>(defs.map((d) => [d.name, d.version]));
  const id = `${manifest.name}/${manifest.version}`;
  for (const f of ranker.features) {
    const running = versions.get(f.name);
    if (running === undefined) throw new ModelLoadError("feature_mismatch", `model ${id}'s ranker reads ${f.name}, which the worker does not compute`);
    if (running !== f.version) throw new ModelLoadError("feature_mismatch", `model ${id}'s ranker was trained on ${f.name} v${f.version}; the worker computes v${running}`);
  }
  const read = new Set(ranker.features.map((f) => f.name));
  for (const name of Object.keys(ranker.baselines ?? {})) {
    if (!read.has(name)) throw new ModelLoadError("manifest_invalid", `model ${id}'s ranker has a drift baseline for ${name}, which it does not read`);
  }
  if (!manifest.candidates) throw new ModelLoadError("manifest_invalid", `model ${id} has a ranker but no V-SKNN index (its popularity and first generator)`);
}
