import { type SharedLoad, SharedLoadTimeout, awaitShared, isAbandoned, shareLoad } from "../registry/shared-load";
import { ModelLoadError } from "./errors";
import { type Manifest, checkManifestAgainstFeatures, parseManifest } from "./manifest";
import { type LoadedModel, loadFamilyModel } from "./families/index";
import { createInferenceSession } from "./ort";

export type { LoadedModel } from "./loaded-model";

/** The one bucket method loading a model needs (the MODELS bucket in the worker). */
export type ModelBucket = Pick<R2Bucket, "get">;

/** R2 prefix of a model version folder. */
export function modelPrefix(id: string): string {
  return `models/${id}/`;
}

// Per isolate (128 MB in all): model files live on in ORT's wasm heap and the kNN
// index in JS, so loaded versions are evicted, least recently used first, past
// this many bytes of artifacts (a 43k-item dim-64 model with its index is ~29 MB).
const MAX_MODEL_BYTES = 48 * 1024 * 1024;
const FAILURE_BACKOFF_MS = 30_000; // a broken version is not refetched on every request
// How long a request waits for a load another request started (design 0030). A load takes a few
// seconds at most in production (R2 reads of a ~29 MB version, ~250 ms of ORT backend init; the
// test pool's first wasm compile 12–15 s, over 30 s on a shared machine): one still pending after
// this long lost its request, and its I/O with it. Generous on purpose: giving up on a live load
// starts a second one, and two copies of a version may not fit in the isolate's 128 MB.
const MODEL_LOAD_MAX_MS = 60_000;
interface Entry {
  bytes: number;
  load: SharedLoad<LoadedModel>;
}
const loaded = new Map<string, Entry>();

/**
 * Loads a model version from the MODELS bucket once per isolate: manifest
 * checked against the feature definitions, every file's sha256 verified, ONNX
 * session created. Failures are `ModelLoadError`s with stable codes, remembered
 * for 30 s. Concurrent requests share one load: one that waits `maxLoadMs` for
 * another request's load in vain fails `model_loading`, and the next request
 * loads the version afresh.
 */
export function loadModel(bucket: ModelBucket, id: string, maxLoadMs = MODEL_LOAD_MAX_MS): Promise<LoadedModel> {
  const hit = loaded.get(id);
  if (hit && !isAbandoned(hit.load)) {
    loaded.delete(id); // re-insert: Map order doubles as LRU order
    loaded.set(id, hit);
    return awaitShared(hit.load).catch((err: unknown) => {
      if (err instanceof SharedLoadTimeout) throw new ModelLoadError("model_loading", `model ${id}: ${err.message}`, { cause: err });
      throw err;
    });
  }
  // A load some request waited for in vain lost its starter: start afresh (should it finish after all, its session is freed).
  if (hit) release(hit);
  const model = fetchModel(bucket, id);
  const entry: Entry = { bytes: 0, load: shareLoad(model, maxLoadMs) };
  loaded.set(id, entry);
  model.then(
    (m) => {
      entry.bytes = Object.values(m.manifest.files).reduce((n, f) => n + f.bytes, 0);
      evictPast(MAX_MODEL_BYTES, id);
    },
    // Keep the failure for a while, then let a request try again.
    () => setTimeout(() => loaded.get(id) === entry && loaded.delete(id), FAILURE_BACKOFF_MS),
  );
  // The request that starts the load awaits it directly: the load runs on its own I/O.
  return model;
}

/** Drops least recently used versions (never `keep`) until the artifacts fit in `budget` bytes. */
function evictPast(budget: number, keep: string): void {
  let total = [...loaded.values()].reduce((n, e) => n + e.bytes, 0);
  for (const [id, entry] of loaded) {
    if (total <= budget) break;
    if (id === keep) continue;
    loaded.delete(id);
    total -= entry.bytes;
    release(entry);
  }
}

/** Frees the wasm heap a dropped version's session holds, once in-flight requests are done with it. */
function release(entry: Entry): void {
  void entry.load.promise.then((m) => setTimeout(() => void m.session.release().catch(() => undefined), 10_000)).catch(() => undefined);
}

/** Forgets every loaded model (tests, and an operator's forced reload). */
export function clearModelCache(): void {
  loaded.clear();
}

async function fetchModel(bucket: ModelBucket, id: string): Promise<LoadedModel> {
  const prefix = modelPrefix(id);
  const manifestObj = await bucket.get(`${prefix}manifest.json`);
  if (!manifestObj) throw new ModelLoadError("model_not_found", `no model ${id} in the registry (${prefix}manifest.json)`);
  let raw: unknown;
  try {
    raw = await manifestObj.json();
  } catch {
    throw new ModelLoadError("manifest_invalid", `${prefix}manifest.json is not JSON`);
  }
  const manifest = parseManifest(raw);
  if (`${manifest.name}/${manifest.version}` !== id) {
    throw new ModelLoadError("manifest_invalid", `manifest names ${manifest.name}/${manifest.version}, expected ${id}`);
  }
  checkManifestAgainstFeatures(manifest);

  return loadFamilyModel(manifest, { read: (file) => readVerified(bucket, prefix, file, manifest), createSession: createInferenceSession });
}

async function readVerified(bucket: ModelBucket, prefix: string, file: string, manifest: Manifest): Promise<Uint8Array> {
  const expected = manifest.files[file];
  if (!expected) throw new ModelLoadError("manifest_invalid", `manifest has no checksum for ${file}`);
  const obj = await bucket.get(prefix + file);
  if (!obj) throw new ModelLoadError("model_not_found", `${prefix}${file} is missing`);
  const bytes = new Uint8Array(await obj.arrayBuffer());
  const actual = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
  if (actual !== expected.sha256) {
    throw new ModelLoadError("checksum_mismatch", `${prefix}${file}: sha256 ${actual} does not match the manifest's ${expected.sha256}`);
  }
  return bytes;
}
