// `npm run token -- --scope "events:write identify" [--customer cust-42] [--tenant demo] [--ttl 3600]`:
// mints a JWT the way a shop's backend would, signed with the tenant's HS256 secret from
// .dev.vars (JWT_SECRETS), for local calls to `npm run dev`. Never use it with production secrets.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";

const { values } = parseArgs({
  options: {
    tenant: { type: "string", default: "demo" },
    scope: { type: "string", default: "events:write identify recommendations:read" },
    customer: { type: "string" },
    subject: { type: "string" },
    ttl: { type: "string", default: "3600" },
  },
});

const vars = readFileSync(".dev.vars", "utf8");
const secrets = JSON.parse(/^JWT_SECRETS='(.*)'$/m.exec(vars)?.[1] ?? "{}") as Record<string, string>;
const secret = secrets[values.tenant!];
if (!secret) throw new Error(`.dev.vars has no JWT_SECRETS entry for tenant ${values.tenant} (run npm run dev once to create .dev.vars)`);
const tenants = JSON.parse(/^TENANTS = '(.*)'$/m.exec(readFileSync("wrangler.toml", "utf8"))?.[1] ?? "{}") as Record<string, { id: string; auth?: { issuer: string; audience: string } }>;
const auth = Object.values(tenants).find((t) => t.id === values.tenant)?.auth;
if (!auth) throw new Error(`tenant ${values.tenant} has no auth block in wrangler.toml TENANTS`);

const claims: Record<string, string> = { scope: values.scope! };
if (values.customer) claims.customer_id = values.customer;
const token = await new SignJWT(claims)
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setIssuer(auth.issuer)
  .setAudience(auth.audience)
  .setSubject(values.subject ?? values.customer ?? "shop-backend")
  .setIssuedAt()
  .setExpirationTime(`${Number(values.ttl)}s`)
  .sign(new TextEncoder().encode(secret));
console.log(token);
