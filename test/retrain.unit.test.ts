import { describe, expect, it } from "vitest";
import { EVENT_SCHEMA_VERSION } from "../src/contracts/events";
import type { EventMessage, RetrainRequest } from "../src/contracts/queue";
import { requestKey } from "../src/mlops/retrain/keys";
import { DRIFT_CHECK_MS, driftCheckMs } from "../src/mlops/retrain/requests";
import { eventLogKey } from "../src/pipeline/event-log";
import { type ModelScores, metricOf, pairedBootstrap } from "../src/offline/retrain/compare";
import { DEFAULT_GATE, judge } from "../src/offline/retrain/gate";
import { type LogObjects, readLogWindow } from "../src/offline/retrain/log-window";
import { decidePending, oldestUnanswered, readRequestBook } from "../src/offline/retrain/pending";

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 1);

function view(visitor: string, seq: number, at: number, item: string, id = `${visitor}-${seq}`): EventMessage {
  return {
    kind: "event",
    schema_version: EVENT_SCHEMA_VERSION,
    tenant: "t",
    visitor_id: visitor,
    seq,
    received_at: at + 100,
    event: { id, type: "product_view", timestamp: at, properties: { item_id: item } },
  } as EventMessage;
}

/** A log of objects (key → lines), listed in key order, recording the most objects read before the last. */
function memoryLog(lines: EventMessage[]): LogObjects {
  const objects = new Map<string, string[]>();
  lines.forEach((m, i) => {
    const key = eventLogKey(m.tenant, m.received_at, `${m.received_at}-${i}`);
    objects.set(key, [...(objects.get(key) ?? []), JSON.stringify(m)]);
  });
  return {
    async *keys(prefix) {
      yield* [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
    text: async (key) => objects.get(key)!.join("\n"),
  };
}

describe("readLogWindow (the event log as a stream)", () => {
  it("drops duplicate deliveries, orders by seq, cuts visits by the engine's rule and splits by visit start", async () => {
    const lines = [
      // Visitor a: a visit of three views delivered out of order and twice, then a visit a day later (held out).
      view("a", 2, T0 + 60_000, "i2"),
      view("a", 1, T0, "i1"),
      view("a", 2, T0 + 60_000, "i2"),
      view("a", 3, T0 + 120_000, "i3"),
      view("a", 4, T0 + 24 * H, "i4"),
      view("a", 5, T0 + 24 * H + 60_000, "i5"),
      // Visitor b: one view only (no prediction point), and an event before the window.
      view("b", 1, T0 - 48 * H, "old"),
      view("b", 2, T0 + 2 * H, "i9"),
    ];
    const d = await readLogWindow(memoryLog(lines), "t", { from: T0 - H, holdoutFrom: T0 + 12 * H, to: T0 + 48 * H }, { engine: { sessionGapMs: 1800_000 } });
    expect(d.train).toEqual([["i1", "i2", "i3"]]);
    expect(d.holdout).toEqual([["i4", "i5"]]);
    // Visitor a came back a day later: its stream was closed in between and counts twice.
    expect(d).toMatchObject({ duplicates: 1, events: 6, views: 6, visitors: 3 });
  });

  it("keeps only visitors who may still receive lines in memory", async () => {
    // 200 visitors, one an hour, each with a two-view visit.
    const lines = Array.from({ length: 200 }, (_, v) => [view(`v${v}`, 1, T0 + v * H, "x"), view(`v${v}`, 2, T0 + v * H + 60_000, "y")]).flat();
    const d = await readLogWindow(memoryLog(lines), "t", { from: T0, holdoutFrom: T0 + 300 * H, to: T0 + 300 * H }, { engine: { sessionGapMs: 1800_000 } });
    expect(d.train).toHaveLength(200);
    expect(d.peakBuffered).toBeLessThanOrEqual(4);
  });

  it("drops an erased visitor's lines received before the erasure", async () => {
    const lines = [view("e", 1, T0, "i1"), view("e", 2, T0 + 60_000, "i2"), view("k", 1, T0, "i1"), view("k", 2, T0 + 60_000, "i2")];
    const d = await readLogWindow(
      memoryLog(lines),
      "t",
      { from: T0 - H, holdoutFrom: T0 + H, to: T0 + 2 * H },
      {
        engine: { sessionGapMs: 1800_000 },
        erasedAt: async (_t, v) => (v === "e" ? T0 + H : undefined),
      },
    );
    expect(d.train).toEqual([["i1", "i2"]]);
    expect(d.erased).toBe(2);
  });
});

/** Scores of `n` visits of 5 points each, `hits` of them hits at rank 1. */
function scores(name: string, hitsPerVisit: (v: number) => number, recommended = 500, n = 100, p95 = 5): ModelScores {
  return {
    name,
    visits: Array.from({ length: n }, (_, v) => {
      const h = hitsPerVisit(v);
      return { cases: 5, hits: h, rr: h, freshCases: 3, freshHits: Math.min(3, h), repeatCases: 2, repeatHits: Math.max(0, h - 3) };
    }),
    recommended,
    latency: { p50: p95 / 2, p95 },
  };
}

describe("the champion/challenger gate", () => {
  it("the same model against itself: a zero difference with a zero-width interval, refused", () => {
    const a = scores("a", (v) => v % 4);
    const c = pairedBootstrap(a, a, 200);
    expect(c["hr@20"].difference).toEqual({ value: 0, low: 0, high: 0 });
    const verdict = judge(c, a, a, 1000);
    expect(verdict.publish).toBe(false);
    expect(verdict.reasons.join("\n")).toMatch(/better by the margin/);
  });

  it("a clearly better challenger passes every rule; its interval lies around the true difference", () => {
    const champion = scores("champion", (v) => v % 3);
    const challenger = scores("challenger", (v) => (v % 3) + 1);
    const c = pairedBootstrap(challenger, champion, 500);
    expect(metricOf(challenger, "hr@20") - metricOf(champion, "hr@20")).toBeCloseTo(0.2, 10);
    expect(c["hr@20"].difference.low).toBeGreaterThan(0);
    expect(c["hr@20"].difference.low).toBeLessThanOrEqual(0.2);
    const verdict = judge(c, challenger, champion, 1000);
    expect(verdict.checks.filter((x) => !x.passed)).toEqual([]);
    expect(verdict.publish).toBe(true);
  });

  it("a better challenger that collapses onto few items, or is far slower, is refused by the guard rules", () => {
    const champion = scores("champion", (v) => v % 3);
    const collapsed = scores("collapsed", (v) => (v % 3) + 1, 20);
    const slow = scores("slow", (v) => (v % 3) + 1, 500, 100, 40);
    expect(judge(pairedBootstrap(collapsed, champion, 200), collapsed, champion, 1000).reasons).toEqual([expect.stringMatching(/^coverage not worse/)]);
    expect(judge(pairedBootstrap(slow, champion, 200), slow, champion, 1000).reasons).toEqual([expect.stringMatching(/^latency not worse/)]);
  });

  it("too few held-out points give no verdict", () => {
    const champion = scores("champion", (v) => v % 3, 500, 10);
    const challenger = scores("challenger", () => 5, 500, 10);
    const verdict = judge(pairedBootstrap(challenger, champion, 100), challenger, champion, 1000, { ...DEFAULT_GATE, minCases: 200 });
    expect(verdict.reasons).toEqual([expect.stringMatching(/^enough held-out data/)]);
  });
});

describe("which parked request a scheduled run answers (npm run retrain -- --pending)", () => {
  const request = (model: string, day: number, at: number, tenant = "t"): RetrainRequest => ({
    kind: "retrain_requested",
    schema_version: 1,
    id: `${tenant}:${model}:${T0 + day * 86_400_000}`,
    tenant,
    model,
    window: { from: T0 + day * 86_400_000, to: T0 + (day + 1) * 86_400_000 },
    requested_at: T0 + day * 86_400_000 + at,
    reasons: ["PSI 0.4"],
  });
  /** The models bucket's retrain/ records as listed objects. */
  const bucket = (objects: Record<string, unknown>): LogObjects => ({
    async *keys(prefix) {
      yield* Object.keys(objects)
        .filter((k) => k.startsWith(prefix))
        .sort();
    },
    text: async (key) => (typeof objects[key] === "string" ? (objects[key] as string) : JSON.stringify(objects[key])),
  });

  it("answers the oldest request no run answered; refused runs answer too; nothing pending: null", async () => {
    const a = request("shop/1", 0, 5000);
    const b = request("shop/2", 0, 9000);
    const c = request("shop/1", 1, 100);
    const objects: Record<string, unknown> = {
      [requestKey("t", c.model, c.window.from)]: c,
      [requestKey("t", b.model, b.window.from)]: b,
      [requestKey("t", a.model, a.window.from)]: a,
      "retrain/t/requests/garbage.json": "{not json",
      [requestKey("other", "shop/1", T0)]: request("shop/1", -1, 0, "other"),
      "retrain/t/runs/20261101T000000000Z-r1.json": { run: "r1", request: null, verdict: "published" },
    };
    let book = await readRequestBook(bucket(objects), "t");
    expect(book.requests.map((r) => r.id).sort()).toEqual([a.id, b.id, c.id].sort());
    expect(book.skipped).toBe(1);
    expect(oldestUnanswered(book)?.id).toBe(a.id);

    objects["retrain/t/runs/20261102T000000000Z-r2.json"] = { run: "r2", request: a.id, verdict: "refused" };
    book = await readRequestBook(bucket(objects), "t");
    expect(oldestUnanswered(book)?.id).toBe(b.id);

    objects["retrain/t/runs/20261102T010000000Z-r3.json"] = { run: "r3", request: b.id, verdict: "published" };
    objects["retrain/t/runs/20261103T010000000Z-r4.json"] = { run: "r4", request: c.id, verdict: "published" };
    expect(oldestUnanswered(await readRequestBook(bucket(objects), "t"))).toBeNull();
    expect(oldestUnanswered(await readRequestBook(bucket({}), "t"))).toBeNull();
  });

  it("decides: nothing to do, wait while an experiment runs, or answer", () => {
    const a = request("shop/1", 0, 5000);
    expect(decidePending({ requests: [a], answered: new Set([a.id]), skipped: 0 }, null)).toEqual({ action: "nothing_to_do", parked: 1, answered: 1 });
    expect(decidePending({ requests: [], answered: new Set(), skipped: 0 }, "ro1-s1")).toMatchObject({ action: "nothing_to_do" });
    expect(decidePending({ requests: [a], answered: new Set(), skipped: 0 }, "ro1-s1")).toEqual({ action: "waiting", request: a, experiment: "ro1-s1" });
    expect(decidePending({ requests: [a], answered: new Set(), skipped: 0 }, null)).toEqual({ action: "answer", request: a });
  });
});

describe("DRIFT_CHECK_SECONDS", () => {
  it("sets how often drift is judged for retrain requests; a missing or bad value keeps ten minutes", () => {
    expect(driftCheckMs({})).toBe(DRIFT_CHECK_MS);
    expect(DRIFT_CHECK_MS).toBe(600_000);
    expect(driftCheckMs({ DRIFT_CHECK_SECONDS: "0" })).toBe(0);
    expect(driftCheckMs({ DRIFT_CHECK_SECONDS: "30" })).toBe(30_000);
    for (const bad of ["", "soon", "-5"]) expect(driftCheckMs({ DRIFT_CHECK_SECONDS: bad })).toBe(DRIFT_CHECK_MS);
  });
});
