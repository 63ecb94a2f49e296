import type { CandidateGenerator } from "./candidates";
import type { Manifest } from "./manifest";
import type { OrtSession } from "./ort-session";
import type { LoadedRanker } from "./ranker/ranker";

/** A model version ready to score: its manifest, vocabulary and ONNX session (worker or Node). */
export interface LoadedModel {
  /** `name/version` */
  id: string;
  manifest: Manifest;
  /** Vocabulary: index i + 1 in the model is `items[i]`. */
  items: string[];
  vocab: Map<string, number>;
  session: OrtSession;
  /** Session-kNN candidates blended with the model, when the version ships an index. */
  candidates: CandidateGenerator | null;
  /** The second stage (generators → ranker features → tree ensemble), when the version ships one. */
  ranker: LoadedRanker | null;
}
