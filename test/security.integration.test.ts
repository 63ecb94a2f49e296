// Regression tests for the outside review's findings (issue 15), one describe per finding.
// Each of them failed on the code before the fix.
import { describe, expect, it } from "vitest";
import { SHOP_A, SHOP_C, type BatchBody, call, getSession, make, newVisitor, postEvents } from "./helpers";
import { emailHash } from "../src/privacy/pseudonymise";
import { backendToken, bearer, customerToken, mintToken } from "./tokens";

interface ProfileBody {
  identifiers: Record<string, number>;
  merges: Array<{ action: string; reason?: string }>;
  profile: { sessions: number; purchased: string[] };
}

async function profileOf(headers: Record<string, string>, key = SHOP_A.key): Promise<{ status: number; body: ProfileBody }> {
  const res = await call("/v1/profile", { headers: { "x-edgewise-key": key, ...headers } });
  return { status: res.status, body: (await res.json()) as ProfileBody };
}

async function reco(visitor: string, key: string, headers: Record<string, string> = {}): Promise<{ profile_used: boolean; degraded: string | null }> {
  const res = await call("/v1/recommendations?k=5", { headers: { "x-edgewise-key": key, "x-edgewise-visitor": visitor, ...headers } });
  expect(res.status).toBe(200);
  return (await res.json()) as { profile_used: boolean; degraded: string | null };
}

const codes = async (res: Response) => ((await res.json()) as BatchBody).results.map((r) => r.code ?? r.status);

describe("1. identify: an identifier the caller has not proven never links two people", () => {
  it("a customer token naming a stranger's email does not take over the guest's history", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const victimEmail = `victim-${tag}@example.com`;
    // The victim checks out as a guest: the shop's backend reports the email and the purchase.
    const guest = await newVisitor();
    await postEvents([make.productView("sku-secret"), { ...make.identify("x", victimEmail), properties: { email: victimEmail } }, make.purchase(["sku-secret"])], {
      visitor: guest,
    });

    // The attacker has an account of their own and names the victim's email (and a device id).
    const attacker = await newVisitor();
    const token = await customerToken(`attacker-${tag}`);
    const res = await postEvents([{ ...make.identify(`attacker-${tag}`, victimEmail), properties: { customer_id: `attacker-${tag}`, email: victimEmail, device_id: `dev-${tag}` } }], {
      visitor: attacker,
      headers: bearer(token),
    });
    expect(await codes(res)).toEqual(["accepted"]); // recorded, not refused…
    const seen = await profileOf(bearer(token));
    expect(seen.status).toBe(200);
    expect(seen.body.profile.purchased).toEqual([]); // …and not merged
    expect(seen.body.identifiers).toEqual({ visitor: 1, device: 0, customer: 1, email: 0 });
    expect(seen.body.merges.some((m) => m.action === "refused" && m.reason === "unproven")).toBe(true);

    // The real owner registers later: the guest history joins their account, nothing is contested.
    const owner = await newVisitor();
    await postEvents([make.identify(`owner-${tag}`, victimEmail)], { visitor: owner });
    const mine = await profileOf(bearer(await customerToken(`owner-${tag}`)));
    expect(mine.body.profile.purchased).toEqual(["sku-secret"]);
    expect(mine.body.merges.some((m) => m.reason === "claimed_by_other_customer")).toBe(false);
  });

  it("an email the shop signed into the customer token is proven and links", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const email = `Signed-${tag}@Example.com`;
    const guest = await newVisitor();
    await postEvents([{ ...make.identify("x", email), properties: { email } }, make.purchase(["sku-g"])], { visitor: guest });
    const token = await mintToken("shop-a", { scope: "identify recommendations:read", customer_id: `signed-${tag}`, email: email.toLowerCase() }, { subject: `signed-${tag}` });
    const res = await postEvents([make.identify(`signed-${tag}`, email)], { visitor: await newVisitor(), headers: bearer(token) });
    expect(await codes(res)).toEqual(["accepted"]);
    expect((await profileOf(bearer(token))).body.profile.purchased).toEqual(["sku-g"]);
  });
});

