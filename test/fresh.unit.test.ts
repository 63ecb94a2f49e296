/**
 * The fresh generator's state (src/models/ranker/fresh.ts, design 0028): how views
 * pair up, and that every bound holds — items, neighbours per item, open visits,
 * decay — whatever the stream.
 */
import { describe, expect, it } from "vitest";
import { CoVisitation, FRESH_STATE_DEFAULTS, type FreshStateOptions, freshNeighbours, scoreFresh } from "../src/models/ranker/fresh";
import { freshStateOptions } from "../src/fresh/options";
import { FreshReplay, FreshStream } from "../src/offline/train/fresh-replay";
import { checkManifestAgainstFeatures, parseManifest } from "../src/models/manifest";
import demoManifest from "../models/demo/1/manifest.json";

const T0 = Date.UTC(2026, 11, 1);
const opts = (o: Partial<FreshStateOptions>): FreshStateOptions => ({ ...FRESH_STATE_DEFAULTS, ...o });

describe("co-visitation state", () => {
  it("pairs a view with the visit's latest distinct items, both ways, weight 1 / distance; repeats add nothing", () => {
    const s = new CoVisitation();
    for (const [i, item] of ["a", "b", "c", "b", "b"].entries()) s.observe({ visitor: "v", item, at: T0 + i });
    const n = freshNeighbours(s.table());
    const w = (x: string, y: string) => {
      const row = n.get(x)!;
      return row.weights[row.items.indexOf(y)]!;
    };
    // a-b (distance 1), then c: c-b (1), c-a (1/2); the repeated b views add nothing.
    expect(w("a", "b")).toBeCloseTo(1, 3);
    expect(w("b", "a")).toBeCloseTo(1, 3);
    expect(w("c", "b")).toBeCloseTo(1, 3);
    expect(w("c", "a")).toBeCloseTo(0.5, 3);
    expect(n.get("b")!.items).toEqual(["c", "a"]); // equal pairs: the later one weighs a little more (decay)
  });

  it("starts a new visit after the visit gap, and keeps visitors apart", () => {
    const s = new CoVisitation(opts({ visit_gap_s: 60 }));
    s.observe({ visitor: "v", item: "a", at: T0 });
    s.observe({ visitor: "w", item: "b", at: T0 + 1 });
    s.observe({ visitor: "v", item: "c", at: T0 + 61_000 });
    expect(s.size.pairs).toBe(0);
  });

  it("keeps at most max_items items (least recently viewed dropped), neighbours per item and open visits", () => {
    const o = opts({ max_items: 50, neighbours: 4, window: 3, max_visitors: 7 });
    const s = new CoVisitation(o);
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let i = 0; i < 5000; i++) {
      s.observe({ visitor: `v${rand(40)}`, item: `i${rand(300)}`, at: T0 + i * 1000 });
      expect(s.size.items).toBeLessThanOrEqual(50);
      expect(s.size.visits).toBeLessThanOrEqual(7);
    }
    const t = s.table();
    expect(t.items).toHaveLength(50);
    for (let i = 0; i < t.items.length; i++) expect(t.offsets[i + 1]! - t.offsets[i]!).toBeLessThanOrEqual(4);
    // The latest item is kept; it is the most recently viewed one.
    s.observe({ visitor: "x", item: "brand-new", at: T0 + 6_000_000 });
    expect(s.table().items).toContain("brand-new");
  });

  it("forgets a visit a visit gap after its last view (no visitor's items outlive it)", () => {
    const s = new CoVisitation(opts({ visit_gap_s: 60 }));
    s.observe({ visitor: "v", item: "a", at: T0 });
    s.observe({ visitor: "w", item: "b", at: T0 + 120_000 });
    expect(s.size.visits).toBe(1);
    expect(s.takeChanges().removedVisits).toEqual(["v"]);
  });

  it("decays: a pair seen a half-life ago weighs half a pair seen now, across a rescale too", () => {
    const s = new CoVisitation(opts({ half_life_s: 3600 }));
    s.observe({ visitor: "v", item: "a", at: T0 });
    s.observe({ visitor: "v", item: "old", at: T0 });
    // 40 half-lives later (past the rescale threshold), then one more half-life.
    const later = T0 + 40 * 3_600_000;
    s.observe({ visitor: "w", item: "a", at: later });
    s.observe({ visitor: "w", item: "new1", at: later });
    s.observe({ visitor: "u", item: "a", at: later + 3_600_000 });
    s.observe({ visitor: "u", item: "new2", at: later + 3_600_000 });
    const row = freshNeighbours(s.table()).get("a")!;
    expect(row.items).toEqual(["new2", "new1"]); // the 40-half-lives-old pair fell below the floor
    expect(row.weights[1]! / row.weights[0]!).toBeCloseTo(0.5, 6);
  });

  it("restores from its changes to the same state (what the FreshDO persists)", () => {
    const s = new CoVisitation(opts({ max_items: 20, neighbours: 3 }));
    const items: Map<string, ReturnType<CoVisitation["takeChanges"]>["items"][number]> = new Map();
    const visits: Map<string, ReturnType<CoVisitation["takeChanges"]>["visits"][number]> = new Map();
    let ref = 0;
    let tick = 0;
    for (let i = 0; i < 400; i++) {
      s.observe({ visitor: `v${i % 9}`, item: `i${(i * 7) % 45}`, at: T0 + i * 5000 });
      if (i % 13 === 0 || i === 399) {
        const c = s.takeChanges();
        ({ ref, tick } = c);
        for (const r of c.items) items.set(r.item, r);
        for (const x of c.removedItems) items.delete(x);
        for (const v of c.visits) visits.set(v.visitor, v);
        for (const x of c.removedVisits) visits.delete(x);
      }
    }
    const restored = CoVisitation.restore(s.options, { ref, tick, items: [...items.values()], visits: [...visits.values()] });
    expect(restored.table()).toEqual(s.table());
    s.observe({ visitor: "v1", item: "z", at: T0 + 3_000_000 });
    restored.observe({ visitor: "v1", item: "z", at: T0 + 3_000_000 });
    expect(restored.table()).toEqual(s.table());
  });

  it("the generator sums the last `depth` distinct items' neighbours with decay, best first, relative to the best", () => {
    const s = new CoVisitation();
    const visit = (v: string, items: string[], at: number) => items.forEach((item, i) => s.observe({ visitor: v, item, at: at + i }));
    visit("1", ["x", "new"], T0);
    visit("2", ["x", "new"], T0 + 10);
    visit("3", ["y", "other"], T0 + 20);
    const out = scoreFresh(s.lookup(), ["y", "x"], 10, 2, 0.5);
    expect(out.items).toEqual(["new", "other"]);
    expect(out.scores[0]).toBe(1);
    expect(out.scores[1]).toBeCloseTo(0.25, 6); // 1 × 0.5 vs 2 × 1
    // The live lookup and the table an isolate reads agree.
    expect(scoreFresh(freshNeighbours(s.table()), ["y", "x"], 10, 2, 0.5)).toEqual(out);
  });

  it("with excludeViewed, never lists the visit's own items, so the visit's own views reaching the table late change nothing", () => {
    const others = (s: CoVisitation) => {
      s.observe({ visitor: "1", item: "x", at: T0 });
      s.observe({ visitor: "1", item: "new", at: T0 + 1 });
    };
    const early = new CoVisitation();
    others(early);
    const late = new CoVisitation();
    others(late);
    // The visit's own views, already in one table (the trainer's replay), not yet in the other (a FreshDO behind its queue).
    ["y", "x"].forEach((item, i) => late.observe({ visitor: "me", item, at: T0 + 10 + i }));
    const seq = ["y", "x"];
    expect(scoreFresh(late.lookup(), seq, 10, 2, 0.5).items).toContain("y"); // without: the visit's own item, from its own views
    expect(scoreFresh(late.lookup(), seq, 10, 2, 0.5, true)).toEqual(scoreFresh(early.lookup(), seq, 10, 2, 0.5, true));
    expect(scoreFresh(late.lookup(), seq, 10, 2, 0.5, true).items).toEqual(["new"]);
  });
});

