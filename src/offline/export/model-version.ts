import { FEATURES } from "../../features/registry";
import { type Manifest, type ModelCard, type RankerSpec, parseManifest } from "../../models/manifest";
import { RECENCY_DECAY, SEQ_LEN, type SequenceInput } from "../../models/inputs";
import { buildSessionTopKModel } from "../../models/onnx/session-topk";

/** Trained weights of a session top-k model (see `buildSessionTopKModel`). */
export interface SessionTopKWeights {
  items: string[];
  dim: number;
  embIn: Float32Array;
  embOut: Float32Array;
  bias: Float32Array;
}

/** What a model version records besides its weights. */
export interface VersionInfo {
  name: string;
  version: string;
  createdAt: string;
  training: Manifest["training"];
  metrics: Record<string, number>;
  /** Model inputs seen in training, for the baseline histograms. */
  trainingInputs: SequenceInput[];
  popular: string[];
  /** A V-SKNN index (serialised) to blend with the model, its options and the model's blend weight. */
  candidates?: { index: Uint8Array; options: NonNullable<Manifest["candidates"]>["options"]; modelWeight: number };
  /** The second stage: ranker ONNX bytes, the item-kNN index, and the manifest section (file names are filled in). */
  ranker?: { onnx: Uint8Array; iknn: Uint8Array | null; spec: Omit<RankerSpec, "kind" | "file"> };
  /** The model card of a retrained version (`npm run retrain`). */
  card?: ModelCard;
}

/** A model version folder: file name → bytes, manifest.json included. */
export type VersionFiles = Record<string, Uint8Array>;

/**
 * Builds a model version folder: `model.onnx`, `items.json` (the vocabulary)
 * and `manifest.json` with the IO contract, the feature definitions (and
 * versions) the inputs come from, training window, metrics, baseline
 * histograms and the sha256 of every file. Pure: runs in Node and in workerd.
 */
export async function buildModelVersion(weights: SessionTopKWeights, info: VersionInfo): Promise<{ files: VersionFiles; manifest: Manifest }> {
  const n = weights.items.length;
  const model = buildSessionTopKModel({ numItems: n, dim: weights.dim, seqLen: SEQ_LEN, embIn: weights.embIn, embOut: weights.embOut, bias: weights.bias });
  const vocab = new TextEncoder().encode(JSON.stringify(weights.items));
  const files: VersionFiles = { "model.onnx": model, "items.json": vocab };
  if (info.candidates) files["knn.bin"] = info.candidates.index;
  if (info.ranker) {
    files["ranker.onnx"] = info.ranker.onnx;
    if (info.ranker.iknn) files["iknn.bin"] = info.ranker.iknn;
  }
  const version = (name: string) => FEATURES.find((f) => f.name === name)!.version;
  const manifest = parseManifest({
    format: "edgewise.model/v1",
    name: info.name,
    version: info.version,
    family: "session-topk",
    created_at: info.createdAt,
    inputs: [
      { name: "item_idx", type: "int64", shape: [1, SEQ_LEN] },
      { name: "item_w", type: "float32", shape: [1, SEQ_LEN] },
      { name: "k", type: "int64", shape: [1] },
    ],
    outputs: [
      { name: "scores", type: "float32", shape: [1, "k"] },
      { name: "indices", type: "int64", shape: [1, "k"] },
    ],
    features: [
      { name: "visit_viewed_items", version: version("visit_viewed_items"), input: "item_idx,item_w", transform: `sequence(last ${SEQ_LEN}, recency ${RECENCY_DECAY})` },
      { name: "last_viewed_items", version: version("last_viewed_items"), input: "item_idx,item_w", transform: "fallback when the visit has no views" },
      { name: "cart", version: version("cart"), input: "item_idx,item_w", transform: "set(cart lines), type=cart" },
    ],
    params: { seq_len: SEQ_LEN, dim: weights.dim, num_items: n, recency_decay: RECENCY_DECAY },
    vocabulary: { file: "items.json", size: n },
    training: info.training,
    metrics: info.metrics,
    baselines: inputBaselines(info.trainingInputs),
    popular: info.popular.slice(0, 200),
    ...(info.candidates ? { candidates: { kind: "vsknn", file: "knn.bin", options: info.candidates.options, model_weight: info.candidates.modelWeight } } : {}),
    ...(info.ranker
      ? {
          ranker: {
            kind: "tree-ensemble",
            file: "ranker.onnx",
            ...info.ranker.spec,
            generators: { ...info.ranker.spec.generators, iknn: { ...info.ranker.spec.generators.iknn, file: "iknn.bin" } },
          },
        }
      : {}),
    files: Object.fromEntries(await Promise.all(Object.entries(files).map(async ([name, bytes]) => [name, { sha256: await sha256Hex(bytes), bytes: bytes.byteLength }]))),
    ...(info.card ? { card: info.card } : {}),
  });
  files["manifest.json"] = new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n");
  return { files, manifest };
}

/**
 * Baseline histograms of the model inputs in training, for drift monitoring:
 * how many known items a sequence holds, and the weight of the latest one.
 */
export function inputBaselines(inputs: SequenceInput[]): Manifest["baselines"] {
  const known = histogram(Array.from({ length: SEQ_LEN + 2 }, (_, i) => i - 0.5));
  const latest = histogram(Array.from({ length: 11 }, (_, i) => i / 10));
  for (const input of inputs) {
    known.add(input.idx.filter((i) => i > 0).length);
    latest.add(input.w[input.w.length - 1] ?? 0);
  }
  return { "item_idx.known_items": known.done(), "item_w.latest_weight": latest.done() };
}

function histogram(edges: number[]) {
  const counts = new Array<number>(edges.length - 1).fill(0);
  return {
    add(x: number) {
      for (let b = 0; b < counts.length; b++) {
        if (x >= edges[b]! && (x < edges[b + 1]! || (b === counts.length - 1 && x <= edges[b + 1]!))) {
          counts[b]!++;
          return;
        }
      }
    },
    done: () => ({ edges, counts }),
  };
}

/** Hex SHA-256 of bytes (WebCrypto: Node 20 and workerd alike). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
