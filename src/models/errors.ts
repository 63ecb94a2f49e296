/**
 * Stable codes for model failures. Callers branch on these, never on messages:
 * - `ort_init_failed`: the ONNX runtime itself could not start (wasm import or backend init);
 *   no model will load in this isolate.
 * - `model_invalid`: the runtime is fine but these model bytes were rejected.
 * - `inference_failed`: a loaded model could not answer these inputs.
 * - `model_not_found`: no such model version in the registry (R2).
 * - `manifest_invalid`: manifest.json is missing fields or malformed.
 * - `feature_mismatch`: the model expects features (or versions) the worker does not compute.
 * - `checksum_mismatch`: a file's sha256 differs from the manifest's.
 * - `model_loading`: a request waited for another request's load of this version in vain
 *   (that request was probably cancelled); the next request loads the version afresh (design 0030).
 */
export type ModelErrorCode = "ort_init_failed" | "model_invalid" | "inference_failed" | "model_not_found" | "manifest_invalid" | "feature_mismatch" | "checksum_mismatch" | "model_loading";

/** The one error type of the model layer: a stable code, a human message, and the runtime's error as `cause`. */
export class ModelLoadError extends Error {
  override readonly name = "ModelLoadError";
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
