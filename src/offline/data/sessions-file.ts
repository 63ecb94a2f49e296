/** Node reader for datasets in the Diginetica format (parsing lives in `sessions.ts`). */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type Dataset, parseDataset } from "./sessions";

export { type Dataset, parseDataset, parseSessions, restrictToTrainingItems, validationSplit } from "./sessions";

/** Reads `<dir>/train.txt` and `<dir>/test.txt`. */
export async function readDataset(dir: string): Promise<Dataset> {
  const [train, test] = await Promise.all([readFile(join(dir, "train.txt"), "utf8"), readFile(join(dir, "test.txt"), "utf8")]);
  return parseDataset(train, test);
}
