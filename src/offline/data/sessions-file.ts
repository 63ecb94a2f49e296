/** Node reader for datasets in the Diginetica format (parsing lives in `sessions.ts`). */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type Dataset, parseClickTable, parseDataset } from "./sessions";

export { type Dataset, parseClickTable, parseDataset, parseSessions, restrictToTrainingItems, validationSplit } from "./sessions";

/**
 * Reads `<dir>/train.txt` and `<dir>/test.txt` (Diginetica format), or, when there is no
 * `train.txt`, session-rec click tables `<dir>/train.tsv` and `<dir>/test.tsv`
 * (SessionId, ItemId, Time: how the public YooChoose and RetailRocket preparations ship).
 */
export async function readDataset(dir: string): Promise<Dataset> {
  if (!existsSync(join(dir, "train.txt")) && existsSync(join(dir, "train.tsv"))) {
    const [train, test] = await Promise.all([readFile(join(dir, "train.tsv"), "utf8"), readFile(join(dir, "test.tsv"), "utf8")]);
    return { train: parseClickTable(train), test: parseClickTable(test) };
  }
  const [train, test] = await Promise.all([readFile(join(dir, "train.txt"), "utf8"), readFile(join(dir, "test.txt"), "utf8")]);
  return parseDataset(train, test);
}
