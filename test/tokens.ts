import { type JWTPayload, SignJWT, importJWK } from "jose";
import { SHOP_B_PRIVATE_JWK, TEST_JWT_SECRETS } from "./keys";

/** Options that bend a token for the JWT matrix; the defaults make a valid one. */
export interface MintOptions {
  issuer?: string | null;
  audience?: string | null;
  /** Seconds from now; `null` leaves `exp` out. */
  expiresIn?: number | null;
  notBefore?: number;
  subject?: string | null;
  kid?: string;
}

/** Mints a token the way the shop's backend would: shop A signs HS256, shop B ES256. */
export async function mintToken(tenant: "shop-a" | "shop-b" | "shop-c", claims: JWTPayload = {}, opts: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...claims }).setIssuedAt(now);
  const issuer = opts.issuer === undefined ? `https://${tenant}.example` : opts.issuer;
  const audience = opts.audience === undefined ? "edgewise" : opts.audience;
  const subject = opts.subject === undefined ? "shop-backend" : opts.subject;
  if (issuer !== null) jwt.setIssuer(issuer);
  if (audience !== null) jwt.setAudience(audience);
  if (subject !== null) jwt.setSubject(subject);
  if (opts.expiresIn !== null) jwt.setExpirationTime(now + (opts.expiresIn ?? 300));
  if (opts.notBefore !== undefined) jwt.setNotBefore(now + opts.notBefore);
  if (tenant !== "shop-b") {
    return jwt.setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(TEST_JWT_SECRETS[tenant]));
  }
  const key = await importJWK(SHOP_B_PRIVATE_JWK, "ES256");
  return jwt.setProtectedHeader({ alg: "ES256", kid: opts.kid ?? SHOP_B_PRIVATE_JWK.kid, typ: "JWT" }).sign(key);
}

/** A backend token of shop A with the given scopes. */
export function backendToken(scope: string, tenant: "shop-a" | "shop-b" | "shop-c" = "shop-a"): Promise<string> {
  return mintToken(tenant, { scope });
}

/** A customer token (what a shop hands its storefront after login), bound to one customer id. */
export function customerToken(customerId: string, scope = "identify events:write recommendations:read", tenant: "shop-a" | "shop-b" | "shop-c" = "shop-a"): Promise<string> {
  return mintToken(tenant, { scope, customer_id: customerId }, { subject: customerId });
}

/** `Authorization` header for a token. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
