// Worker threads do not inherit tsx's loader: this plain-JS entry registers it, then runs the
// TypeScript worker named in workerData (tools/lib/neural-worker.ts).
import { workerData } from "node:worker_threads";

const { tsImport } = await import("tsx/esm/api");
await tsImport(workerData.module, import.meta.url);
