import { Worker } from "node:worker_threads";
import type { FastSessionModel, FastTrainOptions, TrainProgress } from "../../src/offline/train/session-model-fast";

/**
 * `trainSessionModelFast` on a worker thread, so two trainings (the trainer's two neural fits)
 * use both cores. Same code, same seed, same result as on the main thread. `seconds`: the
 * worker's own training time (the caller may read the result much later).
 */
export function trainNeuralInWorker(
  sessions: readonly (readonly string[])[],
  settings: Omit<FastTrainOptions, "onProgress">,
  onProgress?: (p: TrainProgress) => void,
): Promise<{ model: FastSessionModel; seconds: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./neural-worker-boot.mjs", import.meta.url), {
      workerData: { sessions, settings, module: new URL("./neural-worker.ts", import.meta.url).href },
    });
    worker.on("message", (m: { type: "progress"; progress: TrainProgress } | { type: "model"; model: FastSessionModel; seconds: number }) => {
      if (m.type === "progress") onProgress?.(m.progress);
      else resolve({ model: m.model, seconds: m.seconds }), void worker.terminate();
    });
    worker.on("error", reject);
    worker.on("exit", (code) => code !== 0 && reject(new Error(`the neural training worker exited with code ${code}`)));
  });
}
