import { SignJWT, base64url } from "jose";
import { describe, expect, it } from "vitest";
import { SHOP_B_PUBLIC_JWK, TEST_JWT_SECRETS } from "./keys";
import { SHOP_A, SHOP_B, type BatchBody, call, getSession, make, newVisitor, postEvents } from "./helpers";
import { backendToken, bearer, customerToken, mintToken } from "./tokens";
import { verifyTenantToken } from "../src/auth/jwt";
import { ApiError } from "../src/http/errors";

const now = () => Math.floor(Date.now() / 1000);

/** GET /v1/profile with a token: the call that verifies tokens and checks scopes. */
async function profileWith(token: string, key = SHOP_A.key, customer = "cust-auth") {
  const res = await call(`/v1/profile?customer_id=${customer}`, { headers: { "x-edgewise-key": key, ...bearer(token) } });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
}

function resign(token: string, payload: Record<string, unknown>): string {
  const [h, , s] = token.split(".");
  return `${h}.${base64url.encode(JSON.stringify(payload))}.${s}`;
}

describe("JWT verification (jose, algorithms pinned, exp/aud/iss required)", () => {
  const hsSecret = new TextEncoder().encode(TEST_JWT_SECRETS["shop-a"]);
  const valid = { scope: "recommendations:read", sub: "shop-backend", iss: "https://shop-a.example", aud: "edgewise" };

  // [name, token, publishable key (default shop A), jose's code the 401 must name (the check that refused it)]
  const cases: Array<[string, () => Promise<string>, string?, string?]> = [
    ["alg none", async () => `${base64url.encode(JSON.stringify({ alg: "none", typ: "JWT" }))}.${base64url.encode(JSON.stringify({ ...valid, exp: now() + 300 }))}.`],
    // Signed with the tenant's real secret: only the algorithm pin refuses it.
    [
      "wrong algorithm (HS512 for an HS256 tenant)",
      () =>
        new SignJWT({ ...valid })
          .setProtectedHeader({ alg: "HS512" })
          .setExpirationTime(now() + 300)
          .sign(hsSecret),
      undefined,
      "ERR_JOSE_ALG_NOT_ALLOWED",
    ],
    ["an ES256 token at an HS256 tenant", () => mintToken("shop-b", { scope: "recommendations:read" }, { issuer: "https://shop-a.example" }), undefined, "ERR_JOSE_ALG_NOT_ALLOWED"],
    [
      "HS/RS confusion: HS256 signed with shop B's public key",
      () =>
        new SignJWT({ ...valid, iss: "https://shop-b.example" })
          .setProtectedHeader({ alg: "HS256", kid: SHOP_B_PUBLIC_JWK.kid })
          .setExpirationTime(now() + 300)
          .sign(new TextEncoder().encode(JSON.stringify(SHOP_B_PUBLIC_JWK))),
      SHOP_B.key,
      "ERR_JOSE_ALG_NOT_ALLOWED",
    ],
    ["expired (beyond the 60 s tolerance)", () => mintToken("shop-a", { scope: "recommendations:read" }, { expiresIn: -120 }), undefined, "ERR_JWT_EXPIRED"],
    ["not yet valid (nbf beyond tolerance)", () => mintToken("shop-a", { scope: "recommendations:read" }, { notBefore: 600 }), undefined, "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    ["missing exp", () => mintToken("shop-a", { scope: "recommendations:read" }, { expiresIn: null }), undefined, "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    ["missing sub", () => mintToken("shop-a", { scope: "recommendations:read" }, { subject: null })],
    ["wrong audience", () => mintToken("shop-a", { scope: "recommendations:read" }, { audience: "someone-else" })],
    ["missing audience", () => mintToken("shop-a", { scope: "recommendations:read" }, { audience: null })],
    ["wrong issuer", () => mintToken("shop-a", { scope: "recommendations:read" }, { issuer: "https://evil.example" }), undefined, "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    ["missing issuer", () => mintToken("shop-a", { scope: "recommendations:read" }, { issuer: null }), undefined, "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    ["bad signature", async () => (await mintToken("shop-a", { scope: "recommendations:read" })).replace(/.{4}$/, "AAAA"), undefined, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"],
    [
      "tampered payload (scope escalated)",
      async () => resign(await mintToken("shop-a", { scope: "events:write" }), { ...valid, scope: "recommendations:read admin", exp: now() + 300 }),
      undefined,
      "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
    ],
    ["garbage", async () => "not.a.jwt"],
    ["three empty segments", async () => ".."],
    ["oversize (10 KB claims)", () => mintToken("shop-a", { scope: "recommendations:read", pad: "x".repeat(10_000) })],
    ["unknown kid", () => mintToken("shop-b", { scope: "recommendations:read" }, { kid: "rotated-away" }), SHOP_B.key, "ERR_JWKS_NO_MATCHING_KEY"],
    ["shop A's valid token at shop B", () => backendToken("recommendations:read"), SHOP_B.key],
    [
      "HS256 signed with the wrong secret",
      () =>
        new SignJWT({ ...valid })
          .setProtectedHeader({ alg: "HS256" })
          .setExpirationTime(now() + 300)
          .sign(new TextEncoder().encode("x".repeat(40))),
    ],
  ];

  for (const [name, make, key, joseCode] of cases) {
    it(`401 invalid_token: ${name}`, async () => {
      const { status, body } = await profileWith(await make(), key);
      expect(status).toBe(401);
      expect(body.error?.code).toBe("invalid_token");
      if (joseCode) expect(body.error?.message).toContain(joseCode);
    });
  }

  it("maps a plain TypeError from key handling to 401, never a 500", async () => {
    // jose throws TypeError (not JOSEError) for key/algorithm mismatches; here the key material itself is missing.
    const tenant = { id: "shop-a", origins: [], consent: "opt-out" as const, auth: { issuer: "https://shop-a.example", audience: "edgewise", algorithms: ["HS256"] } };
    const err = await verifyTenantToken(await backendToken("recommendations:read"), tenant as unknown as Parameters<typeof verifyTenantToken>[1], undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 401, code: "invalid_token" });
  });

  it("accepts a valid token within the clock tolerance, for both HS256 and ES256 tenants", async () => {
    // 30 s past exp is inside the 60 s tolerance: valid token, unknown customer → 404, not 401.
    expect((await profileWith(await mintToken("shop-a", { scope: "recommendations:read" }, { expiresIn: -30 }))).status).toBe(404);
    expect((await profileWith(await backendToken("recommendations:read", "shop-b"), SHOP_B.key)).status).toBe(404);
    expect(hsSecret.length).toBeGreaterThanOrEqual(32);
  });

  it("401 for a malformed Authorization header, 403 insufficient_scope for a valid token without the scope", async () => {
    const res = await call("/v1/profile?customer_id=x", { headers: { "x-edgewise-key": SHOP_A.key, authorization: "Basic abc" } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_token");
    const scoped = await profileWith(await backendToken("events:write identify"));
    expect(scoped.status).toBe(403);
    expect(scoped.body.error?.code).toBe("insufficient_scope");
  });

  it("a customer token cannot carry backend scopes, whatever its issuer put in it", async () => {
    const token = await mintToken("shop-a", { scope: "recommendations:read admin privacy:erase", customer_id: "cust-x" }, { subject: "cust-x" });
    const other = await call("/v1/profile?customer_id=cust-y", { headers: { "x-edgewise-key": SHOP_A.key, ...bearer(token) } });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe("forbidden");
  });
});

describe("identify and purchase need a token", () => {
  it("rejects them per event with the publishable key alone, keeps the rest of the batch", async () => {
    const visitor = await newVisitor();
    const res = await postEvents([make.productView("sku-1"), make.identify("cust-1"), make.purchase(["sku-1"])], { visitor, token: false });
    expect(res.status).toBe(202);
    const body = (await res.json()) as BatchBody;
    expect(body.accepted).toBe(1);
    expect(body.results.map((r) => r.code ?? r.status)).toEqual(["accepted", "token_required", "token_required"]);
  });

  it("needs the right scope, and a customer token may only identify its own customer", async () => {
    const visitor = await newVisitor();
    const viewer = await backendToken("recommendations:read");
    let body = (await (await postEvents([make.identify("cust-2"), make.purchase(["sku-2"])], { visitor, headers: bearer(viewer) })).json()) as BatchBody;
    expect(body.results.map((r) => r.code)).toEqual(["insufficient_scope", "insufficient_scope"]);

    const own = await customerToken("cust-2");
    body = (await (await postEvents([make.identify("cust-3"), make.identify("cust-2"), make.purchase(["sku-2"])], { visitor, headers: bearer(own) })).json()) as BatchBody;
    expect(body.results.map((r) => r.code ?? r.status)).toEqual(["identity_mismatch", "accepted", "accepted"]);

    const backend = await backendToken("events:write identify");
    body = (await (await postEvents([make.identify("cust-9")], { visitor, headers: bearer(backend) })).json()) as BatchBody;
    expect(body.accepted).toBe(1);
  });

  it("a bad token on /v1/events is a 401 and stores nothing", async () => {
    const visitor = await newVisitor();
    const res = await postEvents([make.productView("sku-1")], { visitor, headers: bearer("garbage") });
    expect(res.status).toBe(401);
    const session = await getSession(visitor);
    expect(session.events_applied).toBe(0);
  });
});

describe("object-level authorization", () => {
  it("shop A's backend cannot read shop B's customers, and shop A's customer token is worthless at shop B", async () => {
    const visitor = await newVisitor(SHOP_B.key);
    const bToken = await backendToken("events:write identify", "shop-b");
    const res = await postEvents([make.productView("b-1"), make.identify("shared-id")], { key: SHOP_B.key, visitor, headers: bearer(bToken) });
    expect(((await res.json()) as BatchBody).accepted).toBe(2);
    // Shop B sees its customer.
    expect((await profileWith(await backendToken("recommendations:read", "shop-b"), SHOP_B.key, "shared-id")).status).toBe(200);
    // Shop A, same customer id: nothing (its keys are namespaced by tenant).
    expect((await profileWith(await backendToken("recommendations:read"), SHOP_A.key, "shared-id")).status).toBe(404);
    // Shop A's token presented with shop B's key: refused.
    expect((await profileWith(await backendToken("recommendations:read"), SHOP_B.key, "shared-id")).status).toBe(401);
    expect((await profileWith(await customerToken("shared-id"), SHOP_B.key, "shared-id")).status).toBe(401);
  });

  it("a customer reads only their own profile; enumerating random customer ids finds nothing", async () => {
    const token = await customerToken("cust-owner");
    const other = await call("/v1/profile?customer_id=cust-victim", { headers: { "x-edgewise-key": SHOP_A.key, ...bearer(token) } });
    expect(other.status).toBe(403);
    const backend = await backendToken("recommendations:read");
    for (let i = 0; i < 20; i++) {
      const id = crypto.randomUUID();
      expect((await profileWith(backend, SHOP_A.key, id)).status).toBe(404);
    }
    // Without a token, naming a customer is refused outright.
    const anon = await call("/v1/profile?customer_id=cust-owner", { headers: { "x-edgewise-key": SHOP_A.key } });
    expect(anon.status).toBe(401);
  });

  it("a visitor token from shop A cannot address a session at shop B", async () => {
    const visitor = await newVisitor();
    const res = await postEvents([make.productView("sku-1")], { key: SHOP_B.key, visitor });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_visitor");
  });
});
