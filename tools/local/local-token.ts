// Mints a JWT the way a shop's backend would, signed with the tenant's HS256 secret
// from .dev.vars (JWT_SECRETS), for local calls to `npm run dev`. Never for production secrets.
import { readFileSync } from "node:fs";
import { SignJWT } from "jose";

/** What to put in the token. */
export interface LocalTokenOptions {
  tenant: string;
  scope: string;
  customer?: string;
  /** With `customer`: an email the shop vouches for (a customer token's identify links only signed identifiers). */
  email?: string;
  subject?: string;
  ttlSeconds: number;
}

/** A token for a tenant of wrangler.toml, signed with its secret in .dev.vars. */
export async function mintLocalToken(o: LocalTokenOptions): Promise<string> {
  const vars = readFileSync(".dev.vars", "utf8");
  const secrets = JSON.parse(/^JWT_SECRETS='(.*)'$/m.exec(vars)?.[1] ?? "{}") as Record<string, string>;
  const secret = secrets[o.tenant];
  if (!secret) throw new Error(`.dev.vars has no JWT_SECRETS entry for tenant ${o.tenant} (run npm run dev once to create .dev.vars)`);
  return mintToken(o, secret);
}

/** A token for a tenant of wrangler.toml (its issuer and audience), signed HS256 with `secret`. */
export async function mintToken(o: LocalTokenOptions, secret: string): Promise<string> {
  const tenants = JSON.parse(/^TENANTS = '(.*)'$/m.exec(readFileSync("wrangler.toml", "utf8"))?.[1] ?? "{}") as Record<string, { id: string; auth?: { issuer: string; audience: string } }>;
  const auth = Object.values(tenants).find((t) => t.id === o.tenant)?.auth;
  if (!auth) throw new Error(`tenant ${o.tenant} has no auth block in wrangler.toml TENANTS`);
  const claims: Record<string, string> = { scope: o.scope };
  if (o.customer) claims.customer_id = o.customer;
  if (o.customer && o.email) claims.email = o.email;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(auth.issuer)
    .setAudience(auth.audience)
    .setSubject(o.subject ?? o.customer ?? "shop-backend")
    .setIssuedAt()
    .setExpirationTime(`${o.ttlSeconds}s`)
    .sign(new TextEncoder().encode(secret));
}

/** The publishable key of a tenant in wrangler.toml. */
export function publishableKeyOf(tenant: string): string {
  const tenants = JSON.parse(/^TENANTS = '(.*)'$/m.exec(readFileSync("wrangler.toml", "utf8"))?.[1] ?? "{}") as Record<string, { id: string }>;
  const key = Object.entries(tenants).find(([, t]) => t.id === tenant)?.[0];
  if (!key) throw new Error(`no tenant ${tenant} in wrangler.toml TENANTS`);
  return key;
}
