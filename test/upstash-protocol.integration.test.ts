// The local Upstash-compatible server (tools/local/upstash/server.ts) spoken to over raw
// HTTP: @upstash/redis falls back to the raw string when base64 decoding fails, so a
// server that ignored `Upstash-Encoding` would pass every client-level test. These
// pin the wire protocol itself (PLATFORM-NOTES: "the Upstash REST protocol").
import { describe, expect, inject, it } from "vitest";

const upstash = inject("upstash");
if (!upstash) console.warn("!!! Upstash protocol tests SKIPPED: Redis is not reachable (see test/setup/upstash.global.ts)");

const b64 = (s: string) => btoa(s);
const key = (name: string) => `ew:protocol-test:${crypto.randomUUID()}:${name}`;

async function post(path: string, body: unknown, opts: { token?: string | null; base64?: boolean } = {}) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const token = opts.token === undefined ? upstash!.token : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (opts.base64 ?? true) headers["upstash-encoding"] = "base64";
  const res = await fetch(`${upstash!.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as unknown };
}

describe.skipIf(!upstash)("local Upstash REST server: the wire protocol", () => {
  it("refuses a missing or wrong Bearer token with 401 JSON and runs nothing", async () => {
    const k = key("auth");
    expect(await post("/", ["SET", k, "x", "EX", 60], { token: null })).toEqual({ status: 401, body: { error: "Unauthorized" } });
    expect(await post("/", ["SET", k, "x", "EX", 60], { token: "wrong" })).toEqual({ status: 401, body: { error: "Unauthorized" } });
    expect(await post("/", ["EXISTS", k])).toEqual({ status: 200, body: { result: 0 } });
  });

  it("base64-encodes every string but the status OK; numbers and nil stay; without the header strings are raw", async () => {
    const k = key("enc");
    expect(await post("/", ["SET", k, "héllo", "EX", 60])).toEqual({ status: 200, body: { result: "OK" } });
    const encoded = await post("/", ["GET", k]);
    expect(encoded).toEqual({ status: 200, body: { result: b64(String.fromCharCode(...new TextEncoder().encode("héllo"))) } });
    expect(await post("/", ["GET", k], { base64: false })).toEqual({ status: 200, body: { result: "héllo" } });
    expect(await post("/", ["TTL", k])).toMatchObject({ status: 200, body: { result: expect.any(Number) } });
    expect(await post("/", ["GET", key("missing")])).toEqual({ status: 200, body: { result: null } });
  });

  it("keeps nested arrays nested and encodes the strings inside", async () => {
    const k = key("list");
    await post("/pipeline", [
      ["RPUSH", k, "a", "b"],
      ["EXPIRE", k, 60],
    ]);
    expect(await post("/", ["LRANGE", k, 0, -1])).toEqual({ status: 200, body: { result: [b64("a"), b64("b")] } });
    const scan = (await post("/", ["SCAN", 0, "MATCH", k, "COUNT", 10])).body as { result: [string, string[]] };
    expect(typeof scan.result[0]).toBe("string");
    expect(Array.isArray(scan.result[1])).toBe(true);
  });

  it("/pipeline answers 200 with one result or error per command, in order", async () => {
    const k = key("pipe");
    const res = await post("/pipeline", [
      ["SET", k, "v", "EX", 60],
      ["INCR", k],
      ["GET", k],
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([{ result: "OK" }, { error: expect.stringMatching(/^ERR /) }, { result: b64("v") }]);
  });

  it("/multi-exec runs atomically; a runtime error is per command, a discarded transaction is one error", async () => {
    const k = key("tx");
    expect(
      await post("/multi-exec", [
        ["SET", k, "1", "EX", 60],
        ["INCR", k],
      ]),
    ).toEqual({ status: 200, body: [{ result: "OK" }, { result: 2 }] });
    const runtime = await post("/multi-exec", [
      ["SET", k, "a", "EX", 60],
      ["INCR", k],
    ]);
    expect(runtime).toEqual({ status: 200, body: [{ result: "OK" }, { error: expect.stringMatching(/^ERR /) }] });
    // A syntax error discards the whole transaction: nothing ran.
    const discarded = await post("/multi-exec", [
      ["SET", k, "b", "EX", 60],
      ["SET", k],
    ]);
    expect(discarded.status).toBe(400);
    expect(discarded.body).toEqual({ error: expect.stringMatching(/^ERR /) });
    expect(await post("/", ["GET", k], { base64: false })).toEqual({ status: 200, body: { result: "a" } });
  });

  it("takes JSON booleans as the strings true/false, so one boolean does not sink an auto-pipelined batch", async () => {
    const k = key("bool");
    const res = await post(
      "/pipeline",
      [
        ["SET", k, true, "EX", 60],
        ["HSET", `${k}:h`, "flag", false],
        ["EXPIRE", `${k}:h`, 60],
        ["GET", k],
      ],
      { base64: false },
    );
    expect(res).toEqual({ status: 200, body: [{ result: "OK" }, { result: 1 }, { result: 1 }, { result: "true" }] });
    expect(await post("/", ["HGET", `${k}:h`, "flag"], { base64: false })).toEqual({ status: 200, body: { result: "false" } });
    expect(
      await post(
        "/multi-exec",
        [
          ["SET", k, false, "EX", 60],
          ["GET", k],
        ],
        { base64: false },
      ),
    ).toEqual({ status: 200, body: [{ result: "OK" }, { result: "false" }] });
  });

  it("answers malformed commands with 400 JSON", async () => {
    expect(await post("/", { not: "a command" })).toEqual({ status: 400, body: { error: expect.stringMatching(/^ERR /) } });
    expect(await post("/", ["SET", "k", { no: "objects" }])).toEqual({ status: 400, body: { error: expect.stringMatching(/^ERR /) } });
    expect(await post("/pipeline", [["GET"], 5])).toEqual({ status: 400, body: { error: expect.stringMatching(/^ERR /) } });
    expect(await post("/", ["NOSUCHCOMMAND"])).toEqual({ status: 400, body: { error: expect.stringMatching(/^ERR /) } });
  });
});
