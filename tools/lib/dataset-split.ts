import { type Dataset, readDataset, restrictToTrainingItems, validationSplit } from "../../src/offline/data/sessions-file";

/** Which split to work on: `validation` (train on the first 90% of train.txt, evaluate on the rest) or `test`. */
export type Split = "validation" | "test";

/** Loads a Diginetica-format dataset as the chosen split; validation sessions get test.txt's preprocessing. */
export async function loadSplit(dir: string, split: string): Promise<Dataset> {
  if (split !== "validation" && split !== "test") throw new Error(`--split must be validation or test, got ${split}`);
  const data = await readDataset(dir);
  if (split === "test") return data;
  const v = validationSplit(data.train);
  return { train: v.train, test: restrictToTrainingItems(v.test, v.train) };
}