describe("3. token confusion: the kind of a token is explicit and its claims typed", () => {
  for (const [name, customerId] of [
    ["a number", 4242],
    ["an empty string", ""],
    ["an array", ["x"]],
    ["null", null],
    ["a string longer than 256 characters", "c".repeat(257)],
  ] as const) {
    it(`a customer_id that is ${name} is a 401, never a backend token`, async () => {
      const token = await mintToken("shop-a", { scope: "recommendations:read admin privacy:erase", customer_id: customerId as unknown as string });
      const res = await call("/v1/profile?customer_id=someone", { headers: { "x-edgewise-key": SHOP_A.key, ...bearer(token) } });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_token");
      const admin = await call("/admin/api/experiments", { headers: { "x-edgewise-key": SHOP_A.key, ...bearer(token) } });
      expect(admin.status).toBe(401);
    });
  }

  it("scope and sub of the wrong type are a 401", async () => {
    for (const claims of [{ scope: ["admin"] }, { scp: "admin" }, { scp: [1, "admin"] }]) {
      const res = await call("/admin/api/experiments", { headers: { "x-edgewise-key": SHOP_A.key, ...bearer(await mintToken("shop-a", claims)) } });
      expect(res.status).toBe(401);
    }
    const res = await call("/admin/api/experiments", { headers: { "x-edgewise-key": SHOP_A.key, ...bearer(await mintToken("shop-a", { scope: "admin", sub: 7 as unknown as string }, { subject: null })) } });
    expect(res.status).toBe(401);
  });
});

describe("5. consent is ordered by the time we received it", () => {
  it("a grant stamped 23 h ahead does not outvote a later withdrawal", async () => {
    const v = await newVisitor(SHOP_C.key);
    await postEvents([make.consent(true, true, Date.now() + 23 * 3600_000), make.productView("sku-01")], { key: SHOP_C.key, visitor: v });
    // Analytics withdrawn, personalization kept: not a wipe, so only the ordering decides.
    await postEvents([make.consent(false, true)], { key: SHOP_C.key, visitor: v });
    const s = await getSession(v, SHOP_C.key);
    expect(s.features.consent).toMatchObject({ analytics: false, personalization: true });
    expect(s.features.last_viewed_items).toEqual(["sku-01"]);
  });

  it("a withdrawal on one device stops the profile on a new device, whatever the clocks said", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const laptop = await newVisitor(SHOP_C.key);
    const phone = await newVisitor(SHOP_C.key);
    await postEvents([make.consent(true, true, Date.now() + 23 * 3600_000), make.productView("sku-05"), make.identify(`cust-clock-${tag}`)], { key: SHOP_C.key, visitor: laptop });
    await postEvents([make.consent(true, true), make.identify(`cust-clock-${tag}`)], { key: SHOP_C.key, visitor: phone });
    const token = await customerToken(`cust-clock-${tag}`, "recommendations:read", "shop-c");
    expect((await reco(await newVisitor(SHOP_C.key), SHOP_C.key, bearer(token))).profile_used).toBe(true);
    await postEvents([make.consent(false, false)], { key: SHOP_C.key, visitor: phone });
    // The laptop keeps browsing under its own (future-stamped) grant: it must not feed the person again.
    await postEvents([make.productView("sku-06")], { key: SHOP_C.key, visitor: laptop });
    expect((await reco(await newVisitor(SHOP_C.key), SHOP_C.key, bearer(token))).profile_used).toBe(false);
  });
});

