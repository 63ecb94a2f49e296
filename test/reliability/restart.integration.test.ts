import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sessionStub } from "../../src/session/stub";
import { SHOP_A, getSession, make, newVisitor, postEvents, visitorIdOf } from "../helpers";
import { waitForVisitorLines } from "../r2";
import { summary } from "./harness";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Marks the live instance, so the test can tell a fresh instance from the old one. */
const mark = (stub: DurableObjectStub) => runInDurableObject(stub, (instance) => void ((instance as unknown as { marker?: number }).marker = 1));
const isMarked = (stub: DurableObjectStub) => runInDurableObject(stub, (instance) => (instance as unknown as { marker?: number }).marker === 1);

describe("SessionDO restart", () => {
  it("features, history and dedup are identical after the object is aborted and restarted", async () => {
    const v = await newVisitor();
    const stubOf = () => sessionStub(env, SHOP_A.id, visitorIdOf(v));
    let stub = stubOf();
    const batch = [make.productView("a", "shoes", 30), make.productView("b", "bags", 80), make.addToCart("b", 2, 80), make.search("red boots"), make.removeFromCart("b", 1), make.consent()];
    const first = await postEvents(batch, { visitor: v });
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ accepted: batch.length, rejected: 0 });
    const at = Date.now();
    const before = { features: await stub.features(at), snapshot: await stub.snapshot(at) };
    await mark(stub);
    expect(await isMarked(stub)).toBe(true);

    await abortAllDurableObjects();
    stub = stubOf(); // stubs of an aborted object are broken; a new one reaches the restarted object

    expect(await isMarked(stub)).toBe(false); // a new instance, rebuilt from storage only
    expect(await stub.features(at)).toEqual(before.features);
    expect(await stub.snapshot(at)).toEqual(before.snapshot);
    // The dedup index survived: a replay applies nothing.
    expect(await (await postEvents(batch, { visitor: v })).json()).toMatchObject({ accepted: 0, duplicate: batch.length });
    expect((await getSession(v)).events_applied).toBe(batch.length);
    summary("restart", { features_identical: "yes", events: batch.length });
  });

  it("events held in the outbox when the object restarts are forwarded afterwards, once", async () => {
    const v = await newVisitor();
    await runInDurableObject(sessionStub(env, SHOP_A.id, visitorIdOf(v)), (instance) => {
      vi.spyOn((instance as unknown as { env: Env }).env.EVENTS, "sendBatch").mockRejectedValue(new Error("Queue send failed (injected)"));
    });
    expect((await postEvents([make.pageView(), make.productView("z")], { visitor: v })).status).toBe(503);
    expect((await getSession(v)).pending_forward).toBe(2);
    await abortAllDurableObjects();
    vi.restoreAllMocks();
    expect((await getSession(v)).pending_forward).toBe(2);
    expect(await runDurableObjectAlarm(sessionStub(env, SHOP_A.id, visitorIdOf(v)))).toBe(true);
    expect((await getSession(v)).pending_forward).toBe(0);
    const lines = await waitForVisitorLines(visitorIdOf(v), 2);
    expect(lines.map((l) => l.line.seq).sort()).toEqual([1, 2]);
  });
});
