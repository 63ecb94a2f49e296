/**
 * The model families the worker can serve, by the name a manifest's `family`
 * gives (MODEL_FAMILIES in ../manifest.ts). Adding a family: its file in this
 * folder (artifacts, load, score — see ./family.ts), its name in MODEL_FAMILIES,
 * its loaded type in `LoadedModel`, and one entry here; the compiler refuses a
 * name without a family.
 */
import { ModelLoadError } from "../errors";
import type { Manifest, ModelFamilyName } from "../manifest";
import type { FreshStateOptions } from "../ranker/fresh";
import type { ArtifactSources, ModelFamily, ScoreQuery, Scoring } from "./family";
import { type SessionTopKModel, sessionTopK } from "./session-topk";

/** A loaded model version of any family. */
export type LoadedModel = SessionTopKModel;

const FAMILIES: { [F in ModelFamilyName]: ModelFamily<Extract<LoadedModel, { family: F }>> } = {
  "session-topk": sessionTopK,
};

function familyOf(name: ModelFamilyName): ModelFamily<LoadedModel> {
  const family = FAMILIES[name] as ModelFamily<LoadedModel> | undefined;
  if (!family) throw new ModelLoadError("manifest_invalid", `unknown model family ${name}`);
  return family;
}

/** Files a version of the manifest's family reads (each needs a checksum in the manifest). */
export function familyArtifacts(manifest: Manifest): string[] {
  return familyOf(manifest.family).artifacts(manifest);
}

/** Loads a checked manifest's artifacts with its family's loader. */
export function loadFamilyModel(manifest: Manifest, sources: ArtifactSources): Promise<LoadedModel> {
  const family = familyOf(manifest.family);
  const unlisted = family.artifacts(manifest).find((file) => !manifest.files[file]);
  if (unlisted) return Promise.reject(new ModelLoadError("manifest_invalid", `manifest lists no checksum for ${unlisted}, which a ${manifest.family} version reads`));
  return family.load(manifest, sources);
}

/** Whether (and with which bounds) a version reads the tenant's streaming co-visitation (design 0028). */
export function familyFreshState(model: LoadedModel): FreshStateOptions | null {
  return familyOf(model.family).freshState?.(model) ?? null;
}

/** Scores a request with the model's own family. */
export function scoreWithFamily(model: LoadedModel, q: ScoreQuery): Promise<Scoring> {
  return familyOf(model.family).score(model, q);
}
