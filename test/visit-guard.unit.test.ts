import { describe, expect, it } from "vitest";
import { guardVisit, visitOrder } from "../src/models/ranker/visit-guard";

const list = (...ids: string[]) => ids.map((item_id, i) => ({ item_id, score: 100 - i }));
const ids = (l: ReadonlyArray<{ item_id: string }>) => l.map((s) => s.item_id);

describe("visit guard (design 0029)", () => {
  it("orders the visit's items as S-POP does: views, then recency", () => {
    expect(visitOrder(["a", "b", "a", "c", "b", "d"])).toEqual(["b", "a", "d", "c"]);
  });

  it("moves the visit's items the ranker put below the page into the page's last places; the displaced items lead what follows", () => {
    const ranked = list("n1", "n2", "n3", "v1", "n4", "n5", "v2", "n6");
    expect(ids(guardVisit(ranked, ["v2", "v1"], 4))).toEqual(["n1", "n2", "v1", "v2", "n3", "n4", "n5", "n6"]);
  });

  it("guards at most half the page, keeps items already in it, never adds an item the ranker did not list, and skips excluded ones", () => {
    const ranked = list("v1", "n1", "n2", "n3", "v2", "v3", "v4");
    // Page 4: at most 2 guarded (v1 is already in, v2 comes in); v9 is not a candidate; v3 is excluded.
    expect(ids(guardVisit(ranked, ["v1", "v9", "v2", "v4"], 4))).toEqual(["v1", "n1", "n2", "v2", "n3", "v3", "v4"]);
    expect(ids(guardVisit(ranked, ["v3", "v2"], 4, (id) => id === "v3"))).toEqual(["v1", "n1", "n2", "v2", "n3", "v4"]);
  });

  it("changes nothing when the visit's items are already in the page", () => {
    const ranked = list("v1", "n1", "v2", "n2", "n3");
    expect(guardVisit(ranked, ["v2", "v1"], 4)).toEqual(ranked);
  });
});
