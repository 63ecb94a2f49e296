/**
 * onnxruntime-web inside workerd (design: docs/design/0006-onnxruntime-in-workerd.md).
 *
 * Workers cannot compile WebAssembly from bytes at run time, and ORT's public API only
 * takes the runtime as bytes (`env.wasm.wasmBinary`). So we import the runtime as a
 * precompiled `WebAssembly.Module`, give ORT a sentinel instead of bytes, and while the
 * backend initialises, answer `WebAssembly.instantiate(sentinel)` with that Module.
 * This relies on ORT/Emscripten internals: the version is pinned and
 * test/ort.integration.test.ts fails loudly if an upgrade breaks it.
 *
 * ORT is imported lazily so code that never scores does not pay for it.
 */
import { type SharedLoad, SharedLoadTimeout, awaitShared, isAbandoned, shareLoad } from "../registry/shared-load";
import { ModelLoadError } from "./errors";
import { encodeModel } from "./onnx/encode";
import { type Ort, OrtSession, messageOf } from "./ort-session";

export { OrtSession, runSessionTopK, type OrtInput } from "./ort-session";

// Not a wasm file (no "\0asm" magic): if it ever reached the real instantiate, compiling would fail loudly.
const SENTINEL = new TextEncoder().encode("edgewise:ort-precompiled-module");

interface Runtime {
  ort: Ort;
  module: WebAssembly.Module;
}

// A session creation (the first one initialising the backend) takes well under a second in
// production, 12–15 s in the test pool (its first wasm compile; over 30 s on a shared machine).
// The task ahead in the queue, and the backend init, may be another request's: they are joined
// with this bound (design 0030), so one whose request was cancelled midway, which never settles,
// cannot stall the isolate's ORT.
const ORT_TASK_MAX_MS = 60_000;

let runtime: Promise<Runtime> | undefined;
let loadedOrt: Ort | undefined;
let backend: SharedLoad<void> | undefined;
// Session creation is serialised. ORT refuses concurrent backend initialisation; the
// instantiate override is global state that two overlapping installs would leak (the second
// would save the first's override as "original" and restore it); and each creation copies
// the model into the wasm heap, so one at a time bounds peak memory.
let queue: SharedLoad<unknown> = shareLoad(Promise.resolve(), ORT_TASK_MAX_MS);

/**
 * Loads a model from ONNX bytes. Rejects with `ModelLoadError`: `ort_init_failed` if the
 * runtime cannot start, `model_invalid` if these bytes are not a model ORT can run.
 */
export function createInferenceSession(bytes: Uint8Array): Promise<OrtSession> {
  return serialised(async () => {
    const { ort } = await initBackend();
    try {
      return new OrtSession(ort, await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] }));
    } catch (cause) {
      throw new ModelLoadError("model_invalid", `model rejected by onnxruntime: ${messageOf(cause)}`, { cause });
    }
  });
}

/**
 * Starts ORT's backend (import, wasm instantiation, runtime init: a few hundred ms once
 * per isolate). Call at module scope without awaiting to move that cost into isolate
 * start-up; attach a `.catch`, since a failure here surfaces again on first use. The
 * first session of a real model still pays for its kernels' first use: create the
 * serving session at module scope too when first-request latency matters.
 */
export function warmUpOrt(): Promise<void> {
  return serialised(async () => {
    await initBackend();
  });
}

/** The loaded onnxruntime-web version (e.g. "1.30.0"), or undefined before ORT was loaded. */
export function ortVersion(): string | undefined {
  return loadedOrt?.env.versions.web ?? loadedOrt?.env.versions.common;
}

function serialised<T>(task: () => Promise<T>): Promise<T> {
  // A task ahead still pending after the bound is presumed dead (its request cancelled midway): go on.
  const ahead = awaitShared(queue).catch(() => undefined);
  const result = ahead.then(task);
  const settled = result.catch(() => undefined);
  queue = shareLoad(settled, ORT_TASK_MAX_MS);
  return result;
}

