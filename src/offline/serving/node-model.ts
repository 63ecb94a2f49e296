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

/** Loads `dir` (manifest.json, model.onnx, vocabulary) into a `LoadedModel`, verifying every file. */
export async function loadModelFolder(dir: string): Promise<LoadedModel> {
  const manifest = parseManifest(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")));
  checkManifestAgainstFeatures(manifest);
  const read = async (file: string) => {
    const bytes = new Uint8Array(readFileSync(join(dir, file)));
    if ((await sha256Hex(bytes)) !== manifest.files[file]?.sha256) throw new ModelLoadError("checksum_mismatch", `${file}: sha256 differs from the manifest`);
    return bytes;
  };
  const items = JSON.parse(new TextDecoder().decode(await read(manifest.vocabulary.file))) as string[];
  const candidates = manifest.candidates ? candidateGenerator(manifest.candidates, await read(manifest.candidates.file)) : null;
  const ort = await nodeOrt();
  const inner = await ort.InferenceSession.create(await read("model.onnx"));
  return {
    id: `${manifest.name}/${manifest.version}`,
    manifest,
    items,
    vocab: new Map(items.map((item, i) => [item, i + 1])),
    session: new OrtSession(ort, inner),
    candidates,
  };
}
