/**
 * The `session-topk` family: an ONNX session model (weighted sum of item
 * embeddings → scores → TopK) over the visit's last items, optionally blended
 * with a V-SKNN index (`manifest.candidates`), optionally followed by a second
 * stage (`manifest.ranker`): generators → ranker features → tree-ensemble ranker,
 * which ranks the visitor's own list ("personalized"). Pure over its artifacts.
 */
import { type CandidateGenerator, candidateGenerator } from "../candidates";
import { ModelLoadError } from "../errors";
import { type SequenceInput, sequenceInput, setInput } from "../inputs";
import type { Manifest } from "../manifest";
import { type OrtSession, runSessionTopK } from "../ort-session";
import { loadRanker } from "../ranker/load";
import { type LoadedRanker, candidateMatrix, rankMatrix, topRankedRow } from "../ranker/ranker";
import { blendScores } from "./blend";
import type { LoadedBase, ModelFamily, ScoredItem, Scoring, Timer } from "./family";

/** A loaded `session-topk` version: its vocabulary, ONNX session and optional kNN blend and second stage. */
export interface SessionTopKModel extends LoadedBase {
  family: "session-topk";
  /** Vocabulary: index i + 1 in the model is `items[i]`. */
  items: string[];
  vocab: Map<string, number>;
  session: OrtSession;
  /** Session-kNN candidates blended with the model, when the version ships an index. */
  candidates: CandidateGenerator | null;
  /** The second stage (generators → ranker features → tree ensemble), when the version ships one. */
  ranker: LoadedRanker | null;
}

export const sessionTopK: ModelFamily<SessionTopKModel> = {
  artifacts(manifest) {
    const r = manifest.ranker;
    return ["model.onnx", manifest.vocabulary.file, ...(manifest.candidates ? [manifest.candidates.file] : []), ...(r ? [r.file, ...(r.generators.iknn.k > 0 ? [r.generators.iknn.file] : [])] : [])];
  },

  async load(manifest, sources) {
    const [modelBytes, vocabBytes, knnBytes] = await Promise.all([
      sources.read("model.onnx"),
      sources.read(manifest.vocabulary.file),
      manifest.candidates ? sources.read(manifest.candidates.file) : Promise.resolve(null),
    ]);
    const items = vocabulary(manifest, vocabBytes);
    const candidates = manifest.candidates && knnBytes ? candidateGenerator(manifest.candidates, knnBytes) : null;
    const session = await sources.createSession(modelBytes);
    const vocab = new Map(items.map((item, i) => [item, i + 1]));
    const ranker = await loadRanker(manifest, { candidates, session, items, vocab }, sources);
    return { family: "session-topk", id: `${manifest.name}/${manifest.version}`, manifest, items, vocab, session, candidates, ranker };
  },

  freshState(model) {
    const fresh = model.ranker?.spec.generators.fresh;
    return fresh && fresh.k > 0 ? fresh.state : null;
  },

  async score(model, q) {
    const input = q.type === "personalized" ? sequenceInput(q.query, model.vocab) : setInput(q.query, model.vocab);
    if (!input.w.some((w) => w > 0)) return { kind: "no_input" };
    const served = { item_idx: input.idx, item_w: input.w };
    const ranker = model.ranker;
    // Two stages for the visitor's own list: generators → ranker features → ONNX ranker.
    if (ranker && q.type === "personalized") {
      return q.time("inference", async (): Promise<Scoring> => {
        const matrix = await candidateMatrix(ranker, q.features, { catalog: q.catalog, trending: q.trending }, q.fresh ?? null);
        const items = await rankMatrix(ranker, matrix);
        const row = topRankedRow(ranker, matrix, items);
        return { kind: "scored", items, input: row ? { ...served, ranker: row } : served };
      });
    }
    return { kind: "scored", items: await scoreCandidates(model, q.query, input, q.want, q.time), input: served };
  },
};

/** The vocabulary file: exactly `vocabulary.size` item ids. */
function vocabulary(manifest: Manifest, bytes: Uint8Array): string[] {
  let items: unknown;
  try {
    items = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    items = null;
  }
  if (!Array.isArray(items) || items.length !== manifest.vocabulary.size || !items.every((x) => typeof x === "string")) {
    throw new ModelLoadError("manifest_invalid", `${manifest.vocabulary.file} must be an array of ${manifest.vocabulary.size} item ids`);
  }
  return items;
}

/**
 * Ranked candidates for a query: the ONNX model's top `want`, blended with the
 * version's session-kNN candidates when it ships an index. A blend weight of 0
 * or 1 skips the side that would not count.
 */
async function scoreCandidates(model: SessionTopKModel, query: readonly string[], input: SequenceInput, want: number, time: Timer): Promise<ScoredItem[]> {
  const modelWeight = model.candidates?.modelWeight ?? 1;
  const fromModel =
    modelWeight > 0
      ? await time("inference", async () => {
          const top = await runSessionTopK(model.session, input.idx, input.w, want);
          return top.indices.flatMap((ix, i) => (ix >= 1 && ix <= model.items.length ? [{ item_id: model.items[ix - 1]!, score: top.scores[i]! }] : []));
        })
      : [];
  const generator = model.candidates;
  if (!generator || modelWeight >= 1) return fromModel;
  const knn = await time("knn", async () => generator.vsknn.score(query, want).map((s) => ({ item_id: s.item, score: s.score })));
  return blendScores(knn, fromModel, modelWeight);
}