describe("FRESH_STATE", () => {
  it("overrides the defaults and refuses unbounded or unknown options", () => {
    expect(freshStateOptions("")).toEqual(FRESH_STATE_DEFAULTS);
    expect(freshStateOptions('{"max_items": 100}').max_items).toBe(100);
    expect(() => freshStateOptions('{"max_items": 0}')).toThrow(/max_items/);
    expect(() => freshStateOptions('{"neighbours": 1.5}')).toThrow(/neighbours/);
    expect(() => freshStateOptions('{"maxitems": 5}')).toThrow(/unknown/);
  });
});

describe("offline replay (point in time)", () => {
  it("a list sees its own prefix and other visits from before it started, never later views", () => {
    const sessions = [
      ["a", "b"],
      ["c", "d"],
      ["a", "e"],
    ];
    // Session 1 starts first but its second view comes after session 2 has started.
    const times = [
      [T0, T0 + 100],
      [T0 + 10, T0 + 20],
      [T0 + 50, T0 + 60],
    ];
    const r = new FreshReplay(sessions, FRESH_STATE_DEFAULTS, times);
    r.startSession(sessions[0]!);
    r.view(sessions[0]!, 0);
    r.view(sessions[0]!, 1);
    r.startSession(sessions[1]!);
    r.view(sessions[1]!, 0);
    r.startSession(sessions[2]!);
    // Session 2 (c, d) happened before session 3 started: c-d is known; its own view a too.
    expect(r.lookup().get("c")?.items).toEqual(["d"]);
    r.view(sessions[2]!, 0);
    expect(r.lookup().get("a")?.items).toEqual(["b"]);
  });
});

