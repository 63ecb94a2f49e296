import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../src/app";
import { SHOP_A, SHOP_B, call, make, newVisitor, postEvents } from "./helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("operational basics", () => {
  it("GET /healthz", async () => {
    const res = await call("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("puts a request id on every response, echoing a well-formed incoming one", async () => {
    for (const res of [await call("/healthz"), await call("/nope"), await postEvents([], {})]) {
      expect(res.headers.get("x-request-id")).toMatch(/^[\w-]{8,}$/);
    }
    const echoed = await call("/healthz", { headers: { "x-request-id": "trace-abc-123" } });
    expect(echoed.headers.get("x-request-id")).toBe("trace-abc-123");
    const refused = await call("/healthz", { headers: { "x-request-id": "bad id with spaces" } });
    expect(refused.headers.get("x-request-id")).not.toBe("bad id with spaces");
  });

  it("sends Server-Timing on /v1/events", async () => {
    const res = await postEvents([make.pageView()]);
    expect(res.headers.get("server-timing")).toMatch(/read;dur=[\d.]+, validate;dur=[\d.]+, session;dur=[\d.]+/);
  });

  it("lists the feature definitions", async () => {
    const body = (await (await call("/v1/features")).json()) as { features: Array<{ name: string }> };
    expect(body.features.map((f) => f.name)).toEqual(expect.arrayContaining(["event_counts_5m", "cart", "category_affinity"]));
  });
});

describe("CORS for configured storefront origins only", () => {
  const preflight = (origin: string) =>
    call("/v1/events", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type, x-edgewise-key" },
    });

  it("allows a configured origin with credentials and exposes the visitor header", async () => {
    const res = await preflight(SHOP_A.origin);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP_A.origin);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-allow-headers")).toContain("x-edgewise-key");
    const post = await postEvents([make.pageView()], { headers: { origin: SHOP_A.origin } });
    expect(post.status).toBe(202);
    expect(post.headers.get("access-control-allow-origin")).toBe(SHOP_A.origin);
    expect(post.headers.get("access-control-expose-headers")).toContain("x-edgewise-visitor");
  });

  it("gives an unknown origin no CORS headers", async () => {
    const res = await preflight("https://evil.example");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("refuses a browser call from another tenant's storefront with 403, CORS headers intact", async () => {
    const res = await postEvents([make.pageView()], { headers: { origin: SHOP_B.origin } });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: "forbidden_origin" } });
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP_B.origin);
  });
});

describe("structured logs", () => {
  it("writes one JSON object per line and never PII (emails, customer ids, IPs, queries)", async () => {
    const lines: string[] = [];
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    }
    const debugEnv = { ...env, LOG_LEVEL: "debug" };
    const v = await newVisitor();
    const body = JSON.stringify({
      events: [make.identify("canary-customer-991", "canary.person@example.org"), make.search("canary.person@example.org 4111 1111 1111 1111")],
    });
    const res = await app.request(
      "https://edge.test/v1/events",
      {
        method: "POST",
        headers: { "content-type": "application/json", "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": v, "cf-connecting-ip": "203.0.113.77" },
        body,
      },
      debugEnv,
    );
    expect(res.status).toBe(202);
    await app.request("https://edge.test/v1/events", { method: "POST", headers: { "content-type": "application/json", "x-edgewise-key": SHOP_A.key }, body: "{oops" }, debugEnv);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      expect(parsed).toMatchObject({ level: expect.any(String), msg: expect.any(String) });
      for (const canary of ["canary-customer-991", "canary.person", "203.0.113.77", "4111"]) expect(line).not.toContain(canary);
    }
    const access = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "request");
    expect(access.map((a) => a.status)).toEqual([202, 400]);
    expect(access[0]).toMatchObject({ method: "POST", path: "/v1/events", request_id: expect.any(String), duration_ms: expect.any(Number) });
  });
});

describe("misconfiguration", () => {
  it("answers 500 misconfigured in the JSON envelope when a secret is missing or weak", async () => {
    const res = await app.request("https://edge.test/healthz", {}, { ...env, VISITOR_SECRET: "short" });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: { code: "misconfigured" } });
    const bad = await app.request("https://edge.test/healthz", {}, { ...env, TENANTS: "{not json" });
    expect(await bad.json()).toMatchObject({ error: { code: "misconfigured" } });
  });
});
