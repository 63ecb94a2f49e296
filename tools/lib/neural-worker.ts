/**
 * Trains the neural generator on a worker thread: `npm run train` fits the ranker's copy
 * (90 % of the sessions) and the shipped copy (all of them) at once, one per core
 * (see trainNeuralInWorker). Posts progress, then the model.
 */
import { parentPort, workerData } from "node:worker_threads";
import { type FastTrainOptions, trainSessionModelFast } from "../../src/offline/train/session-model-fast";

const { sessions, settings } = workerData as { sessions: string[][]; settings: FastTrainOptions };
const started = performance.now();
const model = trainSessionModelFast(sessions, { ...settings, onProgress: (p) => parentPort!.postMessage({ type: "progress", progress: p }) });
// Measured here: the main thread may read this message only once its own work lets it.
const seconds = (performance.now() - started) / 1000;
parentPort!.postMessage({ type: "model", model, seconds }, [model.embIn.buffer, model.embOut.buffer, model.bias.buffer] as ArrayBuffer[]);