describe("the model-family contract", () => {
  it("declares the generator with its bounds; a version without it (as before) still parses and checks", () => {
    const current = parseManifest(demoManifest);
    expect(current.ranker!.generators.fresh).toEqual({ k: 50, depth: 3, decay: 0.5, state: FRESH_STATE_DEFAULTS, exclude_viewed: true });
    // A version trained before exclude_viewed (design 0029) still parses, and keeps listing the visit's own items.
    const before = structuredClone(demoManifest) as { ranker: { generators: { fresh: Record<string, unknown> } } };
    delete before.ranker.generators.fresh.exclude_viewed;
    expect(parseManifest(before).ranker!.generators.fresh!.exclude_viewed).toBeUndefined();
    const old = structuredClone(demoManifest) as { ranker: { generators: Record<string, unknown>; features: Array<{ name: string }>; baselines: Record<string, unknown> } };
    delete old.ranker.generators.fresh;
    old.ranker.features = old.ranker.features.filter((f) => !f.name.startsWith("gen.fresh."));
    for (const k of Object.keys(old.ranker.baselines)) if (k.startsWith("gen.fresh.")) delete old.ranker.baselines[k];
    const parsed = parseManifest(old);
    expect(parsed.ranker!.generators.fresh).toBeUndefined();
    expect(() => checkManifestAgainstFeatures(parsed)).not.toThrow();
    // A malformed state is refused at load, never served unbounded.
    const bad = structuredClone(demoManifest) as { ranker: { generators: { fresh: { state: { max_items: number } } } } };
    bad.ranker.generators.fresh.state.max_items = 0;
    expect(() => parseManifest(bad)).toThrow(/manifest/);
  });
});

describe("FreshStream (npm run eval's fresh state)", () => {
  it("gives each evaluated list the state the trainer's replay gives a list of a session that follows the training data", () => {
    let seed = 11;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    // Sessions of 2–5 views over 40 items: on the trainer's clock each ends before the next starts.
    const session = () => Array.from({ length: 2 + Math.floor(rand() * 4) }, () => `i${Math.floor(rand() * 40)}`);
    const training = Array.from({ length: 300 }, session);
    const evaluated = Array.from({ length: 60 }, session);
    const options = { ...FRESH_STATE_DEFAULTS, max_items: 30, max_visitors: 50 };
    const replay = new FreshReplay([...training, ...evaluated], options);
    const stream = new FreshStream(training, options);
    let compared = 0;
    for (const s of evaluated) {
      replay.startSession(s);
      stream.startSession(s);
      for (let i = 1; i < s.length; i++) {
        replay.view(s, i - 1);
        const prefix = s.slice(0, i);
        const want = scoreFresh(replay.lookup(), prefix, 50, 3, 0.5, true);
        expect(scoreFresh(stream.after(i), prefix, 50, 3, 0.5, true)).toEqual(want);
        compared += want.items.length;
      }
    }
    expect(compared).toBeGreaterThan(100);
  });
});
