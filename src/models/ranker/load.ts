import type { CandidateGenerator } from "../candidates";
import type { ArtifactSources } from "../families/family";
import { deserializeCooccurrence } from "../knn/cooccurrence";
import type { Manifest } from "../manifest";
import type { OrtSession } from "../ort-session";
import { popularityOf } from "./generators";
import { type LoadedRanker, rankerColumns } from "./ranker";

/** Loads a manifest's second stage over the already loaded first-stage artifacts; `null` without one. */
export async function loadRanker(
  manifest: Manifest,
  loaded: { candidates: CandidateGenerator | null; session: OrtSession; items: string[]; vocab: Map<string, number> },
  sources: ArtifactSources,
): Promise<LoadedRanker | null> {
  const spec = manifest.ranker;
  if (!spec || !loaded.candidates) return null;
  const columns = rankerColumns(spec);
  const [rankerBytes, iknnBytes] = await Promise.all([sources.read(spec.file), spec.generators.iknn.k > 0 ? sources.read(spec.generators.iknn.file) : Promise.resolve(null)]);
  const session = await sources.createSession(rankerBytes);
  return {
    spec,
    columns,
    session,
    stage1: {
      vsknn: loaded.candidates.vsknn,
      iknn: iknnBytes ? deserializeCooccurrence(iknnBytes) : null,
      neural: { session: loaded.session, items: loaded.items, vocab: loaded.vocab },
      ...popularityOf(loaded.candidates.index),
    },
  };
}
