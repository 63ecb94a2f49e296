// The scale path: the local event log, exported in its own layout (npm run log:export), read by
// DuckDB with hive partitions — the same counts as the streamed read npm run retrain uses.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readLogWindow } from "../src/offline/retrain/log-window";
import { generateCatalog } from "../src/offline/synthetic/catalog";
import { generateSessions } from "../src/offline/synthetic/sessions";
import { exportLog } from "../tools/cli/export-log";
import { folderLog } from "../tools/cli/retrain";
import { duckdbWindow } from "../tools/lib/duckdb-log";
import { syntheticLog } from "../tools/lib/synthetic-log";
import { withLocalBucket } from "../tools/local/local-r2";

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);

describe("the event log in DuckDB (@duckdb/node-api)", () => {
  it("counts the events and visits of a window exactly as the streamed read does", async () => {
    const persist = mkdtempSync(join(tmpdir(), "edgewise-duck-r2-"));
    const out = mkdtempSync(join(tmpdir(), "edgewise-duck-log-"));
    const sessions = generateSessions(generateCatalog(42), 3, { sessions: 1500, start: START });
    const log = syntheticLog(sessions, "demo");
    await withLocalBucket(
      "edgewise-event-log",
      async (bucket) => {
        for (const [key, text] of log) await bucket.put(key, text);
        // An at-least-once redelivery: one object's lines logged a second time under another name.
        const [key, text] = [...log][Math.floor(log.size / 2)]!;
        await bucket.put(key.replace("-synthetic", "-redelivered"), text);
        expect(await exportLog(bucket, "demo", out)).toBe(log.size + 1);
      },
      persist,
    );
    const window = { from: START + 3 * DAY, holdoutFrom: START + 20 * DAY, to: START + 25 * DAY };
    const streamed = await readLogWindow(folderLog(out), "demo", window, { engine: { sessionGapMs: 1800_000 } });
    const duck = await duckdbWindow(out, "demo", window, 1800_000);
    expect(streamed.duplicates).toBeGreaterThan(0);
    expect({ events: duck.events, views: duck.views, train: duck.train, holdout: duck.holdout }).toEqual({
      events: streamed.events,
      views: streamed.views,
      train: streamed.train.length,
      holdout: streamed.holdout.length,
    });
    expect(duck.train).toBeGreaterThan(400);
    process.stdout.write(`duckdb: ${duck.events} events in ${duck.seconds.toFixed(2)} s\n`);
  });
});
