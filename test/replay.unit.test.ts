import { describe, expect, it } from "vitest";
import type { TrackedEvent } from "../src/contracts/events";
import type { EventMessage } from "../src/contracts/queue";
import { sessionsToMessages } from "../src/offline/replay/dataset";
import { orderedStreams, trainingExamples, viewSessionsFromLog } from "../src/offline/replay/replay-log";

const opts = { sessionGapMs: 30 * 60_000 };
const t0 = Date.UTC(2026, 10, 1, 12);

function line(visitor: string, seq: number, event: TrackedEvent): EventMessage {
  return { kind: "event", schema_version: 1, tenant: "shop", visitor_id: visitor, seq, received_at: event.timestamp, event };
}
const view = (id: string, item: string, sec: number): TrackedEvent => ({ id, type: "product_view", timestamp: t0 + sec * 1000, properties: { item_id: item } });

const log: EventMessage[] = [
  line("v1", 1, view("a", "A", 0)),
  line("v1", 2, { id: "p", type: "page_view", timestamp: t0 + 5000, properties: {} }),
  line("v1", 3, view("b", "B", 10)),
  line("v1", 4, view("c", "C", 20)),
  line("v2", 1, view("x", "X", 0)),
  line("v2", 2, view("y", "Y", 30)),
];

describe("point-in-time training examples", () => {
  it("each example sees only the events applied before its target", () => {
    const examples = [...trainingExamples(log, opts)];
    expect(examples.map((e) => [e.visitor_id, e.seq, e.target, e.features.visit_viewed_items])).toEqual([
      ["v1", 3, "B", ["A"]],
      ["v1", 4, "C", ["A", "B"]],
      ["v2", 2, "Y", ["X"]],
    ]);
    const b = examples[0]!;
    expect(b.at).toBe(t0 + 10_000);
    expect(b.features.seconds_since_last_product_view).toBe(10); // materialised at the target's event time
    expect(b.features.event_counts_session).toEqual({ product_view: 1, page_view: 1 });
  });

  it("is unchanged by duplicate deliveries and by the order of the log files", () => {
    const messy = [...log].reverse().concat(log.slice(0, 3), log.slice(4));
    const byVisitor = (xs: Array<{ visitor_id: string; seq: number }>) => [...xs].sort((a, b) => a.visitor_id.localeCompare(b.visitor_id) || a.seq - b.seq);
    expect(byVisitor([...trainingExamples(messy, opts)])).toEqual(byVisitor([...trainingExamples(log, opts)]));
    expect(
      orderedStreams(messy)
        .get("shop:v1")!
        .map((m) => m.seq),
    ).toEqual([1, 2, 3, 4]);
  });

  it("cuts visitor streams into view sessions with the engine's visit rule", () => {
    const later = [line("v1", 5, view("d", "D", 20 + 31 * 60)), line("v1", 6, view("e", "E", 20 + 32 * 60))];
    expect(viewSessionsFromLog([...log, ...later].reverse(), opts)).toEqual([
      ["A", "B", "C"],
      ["D", "E"],
      ["X", "Y"],
    ]);
  });

  it("turns dataset sessions into one visitor stream per session", () => {
    const lines = sessionsToMessages([
      ["1", "2", "3"],
      ["4", "4"],
    ]);
    expect(lines).toHaveLength(5);
    const examples = [...trainingExamples(lines, opts)];
    expect(examples.map((e) => [e.target, e.features.visit_viewed_items])).toEqual([
      ["2", ["1"]],
      ["3", ["1", "2"]],
      ["4", ["4"]],
    ]);
  });
});
