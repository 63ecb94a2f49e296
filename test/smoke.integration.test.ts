import { describe, expect, it } from "vitest";
import { type BatchBody, call, getSession, make, postEvents } from "./helpers";

describe("smoke", () => {
  it("answers healthz", async () => {
    const res = await call("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
  it("ingests and reads back", async () => {
    const res = await postEvents([make.productView("sku-1")]);
    const body = (await res.json()) as BatchBody;
    expect(res.status, JSON.stringify(body)).toBe(202);
    const visitor = res.headers.get("x-edgewise-visitor")!;
    const session = await getSession(visitor);
    expect(session.features.last_viewed_items).toEqual(["sku-1"]);
  });
});