function loadRuntime(): Promise<Runtime> {
  runtime ??= (async () => {
    try {
      const [ort, wasm] = await Promise.all([
        import("onnxruntime-web/wasm"),
        // wrangler (and the vitest pool) turn it into a compiled WebAssembly.Module
        // (src/types.d.ts); checked at run time below all the same.
        import("onnxruntime-web/ort-wasm-simd-threaded.wasm") as Promise<unknown>,
      ]);
      const module = wasmModuleOf(wasm);
      ort.env.wasm.numThreads = 1; // no SharedArrayBuffer workers in workerd
      ort.env.wasm.proxy = false; // no Web Workers either
      ort.env.wasm.wasmBinary = SENTINEL;
      loadedOrt = ort;
      return { ort, module };
    } catch (cause) {
      throw new ModelLoadError("ort_init_failed", `cannot load onnxruntime-web: ${messageOf(cause)}`, { cause });
    }
  })();
  return runtime;
}

/**
 * Initialises ORT's wasm backend once, by creating a trivial session with the
 * instantiate override in place. A failure is cached: ORT itself refuses to retry.
 * Only queued tasks call it, so an init still pending here is one whose request was
 * cancelled midway: waited for up to `ORT_TASK_MAX_MS`, then `ort_init_failed` (at once
 * for later tasks: ORT refuses a second init).
 */
function initBackend(): Promise<Runtime> {
  backend ??= shareLoad(initOnce(), ORT_TASK_MAX_MS);
  const init = isAbandoned(backend) ? Promise.reject(new SharedLoadTimeout(backend.maxMs)) : awaitShared(backend);
  return init.then(loadRuntime, (cause: unknown) => {
    if (cause instanceof SharedLoadTimeout) throw new ModelLoadError("ort_init_failed", `onnxruntime backend init never finished: ${cause.message}`, { cause });
    throw cause;
  });
}

async function initOnce(): Promise<void> {
  const { ort, module } = await loadRuntime();
  const restore = overrideInstantiate(module);
  try {
    const probe = await ort.InferenceSession.create(identityModel(), { executionProviders: ["wasm"] });
    await probe.release();
  } catch (cause) {
    if (cause instanceof ModelLoadError) throw cause;
    throw new ModelLoadError("ort_init_failed", `onnxruntime backend init failed (ORT ${ortVersion()}): ${messageOf(cause)}`, { cause });
  } finally {
    restore();
  }
}

type Instantiate = (source: unknown, imports?: WebAssembly.Imports) => Promise<unknown>;

/** Makes `WebAssembly.instantiate(SENTINEL)` instantiate `module`; returns the undo. */
function overrideInstantiate(module: WebAssembly.Module): () => void {
  const wasm = WebAssembly as unknown as { instantiate: Instantiate };
  const original = wasm.instantiate;
  wasm.instantiate = async (source, imports) => {
    if (!isSentinel(source)) return original.call(WebAssembly, source, imports);
    const instance = await original.call(WebAssembly, module, imports);
    return { instance, module }; // the WebAssemblyInstantiatedSource shape Emscripten expects for bytes
  };
  return () => {
    wasm.instantiate = original;
  };
}

function isSentinel(source: unknown): boolean {
  // ORT copies wasmBinary (`new Uint8Array(...)`), so compare contents, not identity.
  let bytes: Uint8Array;
  if (source instanceof ArrayBuffer) bytes = new Uint8Array(source);
  else if (ArrayBuffer.isView(source)) bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  else return false;
  return bytes.length === SENTINEL.length && bytes.every((b, i) => b === SENTINEL[i]);
}

function wasmModuleOf(imported: unknown): WebAssembly.Module {
  const candidate = typeof imported === "object" && imported !== null && "default" in imported ? imported.default : imported;
  if (candidate instanceof WebAssembly.Module) return candidate;
  throw new Error(`the ORT .wasm import is not a compiled WebAssembly.Module (got ${Object.prototype.toString.call(candidate)}); is wrangler's CompiledWasm rule for **/*.wasm active?`);
}

/** Identity over one float: the smallest valid model, used to initialise the backend. */
function identityModel(): Uint8Array {
  return encodeModel({
    producerName: "edgewise.ort-probe",
    graph: {
      name: "probe",
      nodes: [{ opType: "Identity", inputs: ["x"], outputs: ["y"] }],
      initializers: [],
      inputs: [{ name: "x", type: "float32", shape: [1] }],
      outputs: [{ name: "y", type: "float32", shape: [1] }],
    },
  });
}
