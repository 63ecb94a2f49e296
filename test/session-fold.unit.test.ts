import { describe, expect, it } from "vitest";
import type { TrackedEvent } from "../src/contracts/events";
import { initialState } from "../src/features/engine";
import { foldBatch } from "../src/session/fold";
import type { StoredImpression } from "../src/session/attribution";

const who = { tenant: "t", visitorId: "v" };
const at = 1_800_000_000_000;
const view = (id: string, item: string): TrackedEvent => ({ id, type: "product_view", timestamp: at, properties: { item_id: item } });
const consent = (id: string, analytics: boolean, personalization: boolean): TrackedEvent => ({ id, type: "consent", timestamp: at, properties: { analytics, personalization } });
const base = { who, state: initialState(), nextSeq: 1, receivedAt: at, seen: new Set<string>(), engine: { sessionGapMs: 1_800_000 }, impressions: () => [] as StoredImpression[] };

describe("foldBatch (pure: no storage, no clock)", () => {
  it("dedups against the index and within the batch, numbering applied events in order", () => {
    const r = foldBatch({ ...base, nextSeq: 7, seen: new Set(["a"]), events: [view("a", "x"), view("b", "y"), view("b", "y"), view("c", "z")], consent: { mode: "opt-out", gpc: false } });
    expect(r.outcomes).toEqual(["duplicate", "accepted", "duplicate", "accepted"]);
    expect(r.seenRows).toEqual([
      ["b", 7],
      ["c", 8],
    ]);
    expect(r.nextSeq).toBe(9);
    expect(r.lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([7, 8]);
  });

  it("opt-in without a declaration stores nothing; GPC folds but does not forward", () => {
    const none = foldBatch({ ...base, events: [view("a", "x")], consent: { mode: "opt-in", gpc: false } });
    expect(none).toMatchObject({ outcomes: ["no_consent"], seenRows: [], historyRows: [], lines: [] });
    const gpc = foldBatch({ ...base, events: [view("a", "x")], consent: { mode: "opt-out", gpc: true } });
    expect(gpc.outcomes).toEqual(["accepted"]);
    expect(gpc.historyRows).toHaveLength(1);
    expect(gpc.lines).toEqual([]);
  });

  it("a withdrawal drops the history before it and reports who the visitor was", () => {
    const r = foldBatch({ ...base, events: [view("a", "x"), consent("k", true, false), view("b", "y")], consent: { mode: "opt-out", gpc: false } });
    expect(r.withdrawn).toEqual({ identity: null });
    expect(r.outcomes).toEqual(["accepted", "accepted", "accepted"]);
    expect(r.historyRows).toEqual([]); // the consent record is forwarded, not folded; the view after it is neither folded
    expect(r.lines).toHaveLength(3);
  });

  it("attributes a click to the list it names, reading the lists only when needed", () => {
    let reads = 0;
    const lists: StoredImpression[] = [{ impression_id: "imp-1", served_at: at - 1000, experiment: "e", variant: "b", model: null, items: ["x", "y"] }];
    const impressions = () => (reads++, lists);
    foldBatch({ ...base, impressions, events: [view("a", "x")], consent: { mode: "opt-out", gpc: false } });
    expect(reads).toBe(0);
    const click: TrackedEvent = { id: "c", type: "recommendation_click", timestamp: at, properties: { impression_id: "imp-1", item_id: "y" } };
    const r = foldBatch({ ...base, impressions, events: [click, { ...click, id: "d" }], consent: { mode: "opt-out", gpc: false } });
    expect(reads).toBe(1);
    expect((JSON.parse(r.lines[0]!) as { attribution: unknown[] }).attribution).toEqual([{ item_id: "y", impression_id: "imp-1", experiment: "e", variant: "b", model: null, position: 2 }]);
  });
});
