/**
 * Loads a model version folder in Node exactly as the worker loads it from R2 —
 * same manifest checks, same checksums, same ONNX file run by onnxruntime (its
 * Node build, same wasm kernels) behind the same `OrtSession` wrapper — so
 * offline evaluation scores the serving artifacts, not a re-implementation.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { candidateGenerator } from "../../models/candidates";
import { ModelLoadError } from "../../models/errors";
import { checkManifestAgainstFeatures, parseManifest } from "../../models/manifest";
import type { LoadedModel } from "../../models/loaded-model";
import { OrtSession } from "../../models/ort-session";
import { loadRanker } from "../../models/ranker/load";
import { sha256Hex } from "../export/model-version";

type OrtModule = ConstructorParameters<typeof OrtSession>[0];
let ortNode: Promise<OrtModule> | undefined;

/** onnxruntime-web's Node build, single-threaded like the worker. */
function nodeOrt(): Promise<OrtModule> {
  ortNode ??= import("onnxruntime-web").then((ort) => {
    ort.env.wasm.numThreads = 1;
    return ort as unknown as OrtModule;
  });
  return ortNode;
}

/** An ONNX session on onnxruntime's Node build behind the worker's `OrtSession` wrapper. */
export async function createNodeSession(bytes: Uint8Array): Promise<OrtSession> {
  const ort = await nodeOrt();
  return new OrtSession(ort, await ort.InferenceSession.create(bytes));
}

/** Loads `dir` (manifest.json, model.onnx, vocabulary) into a `LoadedModel`, verifying every file. */
export function loadModelFolder(dir: string): Promise<LoadedModel> {
  return loadModelFiles((file) => new Uint8Array(readFileSync(join(dir, file))));
}

/** Loads a version folder given as files (name → bytes), verifying every file as the worker does. */
export async function loadModelFiles(file: (name: string) => Uint8Array): Promise<LoadedModel> {
  const manifest = parseManifest(JSON.parse(new TextDecoder().decode(file("manifest.json"))));
  checkManifestAgainstFeatures(manifest);
  const read = async (name: string) => {
    const bytes = file(name);
    const f = name;
    if ((await sha256Hex(bytes)) !== manifest.files[f]?.sha256) throw new ModelLoadError("checksum_mismatch", `${f}: sha256 differs from the manifest`);
    return bytes;
  };
  const items = JSON.parse(new TextDecoder().decode(await read(manifest.vocabulary.file))) as string[];
  const candidates = manifest.candidates ? candidateGenerator(manifest.candidates, await read(manifest.candidates.file)) : null;
  const ort = await nodeOrt();
  const createSession = async (bytes: Uint8Array) => new OrtSession(ort, await ort.InferenceSession.create(bytes));
  const session = await createSession(await read("model.onnx"));
  const vocab = new Map(items.map((item, i) => [item, i + 1]));
  const ranker = await loadRanker(manifest, { candidates, session, items, vocab }, { read, createSession });
  return { id: `${manifest.name}/${manifest.version}`, manifest, items, vocab, session, candidates, ranker };
}
