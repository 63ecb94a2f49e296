import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SharedLoadTimeout, awaitShared, isAbandoned, shareLoad } from "../src/registry/shared-load";

describe("awaitShared (joining a load another request started)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("answers with the load's value once it settles, before the bound", async () => {
    let resolve = (_: string) => {};
    const load = shareLoad(new Promise<string>((r) => (resolve = r)), 1000);
    const joined = awaitShared(load);
    await vi.advanceTimersByTimeAsync(400);
    resolve("model");
    await expect(joined).resolves.toBe("model");
    expect(load.settled).toBe(true);
    expect(isAbandoned(load)).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("passes the load's own failure through", async () => {
    let reject = (_: Error) => {};
    const load = shareLoad(new Promise<string>((_, r) => (reject = r)), 1000);
    const joined = awaitShared(load);
    reject(new Error("checksum_mismatch"));
    await expect(joined).rejects.toThrow("checksum_mismatch");
    expect(isAbandoned(load)).toBe(false);
  });

  it("gives up after the bound with a typed error, and marks the load abandoned for the next request", async () => {
    const load = shareLoad(new Promise<string>(() => {}), 1000);
    const joined = awaitShared(load).catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(999);
    expect(isAbandoned(load)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const err = await joined;
    expect(err).toBeInstanceOf(SharedLoadTimeout);
    expect(err).toMatchObject({ code: "shared_load_timeout", maxMs: 1000 });
    expect(isAbandoned(load)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a settled load is returned as it is, with no timer", async () => {
    const load = shareLoad(Promise.resolve("cached"), 1000);
    await Promise.resolve();
    expect(load.settled).toBe(true);
    await expect(awaitShared(load)).resolves.toBe("cached");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a load that settles after a request gave up is no longer abandoned", async () => {
    let resolve = (_: string) => {};
    const load = shareLoad(new Promise<string>((r) => (resolve = r)), 100);
    await expect(Promise.all([awaitShared(load), vi.advanceTimersByTimeAsync(100)])).rejects.toBeInstanceOf(SharedLoadTimeout);
    expect(isAbandoned(load)).toBe(true);
    resolve("late");
    await expect(awaitShared(load)).resolves.toBe("late");
    expect(isAbandoned(load)).toBe(false);
  });
});