describe("6. the visitor cookie alone sees only its own device", () => {
  it("no purchases or devices of other devices without the customer token", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const phone = await newVisitor();
    const laptop = await newVisitor();
    await postEvents([make.productView("sku-p"), make.identify(`cust-shared-${tag}`), make.purchase(["sku-bought-on-phone"])], { visitor: phone });
    await postEvents([make.productView("sku-l"), make.identify(`cust-shared-${tag}`)], { visitor: laptop });
    const cookieOnly = await profileOf({ "x-edgewise-visitor": laptop });
    expect(cookieOnly.status).toBe(200);
    expect(cookieOnly.body.profile.purchased).toEqual([]);
    expect(cookieOnly.body.profile.sessions).toBe(1);
    expect(JSON.stringify(cookieOnly.body)).not.toContain("merges");
    expect(cookieOnly.body.identifiers).toBeUndefined();
    // With the customer token, the whole person.
    const full = await profileOf(bearer(await customerToken(`cust-shared-${tag}`)));
    expect(full.body.profile.purchased).toEqual(["sku-bought-on-phone"]);
    expect(full.body.identifiers.visitor).toBe(2);
  });
});

describe("4. erasure reaches every place an identifier was written", () => {
  const PII = "test-pii-secret-0123456789abcdef0123456789";
  const erase = async (subject: string) => {
    const res = await call(`/v1/subjects/${encodeURIComponent(subject)}`, { method: "DELETE", headers: { "x-edgewise-key": SHOP_A.key, ...bearer(await backendToken("privacy:erase")) } });
    expect(res.status).toBe(200);
    return (await res.json()) as { found: boolean; stores: Record<string, { found: boolean } & Record<string, unknown>> };
  };

  it("a device the over-merge guard kept with another customer is erased with the person who used it", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const shared = await newVisitor();
    await postEvents([make.productView("sku-a"), make.identify(`first-${tag}`, `first-${tag}@example.com`)], { visitor: shared });
    // Another customer logs in on the same laptop and buys: the laptop stays the first customer's.
    await postEvents([make.identify(`second-${tag}`, `second-${tag}@example.com`), make.purchase(["sku-second"])], { visitor: shared });
    expect((await getSession(shared)).events_applied).toBeGreaterThan(2);
    const receipt = await erase(`customer:second-${tag}`);
    expect(receipt.found).toBe(true);
    expect(receipt.stores.sessions).toMatchObject({ found: true, visitors: 1 });
    expect(receipt.stores.profile_store!.found).toBe(true);
    const after = await call("/v1/session", { headers: { "x-edgewise-key": SHOP_A.key, "x-edgewise-visitor": shared } });
    const body = (await after.json()) as { events_applied?: number; recent_events?: unknown[] };
    expect(JSON.stringify(body)).not.toContain("sku-second");
  });

  it("the erased person's email leaves other persons' contested lists and merge logs", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const email = `owner-${tag}@example.com`;
    await postEvents([make.identify(`owner-${tag}`, email)], { visitor: await newVisitor() });
    // Another customer's backend identify names the same email: refused (claimed by the owner) and logged.
    await postEvents([make.identify(`other-${tag}`, email)], { visitor: await newVisitor() });
    const hash = await emailHash(PII, SHOP_A.id, email);
    const otherProfile = async () =>
      JSON.stringify(await (await call(`/v1/profile?customer_id=other-${tag}`, { headers: { "x-edgewise-key": SHOP_A.key, ...bearer(await backendToken("recommendations:read")) } })).json());
    expect(await otherProfile()).toContain(hash);
    const receipt = await erase(`email:${email}`);
    expect(receipt.stores.profile_store).toMatchObject({ found: true, persons_edited: 1 });
    expect(await otherProfile()).not.toContain(hash);
  });

  it("an email that was only ever claimed, never linked, is found and its traces removed", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const email = `claimed-${tag}@example.com`;
    const token = await customerToken(`claimer-${tag}`);
    await postEvents([make.identify(`claimer-${tag}`, email)], { visitor: await newVisitor(), headers: bearer(token) });
    const hash = await emailHash(PII, SHOP_A.id, email);
    const mine = async () => JSON.stringify(await (await call("/v1/profile", { headers: { "x-edgewise-key": SHOP_A.key, ...bearer(token) } })).json());
    expect(await mine()).toContain(hash);
    const receipt = await erase(`email:${email}`);
    expect(receipt.found).toBe(true);
    expect(await mine()).not.toContain(hash);
  });
});
