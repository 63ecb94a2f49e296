/**
 * Datasets in the Diginetica (SR-GNN) text format: `train.txt` and
 * `test.txt`, one session per line, item ids separated by single spaces, in
 * click order. Pure code (tests run it in workerd); `sessions-file.ts` reads files.
 */

/** Training and evaluation sessions, oldest first, each a list of item ids in click order. */
export interface Dataset {
  train: string[][];
  test: string[][];
}

/** Parses one file: a session per non-empty line, item ids separated by whitespace. */
export function parseSessions(text: string): string[][] {
  const sessions: string[][] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim(); // tolerates CRLF files
    if (trimmed !== "") sessions.push(trimmed.split(/\s+/));
  }
  return sessions;
}

/**
 * Parses a session-rec click file (`train.tsv` / `test.tsv`: a header naming `SessionId`,
 * `ItemId` and `Time` columns, tab-separated, in any order): clicks grouped by session
 * and ordered by time (file order on ties), sessions ordered by their first click,
 * sessions of one click dropped — the Diginetica protocol's shape.
 */
export function parseClickTable(text: string): string[][] {
  const lines = text.split("\n");
  const header = (lines[0] ?? "").trim().split("\t");
  const col = (name: string) => header.indexOf(name);
  const [si, ii, ti] = [col("SessionId"), col("ItemId"), col("Time")];
  if (si < 0 || ii < 0 || ti < 0) throw new Error(`a click table needs SessionId, ItemId and Time columns; the header is "${lines[0]?.slice(0, 200)}"`);
  const sessions = new Map<string, Array<{ time: number; at: number; item: string }>>();
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === "") continue;
    const cells = line.split("\t");
    const time = Number(cells[ti]);
    const item = cells[ii];
    const id = cells[si];
    if (id === undefined || item === undefined || item === "" || !Number.isFinite(time)) throw new Error(`line ${n + 1} of the click table is not SessionId, ItemId, Time`);
    const clicks = sessions.get(id) ?? [];
    if (clicks.length === 0) sessions.set(id, clicks);
    clicks.push({ time, at: n, item });
  }
  return [...sessions.values()]
    .map((clicks) => clicks.sort((a, b) => a.time - b.time || a.at - b.at))
    .filter((clicks) => clicks.length >= 2)
    .sort((a, b) => a[0]!.time - b[0]!.time || a[0]!.at - b[0]!.at)
    .map((clicks) => clicks.map((c) => c.item));
}

/** Parses the contents of `train.txt` and `test.txt`. */
export function parseDataset(trainText: string, testText: string): Dataset {
  return { train: parseSessions(trainText), test: parseSessions(testText) };
}

/**
 * Holds out the last `share` of the training sessions (the most recent ones,
 * as the test set is the most recent week) and returns them as `test`, so a
 * validation split plugs in wherever a dataset does. Tune on this, never on test.
 */
export function validationSplit(train: readonly string[][], share = 0.1): Dataset {
  if (!(share > 0 && share < 1)) throw new RangeError(`share must be in (0, 1), got ${share}`);
  const cut = train.length - Math.round(train.length * share);
  return { train: train.slice(0, cut), test: train.slice(cut) };
}

/**
 * Applies the SR-GNN test preprocessing to held-out sessions: clicks on items
 * absent from `train` are dropped, then sessions shorter than 2 are dropped.
 * `test.txt` already went through it; a validation split needs it to match.
 */
export function restrictToTrainingItems(sessions: readonly string[][], train: readonly string[][]): string[][] {
  const known = new Set<string>();
  for (const seq of train) for (const id of seq) known.add(id);
  return sessions.map((seq) => seq.filter((id) => known.has(id))).filter((seq) => seq.length >= 2);
}
