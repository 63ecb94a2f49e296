import type { LoadedModel } from "../models/loaded-model";
import type { SequenceInput } from "../models/inputs";
import { runSessionTopK } from "../models/ort-session";
import { blendScores } from "./blend";
import type { Scored } from "./rules";

/** Records a named duration for Server-Timing (or runs `fn` as is offline). */
export type Timer = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Ranked candidates for a query: the ONNX model's top `want`, blended with the
 * version's session-kNN candidates when it ships an index. A blend weight of 0
 * or 1 skips the side that would not count.
 */
export async function scoreCandidates(model: LoadedModel, query: readonly string[], input: SequenceInput, want: number, time: Timer): Promise<Scored[]> {
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
