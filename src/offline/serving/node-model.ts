/**
 * Loads a model version folder in Node exactly as the worker loads it from R2 —
 * same manifest checks, same checksums, same ONNX file run by onnxruntime (its
 * Node build, same wasm kernels) behind the same `OrtSession` wrapper — so
 * offline evaluation scores the serving artifacts, not a re-implementation.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelLoadError } from "../../models/errors";
import { checkManifestAgainstFeatures, parseManifest } from "../../models/manifest";
import { type LoadedModel, loadFamilyModel } from "../../models/families/index";
import { OrtSession } from "../../models/ort-session";
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
    if ((await sha256Hex(bytes)) !== manifest.files[name]?.sha256) throw new ModelLoadError("checksum_mismatch", `${name}: sha256 differs from the manifest`);
    return bytes;
  };
  return loadFamilyModel(manifest, { read, createSession: createNodeSession });
}
