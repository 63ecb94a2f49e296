import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cachedJson } from "../src/registry/r2-json";

describe("cachedJson (R2 documents cached per isolate)", () => {
  it("revalidates by etag: unchanged documents are not parsed again, changes are picked up", async () => {
    const key = "tenants/cache-test/experiments.json";
    let parses = 0;
    const parse = (raw: unknown) => {
      parses++;
      return raw as { v: number };
    };
    expect(await cachedJson(env.MODELS, key, 0, parse)).toBeNull();
    await env.MODELS.put(key, JSON.stringify({ v: 1 }));
    expect(await cachedJson(env.MODELS, key, 0, parse)).toEqual({ v: 1 });
    expect(await cachedJson(env.MODELS, key, 0, parse)).toEqual({ v: 1 });
    expect(parses).toBe(1);
    await env.MODELS.put(key, JSON.stringify({ v: 2 }));
    expect(await cachedJson(env.MODELS, key, 0, parse)).toEqual({ v: 2 });
    expect(parses).toBe(2);
    // Within the TTL nothing is read at all.
    await env.MODELS.put(key, JSON.stringify({ v: 3 }));
    expect(await cachedJson(env.MODELS, key, 60_000, parse)).toEqual({ v: 2 });
    await env.MODELS.delete(key);
    expect(await cachedJson(env.MODELS, key, 0, parse)).toBeNull();
  });

  it("does not cache a failed parse", async () => {
    const key = "tenants/cache-test/catalog.json";
    await env.MODELS.put(key, "{ not json");
    await expect(cachedJson(env.MODELS, key, 60_000, (x) => x)).rejects.toThrow();
    await env.MODELS.put(key, JSON.stringify({ ok: true }));
    expect(await cachedJson(env.MODELS, key, 60_000, (x) => x)).toEqual({ ok: true });
  });
});
