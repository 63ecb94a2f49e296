import { type Context, Hono } from "hono";
import { optionalToken } from "../auth/backend";
import { tenantAuth } from "../auth/tenant";
import { visitorIdentity } from "../auth/visitor";
import type { IdentityValue } from "../contracts/values";
import type { FeatureVector } from "../features/engine";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/types";
import { personOf } from "../identity/service";
import { kindOf } from "../identity/identifiers";
import { customerHash } from "../privacy/pseudonymise";
import { sessionStub } from "../session/stub";
import { profileView } from "./profile";
import { profileStore } from "./select";

/**
 * `GET /v1/profile`: a person's long-term profile and identity summary.
 * Object-level authorization: a customer token reads its own customer only; a
 * backend token with `recommendations:read` may name any customer of its tenant
 * (`?customer_id=`); a browser without a token reads the person its own signed
 * visitor session identified as. Another tenant's data is unreachable: keys are
 * namespaced by the tenant resolved from configuration.
 */
export const profileRoute = new Hono<AppEnv>().get("/", tenantAuth(), visitorIdentity(), optionalToken(), async (c) => {
  const { principal, tenant, config } = c.var;
  const asked = c.req.query("customer_id");
  if (asked !== undefined && (asked.length === 0 || asked.length > 256)) throw new ApiError(400, "invalid_parameter", "customer_id must be 1–256 characters");
  let identity: Pick<IdentityValue, "customer_hash" | "email_hash"> | null;
  if (principal?.kind === "customer") {
    if (asked !== undefined && asked !== principal.customerId) throw new ApiError(403, "forbidden", "A customer token can only read its own profile");
    identity = { customer_hash: await customerHash(config.piiSecret, tenant.id, principal.customerId!), email_hash: null };
  } else if (principal) {
    if (!principal.scopes.has("recommendations:read")) throw new ApiError(403, "insufficient_scope", "The token lacks the scope recommendations:read");
    if (asked === undefined) throw new ApiError(400, "invalid_parameter", "A backend token must name the customer: ?customer_id=");
    identity = { customer_hash: await customerHash(config.piiSecret, tenant.id, asked), email_hash: null };
  } else {
    if (asked !== undefined) throw new ApiError(401, "missing_token", "Reading another customer's profile needs a backend token");
    return c.json(await deviceProfile(c));
  }
  if (!identity) throw new ApiError(404, "not_found", "No profile: this visitor has not identified");
  const store = profileStore(c.env, config);
  const person = await personOf(store, tenant.id, identity).catch(unavailable);
  const record = person ? await store.person(tenant.id, person).catch(unavailable) : null;
  if (!person || !record) throw new ApiError(404, "not_found", "No profile for this customer");
  const contributions = await store.contributions(tenant.id, person).catch(unavailable);
  const members = { visitor: 0, device: 0, customer: 0, email: 0 };
  for (const m of record.members) members[kindOf(m)]++;
  return c.json({
    person: person,
    store: store.backend,
    created_at: record.created_at,
    updated_at: record.updated_at,
    identifiers: members,
    merges: record.merges,
    profile: profileView(person, contributions, Date.now()),
  });
});

/**
 * What a browser holding only its visitor cookie may read: this device's own
 * contribution to its person's profile. A cookie proves the device, not the person
 * (a shared laptop keeps it for 400 days): other devices' views and purchases, the
 * identifier counts and the merge log need the customer token.
 */
async function deviceProfile(c: Context<AppEnv>) {
  const { tenant, config, visitorId } = c.var;
  const features = (await sessionStub(c.env, tenant.id, visitorId).features()) as FeatureVector | null;
  const identity = features?.identity ?? null;
  if (!identity) throw new ApiError(404, "not_found", "No profile: this visitor has not identified");
  const store = profileStore(c.env, config);
  const person = await personOf(store, tenant.id, identity).catch(unavailable);
  if (!person) throw new ApiError(404, "not_found", "No profile for this visitor");
  const own = (await store.contributions(tenant.id, person).catch(unavailable)).filter((x) => x.visitor === visitorId);
  return { person, store: store.backend, scope: "this_device", profile: profileView(person, own, Date.now()) };
}

function unavailable(err: unknown): never {
  throw new ApiError(503, "profile_unavailable", `The profile store is unavailable: ${err instanceof Error ? err.message : String(err)}`, { "retry-after": "2" });
}
